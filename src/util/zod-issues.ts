/** zod's complaints in the words faultline uses everywhere: unknown keys by name, the rest at their path. */
import { z } from "zod";
import { errorText, InvalidInputError } from "../errors.js";

/** One phrase per issue; `noun` names what the keys are ("option", "field"). */
export function describeZodIssues(error: z.ZodError, noun: string): string[] {
  return error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return `unknown ${noun}${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    const where = issue.path.length ? `"${issue.path.join(".")}": ` : "";
    return `${where}${issue.message}`;
  });
}

export interface Refusal {
  /** Leads the message: "invalid options for a pause fault". */
  what: string;
  /** What the keys are: "option", "field". */
  noun: string;
  /** The hint, from the keys the schema accepts (none when it is no object schema). */
  hint(keys: string[]): string | undefined;
}

/** Parses `input`, or throws one InvalidInputError listing every problem (nothing else is touched). */
export function parseOrRefuse<S extends z.ZodType>(schema: S, input: unknown, refusal: Refusal): z.output<S> {
  let result: ReturnType<S["safeParse"]>;
  try {
    result = schema.safeParse(input) as ReturnType<S["safeParse"]>;
  } catch (e) {
    // Transforms (durations, sizes, signals) throw typed errors of their own.
    if (e instanceof InvalidInputError) throw e;
    throw new InvalidInputError(`${refusal.what}: ${errorText(e)}`);
  }
  if (result.success) return result.data as z.output<S>;
  const keys = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  throw new InvalidInputError(
    `${refusal.what}: ${describeZodIssues(result.error!, refusal.noun).join("; ")}`,
    refusal.hint(keys),
  );
}
