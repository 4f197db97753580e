/**
 * SIGINT/SIGTERM during a fault: the first one aborts the run, which reverts everything in flight and then
 * exits non-zero; a second one exits at once (the journal and the watchdogs still undo what is left).
 */
const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface SignalGuard {
  readonly signal: AbortSignal;
  /** Set once a signal arrived: the exit code the command should end with. */
  readonly exitCode: number | undefined;
  dispose(): void;
}

export function installSignalHandlers(
  options: {
    write?: (text: string) => void;
    exit?: (code: number) => void;
  } = {},
): SignalGuard {
  const write = options.write ?? ((t: string) => process.stderr.write(t));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  let exitCode: number | undefined;

  const handler = (sig: NodeJS.Signals) => {
    if (exitCode !== undefined) {
      write(`faultline: second ${sig}: exiting now; run \`faultline revert\` to undo what may be left\n`);
      exit(exitCode);
      return;
    }
    exitCode = SIGNAL_EXIT_CODES[sig] ?? 1;
    write(`faultline: ${sig} received: reverting what is in effect (send it again to exit at once)\n`);
    controller.abort(`${sig} received`);
  };
  const signals = Object.keys(SIGNAL_EXIT_CODES) as NodeJS.Signals[];
  for (const s of signals) process.on(s, handler);
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCode;
    },
    dispose() {
      for (const s of signals) process.off(s, handler);
    },
  };
}
