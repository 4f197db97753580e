/**
 * `faultline plan --save FILE`: the graph-ordered plan faultline would run, written as an experiment
 * document a team can review, edit and keep (pure). It validates against the same schema it is read with.
 */
import { stringify } from "yaml";
import type { ExperimentPlan } from "../run/plan.js";
import { formatDuration } from "../util/duration.js";
import { experimentDocument, type ExperimentDocument } from "./document.js";

export interface PlanDocumentInput {
  plan: ExperimentPlan;
  scope: { project?: string; labels?: string[] };
  baselineMs: number;
  thresholds: readonly string[];
  maxBlastRadius?: number;
}

export function planToDocument(input: PlanDocumentInput): ExperimentDocument {
  const { plan, scope } = input;
  const where = scope.project ? `project ${scope.project}` : `labels ${scope.labels?.join(", ")}`;
  const kinds = [...new Set(plan.steps.map((s) => s.kind))].join(", ");
  const document: ExperimentDocument = {
    version: 1,
    title: `${kinds} on ${where}, most depended-on first`,
    description:
      `Written by faultline plan from the dependency graph it discovered: ${plan.order.join(" -> ")}.` +
      (plan.excluded.length
        ? ` Skipped: ${plan.excluded.map((e) => `${e.service} (${e.reason})`).join("; ")}.`
        : ""),
    scope: {
      ...(scope.project ? { project: scope.project } : {}),
      ...(scope.labels?.length ? { labels: scope.labels } : {}),
    },
    steadyState: {
      baseline: formatDuration(input.baselineMs),
      learned: true,
      ...(input.thresholds.length ? { thresholds: [...input.thresholds] } : {}),
    },
    method: plan.steps.map((s) => ({
      fault: {
        target: s.service,
        kind: s.kind,
        ...(Object.keys(s.options).length ? { options: { ...s.options } } : {}),
        duration: formatDuration(s.durationMs),
      },
    })),
    ...(input.maxBlastRadius !== undefined ? { safety: { maxBlastRadius: input.maxBlastRadius } } : {}),
    rollback: { onDeviation: "continue", recovery: formatDuration(plan.recoveryWaitMs) },
  };
  return experimentDocument.parse(document);
}

/** The document as YAML, with a header saying where it came from. */
export function documentToYaml(document: ExperimentDocument): string {
  return `# faultline experiment (schema: docs/experiment.schema.json; run: faultline run --experiment <this file>)\n${stringify(document, { lineWidth: 110 })}`;
}
