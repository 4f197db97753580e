/**
 * Grafana annotations against Grafana's documented HTTP contract. Grafana itself cannot be installed
 * here (not in Debian, no image pulls), so a local express server on 127.0.0.1 plays it, validating
 * requests the way Grafana's /api/annotations handlers do: Authorization (Bearer service-account token
 * or Basic), JSON body (time/timeEnd epoch ms, tags string[], text string), ids on POST, 404 on
 * unknown ids for PATCH.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import express from "express";
import type { GrafanaConfig } from "../../src/integrations/config.js";
import { GrafanaAnnotations, GrafanaClient } from "../../src/integrations/grafana.js";
import type { StepContext } from "../../src/run/observer.js";
import type { FaultStep, RunRecord } from "../../src/run/record.js";

interface Stored {
  id: number;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
}

const TOKEN = "glsa_testtoken";
const USER = "admin";
const PASSWORD = "s3cret";

function fakeGrafana(opts: { delayMs?: number; failPost?: boolean } = {}) {
  const annotations = new Map<number, Stored>();
  const rejected: string[] = [];
  let next = 1;
  const app = express();
  app.use(express.json());
  app.use((req, res, nextFn) => {
    const auth = req.header("authorization") ?? "";
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    if (auth !== `Bearer ${TOKEN}` && auth !== basic) {
      rejected.push(`auth ${auth.split(" ")[0] || "none"}`);
      res.status(401).json({ message: "Unauthorized" });
      return;
    }
    if (req.method !== "GET" && !req.is("application/json")) {
      rejected.push("content-type");
      res.status(415).json({ message: "bad content type" });
      return;
    }
    if (opts.delayMs) setTimeout(nextFn, opts.delayMs);
    else nextFn();
  });
  const isTags = (t: unknown) => Array.isArray(t) && t.every((x) => typeof x === "string");
  app.post("/api/annotations", (req, res) => {
    const b = req.body as Partial<Stored>;
    if (opts.failPost) {
      res.status(500).json({ message: "Failed to save annotation" });
      return;
    }
    if (typeof b.time !== "number" || typeof b.text !== "string" || !isTags(b.tags)) {
      rejected.push("body");
      res.status(400).json({ message: "bad request data" });
      return;
    }
    const id = next++;
    annotations.set(id, {
      id,
      time: b.time,
      tags: b.tags!,
      text: b.text,
      ...(b.timeEnd ? { timeEnd: b.timeEnd } : {}),
    });
    res.json({ message: "Annotation added", id });
  });
  app.patch("/api/annotations/:id", (req, res) => {
    const a = annotations.get(Number(req.params.id));
    if (!a) {
      res.status(404).json({ message: "Could not find annotation to update" });
      return;
    }
    const b = req.body as Partial<Stored>;
    if (b.timeEnd !== undefined && typeof b.timeEnd !== "number") {
      res.status(400).json({ message: "bad request data" });
      return;
    }
    Object.assign(a, b);
    res.json({ message: "Annotation patched" });
  });
  return { app, annotations, rejected };
}

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });
}

const run: RunRecord = {
  runId: "run-42",
  startedAt: new Date().toISOString(),
  status: "running",
  dryRun: false,
  steps: [],
};

function ctx(faultId: string, extra: Partial<FaultStep> = {}): StepContext {
  const now = Date.now();
  const step: FaultStep = {
    faultId,
    kind: "pause",
    target: "sessions",
    containerId: "c1",
    options: {},
    description: "pause sessions for 10s",
    requestedAt: new Date(now).toISOString(),
    injectedAt: new Date(now).toISOString(),
    durationMs: 10_000,
    errors: [],
    ...extra,
  };
  return { index: 0, planned: {} as StepContext["planned"], step };
}

const silent = { warn: () => undefined, debug: () => undefined };
const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

describe("grafana annotations (Grafana HTTP API contract)", () => {
  let grafana: ReturnType<typeof fakeGrafana>;
  let url = "";
  before(async () => {
    grafana = fakeGrafana();
    const l = await listen(grafana.app);
    servers.push(l.server);
    url = l.url;
  });

  test("a fault becomes an annotation region tagged faultline/kind/target/run", async () => {
    const config: GrafanaConfig = { url, auth: { kind: "bearer", token: TOKEN }, timeoutMs: 2000 };
    const observer = new GrafanaAnnotations(new GrafanaClient(config), { log: silent });
    observer.onRunStart(run);
    const c = ctx("f1");
    observer.onInjected(c);
    c.step.revertedAt = new Date(Date.parse(c.step.injectedAt!) + 10_000).toISOString();
    c.step.outcome = { status: "reverted" };
    observer.onReverted(c);
    observer.onStepEnd(c);
    await observer.onRunEnd();
    assert.equal(observer.failed, 0);
    assert.deepEqual(grafana.rejected, []);
    const a = [...grafana.annotations.values()].at(-1)!;
    assert.deepEqual(a.tags, ["faultline", "pause", "sessions", "run-42"]);
    assert.equal(a.time, Date.parse(c.step.injectedAt!));
    assert.equal(a.timeEnd, Date.parse(c.step.revertedAt));
    assert.match(a.text, /pause on sessions/);
  });

  test("basic auth works; a fault that failed to revert is closed and tagged so", async () => {
    const config: GrafanaConfig = {
      url,
      auth: { kind: "basic", user: USER, password: PASSWORD },
      timeoutMs: 2000,
    };
    const observer = new GrafanaAnnotations(new GrafanaClient(config), { log: silent });
    observer.onRunStart(run);
    const c = ctx("f2");
    observer.onInjected(c);
    c.step.outcome = { status: "revert-failed", error: "agent gone" };
    observer.onStepEnd(c);
    await observer.onRunEnd();
    assert.equal(observer.failed, 0);
    const a = [...grafana.annotations.values()].at(-1)!;
    assert.ok(a.tags.includes("revert-failed"));
    assert.ok(typeof a.timeEnd === "number");
  });

  test("a wrong token is logged, never thrown", async () => {
    const warnings: string[] = [];
    const config: GrafanaConfig = { url, auth: { kind: "bearer", token: "nope" }, timeoutMs: 2000 };
    const observer = new GrafanaAnnotations(new GrafanaClient(config), {
      log: { warn: (m: string) => warnings.push(m), debug: () => undefined } as never,
    });
    observer.onRunStart(run);
    const c = ctx("f3");
    observer.onInjected(c);
    observer.onReverted(c);
    await observer.onRunEnd();
    assert.equal(observer.failed, 1);
    assert.match(warnings[0]!, /401/);
    assert.ok(!warnings.join("").includes("nope"), "the token never reaches the log");
  });
});

describe("grafana annotations when Grafana misbehaves", () => {
  test("a Grafana that does not answer costs a bounded time and no exception", async () => {
    const slow = fakeGrafana({ delayMs: 5000 });
    const l = await listen(slow.app);
    servers.push(l.server);
    const observer = new GrafanaAnnotations(
      new GrafanaClient({ url: l.url, auth: { kind: "bearer", token: TOKEN }, timeoutMs: 300 }),
      { log: silent },
    );
    observer.onRunStart(run);
    const started = Date.now();
    const c = ctx("f4");
    observer.onInjected(c); // returns at once: the runner never waits for Grafana
    assert.ok(Date.now() - started < 100);
    observer.onReverted(c);
    await observer.onRunEnd();
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.equal(observer.failed, 1);
  });

  test("nothing listening, or a 500 on POST: logged failures only", async () => {
    const broken = fakeGrafana({ failPost: true });
    const l = await listen(broken.app);
    servers.push(l.server);
    for (const target of [l.url, "http://127.0.0.1:9"]) {
      const observer = new GrafanaAnnotations(
        new GrafanaClient({ url: target, auth: { kind: "bearer", token: TOKEN }, timeoutMs: 1000 }),
        { log: silent },
      );
      observer.onRunStart(run);
      const c = ctx("f5");
      observer.onInjected(c);
      observer.onReverted(c);
      await observer.onRunEnd();
      assert.equal(observer.failed, 1, target);
    }
  });
});
