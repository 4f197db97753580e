/**
 * The HTTP layer on its own: routes, validation and error mapping, driven through a real HTTP server
 * on 127.0.0.1 with a service object that records what it was asked.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/api/app.js";
import {
  assertListenAllowed,
  bearerToken,
  isLoopbackHost,
  isOpenRequest,
  resolveApiToken,
  tokenMatches,
} from "../../src/api/auth.js";
import { ConflictError, UnknownIdError } from "../../src/api/errors.js";
import type { FaultView } from "../../src/api/faults.js";
import { closeServer, listen, parseListen } from "../../src/api/server.js";
import type { ApiService } from "../../src/api/service.js";
import { TargetExcludedError, TargetNotFoundError } from "../../src/errors.js";
import { containerIdFromMountinfo } from "../../src/run/self.js";
import type { DependencyGraph } from "../../src/graph/types.js";

const calls: { method: string; args: unknown[] }[] = [];

const graph: DependencyGraph = {
  nodes: [
    { id: "api", kind: "http", confidence: 1, ports: [], endpoints: [] },
    { id: "db", kind: "postgresql", confidence: 1, ports: [], endpoints: [] },
  ],
  edges: [{ from: "api", to: "db", confidence: 0.9, evidence: [] }],
  order: ["db", "api"],
};

function faultView(target: string, kind: string): FaultView {
  return {
    id: "f-1",
    source: "api",
    runId: "run-1",
    state: "active",
    faultId: "f-1",
    kind: kind as FaultView["kind"],
    target,
    containerId: "c1",
    options: {},
    description: `${kind} ${target}`,
    requestedAt: new Date(0).toISOString(),
    durationMs: 1000,
    errors: [],
  };
}

const fake: ApiService = {
  health: () => ({ status: "ok", activeFaults: 0, scope: { project: "shop" } }),
  services: async () => ({ services: [] }),
  discover: async () => {
    calls.push({ method: "discover", args: [] });
    return { services: [] };
  },
  graph: async () => graph,
  injectFault: async (body) => {
    calls.push({ method: "injectFault", args: [body] });
    if (body.target === "ghost") throw new TargetNotFoundError(`no service "ghost"`, "known: api, db");
    if (body.target === "vault") throw new TargetExcludedError(`"vault" is excluded`, "pick another target");
    if (body.target === "busy") throw new ConflictError(`"busy" already has a fault in effect`, "wait");
    return faultView(body.target, body.kind);
  },
  listFaults: () => ({ active: [], recent: [] }),
  getFault: (id) => {
    throw new UnknownIdError(`no fault "${id}"`);
  },
  revertFault: async (id) => {
    calls.push({ method: "revertFault", args: [id] });
    return { ...faultView("api", "pause"), state: "ended" };
  },
  startExperiment: async (body) => {
    calls.push({ method: "startExperiment", args: [body] });
    throw new ConflictError("experiment run-x is already running");
  },
  startExperimentDocument: async (loaded) => {
    calls.push({ method: "startExperimentDocument", args: [loaded.document] });
    throw new ConflictError("experiment run-x is already running");
  },
  listExperiments: () => [],
  getExperiment: (id) => {
    throw new UnknownIdError(`no experiment "${id}"`);
  },
  cancelExperiment: async (id) => {
    throw new UnknownIdError(`no experiment "${id}"`);
  },
  experimentReport: (id) => {
    throw new UnknownIdError(`no experiment "${id}"`);
  },
  schedule: () => undefined,
  pauseSchedule: async () => {
    calls.push({ method: "pauseSchedule", args: [] });
    throw new ConflictError("no chaos schedule is configured", "start faultline serve with --schedule");
  },
  resumeSchedule: () => {
    throw new ConflictError("no chaos schedule is configured", "start faultline serve with --schedule");
  },
  halt: async (reason) => {
    calls.push({ method: "halt", args: [reason] });
    return { paused: false, reverted: [], revertedFromJournal: [], failed: [], durationMs: 3 };
  },
  metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "faultline_x 1\n" }),
  prometheusTargets: async () => [],
};

let server: Server;
let base: string;

before(async () => {
  ({ server, url: base } = await listen(createApp(fake), { host: "127.0.0.1", port: 0 }));
});
after(async () => {
  await closeServer(server);
});

async function call(method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body !== undefined || raw ? { "content-type": "application/json" } : {},
    body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, text, json: json as any, headers: res.headers };
}

describe("POST /api/experiments takes an experiment document", () => {
  const document = {
    title: "cache down",
    scope: { project: "shop" },
    method: [{ fault: { target: "cache", kind: "pause", duration: "5s" } }],
  };

  test("as JSON or as YAML: the same document reaches the service", async () => {
    calls.length = 0;
    assert.equal((await call("POST", "/api/experiments", document)).status, 409);
    const yaml = await fetch(`${base}/api/experiments`, {
      method: "POST",
      headers: { "content-type": "application/yaml" },
      body: "title: cache down\nscope: { project: shop }\nmethod:\n  - fault: { target: cache, kind: pause, duration: 5s }\n",
    });
    assert.equal(yaml.status, 409);
    assert.deepEqual(
      calls.map((c) => [c.method, (c.args[0] as { title: string }).title]),
      [
        ["startExperimentDocument", "cache down"],
        ["startExperimentDocument", "cache down"],
      ],
    );
  });

  test("a bad document is a 400 naming where, and the service is never asked", async () => {
    calls.length = 0;
    const bad = await call("POST", "/api/experiments", {
      ...document,
      method: [
        { fault: { target: "cache", kind: "http", options: { status: 503, percent: 0 }, duration: "5s" } },
      ],
    });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /^request body: method\[0\]\.fault\.options\.percent: /);
    const yaml = await fetch(`${base}/api/experiments`, {
      method: "POST",
      headers: { "content-type": "text/yaml" },
      body: "title: x\nscope: { project: shop }\nmethod:\n  - wait: 1s\n    extra: 2\n",
    });
    assert.equal(yaml.status, 400);
    assert.match(
      ((await yaml.json()) as { error: { message: string } }).error.message,
      /^request body:5:5: method\[0\]\.extra: unknown key "extra"/,
    );
    assert.deepEqual(calls, []);
  });
});

describe("API app", () => {
  test("POST /api/halt reaches the service; pause without a schedule is a 409 saying how to get one", async () => {
    calls.length = 0;
    const halt = await call("POST", "/api/halt");
    assert.equal(halt.status, 200);
    assert.equal(halt.json.durationMs, 3);
    const pause = await call("POST", "/api/schedule/pause");
    assert.equal(pause.status, 409);
    assert.match(pause.json.error.hint, /--schedule/);
    assert.deepEqual(
      calls.map((c) => c.method),
      ["halt", "pauseSchedule"],
    );
  });

  test("POST /api/faults: 202 with the fault, durations parsed", async () => {
    calls.length = 0;
    const r = await call("POST", "/api/faults", { target: "api", kind: "pause", duration: "2s" });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get("location"), "/api/faults/f-1");
    assert.equal((r.json as { id: string }).id, "f-1");
    assert.deepEqual(calls, [
      { method: "injectFault", args: [{ target: "api", kind: "pause", options: {}, duration: 2000 }] },
    ]);
  });

  test("bad bodies are 400s naming the field, and the service is never called", async () => {
    calls.length = 0;
    const cases: [unknown, RegExp][] = [
      [{ kind: "pause" }, /"target"/],
      [{ target: "api", kind: "pause", duration: "soon" }, /duration "soon" is not a duration/],
      [{ target: "api", kind: "pause", color: "red" }, /unknown field "color"/],
      [{ target: "api", kind: "pause", options: "x" }, /"options"/],
      [[1, 2], /invalid fault request/],
    ];
    for (const [body, message] of cases) {
      const r = await call("POST", "/api/faults", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      const error = (r.json as { error: { code: string; message: string } }).error;
      assert.equal(error.code, "INVALID_INPUT");
      assert.match(error.message, message);
    }
    const broken = await call("POST", "/api/faults", undefined, "{not json");
    assert.equal(broken.status, 400);
    assert.equal((broken.json as { error: { code: string } }).error.code, "INVALID_JSON");
    assert.deepEqual(calls, []);
  });

  test("typed errors map to statuses with code, message and hint", async () => {
    const ghost = await call("POST", "/api/faults", { target: "ghost", kind: "pause" });
    assert.equal(ghost.status, 404);
    assert.deepEqual(ghost.json, {
      error: { code: "TARGET_NOT_FOUND", message: 'no service "ghost"', hint: "known: api, db" },
    });
    assert.equal((await call("POST", "/api/faults", { target: "vault", kind: "pause" })).status, 403);
    const busy = await call("POST", "/api/faults", { target: "busy", kind: "pause" });
    assert.equal(busy.status, 409);
    assert.equal((busy.json as { error: { code: string } }).error.code, "CONFLICT");
    assert.equal((await call("GET", "/api/faults/nope")).status, 404);
    assert.equal((await call("GET", "/api/experiments/nope/report.html")).status, 404);
    assert.equal((await call("POST", "/api/experiments", { kinds: ["pause"] })).status, 409);
    assert.equal((await call("POST", "/api/experiments", { kinds: [] })).status, 400);
    const route = await call("GET", "/api/nothing");
    assert.equal(route.status, 404);
    assert.match((route.json as { error: { message: string } }).error.message, /no route GET \/api\/nothing/);
  });

  test("DELETE reverts, graph renders as JSON or mermaid, metrics as text", async () => {
    const del = await call("DELETE", "/api/faults/f-1");
    assert.equal(del.status, 200);
    assert.equal((del.json as { state: string }).state, "ended");
    const json = await call("GET", "/api/graph");
    assert.deepEqual((json.json as unknown as DependencyGraph).order, ["db", "api"]);
    const mermaid = await call("GET", "/api/graph?format=mermaid");
    assert.match(mermaid.text, /^(graph|flowchart) /);
    assert.equal((await call("GET", "/api/graph?format=svg")).status, 400);
    const metrics = await call("GET", "/metrics");
    assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
    assert.equal(metrics.text, "faultline_x 1\n");
    assert.equal((await call("GET", "/healthz")).status, 200);
    assert.equal((await call("POST", "/api/discover")).status, 200);
    assert.equal((await call("POST", "/api/discover", { deep: true })).status, 400);
  });
});

describe("serve helpers", () => {
  test("--listen accepts host:port, :port, port and [v6]:port", () => {
    assert.deepEqual(parseListen("127.0.0.1:8080"), { host: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseListen(":9000"), { host: "127.0.0.1", port: 9000 });
    assert.deepEqual(parseListen("0"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseListen("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
    assert.deepEqual(parseListen("[::1]:8080"), { host: "::1", port: 8080 });
    for (const bad of ["", "host", "1.2.3.4:", "1.2.3.4:99999", "a:b:c", "::1:80"])
      assert.throws(() => parseListen(bad), /is not host:port/, bad);
  });

  test("the own container id comes from the engine's bind mounts in mountinfo", () => {
    const id = "b308593ddbd901eacf063281a15c08a39f3dbf2e54bec344a4d4054515b750e4";
    const text = `248 231 254:0 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw\n`;
    assert.equal(containerIdFromMountinfo(text), id);
    assert.equal(containerIdFromMountinfo("22 1 0:21 / /proc rw - proc proc rw\n"), undefined);
  });
});

const TOKEN = "0123456789abcdef0123456789abcdef";
const READ_TOKEN = "fedcba9876543210fedcba9876543210";

describe("API token", () => {
  let guarded: Server;
  let guardedBase: string;

  before(async () => {
    ({ server: guarded, url: guardedBase } = await listen(createApp(fake, { apiToken: TOKEN }), {
      host: "127.0.0.1",
      port: 0,
    }));
  });
  after(async () => {
    await closeServer(guarded);
  });

  async function guardedCall(method: string, path: string, authorization?: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${guardedBase}${path}`, {
      method,
      headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      json: (text.startsWith("{") ? JSON.parse(text) : undefined) as any,
      headers: res.headers,
    };
  }

  const protectedRequests: [string, string, unknown?][] = [
    ["POST", "/api/faults", { target: "api", kind: "pause" }],
    ["DELETE", "/api/faults/f-1"],
    ["GET", "/api/faults"],
    ["GET", "/api/faults/f-1"],
    ["POST", "/api/experiments", { kinds: ["pause"] }],
    ["GET", "/api/experiments"],
    ["DELETE", "/api/experiments/run-x"],
    ["GET", "/api/experiments/run-x/report.html"],
    ["POST", "/api/discover"],
    ["PUT", "/api/faults/f-1", {}],
    ["PATCH", "/api/faults/f-1", {}],
    ["GET", "/api/services"],
    ["GET", "/api/graph"],
    ["GET", "/api/schedule"],
    ["POST", "/api/schedule/pause"],
    ["POST", "/api/schedule/resume"],
    ["POST", "/api/halt"],
    // Not exactly an open path: express would route it to /metrics, so it needs the token too.
    ["GET", "/METRICS"],
    ["GET", "/api/nothing"],
  ];

  test("without a token: 401 with the error body and WWW-Authenticate, and the service is never called", async () => {
    calls.length = 0;
    for (const [method, path, body] of protectedRequests) {
      const r = await guardedCall(method, path, undefined, body);
      assert.equal(r.status, 401, `${method} ${path}: ${r.text}`);
      assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="faultline"', `${method} ${path}`);
      assert.equal(r.json.error.code, "UNAUTHORIZED");
      assert.match(r.json.error.message, /needs an API token/);
      assert.match(r.json.error.hint, /Authorization: Bearer <token>/);
    }
    assert.deepEqual(calls, []);
  });

  test("with a wrong or malformed token: 401 invalid_token; the token never appears in the answer", async () => {
    calls.length = 0;
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      "Bearer wrong",
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`,
      `Bearer ${TOKEN} extra`,
      "Bearer",
      TOKEN,
    ]) {
      const r = await guardedCall("POST", "/api/faults", authorization, { target: "api", kind: "pause" });
      assert.equal(r.status, 401, authorization);
      assert.equal(r.json.error.code, "UNAUTHORIZED");
      assert.ok(!r.text.includes(TOKEN), "the expected token is not echoed");
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer realm="faultline"/);
    }
    const wrong = await guardedCall("POST", "/api/faults", "Bearer wrong-token-of-some-length", {});
    assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="faultline", error="invalid_token"');
    assert.match(wrong.json.error.message, /not valid/);
    assert.deepEqual(calls, []);
  });

  test("with the right token every endpoint answers as without authentication", async () => {
    calls.length = 0;
    const auth = `Bearer ${TOKEN}`;
    const injected = await guardedCall("POST", "/api/faults", auth, { target: "api", kind: "pause" });
    assert.equal(injected.status, 202, injected.text);
    assert.equal(injected.json.id, "f-1");
    // The scheme is case-insensitive (RFC 7235).
    assert.equal((await guardedCall("DELETE", "/api/faults/f-1", `bearer ${TOKEN}`)).status, 200);
    assert.equal((await guardedCall("GET", "/api/faults", auth)).status, 200);
    assert.equal((await guardedCall("GET", "/api/services", auth)).status, 200);
    assert.equal((await guardedCall("POST", "/api/discover", auth)).status, 200);
    // Errors past authentication keep their own status.
    assert.equal((await guardedCall("POST", "/api/experiments", auth, { kinds: ["pause"] })).status, 409);
    assert.equal((await guardedCall("GET", "/api/nothing", auth)).status, 404);
    assert.deepEqual(
      calls.map((c) => c.method),
      ["injectFault", "revertFault", "discover", "startExperiment"],
    );
  });

  test("healthz (liveness only) and metrics stay open; the Prometheus SD document needs a token", async () => {
    const health = await guardedCall("GET", "/healthz");
    assert.equal(health.status, 200);
    // No scope, no experiment, no fault count for whoever asks without the token.
    assert.deepEqual(health.json, { status: "ok" });
    const detailed = await guardedCall("GET", "/healthz", `Bearer ${TOKEN}`);
    assert.deepEqual(detailed.json, { status: "ok", activeFaults: 0, scope: { project: "shop" } });
    const metrics = await guardedCall("GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.equal(metrics.text, "faultline_x 1\n");
    // The targets name every service's address: the token or the read token, nothing else.
    const anonymous = await guardedCall("GET", "/api/prometheus/targets");
    assert.equal(anonymous.status, 401);
    assert.equal(
      (await guardedCall("GET", "/api/prometheus/targets", "Bearer wrong-token-of-some-length")).status,
      401,
    );
    const targets = await guardedCall("GET", "/api/prometheus/targets", `Bearer ${TOKEN}`);
    assert.equal(targets.status, 200);
    assert.equal(targets.text, "[]");
    // A wrong token on an open endpoint does not matter either.
    assert.equal((await guardedCall("GET", "/metrics", "Bearer wrong")).status, 200);
    // Open means readable, not writable.
    assert.equal((await guardedCall("POST", "/metrics")).status, 401);
    assert.equal((await guardedCall("DELETE", "/healthz")).status, 401);
  });

  test("a read token reads the scraper endpoints and nothing else", async () => {
    calls.length = 0;
    const { server: reading, url } = await listen(
      createApp(fake, { apiToken: TOKEN, readToken: READ_TOKEN }),
      {
        host: "127.0.0.1",
        port: 0,
      },
    );
    try {
      const get = async (method: string, path: string, token: string, body?: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { "content-type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(5000),
        });
      assert.equal((await get("GET", "/api/prometheus/targets", READ_TOKEN)).status, 200);
      assert.equal((await get("GET", "/api/prometheus/targets", TOKEN)).status, 200);
      const health = await (await get("GET", "/healthz", READ_TOKEN)).json();
      assert.equal((health as { activeFaults: number }).activeFaults, 0);
      for (const [method, path, body] of [
        ["GET", "/api/faults"],
        ["GET", "/api/services"],
        ["POST", "/api/faults", { target: "api", kind: "pause" }],
        ["DELETE", "/api/faults/f-1"],
      ] as [string, string, unknown?][])
        assert.equal((await get(method, path, READ_TOKEN, body)).status, 401, `${method} ${path}`);
      assert.deepEqual(calls, []);
    } finally {
      await closeServer(reading);
    }
  });

  test("pure helpers: open requests, bearer parsing, constant-time compare", () => {
    assert.equal(isOpenRequest("GET", "/metrics"), true);
    assert.equal(isOpenRequest("HEAD", "/healthz"), true);
    assert.equal(isOpenRequest("GET", "/api/prometheus/targets"), false);
    assert.equal(isOpenRequest("POST", "/api/prometheus/targets"), false);
    assert.equal(isOpenRequest("GET", "/metrics/"), false);
    assert.equal(isOpenRequest("GET", "/api/faults"), false);
    assert.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN);
    assert.equal(bearerToken(`BEARER   ${TOKEN}`), TOKEN);
    assert.equal(bearerToken(`Bearer a b`), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(`Basic ${TOKEN}`), undefined);
    assert.equal(tokenMatches(TOKEN, TOKEN), true);
    assert.equal(tokenMatches(`${TOKEN}0`, TOKEN), false);
    assert.equal(tokenMatches("", TOKEN), false);
  });

  test("loopback addresses are told from the rest", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"])
      assert.equal(isLoopbackHost(host), true, host);
    for (const host of [
      "0.0.0.0",
      "::",
      "",
      "10.0.0.5",
      "192.168.1.2",
      "::ffff:10.0.0.1",
      "example.org",
      "128.0.0.1",
    ])
      assert.equal(isLoopbackHost(host), false, host);
    assert.doesNotThrow(() => assertListenAllowed({ host: "127.0.0.1", port: 8080 }, undefined));
    assert.doesNotThrow(() => assertListenAllowed({ host: "0.0.0.0", port: 8080 }, TOKEN));
    assert.throws(
      () => assertListenAllowed({ host: "0.0.0.0", port: 8080 }, undefined),
      /refusing to serve the fault-injection API on non-loopback 0\.0\.0\.0 without an API token/,
    );
  });

  test("the token comes from FAULTLINE_API_TOKEN or a file, never both, and must be strong enough", async () => {
    const dir = await mkdtemp(join(tmpdir(), "faultline-token-"));
    try {
      const file = join(dir, "token");
      await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
      assert.equal(resolveApiToken({ tokenFile: file }), TOKEN);
      assert.equal(resolveApiToken({ envToken: TOKEN }), TOKEN);
      assert.equal(resolveApiToken({}), undefined);
      assert.throws(() => resolveApiToken({ envToken: TOKEN, tokenFile: file }), /both FAULTLINE_API_TOKEN/);
      assert.throws(() => resolveApiToken({ tokenFile: join(dir, "missing") }), /cannot read .*ENOENT/);
      await writeFile(file, "\n");
      assert.throws(() => resolveApiToken({ tokenFile: file }), /is empty/);
      assert.throws(() => resolveApiToken({ envToken: "short" }), /shorter than 16 characters/);
      assert.throws(() => resolveApiToken({ envToken: `${TOKEN} ${TOKEN}` }), /spaces or non-ASCII/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A request with full control of the headers: fetch alone cannot send a body without a content type. */
