/**
 * Fuzz over the API's schemas against a real `faultline serve` with a token, on containers made here.
 * fast-check generates hostile requests: bodies shaped like each schema with hostile values (names of
 * protected and out-of-scope containers, huge and negative durations, unknown kinds, prototype keys,
 * deep nesting), arbitrary JSON, broken JSON, wrong content types, missing or wrong tokens. Every
 * container the scope holds is protected (faultline.exclude=true, faultline.exclude=1), and a third one
 * is out of scope, so no request may inject anything. Asserted for each: a 4xx, never a 5xx, with the
 * usual error body and no stack trace; and at the end: no container changed state, no helper was
 * created, and serve's own fault list is empty. Bounded: 1 200 runs, each request 10 s at most.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { killHard, spawnFaultline, waitForOutput, type FaultlineProcess } from "../support/cli.js";
import { docker } from "../support/docker-cli.js";
import { type EchoTarget, removeProject, startEcho, uniqueProject } from "../support/lifecycle-targets.js";

const RUNS = 1200;
const TOKEN = "fuzz-0123456789abcdef0123456789abcdef";
const project = uniqueProject("fuzz");
const outsiderProject = uniqueProject("fuzzout");
let stateDir: string;
let serve: FaultlineProcess;
let base: string;
let vault: EchoTarget;
let guarded: EchoTarget;
let outsider: EchoTarget;

/** What a fault could change on a container: run state, pause, restarts, start time. */
async function snapshot(ids: string[]): Promise<string[]> {
  const out = await docker(
    "inspect",
    "-f",
    "{{.Id}} {{.State.Status}} {{.State.Paused}} {{.State.StartedAt}} {{.RestartCount}}",
    ...ids,
  );
  return out.split("\n").sort();
}

/** faultline's helpers (any state) aimed at any of these containers. */
async function helpersAimedAt(ids: string[]): Promise<string[]> {
  const out = await docker(
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    "label=faultline.owned=true",
    "--format",
    '{{.ID}} {{.Label "faultline.target"}}',
  );
  return out
    .split("\n")
    .filter(Boolean)
    .filter((line) => ids.some((id) => line.endsWith(` ${id}`)));
}

let before_: string[];

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-fuzz-"));
  [vault, guarded, outsider] = await Promise.all([
    startEcho(project, "vault", "no", ["faultline.exclude=true"]),
    startEcho(project, "guarded", "no", ["faultline.exclude=1"]),
    startEcho(outsiderProject, "web"),
  ]);
  before_ = await snapshot([vault.id, guarded.id, outsider.id]);
  serve = spawnFaultline(
    ["serve", "--project", project, "--listen", "127.0.0.1:0", "--kinds", "pause,stop"],
    {
      stateDir,
      env: { FAULTLINE_API_TOKEN: TOKEN, FAULTLINE_LOG_LEVEL: "warn" },
    },
  );
  await waitForOutput(serve, "serving", 60_000, "faultline serve to listen");
  base = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.output())![1]!;
});

