import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DockerRuntime } from "../../src/docker/types.js";
import { TargetNotFoundError } from "../../src/errors.js";
import type {
  Fault,
  FaultContext,
  FaultFamily,
  JournalFaultEntry,
  ResolvedService,
} from "../../src/faults/fault.js";
import { FaultRegistry } from "../../src/faults/registry.js";
import type { FaultJournal } from "../../src/run/journal.js";
import { combineObservers, type RunObserver } from "../../src/run/observer.js";
import type { ExperimentPlan, PlannedStep } from "../../src/run/plan.js";
import { runExperiment, type RunnerOptions } from "../../src/run/runner.js";

interface Behaviour {
  injectFails?: boolean;
  revertFails?: boolean;
  revertHangs?: boolean;
}

/** A fault that only writes what happens to it into `events`. */
function fakeFamily(events: string[], behaviour: Behaviour = {}): FaultFamily {
  let n = 0;
  return {
    kinds: ["pause"],
    async create(kind, target, options, durationMs): Promise<Fault> {
      const id = `f${++n}`;
      const entry: JournalFaultEntry = {
        faultId: id,
        runId: "",
        kind,
        target,
        options,
        helperContainerIds: [],
        deadline: 0,
        undo: {},
      };
      return {
        id,
        kind,
        target,
        durationMs,
        mechanism: "docker-api",
        describe: () => `${kind} ${target.service}`,
        journalEntry: () => ({ ...entry }),
        async inject(ctx: FaultContext) {
          events.push(`inject ${id}`);
          await ctx.record({ ...entry, undo: { stateBefore: "running" } });
          if (behaviour.injectFails) throw new Error("engine said no");
        },
        async revert() {
          events.push(`revert ${id}`);
          if (behaviour.revertHangs) await new Promise(() => undefined);
          if (behaviour.revertFails) throw new Error("cannot unpause");
        },
      };
    },
    async revertFromEntry() {},
  };
}

function recordingJournal(events: string[]): FaultJournal {
  return {
    async intent(e) {
      events.push(`journal intent ${e.faultId} run=${e.runId ? "set" : "missing"}`);
    },
    async update(e) {
      events.push(`journal update ${e.faultId}`);
    },
    async reverted(id) {
      events.push(`journal reverted ${id}`);
    },
  };
}

const resolver = {
  async resolveService(name: string): Promise<ResolvedService> {
    if (name === "ghost") throw new TargetNotFoundError(`no service "${name}"`);
    return { service: name, containerId: `c-${name}`, containerName: `${name}-1`, ips: [] };
  },
};

function plan(services: string[], durationMs = 30, recoveryWaitMs = 0): ExperimentPlan {
  const steps: PlannedStep[] = services.map((service) => ({
    service,
    containerId: `c-${service}`,
    containerName: `${service}-1`,
    kind: "pause",
    options: {},
    durationMs,
    blastRadius: [],
    description: `pause ${service}`,
  }));
  return { steps, excluded: [], order: services, durationMs, recoveryWaitMs, estimatedMs: 0 };
}

function options(
  events: string[],
  behaviour: Behaviour = {},
  extra: Partial<RunnerOptions> = {},
): RunnerOptions {
  const runtime = {
    async inspect(id: string) {
      if (id === "c-vanishing") throw new TargetNotFoundError("gone");
      return {};
    },
  } as unknown as DockerRuntime;
  return {
    runtime,
    registry: new FaultRegistry([fakeFamily(events, behaviour)]),
    journal: recordingJournal(events),
    resolver,
    pollIntervalMs: 5,
    ...extra,
  };
}

function hooks(events: string[]): RunObserver {
  const h = (name: string) => () => void events.push(name);
  return {
    onRunStart: h("onRunStart"),
    onStepPlanned: h("onStepPlanned"),
    onBeforeInject: h("onBeforeInject"),
    onInjected: h("onInjected"),
    onBeforeRevert: h("onBeforeRevert"),
    onReverted: h("onReverted"),
    onStepEnd: h("onStepEnd"),
    onRunEnd: h("onRunEnd"),
  };
}

