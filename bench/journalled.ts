/**
 * A fault driven as the runner drives it, for the fault benches: the intent is journalled (fsync'd)
 * before the inject, the revert is journalled after it, so the figures include the journal's cost.
 */
import type { DockerRuntime } from "../src/docker/types.js";
import type { Fault, FaultContext } from "../src/faults/fault.js";
import type { Journal } from "../src/run/journal.js";

export interface JournalledFaults {
  context: FaultContext;
  inject(fault: Fault, signal: AbortSignal): Promise<void>;
  revert(fault: Fault): Promise<void>;
}

export function journalledFaults(runtime: DockerRuntime, journal: Journal, runId: string): JournalledFaults {
  const context: FaultContext = { runtime, runId, record: (e) => journal.update(e) };
  return {
    context,
    async inject(fault, signal) {
      await journal.intent({ ...fault.journalEntry(), runId });
      await fault.inject(context, signal);
    },
    async revert(fault) {
      await fault.revert(context);
      await journal.reverted(fault.id);
    },
  };
}
