/**
 * The one experiment sequence (src/run/experiment.ts) without Docker: planning from the caller's stack,
 * validation once per kind before anything changes, and an unmonitored sequence of one ad-hoc step.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sparseContainerInfo, type ContainerInfo, type DockerRuntime } from "../../src/docker/types.js";
import { InvalidInputError } from "../../src/errors.js";
import type { Fault, FaultFamily, ResolvedService } from "../../src/faults/fault.js";
import { FaultRegistry } from "../../src/faults/registry.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import {
  assertRunnable,
  prepareExperiment,
  runSequence,
  validateSteps,
  type ExperimentScope,
} from "../../src/run/experiment.js";
import { NULL_JOURNAL } from "../../src/run/journal.js";
import { adHocStep } from "../../src/run/plan.js";

const containers: ContainerInfo[] = ["db", "api"].map((service) =>
  sparseContainerInfo({
    id: `c-${service}`,
    name: `${service}-1`,
    image: "x",
    state: "running",
    compose: { project: "p", service },
  }),
);
const graph: DependencyGraph = {
  nodes: [],
  edges: [],
  order: ["db", "api"],
} as unknown as DependencyGraph;

function scope(built: string[]): ExperimentScope {
  const family: FaultFamily = {
    kinds: ["pause", "stop"],
    async create(kind, target, options, durationMs): Promise<Fault> {
      if (options.bad) throw new InvalidInputError(`bad option for ${kind}`);
      built.push(`${kind} ${target.service}`);
      return {
        id: `${kind}-${target.service}`,
        kind,
        target,
        durationMs,
        describe: () => `${kind} ${target.service}`,
        journalEntry: () => ({
          faultId: `${kind}-${target.service}`,
          runId: "",
          kind,
          target,
          options,
          helperContainerIds: [],
          deadline: 0,
          undo: {},
        }),
        async inject() {},
        async revert() {},
      };
    },
    async revertFromEntry() {},
  };
  const resolve = async (name: string): Promise<ResolvedService> => ({
    service: name,
    containerId: `c-${name}`,
    containerName: `${name}-1`,
    ips: [],
  });
  return {
    runtime: { inspect: async () => containers[0] } as unknown as DockerRuntime,
    registry: new FaultRegistry([family]),
    journal: NULL_JOURNAL,
    resolver: { resolveService: resolve, containers: async () => containers },
  };
}

describe("the experiment sequence", () => {
  test("plans from the caller's stack in graph order; a monitored estimate counts baseline and recovery", async () => {
    const prepared = await prepareExperiment({
      request: { kinds: ["pause"], durationMs: 1000, recoveryMs: 500 },
      discover: async () => ({ graph }),
      containers: async () => containers,
      monitor: { baselineMs: 2000 },
    });
    assert.deepEqual(
      prepared.plan.steps.map((s) => s.service),
      ["db", "api"],
    );
    assert.equal(prepared.plan.estimatedMs, 2 * (2000 + 1000 + 500));
    assert.equal(prepared.plan.recoveryWaitMs, 500);
  });

  test("a plan with nothing to run is refused with the plan as the hint", () => {
    assert.throws(
      () =>
        assertRunnable({
          steps: [],
          excluded: [{ service: "db", reason: "not running" }],
          order: [],
          durationMs: 0,
          recoveryWaitMs: 0,
          estimatedMs: 0,
        }),
      (e: unknown) => e instanceof InvalidInputError && /skip db: not running/.test(e.hint ?? ""),
    );
  });

  test("validation checks each kind once, and refuses bad options before any step runs", async () => {
    const built: string[] = [];
    const s = scope(built);
    const steps = ["db", "api"].flatMap((service) =>
      (["pause", "stop"] as const).map((kind) =>
        adHocStep({ service, containerId: `c-${service}`, containerName: `${service}-1` }, kind, {}, 1),
      ),
    );
    await validateSteps(steps, s);
    assert.deepEqual(built, ["pause db", "stop db"]);
    const bad = adHocStep(
      { service: "api", containerId: "c-api", containerName: "api-1" },
      "stop",
      { bad: 1 },
      1,
    );
    await assert.rejects(validateSteps([bad], s), InvalidInputError);
  });

  test("one ad-hoc step, unmonitored: reverted, the graph it was planned on kept as graphBefore", async () => {
    const built: string[] = [];
    const step = adHocStep({ service: "db", containerId: "c-db", containerName: "db-1" }, "pause", {}, 10);
    const { record, analysis, files } = await runSequence({
      scope: scope(built),
      steps: [step],
      recoveryMs: 0,
      graph,
    });
    assert.deepEqual(
      record.steps.map((s) => s.outcome),
      [{ status: "reverted" }],
    );
    assert.equal(record.graphBefore, graph);
    assert.equal(analysis, undefined, "nothing to analyse without the monitor");
    assert.equal(files, undefined);
    assert.deepEqual(built, ["pause db"], "built once, when its turn came");
  });
});