describe("runExperiment", () => {
  test("journals before injecting and after reverting, with every hook in order", async () => {
    const events: string[] = [];
    const record = await runExperiment(plan(["db"]), options(events, {}, { observer: hooks(events) }));
    assert.deepEqual(events, [
      "onRunStart",
      "onStepPlanned",
      "journal intent f1 run=set",
      "onBeforeInject",
      "inject f1",
      "journal update f1",
      "onInjected",
      "onBeforeRevert",
      "revert f1",
      "journal reverted f1",
      "onReverted",
      "onStepEnd",
      "onRunEnd",
    ]);
    assert.equal(record.status, "completed");
    const step = record.steps[0]!;
    assert.deepEqual(step.outcome, { status: "reverted" });
    assert.ok(step.injectedAt && step.revertedAt && step.requestedAt);
    assert.equal(step.mechanism, "docker-api");
    assert.ok(Date.parse(step.revertedAt) - Date.parse(step.injectedAt) >= 25, "held for its duration");
  });

  test("an abort mid-fault reverts it at once and skips the rest", async () => {
    const events: string[] = [];
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT received"), 50);
    const started = Date.now();
    const record = await runExperiment(
      plan(["db", "api"], 10_000),
      options(events, {}, { signal: controller.signal }),
    );
    assert.ok(Date.now() - started < 2000, "did not wait out the duration");
    assert.equal(record.status, "aborted");
    assert.equal(record.abortReason, "SIGINT received");
    assert.deepEqual(record.steps[0]!.outcome, {
      status: "aborted",
      reason: "SIGINT received",
      reverted: true,
    });
    assert.equal(record.steps[1]!.outcome?.status, "skipped");
    assert.ok(events.includes("revert f1") && events.includes("journal reverted f1"));
    assert.ok(!events.includes("inject f2"));
  });

  test("an observer's shouldAbort stops the run (safety envelope)", async () => {
    const events: string[] = [];
    let calls = 0;
    const observer: RunObserver = { shouldAbort: () => (++calls > 3 ? "error rate 80% > 50%" : undefined) };
    const record = await runExperiment(plan(["db", "api"], 10_000), options(events, {}, { observer }));
    assert.equal(record.status, "aborted");
    assert.equal(record.abortReason, "error rate 80% > 50%");
    assert.ok(events.includes("journal reverted f1"));
  });

  test("a failed injection is still reverted and journaled, and the run goes on", async () => {
    const events: string[] = [];
    const record = await runExperiment(plan(["db", "api"]), options(events, { injectFails: true }));
    assert.equal(record.steps[0]!.outcome?.status, "injection-failed");
    assert.deepEqual(record.steps[0]!.errors, ["engine said no"]);
    assert.ok(events.includes("revert f1") && events.includes("journal reverted f1"));
    assert.ok(events.includes("inject f2"));
  });

  test("a failed revert is recorded, stays pending in the journal, marks the run failed", async () => {
    const events: string[] = [];
    const record = await runExperiment(plan(["db", "api"]), options(events, { revertFails: true }));
    assert.equal(record.status, "failed");
    assert.equal(record.steps[0]!.outcome?.status, "revert-failed");
    assert.match(record.steps[0]!.errors.join(), /revert failed: cannot unpause/);
    assert.ok(!events.includes("journal reverted f1"));
    assert.ok(events.includes("inject f2"), "the next step still ran");
  });

  test("a hanging revert is bounded", async () => {
    const events: string[] = [];
    const record = await runExperiment(
      plan(["db"]),
      options(events, { revertHangs: true }, { revertTimeoutMs: 50 }),
    );
    assert.equal(record.steps[0]!.outcome?.status, "revert-failed");
    assert.match(record.steps[0]!.errors.join(), /did not finish within 50 ms/);
  });

  test("a target gone before its step is skipped; one gone mid-fault is noted", async () => {
    const events: string[] = [];
    const record = await runExperiment(plan(["ghost", "vanishing"]), options(events));
    assert.equal(record.steps[0]!.outcome?.status, "skipped");
    assert.equal(record.steps[1]!.outcome?.status, "reverted");
    assert.match(record.steps[1]!.errors.join(), /disappeared during the fault/);
  });

  test("a throwing observer hook does not stop the run or its reverts", async () => {
    const events: string[] = [];
    const observer: RunObserver = {
      onInjected() {
        throw new Error("grafana is down");
      },
    };
    const record = await runExperiment(plan(["db"]), options(events, {}, { observer }));
    assert.equal(record.status, "completed");
    assert.ok(events.includes("journal reverted f1"));
  });

  test("recovery wait between steps, not after the last", async () => {
    const events: string[] = [];
    const started = Date.now();
    await runExperiment(plan(["a", "b"], 0, 100), options(events));
    const took = Date.now() - started;
    assert.ok(took >= 95 && took < 1000, `took ${took} ms`);
  });
});

