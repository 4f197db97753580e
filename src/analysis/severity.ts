/**
 * Severity of one fault, from a fixed rule (shown verbatim in every report):
 *
 * - critical: a service other than the target went down, turned unhealthy or restarted (a cascade);
 *   or a user-facing service (an entry point: nothing in the graph depends on it) other than the
 *   target failed more than half of its HTTP probes; or something had not recovered by the end of
 *   the observation window after the revert.
 * - major: a service other than the target logged new errors or failed HTTP probes, but stayed up.
 * - minor: services other than the target only showed latency or resource deviations.
 * - none: nothing beyond the target itself deviated, and it recovered.
 *
 * The target's own deviation is expected (that is the fault) and never raises the severity by itself.
 */
import type { ServiceImpact, Severity } from "./types.js";

export const SEVERITY_RULE: string[] = [
  "critical: a service other than the target went down, turned unhealthy or restarted; or a user-facing service (nothing depends on it) other than the target failed more than half of its HTTP probes; or something had not recovered by the end of the observation window",
  "major: a service other than the target logged new errors or failed HTTP probes, but stayed up",
  "minor: services other than the target only showed latency or resource deviations",
  "none: nothing beyond the target itself deviated, and it recovered",
];

export const USER_FACING_PROBE_FAILURE = 0.5;

export interface SeverityInput {
  targetImpact?: ServiceImpact;
  impacted: readonly ServiceImpact[];
  /** Entry points of the graph (services nothing depends on). */
  userFacing: ReadonlySet<string>;
  /** False when the run was aborted before recovery could be watched: "not recovered" then means "unknown". */
  recoveryObserved?: boolean;
}

export function severityOf(input: SeverityInput): { severity: Severity; reason: string } {
  const { impacted, targetImpact } = input;
  const cascade = impacted.find((s) => s.down || s.unhealthy || s.restarted);
  if (cascade) {
    const why = cascade.signals.find((g) => g.category === "availability")?.text;
    const what = cascade.down ? "went down" : cascade.unhealthy ? "turned unhealthy" : "restarted";
    return { severity: "critical", reason: `${cascade.service} ${what}${why ? ` (${why})` : ""}` };
  }
  const userFacing = impacted.find(
    (s) =>
      input.userFacing.has(s.service) &&
      s.signals.some((g) => g.metric === "probe.failureRatio" && g.observed > USER_FACING_PROBE_FAILURE),
  );
  if (userFacing)
    return { severity: "critical", reason: `user-facing ${userFacing.service} failed most HTTP probes` };
  const stuck =
    input.recoveryObserved === false
      ? undefined
      : [targetImpact, ...impacted].find((s) => s && s.recoveredAfterMs === null);
  if (stuck)
    return { severity: "critical", reason: `${stuck.service} had not recovered by the end of the window` };
  const erroring = impacted.find((s) =>
    s.signals.some((g) => g.category === "error" || g.category === "availability"),
  );
  if (erroring) return { severity: "major", reason: `${erroring.service} showed new errors` };
  if (impacted.length)
    return {
      severity: "minor",
      reason: `only latency/resource deviations (${impacted.map((s) => s.service).join(", ")})`,
    };
  return { severity: "none", reason: "no service other than the target deviated" };
}
