/**
 * Experiment documents end to end on the demo shop, as a user runs them (`faultline run --experiment`):
 * a hypothesis that fails (the web service answers 503 through an http fault, against an explicit
 * threshold), one that holds (the client simulator paused, probes of the web service passing), a scenario
 * of two faults whose windows differ (impact attributed to the scenario and to each fault), and a bad
 * document refused with one line naming file, line and key, with nothing injected. Targets are picked by
 * discovered kind, never by the demo's names.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ReportData } from "../../src/report/data.js";
import { runFaultline } from "../support/cli.js";
import { demoStack, type DemoStack } from "../support/demo-stack.js";
import { docker } from "../support/docker-cli.js";

let stack: DemoStack;
let dir: string;

const timing = `
steadyState:
  baseline: 4s
  thresholds: ["probe_failure_ratio<0.3"]
rollback:
  recovery: 4s
`;

async function experiment(name: string, body: string) {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `title: ${name}\nscope:\n  project: ${stack.project}\n${body}`);
  const stateDir = join(dir, `state-${name}`);
  const out = join(dir, `report-${name}`);
  const result = await runFaultline(
    ["run", "--experiment", file, "--out", out, "--interval", "500ms", "-q"],
    {
      stateDir,
      timeoutMs: 180_000,
      killSignal: "SIGINT",
    },
  );
  const report =
    result.code === 0 || result.code === 4
      ? (JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportData)
      : undefined;
  return { ...result, report, out, stateDir, file };
}

/** faultline's helper containers aiming at the demo stack. */
async function helpersOnStack(): Promise<string[]> {
  const ids = (await docker("ps", "-aq", "--filter", `label=com.docker.compose.project=${stack.project}`))
    .split("\n")
    .filter(Boolean);
  const owned = (await docker("ps", "-aq", "--no-trunc", "--filter", "label=faultline.owned=true"))
    .split("\n")
    .filter(Boolean);
  const aimed: string[] = [];
  for (const id of owned) {
    const target = await docker("inspect", "-f", '{{index .Config.Labels "faultline.target"}}', id).catch(
      () => "",
    );
    if (ids.some((t) => target.startsWith(t))) aimed.push(id);
  }
  return aimed;
}