after(async () => {
  if (serve) {
    serve.child.kill("SIGTERM");
    await Promise.race([serve.exited, new Promise((r) => setTimeout(r, 20_000))]);
    await killHard(serve.child);
  }
  await removeProject(project);
  await removeProject(outsiderProject);
  await rm(stateDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ generators

const KINDS = [
  "stop",
  "kill",
  "pause",
  "restart",
  "latency",
  "loss",
  "bandwidth",
  "partition",
  "dns",
  "cpu",
  "memory",
];

interface FuzzRequest {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  authorization?: string;
}

/** Built once the containers exist: the generators name them. */
function hostileRequests(): fc.Arbitrary<FuzzRequest> {
  const hostileString = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      "",
      " ",
      "\u0000",
      "../../etc/passwd",
      "*",
      "%",
      "${HOME}",
      "$(id)",
      "a".repeat(300),
      "\u202e",
    ),
  );

  /** Names a request may aim at: every one is protected, out of scope or unknown. */
  const targetName = () =>
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom("vault", "guarded", vault.name, guarded.id.slice(0, 12)) },
      fc.constantFrom(
        "web",
        outsider.name,
        outsider.id,
        outsider.id.slice(0, 12),
        "VAULT",
        "vault ",
        "/vault",
        "self",
        "faultline",
      ),
      hostileString,
    );

  const kindName = fc.oneof(
    fc.constantFrom(...KINDS, "melt", "PAUSE", "__proto__", "constructor"),
    hostileString,
  );

  const durationValue = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.constantFrom(
      1e15,
      -1,
      0,
      1.5,
      Number.MAX_SAFE_INTEGER,
      "30s",
      "1e15",
      "-1s",
      "999999h",
      "25h",
      "NaN",
      "soon",
    ),
    hostileString,
  );

  const optionValue = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    durationValue,
    fc.constantFrom("SIGSTOP", "19", "SIGKILL", "1000000g", "100%", "0mbit", "1e99ms"),
  );

  const options = fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        "latency",
        "jitter",
        "signal",
        "timeout",
        "workers",
        "load",
        "bytes",
        "port",
        "peer",
        "rate",
        "loss",
        "names",
        "__proto__",
        "constructor",
        "toString",
      ),
      hostileString,
    ),
    optionValue,
    { maxKeys: 6 },
  );

  const faultBody = fc.record(
    {
      target: targetName(),
      kind: kindName,
      options,
      duration: durationValue,
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );

  const experimentBody = fc.record(
    {
      only: fc.array(targetName(), { maxLength: 4 }),
      kinds: fc.array(kindName, { maxLength: 4 }),
      duration: durationValue,
      recoveryWait: durationValue,
      options: fc.dictionary(kindName, options, { maxKeys: 3 }),
      thresholds: fc.array(
        fc.oneof(hostileString, fc.constantFrom("latency_p95_ms<500", "x:error_rate<1e999")),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: [] },
  );

  /** Bodies the schemas accept: only the target (protected, out of scope, unknown) keeps them out. */
  const validOptions = fc.constantFrom(
    {},
    { signal: "SIGTERM" },
    { latency: "100ms" },
    { loss: 10 },
    { workers: 1 },
  );
  const plausibleFault = fc.record({
    target: targetName(),
    kind: fc.constantFrom(...KINDS),
    options: validOptions,
    duration: fc.constantFrom("1s", "30s", 500, "24h"),
  });
  const plausibleExperiment = fc.record(
    {
      only: fc.array(targetName(), { minLength: 1, maxLength: 3 }),
      kinds: fc.subarray(KINDS, { minLength: 1, maxLength: 3 }),
      duration: fc.constantFrom("1s", "30s"),
      recoveryWait: fc.constantFrom("0s", "1h", 100),
    },
    { requiredKeys: ["kinds"] },
  );

  /** A body as text: JSON of a schema-shaped or arbitrary value, broken JSON, or a hand-made hostile one. */
  const bodyText = (shaped: fc.Arbitrary<unknown>, plausible: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: 4, arbitrary: plausible.map((b) => JSON.stringify(b)) },
      { weight: 4, arbitrary: shaped.map((b) => JSON.stringify(b)) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((b) => JSON.stringify(b)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          `{"target":"vault","kind":"pause","options":{"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}}`,
          '{"target":"vault","kind":"pause","options":{"__proto__":{"polluted":true}}}',
          '{"__proto__":{"target":"web"},"kind":"pause"}',
          '{"only":["web"],"kinds":["pause"]}',
          "{}",
          "[]",
          "null",
          '"pause"',
          "",
        ),
      },
    );

  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
        "application/jsonx",
      ),
    },
  );

  const authorization = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        "Bearer wrong-token-of-some-length",
        `Basic ${TOKEN}`,
        `Bearer ${TOKEN}x`,
      ),
    },
  );

  const idSegment = fc
    .oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom("..", "%2e%2e", "f-1", "run-x"))
    // fetch resolves a bare "." segment away (GET /api/faults/. is sent as the plain list request), so
    // it goes out percent-encoded, the way a hostile client gets a dot to the server.
    .map((id) => (id === "." ? "%2E" : encodeURIComponent(id)));

  return fc.oneof(
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/api/faults"),
      body: bodyText(faultBody, plausibleFault),
      contentType,
      authorization,
    }),
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/api/experiments"),
      body: bodyText(experimentBody, plausibleExperiment),
      contentType,
      authorization,
    }),
    // Discovery has no options: any non-empty body is refused (an empty one would be a 200).
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/api/discover"),
      body: fc.oneof(
        fc
          .dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 })
          .map((b) => JSON.stringify(b)),
        fc.constantFrom("[1]", '"x"', "{bad"),
      ),
      contentType,
      authorization,
    }),
    fc.record({
      method: fc.constantFrom("DELETE", "GET"),
      path: idSegment.map((id) => `/api/faults/${id}`),
      authorization,
    }),
    fc.record({
      method: fc.constantFrom("DELETE", "GET"),
      path: idSegment.map((id) => `/api/experiments/${id}`),
      authorization,
    }),
    fc.record({
      method: fc.constantFrom("PUT", "PATCH"),
      path: fc.constantFrom("/api/faults/f-1", "/api/experiments"),
      body: bodyText(faultBody, plausibleFault),
      contentType,
      authorization,
    }),
  );
}

// ------------------------------------------------------------------ the property

async function send(r: FuzzRequest): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (r.contentType) headers["content-type"] = r.contentType;
  if (r.authorization) headers.authorization = r.authorization;
  const res = await fetch(`${base}${r.path}`, {
    method: r.method,
    headers,
    // Bytes, so fetch adds no content type of its own.
    body: r.body === undefined ? undefined : new TextEncoder().encode(r.body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

describe("API fuzz against faultline serve", { timeout: 600_000 }, () => {
  test(`${RUNS} generated hostile requests: 4xx, never 5xx, nothing injected`, async () => {
    let sent = 0;
    const statuses = new Map<number, number>();
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(hostileRequests(), async (r) => {
        const { status, text } = await send(r);
        sent += 1;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const what = `${r.method} ${r.path} ${r.contentType ?? "-"} ${(r.body ?? "").slice(0, 200)} -> ${status} ${text.slice(0, 300)}`;
        assert.ok(status >= 400 && status < 500, what);
        const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
        assert.equal(typeof body.error?.code, "string", what);
        assert.doesNotMatch(text, /\n\s+at |\\n\s+at /, what);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const spread = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}:${n}`)
      .join(" ");
    console.log(`api fuzz: ${sent} hostile requests in ${seconds} s, statuses ${spread}`);
    assert.ok(sent >= 1000, `only ${sent} requests ran`);

    // Nothing was injected: no state changed, no helper exists, serve knows of no fault at all.
    assert.deepEqual(await snapshot([vault.id, guarded.id, outsider.id]), before_);
    assert.deepEqual(await helpersAimedAt([vault.id, guarded.id, outsider.id]), []);
    const faults = await fetch(`${base}/api/faults`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(await faults.json(), { active: [], recent: [] });
    assert.equal(serve.child.exitCode, null, "serve is still running");
  });
});
