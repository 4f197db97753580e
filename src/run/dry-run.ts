/**
 * Dry run: the same runner and the same faults, over a runtime whose reads reach the engine and whose
 * writes are only described. So the dry run shows every call a real run would make, and changes nothing.
 */
import type { DockerRuntime, HelperRunner, HelperSpec, ImageStore } from "../docker/types.js";

export function dryRunRuntime(real: DockerRuntime, onCall: (call: string) => void): DockerRuntime {
  let helperCount = 0;
  const short = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);
  const helpers: HelperRunner = {
    async run(spec) {
      onCall(`docker run --rm ${describeHelper(spec)}`);
      return { exitCode: 0, stdout: "", stderr: "" };
    },
    async start(spec) {
      onCall(`docker run -d ${describeHelper(spec)}`);
      return `dry-run-helper-${++helperCount}`;
    },
    async wait() {
      return 0;
    },
    async output() {
      return { exitCode: 0, stdout: "", stderr: "" };
    },
    async follow() {},
    async remove(id) {
      onCall(`docker rm -f ${short(id)}`);
    },
    listOwned: (labels) => real.helpers.listOwned(labels),
  };
  const images: ImageStore = {
    exists: (tag) => real.images.exists(tag),
    async build(contextDir, tag) {
      onCall(`docker build -t ${tag} ${contextDir}`);
    },
  };
  return {
    helpers,
    images,
    ping: () => real.ping(),
    info: () => real.info(),
    list: (selector) => real.list(selector),
    inspect: (id) => real.inspect(id),
    tail: (id, lines, options) => real.tail(id, lines, options),
    follow: (id, onLine, signal) => real.follow(id, onLine, signal),
    stats: (id, options) => real.stats(id, options),
    async stop(id, timeoutSeconds = 10) {
      onCall(`docker stop -t ${timeoutSeconds} ${short(id)}`);
    },
    async start(id) {
      onCall(`docker start ${short(id)}`);
    },
    async kill(id, signal) {
      onCall(`docker kill --signal ${signal} ${short(id)}`);
    },
    async pause(id) {
      onCall(`docker pause ${short(id)}`);
    },
    async unpause(id) {
      onCall(`docker unpause ${short(id)}`);
    },
    async restart(id, timeoutSeconds = 10) {
      onCall(`docker restart -t ${timeoutSeconds} ${short(id)}`);
    },
  };
}

/** Helper container as a docker command line; long inline scripts are elided. */
export function describeHelper(spec: HelperSpec): string {
  const parts: string[] = [`--label faultline.role=${spec.role}`];
  for (const [k, v] of Object.entries(spec.labels ?? {})) parts.push(`--label ${k}=${v}`);
  if (spec.networkMode) parts.push(`--network ${spec.networkMode}`);
  if (spec.pidMode) parts.push(`--pid ${spec.pidMode}`);
  for (const c of spec.capAdd ?? []) parts.push(`--cap-add ${c}`);
  if (spec.privileged) parts.push("--privileged");
  if (spec.cgroupParent) parts.push(`--cgroup-parent ${spec.cgroupParent}`);
  for (const b of spec.binds ?? []) parts.push(`-v ${b}`);
  if (spec.autoRemove) parts.push("--rm");
  const cmd = spec.cmd.map((a) => (a.includes("\n") || a.length > 200 ? "<script>" : a));
  return [...parts, spec.image, ...cmd].join(" ");
}
