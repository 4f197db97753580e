/**
 * Reading an experiment document (YAML or JSON, which YAML reads too) with the position of every node,
 * so each complaint is one line naming the file, the line and the key:
 *
 *   shop.yaml:14:9: method[1].fault.options.percent: Too big: expected number to be <=100
 *
 * Checks the schema, then what can be checked without the engine: every fault's options (by its
 * family's own parser: bad percentages, path globs …), that named targets exist in `targets`, and the
 * thresholds' grammar. Nothing touches the engine.
 */
import { readFile } from "node:fs/promises";
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { parseThreshold } from "../analysis/thresholds.js";
import { InvalidInputError } from "../errors.js";
import { isLifecycleKind, parseLifecycleOptions } from "../faults/lifecycle-options.js";
import { NETWORK_KINDS, parseNetworkOptions, type NetworkKind } from "../faults/network/options.js";
import { parseStressOptions, STRESS_KINDS, type StressKind } from "../faults/stress/options.js";
import { parseDuration } from "../util/duration.js";
import { experimentDocument, type ExperimentDocument, type FaultSpec } from "./document.js";

export type PathKey = string | number;

/** Where a node of the document is, for messages: "file:line:col". */
export interface Positions {
  file: string;
  at(path: readonly PathKey[]): string;
}

export interface LoadedExperiment {
  document: ExperimentDocument;
  positions: Positions;
}

/** "method[1].fault.options.percent". */
export function formatPath(path: readonly PathKey[]): string {
  return path.reduce<string>(
    (out, k) => (typeof k === "number" ? `${out}[${k}]` : out ? `${out}.${k}` : String(k)),
    "",
  );
}

/** An invalid document: one line, "file:line:col: path: problem". */
export class ExperimentFileError extends InvalidInputError {
  constructor(positions: Positions, path: readonly PathKey[], problem: string, hint?: string) {
    const where = path.length ? `${formatPath(path)}: ` : "";
    super(`${positions.at(path)}: ${where}${problem}`, hint);
  }
}

function positionsOf(file: string, doc: Document, lines: LineCounter): Positions {
  const offsetOf = (path: readonly PathKey[]): number => {
    // The deepest node that exists on the path: a missing key is reported where its parent is.
    for (let n = path.length; n >= 0; n--) {
      const prefix = path.slice(0, n);
      if (n > 0) {
        const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
        const key = prefix[prefix.length - 1];
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
          if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
        }
      }
      const node = n === 0 ? doc.contents : doc.getIn(prefix, true);
      const range = (node as { range?: [number, number, number] } | null)?.range;
      if (range) return range[0];
    }
    return 0;
  };
  return {
    file,
    at(path) {
      const { line, col } = lines.linePos(offsetOf(path));
      return `${file}:${line}:${col}`;
    },
  };
}

