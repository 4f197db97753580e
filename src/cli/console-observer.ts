/** Prints a run as it happens: one line per fault injected and reverted, with times. */
import type { RunObserver } from "../run/observer.js";
import { formatDuration } from "../util/duration.js";

export function consoleObserver(write: (text: string) => void = (t) => process.stdout.write(t)): RunObserver {
  const time = (iso?: string) => (iso ?? new Date().toISOString()).slice(11, 23);
  return {
    onInjected({ step, index }) {
      write(
        `[${time(step.injectedAt)}] #${index + 1} injected: ${step.description} (via ${step.mechanism ?? "?"})\n`,
      );
    },
    onReverted({ step, index }) {
      if (step.revertedAt) {
        const held = step.injectedAt ? Date.parse(step.revertedAt) - Date.parse(step.injectedAt) : undefined;
        write(
          `[${time(step.revertedAt)}] #${index + 1} reverted${held !== undefined ? ` after ${formatDuration(held)}` : ""}\n`,
        );
      } else {
        write(`[${time()}] #${index + 1} NOT reverted: ${step.errors.at(-1) ?? "unknown error"}\n`);
      }
    },
    onStepEnd({ step, index }) {
      const o = step.outcome;
      if (o && o.status !== "reverted") {
        const detail = o.status === "skipped" || o.status === "aborted" ? o.reason : o.error;
        write(`[${time()}] #${index + 1} ${o.status}: ${detail}\n`);
      }
    },
  };
}

/** What a run prints as it goes: a dry run each step it describes (stdout), a real run the console lines (stderr). */
export function runProgressObserver(dryRun: boolean | undefined): RunObserver {
  return dryRun
    ? {
        onBeforeInject: ({ index, step }) => void process.stdout.write(`#${index + 1} ${step.description}\n`),
      }
    : consoleObserver((t) => process.stderr.write(t));
}
