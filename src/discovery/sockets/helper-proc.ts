/**
 * Reads many containers' socket tables at once through ONE short-lived helper container that shares
 * the host's PID namespace: nothing has to exist inside the target images (distroless, scratch).
 */
import type { HelperRunner } from "../../docker/types.js";
import { PROC_NET_FILES, type ProcNetFile, type ProcNetTables } from "./proc-net.js";
import { cgroupBelongsTo } from "./host-proc.js";

const MARK = "@@faultline@@";

export interface HelperTarget {
  containerId: string;
  pid: number;
}

/** A POSIX sh script that prints each pid's cgroup and socket tables between markers. */
export function helperScript(pids: number[]): string {
  const list = pids.filter((p) => Number.isInteger(p) && p > 0).join(" ");
  const files = PROC_NET_FILES.join(" ");
  return (
    `for p in ${list}; do ` +
    `echo "${MARK} $p cgroup"; cat /proc/$p/cgroup 2>/dev/null; ` +
    `for f in ${files}; do echo "${MARK} $p $f"; cat /proc/$p/net/$f 2>/dev/null; done; ` +
    `done`
  );
}

export interface HelperSection {
  cgroup: string;
  tables: ProcNetTables;
}

/** Splits the helper's stdout back into per-pid sections. */
export function parseHelperOutput(stdout: string): Map<number, HelperSection> {
  const out = new Map<number, HelperSection>();
  let current: { pid: number; part: string; lines: string[] } | undefined;
  const flush = () => {
    if (!current) return;
    const section = out.get(current.pid) ?? { cgroup: "", tables: {} };
    const text = current.lines.join("\n");
    if (current.part === "cgroup") section.cgroup = text;
    else if ((PROC_NET_FILES as readonly string[]).includes(current.part) && text.trim()) {
      section.tables[current.part as ProcNetFile] = text;
    }
    out.set(current.pid, section);
  };
  for (const line of stdout.split("\n")) {
    if (line.startsWith(MARK)) {
      flush();
      const [, pid, part] = line.split(" ");
      current = { pid: Number(pid), part: part ?? "", lines: [] };
    } else if (current) current.lines.push(line);
  }
  flush();
  return out;
}

export async function readTablesViaHelper(
  helpers: HelperRunner,
  targets: HelperTarget[],
  options: { image: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Map<string, ProcNetTables>> {
  const result = new Map<string, ProcNetTables>();
  const running = targets.filter((t) => t.pid > 0);
  if (!running.length) return result;
  const { stdout } = await helpers.run(
    {
      image: options.image,
      cmd: ["sh", "-c", helperScript(running.map((t) => t.pid))],
      role: "probe",
      pidMode: "host",
      networkMode: "none",
      labels: { "faultline.probe": "sockets" },
    },
    { timeoutMs: options.timeoutMs, signal: options.signal },
  );
  const sections = parseHelperOutput(stdout);
  for (const t of running) {
    const section = sections.get(t.pid);
    if (!section || !cgroupBelongsTo(section.cgroup, t.containerId)) continue;
    if (section.tables.tcp === undefined && section.tables.tcp6 === undefined) continue;
    result.set(t.containerId, section.tables);
  }
  return result;
}
