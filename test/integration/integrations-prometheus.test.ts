/**
 * Prometheus integration against a real `prometheus` binary (Debian package) on 127.0.0.1: it
 * discovers a local prom-client server through faultline's http_sd document, scrapes it every second,
 * and the evidence queries must see a "fault" (5xx + slow requests on one service, a failing scrape on
 * another) against the baseline before it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { IntegrationHttpError } from "../../src/integrations/http.js";
import { PrometheusClient } from "../../src/integrations/prometheus-client.js";
import { PrometheusEvidence } from "../../src/integrations/prometheus-evidence.js";
import { prometheusSdTargets } from "../../src/integrations/prometheus-sd.js";
import { makeProfile } from "../support/profile-fixtures.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const haveBinary = spawnSync("prometheus", ["--version"], { stdio: "ignore" }).status === 0;

describe(
  "prometheus integration (real prometheus binary)",
  { skip: !haveBinary && "prometheus binary not installed (apt-get install prometheus)" },
  () => {
    let dir: string;
    let prom: ChildProcess | undefined;
    let server: Server;
    let promUrl = "";
    let promLog = "";
    let faulty = false;
    const registry = new Registry();
    const requests = new Counter({
      name: "http_requests_total",
      help: "requests",
      labelNames: ["code"],
      registers: [registry],
    });
    const latency = new Histogram({
      name: "http_request_duration_seconds",
      help: "latency",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    let traffic: NodeJS.Timeout | undefined;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "faultline-prom-"));
      // Synthetic traffic: 20 req/s, fast and fine; during the "fault", half 5xx and slow.
      traffic = setInterval(() => {
        requests.inc({ code: faulty && Math.random() < 0.5 ? "503" : "200" });
        latency.observe(faulty ? 0.4 : 0.008);
      }, 50);
      server = createServer((req, res) => {
        void (async () => {
          const port = (server.address() as AddressInfo).port;
          if (req.url === "/metrics") {
            res.setHeader("content-type", registry.contentType);
            res.end(await registry.metrics());
          } else if (req.url === "/flaky/metrics") {
            if (faulty) {
              res.statusCode = 503;
              res.end("down");
            } else {
              res.setHeader("content-type", "text/plain; version=0.0.4");
              res.end("# TYPE flaky_ok gauge\nflaky_ok 1\n");
            }
          } else if (req.url === "/sd") {
            const profiles = [
              makeProfile("shop", {
                project: "p",
                networks: { p_default: "127.0.0.1" },
                endpoints: [{ port, path: "/metrics", status: 200, latencyMs: 1, prometheus: true }],
              }),
              makeProfile("flaky", {
                project: "p",
                networks: { p_default: "127.0.0.1" },
                endpoints: [{ port, path: "/flaky/metrics", status: 200, latencyMs: 1, prometheus: true }],
              }),
            ];
            res.setHeader("content-type", "application/json");
            res.end(JSON.stringify(prometheusSdTargets(profiles)));
          } else {
            res.statusCode = 404;
            res.end();
          }
        })();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const appPort = (server.address() as AddressInfo).port;
      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      writeFileSync(
        join(dir, "prometheus.yml"),
        [
          "global:",
          "  scrape_interval: 1s",
          "  scrape_timeout: 900ms",
          "scrape_configs:",
          "  - job_name: services",
          "    http_sd_configs:",
          `      - url: http://127.0.0.1:${appPort}/sd`,
          "        refresh_interval: 5s",
          "",
        ].join("\n"),
      );
      prom = spawn(
        "prometheus",
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          "--log.level=warn",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      prom.stderr!.on("data", (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4000)));
      await waitFor(
        async () => (await fetch(`${promUrl}/-/ready`)).ok,
        20_000,
        () => promLog,
      );
    });

    after(async () => {
      clearInterval(traffic);
      if (prom && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once("exit", r));
        prom.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (prom.exitCode === null) prom.kill("SIGKILL");
      }
      await new Promise((r) => server?.close(r));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("queries and evidence see a fault against its baseline", { timeout: 90_000 }, async () => {
      const client = new PrometheusClient({ url: promUrl, timeoutMs: 3000 });
      // Both targets discovered through the http_sd document and scraped.
      await waitFor(
        async () => (await client.query('up{service=~"shop|flaky"} == 1')).length === 2,
        20_000,
        () => promLog,
      );
      const labels = (await client.query('up{service="shop"}'))[0]!.metric;
      assert.equal(labels.container, "p-shop-1");
      assert.equal(labels.compose_project, "p");

      await sleep(8000); // baseline
      const injectAt = Date.now();
      faulty = true;
      await sleep(7000);
      faulty = false;
      const revertAt = Date.now();
      await sleep(5000);

      const evidence = new PrometheusEvidence(client, { serviceLabel: "service", rateWindow: "3s" });
      const window = { start: injectAt - 8000, injectAt, revertAt, end: Date.now() };
      const shop = await evidence.serviceEvidence("shop", window);
      const metrics = shop.signals.map((s) => s.metric);
      assert.ok(metrics.includes("prometheus.errorRatio"), `signals: ${JSON.stringify(shop.signals)}`);
      assert.ok(metrics.includes("prometheus.p95Ms"), `signals: ${JSON.stringify(shop.signals)}`);
      const p95 = shop.signals.find((s) => s.metric === "prometheus.p95Ms")!;
      assert.ok(p95.baseline < 50 && p95.observed >= 250, p95.text);
      assert.equal(shop.down, false);
      assert.ok(shop.firstDeviationMs >= 0 && shop.firstDeviationMs < 7000, String(shop.firstDeviationMs));

      const flaky = await evidence.serviceEvidence("flaky", window);
      assert.deepEqual(
        flaky.signals.map((s) => s.metric),
        ["prometheus.up"],
      );
      assert.equal(flaky.down, true);
      assert.notEqual(flaky.recoveredAfterMs, null, "flaky scraped again after the revert");

      // A run record drives the same thing end to end.
      const steps = await evidence.collect(
        {
          runId: "r1",
          startedAt: new Date(injectAt - 8000).toISOString(),
          status: "completed",
          dryRun: false,
          steps: [
            {
              faultId: "f1",
              kind: "latency",
              target: "shop",
              containerId: "c",
              options: {},
              description: "test",
              requestedAt: new Date(injectAt).toISOString(),
              injectedAt: new Date(injectAt).toISOString(),
              revertedAt: new Date(revertAt).toISOString(),
              durationMs: revertAt - injectAt,
              errors: [],
            },
          ],
        },
        ["shop", "flaky", "nothing-here"],
      );
      assert.deepEqual(steps[0]!.services.map((s) => s.service).sort(), ["flaky", "shop"]);
    });

    test("a PromQL error surfaces Prometheus' own message", async () => {
      const client = new PrometheusClient({ url: promUrl, timeoutMs: 3000 });
      await assert.rejects(client.query("sum(("), (e: unknown) => {
        assert.ok(e instanceof IntegrationHttpError);
        assert.match(e.message, /bad_data|parse error/);
        return true;
      });
    });
  },
);

describe(
  "overlay config files",
  { skip: !haveBinary && "promtool not installed (apt-get install prometheus)" },
  () => {
    test("prometheus/prometheus.yml passes promtool; the dashboard's PromQL parses", () => {
      const config = spawnSync("promtool", ["check", "config", "prometheus/prometheus.yml"], {
        encoding: "utf8",
      });
      assert.equal(config.status, 0, config.stdout + config.stderr);
      // promtool checks PromQL through a rules file: one recording rule per dashboard query.
      const dash = JSON.parse(readFileSync("grafana/dashboards/faultline.json", "utf8")) as {
        panels: { targets: { expr?: string }[] }[];
      };
      const exprs = dash.panels.flatMap((p) => p.targets.flatMap((t) => (t.expr ? [t.expr] : [])));
      const dir = mkdtempSync(join(tmpdir(), "faultline-promtool-"));
      try {
        const rules = exprs
          .map(
            (e, i) =>
              `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e.replaceAll("$__range", "5m"))}`,
          )
          .join("\n");
        writeFileSync(join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
        const check = spawnSync("promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
        assert.equal(check.status, 0, check.stdout + check.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  context: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms; prometheus log: ${context()}`);
}