/** The zod issue to report: the first; for a union, the branch that got furthest. */
function firstProblem(issues: readonly z.core.$ZodIssue[]): { path: PathKey[]; message: string } {
  const issue = issues[0]!;
  const path = issue.path.filter((k): k is PathKey => typeof k !== "symbol");
  if (issue.code === "invalid_union" && issue.errors.length) {
    const best = [...issue.errors].sort((a, b) => score(a) - score(b))[0]!;
    if (best.length) {
      const inner = firstProblem(best);
      return { path: [...path, ...inner.path], message: inner.message };
    }
  }
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    return {
      path: [...path, key],
      message: `unknown key "${key}"${issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).join(", ")})` : ""}`,
    };
  }
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined"))
    return { path, message: "missing: it is required" };
  return { path, message: issue.message };
}

/** Fewer problems, and problems deeper in the document, mean the branch the author meant. */
function score(issues: readonly z.core.$ZodIssue[]): number {
  const unknown = issues.some((i) => i.code === "unrecognized_keys") ? 100 : 0;
  return unknown + issues.length * 10 - Math.max(...issues.map((i) => i.path.length));
}

/** Parses and validates a document's text. Throws ExperimentFileError (one line) on the first problem. */
export function parseExperiment(text: string, file = "experiment"): LoadedExperiment {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const positions = positionsOf(file, doc, lines);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const { line, col } = lines.linePos(yamlError.pos[0]);
    throw new InvalidInputError(
      `${file}:${line}:${col}: not valid YAML or JSON: ${yamlError.message.split("\n")[0]}`,
    );
  }
  const parsed = experimentDocument.safeParse(doc.toJS());
  if (!parsed.success) {
    const { path, message } = firstProblem(parsed.error.issues);
    throw new ExperimentFileError(positions, path, message, "see docs/experiments.md");
  }
  checkDocument(parsed.data, positions);
  return { document: parsed.data, positions };
}

/** Reads a file and parses it; an unreadable file is one line too. */
export async function loadExperimentFile(file: string): Promise<LoadedExperiment> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new InvalidInputError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseExperiment(text, file);
}

/** A document given as a value (an API body): positions are paths only. */
export function checkExperimentValue(value: unknown, what = "body"): LoadedExperiment {
  const positions: Positions = { file: what, at: () => what };
  const parsed = experimentDocument.safeParse(value);
  if (!parsed.success) {
    const { path, message } = firstProblem(parsed.error.issues);
    throw new ExperimentFileError(positions, path, message, "see docs/experiments.md");
  }
  checkDocument(parsed.data, positions);
  return { document: parsed.data, positions };
}

/** Every fault of the method with its path in the document. */
export function faultsOf(document: ExperimentDocument): { spec: FaultSpec; path: PathKey[] }[] {
  return document.method.flatMap((step, i) => {
    if ("fault" in step) return [{ spec: step.fault, path: ["method", i, "fault"] }];
    if ("scenario" in step)
      return step.scenario.faults.map((spec, j) => ({ spec, path: ["method", i, "scenario", "faults", j] }));
    return [];
  });
}

/** What the schema cannot say: options per kind, durations, named targets, thresholds. */
function checkDocument(document: ExperimentDocument, positions: Positions): void {
  const fail = (path: PathKey[], e: unknown): never => {
    const error = e instanceof InvalidInputError ? e : new InvalidInputError(String(e));
    throw new ExperimentFileError(positions, path, error.message, error.hint);
  };
  const ms = (value: string | number, path: PathKey[]) => {
    try {
      return typeof value === "number" ? value : parseDuration(value, formatPath(path));
    } catch (e) {
      return fail(path, e);
    }
  };
  for (const { spec, path } of faultsOf(document)) {
    const durationMs = ms(spec.duration, [...path, "duration"]);
    if (spec.after !== undefined) ms(spec.after, [...path, "after"]);
    if (spec.after !== undefined && path[2] !== "scenario")
      fail(
        [...path, "after"],
        new InvalidInputError('"after" places a fault inside a scenario', "move it into one"),
      );
    try {
      checkFaultOptions(spec.kind, spec.options ?? {}, durationMs);
    } catch (e) {
      fail([...path, "options", ...optionKeyOf(e, spec.options ?? {})], e);
    }
  }
  document.method.forEach((step, i) => {
    if ("wait" in step) ms(step.wait, ["method", i, "wait"]);
    if ("probe" in step) {
      if (step.probe.timeout !== undefined) ms(step.probe.timeout, ["method", i, "probe", "timeout"]);
    }
  });
  (document.steadyState?.thresholds ?? []).forEach((t, i) => {
    try {
      parseThreshold(t);
    } catch (e) {
      fail(["steadyState", "thresholds", i], e);
    }
  });
  const durations: [PathKey[], string | number | undefined][] = [
    [["steadyState", "baseline"], document.steadyState?.baseline],
    [["safety", "abortWhenDown"], document.safety?.abortWhenDown],
    [["safety", "envelopeFor"], document.safety?.envelopeFor],
    [["safety", "maxDuration"], document.safety?.maxDuration],
    [["rollback", "recovery"], document.rollback?.recovery],
  ];
  for (const [path, value] of durations) if (value !== undefined) ms(value, path);
}

/** The option key a family's complaint is about, when it names one (for the position). */
function optionKeyOf(e: unknown, options: Record<string, unknown>): string[] {
  const message = e instanceof Error ? e.message : "";
  const named = Object.keys(options).find((k) =>
    new RegExp(`(^|[\\s:;"(])${k}("|:|\\s|$)`).test(message.replace(/^invalid \w+ options: /, " ")),
  );
  return named ? [named] : [];
}

/** The family's own validation of a kind's options (pure: peers and ports are resolved later). */
export function checkFaultOptions(kind: string, options: Record<string, unknown>, durationMs: number): void {
  if (isLifecycleKind(kind)) {
    parseLifecycleOptions(kind, options, durationMs);
  } else if ((NETWORK_KINDS as readonly string[]).includes(kind)) {
    parseNetworkOptions(kind as NetworkKind, options);
  } else if ((STRESS_KINDS as readonly string[]).includes(kind)) {
    parseStressOptions(kind as StressKind, options, durationMs);
  } else {
    throw new InvalidInputError(`unknown fault kind "${kind}"`);
  }
}
