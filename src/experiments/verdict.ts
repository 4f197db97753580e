/**
 * An experiment's verdict (pure): did the hypothesis (steady state) hold through the method, and if not,
 * where. It fails where an explicit threshold was breached (by any service, the targets included: the
 * author wrote it), where a service whose learned steady state is part of the hypothesis deviated in what
 * users feel (availability, errors, latency), where a probe of the method failed, and when the run was
 * stopped (safety envelope, a deviation under rollback.onDeviation: abort, a revert that failed).
 */
import type { RunAnalysis, ServiceImpact, StepAnalysis } from "../analysis/types.js";
import { adjacency } from "../graph/order.js";
import type { DependencyGraph } from "../graph/types.js";
import type { RunRecord } from "../run/record.js";

export interface VerdictFinding {
  /** The step (its description) or probe (method[i]) where it happened. */
  where: string;
  service?: string;
  text: string;
}

export interface ExperimentVerdict {
  title: string;
  held: boolean;
  /** One line: "hypothesis held" or "hypothesis did not hold: …". */
  summary: string;
  findings: VerdictFinding[];
}

/** Services with dependencies and no dependents, and lone HTTP services: what users reach first. */
export function entryPoints(graph: DependencyGraph | undefined): string[] {
  if (!graph) return [];
  const adj = adjacency(graph);
  return adj.ids.filter(
    (id) =>
      adj.dependents.get(id)!.size === 0 &&
      (adj.dependsOn.get(id)!.size > 0 ||
        ["http", "grpc"].includes(graph.nodes.find((n) => n.id === id)?.kind ?? "")),
  );
}

const USER_FACING = new Set(["availability", "error", "latency"]);

export function experimentVerdict(input: {
  title: string;
  record: RunRecord;
  analysis?: RunAnalysis;
  learned: string[] | "entry-points" | "none";
}): ExperimentVerdict {
  const { record, analysis } = input;
  const findings: VerdictFinding[] = [];
  const learned =
    input.learned === "none"
      ? new Set<string>()
      : new Set(input.learned === "entry-points" ? entryPoints(record.graphBefore) : input.learned);
  for (const step of analysis?.steps ?? []) findings.push(...stepFindings(step, learned));
  for (const p of record.probes ?? [])
    if (!p.ok)
      findings.push({
        where: p.where,
        service: p.url,
        text: `probe ${p.description} failed: ${p.status !== undefined ? `status ${p.status}` : (p.error ?? "no answer")}`,
      });
  if (record.status === "aborted")
    findings.push({ where: "the run", text: `stopped early: ${record.abortReason ?? "aborted"}` });
  for (const s of record.steps)
    if (s.outcome?.status === "revert-failed")
      findings.push({ where: s.description, service: s.target, text: s.outcome.error });
  const held = findings.length === 0;
  const first = findings[0];
  return {
    title: input.title,
    held,
    summary: held
      ? "hypothesis held: the steady state was kept through every step"
      : `hypothesis did not hold: ${first!.where}: ${first!.text}${findings.length > 1 ? ` (and ${findings.length - 1} more)` : ""}`,
    findings,
  };
}

function stepFindings(step: StepAnalysis, learned: ReadonlySet<string>): VerdictFinding[] {
  const where =
    step.kind === "scenario" ? `scenario ${step.scenario?.title ?? step.faultId}` : step.description;
  const everyone: ServiceImpact[] = [
    ...(step.targetImpact ? [step.targetImpact] : []),
    ...(step.scenario?.targetImpacts.filter((t) => t !== step.targetImpact) ?? []),
    ...step.impacted,
  ];
  const out: VerdictFinding[] = [];
  for (const impact of everyone) {
    for (const g of impact.signals) {
      const threshold = g.metric.startsWith("threshold:");
      if (threshold || (learned.has(impact.service) && USER_FACING.has(g.category)))
        out.push({
          where,
          service: impact.service,
          text: `${impact.service} ${g.text}${threshold ? "" : " (learned steady state)"}, ${Math.round(g.firstAtMs / 100) / 10} s after the fault began`,
        });
    }
  }
  return out;
}