async function rawCall(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
) {
  const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, text, json: (text.startsWith("{") ? JSON.parse(text) : undefined) as any };
}

const MUTATING_ROUTES: [string, string][] = [
  ["POST", "/api/faults"],
  ["POST", "/api/experiments"],
  ["POST", "/api/discover"],
  ["DELETE", "/api/faults/f-1"],
  ["DELETE", "/api/experiments/run-x"],
];

describe("request bodies", () => {
  test("a body that is not JSON is 415 on every mutating route, and the service is never called", async () => {
    calls.length = 0;
    // curl -d's default, as in the report: it must not run anything, let alone the default experiment.
    const scoped = '{"only":["storefront"],"kinds":["pause"]}';
    const cases: [Record<string, string>, string | Uint8Array][] = [
      [{ "content-type": "application/x-www-form-urlencoded" }, scoped],
      [{ "content-type": "text/plain" }, scoped],
      [{ "content-type": "multipart/form-data; boundary=x" }, "--x\r\n\r\n--x--"],
      [{ "content-type": "application/jsonx" }, scoped],
      [{ "content-type": "application/json; charset=latin1" }, scoped],
      [{}, new TextEncoder().encode(scoped)],
    ];
    for (const [method, path] of MUTATING_ROUTES) {
      for (const [headers, body] of cases) {
        const r = await rawCall(method, path, headers, body);
        const what = `${method} ${path} ${JSON.stringify(headers)}`;
        assert.equal(r.status, 415, `${what}: ${r.text}`);
        assert.equal(r.json.error.code, "UNSUPPORTED_MEDIA_TYPE", what);
        assert.match(r.json.error.hint, /Content-Type: application\/json/, what);
      }
    }
    assert.deepEqual(calls, []);
  });

  test("a missing or empty body is 400 where the route needs one; an empty body never becomes {}", async () => {
    calls.length = 0;
    for (const path of ["/api/faults", "/api/experiments"]) {
      for (const [headers, body] of [
        [{}, undefined],
        [{ "content-type": "application/json" }, undefined],
        [{ "content-type": "application/json" }, ""],
        [{ "content-type": "application/json" }, " \n "],
      ] as [Record<string, string>, string | undefined][]) {
        const r = await rawCall("POST", path, headers, body);
        const what = `${path} ${JSON.stringify(headers)} ${JSON.stringify(body)}`;
        assert.equal(r.status, 400, `${what}: ${r.text}`);
        assert.equal(r.json.error.code, "MISSING_BODY", what);
        assert.match(r.json.error.hint, /JSON object/, what);
      }
    }
    assert.deepEqual(calls, []);
    // Routes that take no body still work without one, and with JSON in any capitalisation or charset.
    assert.equal((await rawCall("POST", "/api/discover", {})).status, 200);
    assert.equal((await rawCall("DELETE", "/api/faults/f-1", {})).status, 200);
    const spelled = await rawCall(
      "POST",
      "/api/faults",
      { "content-type": "Application/JSON; charset=UTF-8" },
      JSON.stringify({ target: "api", kind: "pause" }),
    );
    assert.equal(spelled.status, 202, spelled.text);
  });
});

