/**
 * The HTTP API against real containers: a pause injected by POST /api/faults is in effect, then reverted
 * on time; DELETE reverts early; refused requests change nothing; /metrics counts; shutdown reverts what is
 * still in effect. The service runs in-process, bound to 127.0.0.1 on an ephemeral port.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createApp } from "../../src/api/app.js";
import { closeServer, listen } from "../../src/api/server.js";
import { ChaosService } from "../../src/api/service.js";
import { openRuntime } from "../../src/cli/runtime.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { Journal } from "../../src/run/journal.js";
import {
  type EchoTarget,
  helpersFor,
  removeProject,
  startEcho,
  state,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const project = uniqueProject("api");
let stateDir: string;
let service: ChaosService;
let server: Server;
let base: string;
let web: EchoTarget;
let cache: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-api-"));
  [web, cache] = await Promise.all([
    startEcho(project, "web", "no", ["faultline.test=api"]),
    startEcho(project, "cache", "no", ["faultline.test=api"]),
    startEcho(project, "vault", "no", ["faultline.test=api", "faultline.exclude=true"]),
  ]);
  service = new ChaosService({
    runtime: await openRuntime(),
    journal: new Journal(stateDir),
    registry: defaultRegistry(),
    selector: { project },
    outDir: join(stateDir, "reports"),
    defaults: { kinds: ["pause"], durationMs: 30_000, recoveryWaitMs: 1000, baselineMs: 1000 },
    discoverOnStart: false,
  });
  await service.start();
  ({ server, url: base } = await listen(createApp(service), { host: "127.0.0.1", port: 0 }));
});

after(async () => {
  await service?.shutdown();
  if (server) await closeServer(server);
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body !== undefined ? { "content-type": "application/json" } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: (text.startsWith("{") ? JSON.parse(text) : undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function assertNothingLeft(): Promise<void> {
  for (const t of [web, cache]) {
    const s = await state(t.id);
    assert.equal(s.status, "running", `${t.name} is ${s.status}`);
    assert.equal(s.paused, false);
    assert.deepEqual(await helpersFor(t.id), []);
  }
  assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
}

describe("faultline serve API on real containers", { timeout: 180_000 }, () => {
  test("POST /api/faults pauses the target now and reverts it after the duration", async () => {
    const r = await api("POST", "/api/faults", { target: "web", kind: "pause", duration: "2s" });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.kind, "pause");
    assert.equal(r.json.target, "web");
    assert.equal(r.json.state, "active");
    assert.ok(r.json.injectedAt);
    assert.equal((await state(web.id)).paused, true);

    const listed = await api("GET", "/api/faults");
    assert.deepEqual(
      listed.json.active.map((f: { id: string }) => f.id),
      [r.json.id],
    );

    // One fault per target at a time.
    const again = await api("POST", "/api/faults", { target: "web", kind: "stop" });
    assert.equal(again.status, 409, again.text);
    assert.match(again.json.error.hint, new RegExp(`DELETE /api/faults/${r.json.id}`));

    await waitFor(async () => !(await state(web.id)).paused, 10_000, "web unpaused on time");
    await waitFor(
      async () => (await api("GET", `/api/faults/${r.json.id}`)).json.state === "ended",
      5000,
      "fault ended",
    );
    const ended = (await api("GET", `/api/faults/${r.json.id}`)).json;
    assert.deepEqual(ended.outcome, { status: "reverted" });
    await assertNothingLeft();
  });

  test("DELETE /api/faults/:id reverts early", async () => {
    const r = await api("POST", "/api/faults", { target: "cache", kind: "pause", duration: "5m" });
    assert.equal(r.status, 202, r.text);
    assert.equal((await state(cache.id)).paused, true);
    const started = Date.now();
    const del = await api("DELETE", `/api/faults/${r.json.id}`);
    assert.equal(del.status, 200, del.text);
    assert.ok(Date.now() - started < 15_000);
    assert.equal(del.json.state, "ended");
    assert.equal(del.json.outcome.status, "aborted");
    assert.equal(del.json.outcome.reverted, true);
    assert.equal((await state(cache.id)).paused, false);
    // Idempotent: the ended fault comes back as it is.
    assert.equal((await api("DELETE", `/api/faults/${r.json.id}`)).status, 200);
    await assertNothingLeft();
  });

  test("refused requests change nothing: bad body 400, unknown target 404, excluded 403", async () => {
    const bad = await api("POST", "/api/faults", { target: "web", kind: "pause", duration: "forever" });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /duration "forever" is not a duration/);
    const badKind = await api("POST", "/api/faults", { target: "web", kind: "melt" });
    assert.equal(badKind.status, 400);
    assert.match(badKind.json.error.message, /unknown fault kind "melt"/);
    assert.match(badKind.json.error.hint, /pause/);
    const badOption = await api("POST", "/api/faults", {
      target: "web",
      kind: "pause",
      options: { latency: 1 },
    });
    assert.equal(badOption.status, 400);
    assert.match(badOption.json.error.message, /unknown option "latency"/);
    const ghost = await api("POST", "/api/faults", { target: "ghost", kind: "pause" });
    assert.equal(ghost.status, 404);
    assert.match(ghost.json.error.hint, /cache, vault, web|cache.*web/);
    const vault = await api("POST", "/api/faults", { target: "vault", kind: "pause" });
    assert.equal(vault.status, 403);
    assert.match(vault.json.error.message, /faultline\.exclude=true/);
    await assertNothingLeft();
  });

  test("/metrics counts injected faults, active faults and process metrics", async () => {
    const metrics = await api("GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /faultline_faults_injected_total\{kind="pause",target="web"\} 1/);
    assert.match(metrics.text, /faultline_faults_injected_total\{kind="pause",target="cache"\} 1/);
    assert.match(metrics.text, /faultline_faults_active\{kind="pause",target="web"\} 0/);
    assert.match(metrics.text, /faultline_fault_revert_failures_total 0/);
    assert.match(metrics.text, /faultline_experiments_total/);
    assert.match(metrics.text, /faultline_discovery_duration_seconds_count 0/);
    assert.match(metrics.text, /process_cpu_user_seconds_total/);
  });

  test("POST /api/experiments runs the plan in the background and serves its report", async () => {
    const r = await api("POST", "/api/experiments", {
      only: ["web", "cache"],
      kinds: ["pause"],
      duration: "1s",
      recoveryWait: "500ms",
    });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, "running");
    assert.equal(r.json.progress.total, 2);
    assert.deepEqual(r.json.plan.excluded, []);
    const id: string = r.json.id;
    // While it runs, ad-hoc faults and other experiments are refused.
    assert.equal((await api("POST", "/api/faults", { target: "web", kind: "pause" })).status, 409);
    assert.equal((await api("POST", "/api/experiments", {})).status, 409);
    assert.equal((await api("GET", `/api/experiments/${id}/report.html`)).status, 409);

    await waitFor(
      async () => (await api("GET", `/api/experiments/${id}`)).json.status !== "running",
      60_000,
      "experiment end",
    );
    const done = (await api("GET", `/api/experiments/${id}`)).json;
    assert.equal(done.status, "completed", JSON.stringify(done));
    assert.equal(done.progress.done, 2);
    assert.deepEqual(
      done.record.steps.map(
        (s: { target: string; outcome: { status: string } }) => `${s.target} ${s.outcome.status}`,
      ),
      ["cache reverted", "web reverted"],
    );
    const html = await api("GET", `/api/experiments/${id}/report.html`);
    assert.equal(html.status, 200);
    assert.match(html.text, /<html/i);
    const json = await api("GET", `/api/experiments/${id}/report.json`);
    assert.equal(json.json.format, "faultline-report/1");
    assert.equal(json.json.record.runId, id);
    assert.match((await api("GET", "/metrics")).text, /faultline_experiments_total\{status="completed"\} 1/);
    await assertNothingLeft();
  });

  test("shutdown reverts every fault still in effect", async () => {
    const r = await api("POST", "/api/faults", { target: "web", kind: "pause", duration: "10m" });
    assert.equal(r.status, 202, r.text);
    assert.equal((await state(web.id)).paused, true);
    await service.shutdown("test shutdown");
    await assertNothingLeft();
  });
});
