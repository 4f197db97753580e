/** ContainerInfo as plain data for pure tests (what the engine would report, minus what a test ignores). */
import type { ContainerInfo } from "../../src/docker/types.js";

export function container(name: string, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id: `${name.replace(/[^a-f0-9]/g, "a").padEnd(12, "0")}${"0".repeat(52)}`,
    name,
    image: "img",
    imageId: "sha256:x",
    command: [],
    entrypoint: [],
    state: "running",
    pid: 1,
    startedAt: "",
    finishedAt: "",
    exitCode: 0,
    restartCount: 0,
    restartPolicy: "no",
    health: { status: "none", failingStreak: 0, test: [] },
    labels: {},
    env: [],
    hostname: name,
    networkMode: "bridge",
    networks: [{ name: "n", networkId: "n1", ip: "172.20.0.2", aliases: [] }],
    exposedPorts: [],
    publishedPorts: [],
    cgroupParent: "",
    memoryLimit: 0,
    nanoCpus: 0,
    ...extra,
  };
}