describe("hostile bodies", () => {
  test("deep nesting is a 400 without a stack trace, and the service is never called", async () => {
    calls.length = 0;
    const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
    for (const [path, raw] of [
      ["/api/faults", `{"target":"api","kind":"pause","options":{"x":${deep(30_000)}}}`],
      ["/api/experiments", `{"options":{"pause":{"x":${deep(30_000)}}}}`],
      ["/api/faults", `{"target":"api","kind":"pause","options":{"x":${deep(40)}}}`],
    ] as const) {
      const r = await call("POST", path, undefined, raw);
      assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.error.code, "INVALID_INPUT");
      assert.match(r.json.error.message, /nested deeper than \d+ levels/);
      assert.doesNotMatch(r.text, /\n\s+at |RangeError|Maximum call stack/);
    }
    assert.deepEqual(calls, []);
  });

  test("__proto__ (and constructor.prototype) keys are refused by name wherever they are", async () => {
    calls.length = 0;
    for (const [path, raw] of [
      ["/api/faults", '{"target":"api","kind":"pause","options":{"__proto__":{"isAdmin":true}}}'],
      ["/api/faults", '{"__proto__":{"x":1},"target":"api","kind":"pause"}'],
      ["/api/faults", '{"target":"api","kind":"pause","options":{"\\u005f_proto__":1}}'],
      ["/api/experiments", '{"options":{"pause":{"__proto__":{"x":1}}}}'],
      ["/api/faults", '{"target":"api","kind":"pause","options":{"constructor":{"prototype":{"x":1}}}}'],
    ] as const) {
      const r = await call("POST", path, undefined, raw);
      assert.equal(r.status, 400, `${raw}: ${r.text}`);
      assert.match(r.json.error.message, /"__proto__"|"constructor"/, raw);
    }
    assert.deepEqual(calls, []);
  });
});