test("combineObservers: every observer hears every event, in order; the first abort reason wins", async () => {
  const events: string[] = [];
  const a: RunObserver = { onInjected: () => void events.push("a"), shouldAbort: () => undefined };
  const b: RunObserver = { onInjected: () => void events.push("b"), shouldAbort: () => "b says stop" };
  const combined = combineObservers([a, b]);
  await combined.onInjected?.({} as never);
  assert.deepEqual(events, ["a", "b"]);
  assert.equal(await combined.shouldAbort?.(), "b says stop");
  const controller = new AbortController();
  const withSignal = combineObservers([{ abortSignal: controller.signal }, a]);
  controller.abort("envelope breached");
  assert.equal(withSignal.abortSignal?.aborted, true);
});

describe("scenarios, waits and probes of an experiment's method", () => {
  test("a scenario's faults start together (each after its offset) and end when the last is reverted", async () => {
    const events: string[] = [];
    const p = plan(["db", "cache", "web"], 200);
    p.steps[0]!.scenario = { id: "s1", title: "db and cache", offsetMs: 0 };
    p.steps[1]!.scenario = { id: "s1", title: "db and cache", offsetMs: 50 };
    p.steps[2]!.waitBeforeMs = 20;
    const observer: RunObserver = {
      onScenarioStart: (s) => void events.push(`scenario start ${s.id} (${s.steps.length})`),
      onScenarioReverted: (s) => void events.push(`scenario reverted ${s.id}`),
      onScenarioEnd: (s) => void events.push(`scenario end ${s.id}`),
    };
    const started = Date.now();
    const record = await runExperiment(p, options(events, {}, { observer }));
    const elapsed = Date.now() - started;
    const order = events.filter((e) => /^(inject|revert|scenario)/.test(e));
    assert.deepEqual(order, [
      "scenario start s1 (2)",
      "inject f1",
      "inject f2",
      "revert f1",
      "revert f2",
      "scenario reverted s1",
      "scenario end s1",
      "inject f3",
      "revert f3",
    ]);
    assert.deepEqual(
      record.steps.map((s) => [s.target, s.scenario?.id, s.outcome?.status]),
      [
        ["db", "s1", "reverted"],
        ["cache", "s1", "reverted"],
        ["web", undefined, "reverted"],
      ],
    );
    // Together: 50 + 200 for the scenario, 20 wait, 200 for web (470); one at a time it would be 670.
    assert.ok(elapsed >= 470 && elapsed < 620, `${elapsed} ms`);
  });

  test("probes run where the method has them and their results are recorded, failures included", async () => {
    const events: string[] = [];
    const p = plan(["db"]);
    const probe = {
      where: "method[0]",
      description: "GET web:80/",
      service: "web",
      port: 80,
      path: "/",
      timeoutMs: 100,
    };
    p.steps[0]!.probesBefore = [probe];
    const record = await runExperiment(
      p,
      options(
        events,
        {},
        {
          finalProbes: [{ ...probe, where: "method[2]" }],
          probe: async (m) => {
            events.push(`probe ${m.where}`);
            if (m.where === "method[2]") throw new Error("connection refused");
            return { url: "http://10.0.0.1/", at: "", ok: true, status: 200, latencyMs: 1 };
          },
        },
      ),
    );
    assert.deepEqual(
      events.filter((e) => /^(probe|inject|revert)/.test(e)),
      ["probe method[0]", "inject f1", "revert f1", "probe method[2]"],
    );
    assert.deepEqual(
      record.probes?.map((r) => [r.where, r.ok, r.error]),
      [
        ["method[0]", true, undefined],
        ["method[2]", false, "connection refused"],
      ],
    );
  });
});
