/**
 * faultline's CLI as a user runs it: a child process of this node (through tsx), started from the checkout,
 * with logs at warn and, when a test gives one, its own state directory (FAULTLINE_STATE_DIR).
 * `runFaultline` waits for the command to end; `spawnFaultline` leaves it running (inject, run) and
 * `startInject` returns once the fault is in effect.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CliOptions {
  /** FAULTLINE_STATE_DIR for the command; without it, whatever this process's environment says. */
  stateDir?: string;
  /** More environment on top of this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface RunOptions extends CliOptions {
  /** Past this the command is killed (with `killSignal`) and reports code -1. */
  timeoutMs: number;
  /** SIGINT lets a `faultline run` that overran revert its fault before it exits. Default SIGTERM. */
  killSignal?: NodeJS.Signals;
}

export interface CliResult {
  /** The exit code; -1 when the command did not exit by itself (timed out, signalled, never started). */
  code: number;
  stdout: string;
  stderr: string;
}

function cliEnv(options: CliOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    FAULTLINE_LOG_LEVEL: "warn",
    ...(options.stateDir === undefined ? {} : { FAULTLINE_STATE_DIR: options.stateDir }),
    ...options.env,
  };
}

/** Runs `faultline …args` to its end; a non-zero exit is a result, not an error. */
export function runFaultline(args: string[], options: RunOptions): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", CLI, ...args],
      {
        cwd: ROOT,
        env: cliEnv(options),
        timeout: options.timeoutMs,
        killSignal: options.killSignal ?? "SIGTERM",
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Like `runFaultline`, for a command the test only needs to succeed: any other exit throws, with stderr. */
export async function runFaultlineOk(args: string[], options: RunOptions): Promise<CliResult> {
  const result = await runFaultline(args, options);
  if (result.code !== 0)
    throw new Error(`faultline ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result;
}

export interface FaultlineProcess {
  readonly child: ChildProcess;
  /** Everything written so far, stdout and stderr interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when a signal ended it) once the process exits. */
  readonly exited: Promise<number | null>;
}

/** Starts `faultline …args` in the background, its output collected. */
export function spawnFaultline(args: string[], options: CliOptions = {}): FaultlineProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: cliEnv(options),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    output += d.toString();
  });
  // A process that cannot even start reports that, and never exits: `exited` stays pending.
  child.on("error", (error) => (output += `\n${error.message}\n`));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Resolves once `text` is in the process's output; fails if it exits first or `timeoutMs` passes. */
export function waitForOutput(
  running: FaultlineProcess,
  text: string,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const { child } = running;
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    const onData = () => {
      if (running.output().includes(text)) settle();
    };
    const onExit = () => {
      if (running.output().includes(text)) settle();
      else
        settle(
          new assert.AssertionError({
            message: `faultline exited while waiting for ${what}:\n${running.output()}`,
          }),
        );
    };
    const timer = setTimeout(
      () => settle(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${running.output()}`)),
      timeoutMs,
    );
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", onExit);
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else onData();
  });
}

export interface InjectSpec {
  project: string;
  /** A service of `project`. */
  target: string;
  kind: string;
  duration: string;
  flags?: string[];
}

/**
 * `faultline inject …` in the background, resolved once it printed that the fault is in effect
 * ("injected:"). If it never gets there the process is killed and the error carries its output.
 */
export async function startInject(
  spec: InjectSpec,
  options: CliOptions & { timeoutMs: number },
): Promise<FaultlineProcess> {
  const inject = spawnFaultline(
    [
      "inject",
      "--project",
      spec.project,
      "--target",
      spec.target,
      "--kind",
      spec.kind,
      "--duration",
      spec.duration,
      ...(spec.flags ?? []),
    ],
    options,
  );
  try {
    await waitForOutput(inject, "injected:", options.timeoutMs, `the ${spec.kind} fault to be injected`);
  } catch (error) {
    await killHard(inject.child);
    throw error;
  }
  return inject;
}

/** SIGKILL, as a crash would; resolves once the process is gone (at once if it already is). */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}
