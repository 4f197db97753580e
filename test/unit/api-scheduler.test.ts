import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertCronExpression, ChaosScheduler } from "../../src/api/scheduler.js";
import { parseWindow } from "../../src/api/chaos-window.js";
import {
  eligibleTargets,
  inDegrees,
  optionsForKind,
  parseAllowedKinds,
  parseWeighting,
  pickChaosFault,
  seededRandom,
  type PickInput,
} from "../../src/api/chaos-targets.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import { orderForTesting } from "../../src/graph/order.js";
import { container } from "../support/containers.js";

function svc(service: string, labels: Record<string, string> = {}, state: "running" | "exited" = "running") {
  return container(`shop-${service}-1`, {
    labels: { "com.docker.compose.service": service, ...labels },
    compose: { project: "shop", service },
    state,
  });
}

/** web -> api -> db, api -> cache, worker -> db */
function shopGraph(): DependencyGraph {
  const node = (id: string) => ({ id, kind: "tcp" as const, confidence: 1, ports: [], endpoints: [] });
  const edge = (from: string, to: string) => ({ from, to, confidence: 0.9, evidence: [] });
  const graph: DependencyGraph = {
    nodes: ["web", "api", "db", "cache", "worker"].map(node),
    edges: [edge("web", "api"), edge("api", "db"), edge("api", "cache"), edge("worker", "db")],
    order: [],
  };
  return { ...graph, order: orderForTesting(graph, "leaves-first") };
}

const containers = ["web", "api", "db", "cache", "worker"].map((s) => svc(s));

function ticks(n: number, input: PickInput): string[] {
  const picks: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = pickChaosFault(input);
    picks.push("skip" in r ? `skip: ${r.skip}` : `${r.pick.kind} ${r.pick.service}`);
  }
  return picks;
}

