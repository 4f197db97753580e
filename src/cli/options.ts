/**
 * Option parsing shared by commands: scope (--project/--label), enumerated choices, numbers.
 * Validation happens here, before anything touches the engine, and fails with InvalidInputError
 * (one line, exit 2).
 */
import type { Command } from "commander";
import type { ContainerSelector } from "../docker/types.js";
import { InvalidInputError } from "../errors.js";

export interface ScopeOptions {
  project?: string;
  label?: string[];
}

/** Docker label keys: reverse-DNS-ish; values any printable text without newlines. */
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
/** Compose project names: lower case letters, digits, dashes, underscores (compose normalises to this). */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Adds --project and repeatable --label to a command. */
export function addScopeOptions(command: Command): Command {
  return command
    .option("-p, --project <name>", "docker-compose project to work on")
    .option(
      "-l, --label <key=value>",
      "only containers with this label (repeatable; all must match; a bare key matches any value)",
      collect,
      [],
    );
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Validates one "key=value" or "key" selector. */
export function parseLabelSelector(text: string): string {
  const eq = text.indexOf("=");
  const key = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? undefined : text.slice(eq + 1);
  if (!LABEL_KEY.test(key)) {
    throw new InvalidInputError(
      `bad --label "${text}": the key must start with a letter or digit and hold only letters, digits, ".", "_", "-", "/"`,
      "use --label key=value, e.g. --label com.example.tier=backend",
    );
  }
  // eslint-disable-next-line no-control-regex
  if (value !== undefined && (value.length === 0 || /[\u0000-\u001f]/.test(value))) {
    throw new InvalidInputError(
      `bad --label "${text}": the value is empty or holds control characters`,
      "use --label key=value, or --label key to match any value",
    );
  }
  return text;
}

export function parseProjectName(text: string): string {
  if (!PROJECT_NAME.test(text)) {
    throw new InvalidInputError(
      `bad --project "${text}": compose project names hold lower-case letters, digits, "-" and "_"`,
      "see `docker compose ls` or the com.docker.compose.project label",
    );
  }
  return text;
}

export interface ResolvedScope {
  selector: ContainerSelector;
  /** Set when the user gave no scope: every non-faultline container is in play. */
  warning?: string;
}

export function resolveScope(options: ScopeOptions): ResolvedScope {
  const labels = (options.label ?? []).map(parseLabelSelector);
  const project = options.project !== undefined ? parseProjectName(options.project) : undefined;
  const selector: ContainerSelector = {
    ...(project ? { project } : {}),
    ...(labels.length ? { labels } : {}),
  };
  if (!project && labels.length === 0) {
    return {
      selector,
      warning: "no --project or --label given: working on every running container not created by faultline",
    };
  }
  return { selector };
}

/** One of a fixed set, or InvalidInputError listing them. */
export function parseChoice<T extends string>(text: string, choices: readonly T[], option: string): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new InvalidInputError(`unknown ${option} "${text}"`, `use one of: ${choices.join(", ")}`);
}

/** A number in [0, 1] such as a confidence threshold. */
export function parseFraction(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidInputError(`${option} "${text}" is not a number between 0 and 1`, `e.g. ${option} 0.5`);
  }
  return n;
}

/** A non-negative integer such as a seed. */
export function parseInteger(text: string, option: string): number {
  if (!/^\d{1,10}$/.test(text.trim())) {
    throw new InvalidInputError(`${option} "${text}" is not a whole number`, `e.g. ${option} 42`);
  }
  return Number(text);
}
