/** Reads a container's socket tables through the host's /proc, when faultline shares the host's PID namespace. */
import { readFile } from "node:fs/promises";
import { PROC_NET_FILES, type ProcNetTables } from "./proc-net.js";

/**
 * True when /proc/<pid> is really the container's process: a faultline running in its own PID
 * namespace may see an unrelated process under the same number.
 */
export function cgroupBelongsTo(cgroupText: string, containerId: string): boolean {
  return containerId.length >= 12 && cgroupText.includes(containerId);
}

export async function readHostProcTables(
  pid: number,
  containerId: string,
): Promise<ProcNetTables | undefined> {
  if (pid <= 0) return undefined;
  try {
    const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8");
    if (!cgroupBelongsTo(cgroup, containerId)) return undefined;
  } catch {
    return undefined;
  }
  const tables: ProcNetTables = {};
  await Promise.all(
    PROC_NET_FILES.map(async (file) => {
      try {
        tables[file] = await readFile(`/proc/${pid}/net/${file}`, "utf8");
      } catch {
        // no IPv6 in this namespace, or the process just exited
      }
    }),
  );
  return tables.tcp === undefined && tables.tcp6 === undefined ? undefined : tables;
}