describe("chaos scheduler: picking one fault per tick", () => {
  test("same seed, same sequence of targets and kinds; another seed, another sequence", () => {
    const input = { containers, graph: shopGraph(), kinds: ["pause", "stop", "kill"] as const };
    const a = ticks(20, { ...input, kinds: [...input.kinds], rng: seededRandom(42) });
    const b = ticks(20, { ...input, kinds: [...input.kinds], rng: seededRandom(42) });
    const c = ticks(20, { ...input, kinds: [...input.kinds], rng: seededRandom(43) });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(new Set(a.map((p) => p.split(" ")[0])).size > 1, `expected a mix of kinds: ${a.join(", ")}`);
    assert.ok(new Set(a.map((p) => p.split(" ")[1])).size > 2, `expected a mix of targets: ${a.join(", ")}`);
    const always = ticks(3, { ...input, kinds: ["stop"], rng: () => 0.999999 });
    assert.ok(always.every((p) => p.startsWith("stop ")));
  });

  test("uniform draws reach every eligible service about equally", () => {
    const counts = new Map<string, number>();
    const rng = seededRandom(5);
    for (const p of ticks(5000, { containers, graph: shopGraph(), kinds: ["pause"], rng })) {
      const s = p.split(" ")[1]!;
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    assert.equal(counts.size, 5);
    for (const [s, n] of counts) assert.ok(n > 800 && n < 1200, `${s}: ${n}`);
  });

  test("depended-on weighting: 1 + direct dependents, so db and api come up more than web", () => {
    assert.deepEqual(Object.fromEntries(inDegrees(shopGraph())), { api: 1, db: 2, cache: 1 });
    const { eligible } = eligibleTargets({
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      weighting: "depended-on",
    });
    assert.deepEqual(Object.fromEntries(eligible.map((e) => [e.service, e.weight])), {
      db: 3,
      api: 2,
      cache: 2,
      web: 1,
      worker: 1,
    });
    const counts = new Map<string, number>();
    const rng = seededRandom(9);
    const input = {
      containers,
      graph: shopGraph(),
      kinds: ["pause" as const],
      weighting: "depended-on" as const,
    };
    for (const p of ticks(9000, { ...input, rng })) {
      const s = p.split(" ")[1]!;
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    // Expected shares: db 3/9, api and cache 2/9, web and worker 1/9.
    assert.ok(counts.get("db")! > 2600 && counts.get("db")! < 3400, JSON.stringify([...counts]));
    assert.ok(counts.get("web")! > 700 && counts.get("web")! < 1300, JSON.stringify([...counts]));
    assert.throws(() => parseWeighting("heavy"), /--weighting "heavy" is not known/);
  });

  test("never picks excluded, faultline-owned, self or stopped containers", () => {
    const scoped = [
      svc("web"),
      svc("api", { "faultline.exclude": "true" }),
      svc("db", { "faultline.owned": "true" }),
      svc("cache", {}, "exited"),
      { ...svc("worker"), id: `abcdef123456${"0".repeat(52)}` },
    ];
    const input = {
      containers: scoped,
      graph: shopGraph(),
      kinds: ["pause" as const],
      selfContainerId: "abcdef123456",
    };
    assert.deepEqual(ticks(4, { ...input, rng: Math.random }), [
      "pause web",
      "pause web",
      "pause web",
      "pause web",
    ]);
    const r = pickChaosFault({ ...input, rng: Math.random });
    assert.deepEqual(r.excluded.map((e) => e.service).sort(), ["api", "cache", "db", "worker"]);
  });

  test("the schedule's own exclusions and services with a fault in effect are left out, saying why", () => {
    const r = eligibleTargets({
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      exclude: ["db", "nonexistent"],
      inEffect: new Set(["api"]),
    });
    assert.deepEqual(r.eligible.map((e) => e.service).sort(), ["cache", "web", "worker"]);
    assert.deepEqual(
      r.excluded.filter((e) => ["db", "api"].includes(e.service)),
      [
        { service: "db", reason: "excluded from the schedule" },
        { service: "api", reason: "a fault is already in effect on it" },
      ],
    );
  });

  test("kinds allowed per service: --allow first, else the faultline.kinds label, else every kind", () => {
    const labelled = containers.map((c) =>
      c.compose?.service === "db" ? svc("db", { "faultline.kinds": "latency" }) : c,
    );
    const input = {
      containers: labelled,
      graph: shopGraph(),
      kinds: ["pause", "latency"] as const,
      allowedKinds: { web: ["pause"] as const, worker: [] },
    };
    const r = eligibleTargets({
      ...input,
      kinds: [...input.kinds],
      allowedKinds: { web: ["pause"], worker: [] },
    });
    const kindsOf = (s: string) => r.eligible.find((e) => e.service === s)?.kinds.map((k) => k.kind);
    assert.deepEqual(kindsOf("db"), ["latency"]);
    assert.deepEqual(kindsOf("web"), ["pause"]);
    assert.deepEqual(kindsOf("api"), ["pause", "latency"]);
    assert.equal(kindsOf("worker"), undefined);
    assert.match(r.excluded.find((e) => e.service === "worker")!.reason, /allowed: none/);
    for (const p of ticks(50, {
      ...input,
      kinds: [...input.kinds],
      allowedKinds: { web: ["pause"], worker: [] },
      rng: seededRandom(2),
    })) {
      assert.ok(!["latency web", "pause db"].includes(p) && !p.endsWith(" worker"), p);
    }
  });

  test("--allow parses service=kinds and refuses kinds the schedule does not use", () => {
    assert.deepEqual(parseAllowedKinds(["db=pause,latency", "web="], ["pause", "latency"]), {
      db: ["pause", "latency"],
      web: [],
    });
    assert.throws(() => parseAllowedKinds(["db"], ["pause"]), /service=kind/);
    assert.throws(() => parseAllowedKinds(["db=stop"], ["pause"]), /not one of the schedule's kinds/);
  });

  test("respects the blast-radius cap", () => {
    // db reaches api, web, worker (3); api reaches web (1); cache reaches api, web (2).
    const picks = ticks(60, {
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      maxBlastRadius: 1,
      rng: seededRandom(11),
    });
    assert.ok(!picks.some((p) => p.endsWith(" db") || p.endsWith(" cache")), picks.join(", "));
    assert.deepEqual(new Set(picks.map((p) => p.split(" ")[1])), new Set(["api", "web", "worker"]));
  });

  test("skips the tick when told to, or when nothing may be faulted", () => {
    const busy = pickChaosFault({
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      busy: "outside the window",
      rng: Math.random,
    });
    assert.deepEqual(busy, { skip: "outside the window", eligible: [], excluded: [] });
    const none = pickChaosFault({
      containers: [svc("api", { "faultline.exclude": "true" })],
      kinds: ["pause"],
      rng: Math.random,
    });
    assert.ok("skip" in none && /no service/.test(none.skip));
  });

  test("kinds that need a value get a default; user options override it", () => {
    assert.deepEqual(optionsForKind("pause"), {});
    assert.equal(optionsForKind("latency").latency, "200ms");
    assert.equal(optionsForKind("latency", { latency: { latency: "1s" } }).latency, "1s");
  });

  test("cron expressions are validated, seconds field allowed", () => {
    assert.equal(assertCronExpression("*/5 * * * *"), "*/5 * * * *");
    assert.equal(assertCronExpression("* * * * * *"), "* * * * * *");
    assert.throws(() => assertCronExpression("every minute"), /not a cron expression/);
  });
});

describe("chaos scheduler: ticks held by pause and pacing (fixed clock)", () => {
  function scheduler(now: { t: Date }, pacing: ConstructorParameters<typeof ChaosScheduler>[1]["pacing"]) {
    const inEffect = new Set<string>();
    const injected: string[] = [];
    const s = new ChaosScheduler(
      {
        containers: () => Promise.resolve(containers),
        graph: () => Promise.resolve(shopGraph()),
        busy: () => undefined,
        inEffect: () => inEffect,
        inject: (service) => {
          injected.push(service);
          return Promise.resolve({ id: `f${injected.length}` });
        },
      },
      { schedule: "* * * * *", kinds: ["pause"], pacing, rng: seededRandom(1), now: () => now.t },
    );
    return { s, injected };
  }

  test("daily cap and minimum gap hold ticks; the status shows window, pacing and last faults", async () => {
    const now = { t: new Date("2026-01-09T08:30:00Z") };
    const { s, injected } = scheduler(now, {
      windows: [parseWindow("Mon-Fri 09:00-17:00 Europe/Rome")],
      minGapMs: 60_000,
      maxConcurrent: 5,
      dailyCap: 2,
    });
    assert.equal((await s.tickOnce()).outcome, "injected");
    now.t = new Date("2026-01-09T08:30:30Z");
    assert.match((await s.tickOnce()).reason ?? "", /between faults/);
    now.t = new Date("2026-01-09T08:32:00Z");
    assert.equal((await s.tickOnce()).outcome, "injected");
    now.t = new Date("2026-01-09T09:00:00Z");
    assert.match((await s.tickOnce()).reason ?? "", /daily cap is reached \(2 of 2 today\)/);
    now.t = new Date("2026-01-10T09:00:00Z");
    assert.match((await s.tickOnce()).reason ?? "", /outside the allowed window/);
    assert.equal(injected.length, 2);
    const status = s.status();
    assert.equal(status.window.open, false);
    assert.equal(status.window.windows[0]!.localTime, "Sat 10:00 Europe/Rome");
    assert.deepEqual(status.pacing, {
      minGapMs: 60_000,
      maxConcurrent: 5,
      dailyCap: 2,
      injectedToday: 0,
      inEffect: 0,
    });
    assert.deepEqual(
      status.lastFaults.map((t) => t.faultId),
      ["f2", "f1"],
    );
  });

  test("paused: ticks inject nothing until resumed", async () => {
    const now = { t: new Date("2026-01-09T08:30:00Z") };
    const { s, injected } = scheduler(now, { windows: [] });
    await s.pause("testing");
    assert.equal(s.status().paused, true);
    assert.match((await s.tickOnce()).reason ?? "", /paused \(testing\)/);
    s.resume();
    assert.equal((await s.tickOnce()).outcome, "injected");
    assert.equal(injected.length, 1);
    assert.equal(s.status().paused, false);
  });
});
