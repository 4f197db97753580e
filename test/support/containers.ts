/** ContainerInfo as plain data for pure tests (what the engine would report, minus what a test ignores). */
import { type ContainerInfo, sparseContainerInfo } from "../../src/docker/types.js";

export function container(name: string, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return sparseContainerInfo({
    id: `${name.replace(/[^a-f0-9]/g, "a").padEnd(12, "0")}${"0".repeat(52)}`,
    name,
    image: "img",
    imageId: "sha256:x",
    state: "running",
    pid: 1,
    hostname: name,
    networkMode: "bridge",
    networks: [{ name: "n", networkId: "n1", ip: "172.20.0.2", aliases: [] }],
    ...extra,
  });
}