describe("experiment documents on the demo shop", { timeout: 600_000 }, () => {
  before(async () => {
    stack = await demoStack();
    dir = await mkdtemp(join(tmpdir(), "faultline-experiments-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await stack?.dispose();
  });

  test("a hypothesis that does not hold: the web service answers 503; verdict, report and exit code say where", async () => {
    const r = await experiment(
      "web answers 503",
      `targets:
  web: { kind: http }
${timing}method:
  - fault:
      target: web
      kind: http
      options: { status: 503, percent: 100 }
      duration: 6s
`,
    );
    assert.equal(r.code, 4, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /hypothesis did not hold: answer 503 to all requests .* breached threshold probe_failure_ratio<0\.3/,
    );
    const e = r.report!.record.experiment!;
    assert.equal(e.title, "web answers 503");
    assert.equal(e.verdict?.held, false);
    assert.match(e.verdict!.findings[0]!.text, /breached threshold probe_failure_ratio<0\.3/);
    assert.equal(r.report!.faults[0]!.kind, "http");
    const html = await readFile(join(r.out, "report.html"), "utf8");
    assert.ok(html.includes("<h1>web answers 503 · faultline report</h1>"), "the title heads the report");
    assert.match(html, /Hypothesis did not hold/);
    assert.match(await readFile(join(r.out, "report.md"), "utf8"), /\*\*Hypothesis did not hold\*\*/);
    assert.deepEqual(await helpersOnStack(), []);
  });

  test("a hypothesis that holds: the client paused, the web service's probes pass before and after", async () => {
    const r = await experiment(
      "web unaffected by a paused client",
      `${timing}method:
  - probe: { target: { kind: http }, path: /health }
  - fault: { target: { kind: client }, kind: pause, duration: 4s }
  - wait: 1s
  - probe: { target: { kind: http }, path: /health, expect: 200 }
`,
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /hypothesis held/);
    const record = r.report!.record;
    assert.equal(record.experiment?.verdict?.held, true);
    assert.equal(record.probes?.length, 2);
    assert.ok(
      record.probes!.every((p) => p.ok && p.status === 200),
      JSON.stringify(record.probes),
    );
    assert.match(await readFile(join(r.out, "report.html"), "utf8"), /Hypothesis held/);
  });

  test("a scenario of two faults: impact on the scenario and, where the windows differ, on each fault", async () => {
    const r = await experiment(
      "cache frozen, then the web answers 503",
      `${timing}method:
  - scenario:
      title: frozen cache and failing web
      faults:
        - { target: { kind: redis }, kind: pause, duration: 5s }
        - { target: { kind: http }, kind: http, options: { status: 503 }, duration: 5s, after: 3s }
`,
    );
    assert.ok(r.code === 0 || r.code === 4, `${r.stdout}\n${r.stderr}`);
    const faults = r.report!.faults;
    assert.equal(faults.length, 1, "one scenario, analysed as one unit");
    const scenario = faults[0]!;
    assert.equal(scenario.kind, "scenario");
    assert.equal(scenario.scenario?.title, "frozen cache and failing web");
    assert.equal(scenario.scenario?.faults.length, 2);
    const [pause, http] = scenario.scenario!.faults;
    assert.equal(pause!.kind, "pause");
    assert.equal(http!.kind, "http");
    assert.ok(http!.startMs > pause!.startMs + 2000, `the http fault starts later (${http!.startMs} ms)`);
    for (const f of [pause!, http!])
      assert.ok(f.exclusiveMs >= 1000, `${f.kind} had time alone: ${f.exclusiveMs}`);
    // While the 503s were the only fault, the web service itself deviated.
    const web = scenario.target.split("+").find((t) => t !== pause!.target)!;
    assert.ok(http!.deviated.includes(web), `${http!.attribution}`);
    assert.equal(r.report!.record.steps.length, 2);
    assert.ok(r.report!.record.steps.every((s) => s.outcome?.status === "reverted"));
    assert.deepEqual(await helpersOnStack(), []);
  });

  test("a bad document is one line naming file, line and key; nothing is injected", async () => {
    for (const [body, where] of [
      [
        `method:\n  - fault: { target: { kind: http }, kind: http, options: { status: 503, percent: 130 }, duration: 5s }\n`,
        /:5:\d+: method\[0\]\.fault\.options\.percent: /,
      ],
      [`colour: red\nmethod:\n  - wait: 1s\n`, /:4:1: colour: unknown key "colour"/],
      [`method:\n  - fault: { kind: pause, duration: 5s }\n`, /:5:\d+: method\[0\]\.fault\.target: missing/],
      [
        `method:\n  - fault: { target: nosuchservice, kind: pause, duration: 5s }\n`,
        /:5:\d+: method\[0\]\.fault\.target: no service "nosuchservice" in scope/,
      ],
      [
        `method:\n  - fault: { target: { kind: http }, kind: http, options: { status: 503, path: "/a[" }, duration: 5s }\n`,
        /:5:\d+: method\[0\]\.fault\.options\.path: path "\/a\[" is not a valid glob/,
      ],
    ] as const) {
      const r = await experiment("bad", body);
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^faultline: ${r.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${where.source}`),
      );
      const state = await readdir(r.stateDir).catch(() => []);
      const journal = state.length ? await readFile(join(r.stateDir, state[0]!), "utf8").catch(() => "") : "";
      assert.ok(!journal.includes('"intent"'), "no fault was journalled, so none was injected");
    }
    assert.deepEqual(await helpersOnStack(), []);
  });
});
