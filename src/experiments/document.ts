/**
 * The experiment document: a YAML or JSON file a team reviews and keeps in git. One zod schema is the
 * source of truth: it validates files, `POST /api/experiments` bodies and what `faultline plan --save`
 * writes, and docs/experiment.schema.json is generated from it (`npm run schema`).
 *
 *   title, description?      what the experiment is about (the report's heading)
 *   scope                    what faultline may touch: a compose project and/or labels
 *   targets?                 named selectors: a service, a label, a discovered kind ("any redis"), or the
 *                            most depended-on service
 *   steadyState?             the hypothesis: explicit thresholds and/or the learned steady state of some
 *                            services, observed for `baseline` before each step
 *   method                   steps in order: a fault, a scenario (several faults together), a wait, a probe
 *   safety?                  the envelope that stops the run, a blast-radius cap, a time cap
 *   rollback?                what a deviation does (carry on, or revert at once and stop) and the recovery
 *                            watched after each step
 */
import { z } from "zod";

/** Fault kinds a document may name (the registry's, spelled out so the JSON Schema can list them). */
export const DOCUMENT_KINDS = [
  "stop",
  "kill",
  "pause",
  "restart",
  "latency",
  "loss",
  "bandwidth",
  "partition",
  "dns",
  "http",
  "cpu",
  "memory",
] as const;

const DURATION_PATTERN = "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$";
const duration = z
  .union([
    z.string().regex(new RegExp(DURATION_PATTERN), 'is not a duration (e.g. "500ms", "30s", "2m")'),
    z.number().int().nonnegative(),
  ])
  .describe('a duration: "500ms", "30s", "2m", "1h", or milliseconds');

const name = z.string().trim().min(1).max(256);
const label = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*(=[^\s=][^\n]*)?$/, 'is not a label selector ("key=value" or "key")');

export const targetSelector = z
  .strictObject({
    service: name.optional().describe("a compose service (or container) name"),
    label: label.optional().describe("the first service (in test order) with this label"),
    kind: name
      .optional()
      .describe('the first service (in test order) discovery classified as this kind, e.g. "redis"'),
    mostDependedOn: z
      .literal(true)
      .optional()
      .describe("the service most others depend on, directly or not (ties: test order)"),
  })
  .refine((t) => [t.service, t.label, t.kind, t.mostDependedOn].filter((v) => v !== undefined).length === 1, {
    message: "a target is exactly one of service, label, kind or mostDependedOn",
  })
  .describe("how a target is found in the stack");
export type TargetSelector = z.output<typeof targetSelector>;

/** A step's target: the name of an entry of `targets`, a service name, or an inline selector. */
const targetRef = z.union([name, targetSelector]);
export type TargetRef = z.output<typeof targetRef>;

export const faultSpec = z
  .strictObject({
    target: targetRef,
    kind: z.enum(DOCUMENT_KINDS),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("the kind's options, as `inject` takes them"),
    duration,
    after: duration
      .optional()
      .describe("in a scenario: how long after the scenario starts this fault starts"),
  })
  .describe("one fault");
export type FaultSpec = z.output<typeof faultSpec>;

const probeSpec = z
  .strictObject({
    target: targetRef,
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("default: the port discovery saw answering HTTP"),
    path: z.string().startsWith("/").optional().describe('default "/"'),
    expect: z
      .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
      .optional()
      .describe("the status(es) that count as success; default any below 400"),
    timeout: duration.optional().describe('default "2s"'),
  })
  .describe("an HTTP GET from faultline to a service; a failure means the hypothesis did not hold there");
export type ProbeSpec = z.output<typeof probeSpec>;

export const step = z.union([
  z.strictObject({ fault: faultSpec }),
  z.strictObject({
    scenario: z
      .strictObject({
        title: z.string().min(1).optional(),
        faults: z.array(faultSpec).min(2),
      })
      .describe("several faults started together (each may start `after` the scenario starts)"),
  }),
  z.strictObject({ wait: duration }),
  z.strictObject({ probe: probeSpec }),
]);
export type Step = z.output<typeof step>;

export const experimentDocument = z
  .strictObject({
    version: z.literal(1).optional(),
    title: z.string().trim().min(1).max(200),
    description: z.string().optional(),
    scope: z
      .strictObject({
        project: z
          .string()
          .regex(/^[a-z0-9][a-z0-9_-]*$/, "is not a compose project name")
          .optional(),
        labels: z.array(label).min(1).optional(),
      })
      .refine((s) => s.project !== undefined || s.labels !== undefined, {
        message: "scope needs a project or labels: an experiment never runs on every container",
      }),
    targets: z
      .record(z.string().regex(/^[A-Za-z][\w-]*$/, "is not a target name"), targetSelector)
      .optional(),
    steadyState: z
      .strictObject({
        baseline: duration.optional().describe("steady state observed before each step (default 10s)"),
        thresholds: z
          .array(z.string().min(1))
          .optional()
          .describe('explicit limits, "[service:]metric<value" (docs/report.md)'),
        learned: z
          .union([z.boolean(), z.array(name).min(1)])
          .optional()
          .describe(
            "the learned steady state is part of the hypothesis: true for the stack's entry points, or these services",
          ),
      })
      .optional(),
    method: z.array(step).min(1),
    safety: z
      .strictObject({
        maxBlastRadius: z.number().int().nonnegative().optional(),
        abortWhenDown: duration
          .optional()
          .describe("every service down this long stops the run (default 15s)"),
        maxErrorRate: z.number().nonnegative().optional().describe("error log lines/s, all services"),
        maxProbeFailures: z.number().min(0).max(1).optional().describe("share of failing HTTP probes"),
        envelopeFor: duration.optional().describe("how long a max* limit must be exceeded (default 10s)"),
        maxDuration: duration.optional().describe("refuse the experiment when its estimate is longer"),
      })
      .optional(),
    rollback: z
      .strictObject({
        onDeviation: z
          .enum(["continue", "abort"])
          .optional()
          .describe("abort: a threshold breached during a step reverts it at once and skips the rest"),
        recovery: duration.optional().describe("recovery watched after each step (default 10s)"),
      })
      .optional(),
  })
  .describe("a faultline experiment");
export type ExperimentDocument = z.output<typeof experimentDocument>;

/** The JSON Schema of the document (published as docs/experiment.schema.json). */
export function experimentJsonSchema(): Record<string, unknown> {
  return {
    title: "faultline experiment",
    ...(z.toJSONSchema(experimentDocument, { io: "input", unrepresentable: "any" }) as Record<
      string,
      unknown
    >),
  };
}
