/** Progress lines on stderr (stdout stays clean for pipes). Silenced by --quiet. */
export type ProgressSink = (event: unknown) => void;

export function stderrProgress(command: string, quiet = false): ProgressSink {
  return (event: unknown) => {
    if (quiet) return;
    const text = describeProgress(event);
    if (text) process.stderr.write(`[${command}] ${text}\n`);
  };
}

/** Accepts a string or an event object ({ message } / { phase, done, total } …). */
export function describeProgress(event: unknown): string {
  if (typeof event === "string") return event;
  if (typeof event !== "object" || event === null) return String(event ?? "");
  const e = event as Record<string, unknown>;
  if (typeof e.message === "string") return e.message;
  const parts: string[] = [];
  if (typeof e.phase === "string") parts.push(e.phase);
  if (typeof e.service === "string") parts.push(e.service);
  if (typeof e.done === "number" && typeof e.total === "number") parts.push(`${e.done}/${e.total}`);
  if (typeof e.elapsedMs === "number") parts.push(`${Math.round(e.elapsedMs)}ms`);
  return parts.length ? parts.join(" ") : JSON.stringify(event);
}

export function warn(message: string): void {
  process.stderr.write(`faultline: warning: ${message}\n`);
}
