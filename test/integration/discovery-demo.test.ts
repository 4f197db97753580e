/** Discovery against the real demo shop: classification, ports, connections, endpoints, env references. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { DEMO_SERVICES, DEMO_WEB_PORT, demoStack, type DemoStack } from "../support/demo-stack.js";

describe("discovery on the demo stack", () => {
  let stack: DemoStack;
  let profiles: ServiceProfile[] = [];
  const progress: string[] = [];
  const byService = (service: string) => {
    const p = profiles.find((x) => x.compose?.service === service);
    assert.ok(p, `no profile for ${service}: ${profiles.map((x) => x.id).join(", ")}`);
    return p;
  };
  const ipsOf = (p: ServiceProfile) => p.networks.map((n) => n.ip);

  before(async () => {
    stack = await demoStack();
    profiles = await discoverServices(
      stack.runtime,
      { project: stack.project },
      { onProgress: (m) => progress.push(m) },
    );
  });
  after(async () => {
    await stack?.dispose();
  });

  test("every service is profiled and classified from what it shows", () => {
    assert.equal(profiles.length, 4);
    assert.equal(byService(DEMO_SERVICES.web).classification.kind, "http");
    assert.equal(byService(DEMO_SERVICES.cache).classification.kind, "redis");
    assert.equal(byService(DEMO_SERVICES.database).classification.kind, "postgresql");
    assert.equal(byService(DEMO_SERVICES.client).classification.kind, "client");
    assert.ok(progress.some((m) => /found 4 container/.test(m)));
  });

  test("each service's verdict rests on its own signals, strongest first by the issue's priority", () => {
    const signalsOf = (service: string) => byService(service).classification.signals;
    const has = (service: string, source: string, kind: string) =>
      assert.ok(
        signalsOf(service).some((x) => x.source === source && x.kind === kind),
        `${service}: ${JSON.stringify(signalsOf(service))}`,
      );
    // The names say nothing (deliberately unhelpful): the protocol replies decide.
    has(DEMO_SERVICES.web, "probe", "http");
    has(DEMO_SERVICES.cache, "probe", "redis");
    has(DEMO_SERVICES.database, "probe", "postgresql");
    has(DEMO_SERVICES.client, "behaviour", "client");
    for (const service of [DEMO_SERVICES.web, DEMO_SERVICES.cache, DEMO_SERVICES.database]) {
      const top = [...signalsOf(service)].sort((a, b) => b.weight - a.weight)[0];
      assert.equal(top?.source, "probe", `${service}: ${JSON.stringify(signalsOf(service))}`);
      assert.ok(byService(service).classification.confidence >= 0.6, service);
    }
    assert.ok(!signalsOf(DEMO_SERVICES.client).some((x) => x.source === "probe"));
  });

  test("listening ports from the socket tables, with probe verdicts", () => {
    const web = byService(DEMO_SERVICES.web).ports.find((p) => p.port === DEMO_WEB_PORT);
    assert.equal(web?.source, "both");
    assert.equal(web?.probe?.protocol, "http");
    assert.equal(byService(DEMO_SERVICES.cache).ports.find((p) => p.port === 6379)?.probe?.protocol, "redis");
    assert.equal(
      byService(DEMO_SERVICES.database).ports.find((p) => p.port === 5432)?.probe?.protocol,
      "postgresql",
    );
    assert.deepEqual(byService(DEMO_SERVICES.client).ports, []);
  });

  test("connections observed: web -> cache and database, client -> web", () => {
    const web = byService(DEMO_SERVICES.web);
    const outbound = web.connections.filter((c) => c.direction === "outbound");
    assert.ok(
      outbound.some(
        (c) => ipsOf(byService(DEMO_SERVICES.cache)).includes(c.remoteAddress) && c.remotePort === 6379,
      ),
    );
    assert.ok(
      outbound.some(
        (c) => ipsOf(byService(DEMO_SERVICES.database)).includes(c.remoteAddress) && c.remotePort === 5432,
      ),
    );
    const client = byService(DEMO_SERVICES.client);
    assert.ok(
      client.connections.some((c) => ipsOf(web).includes(c.remoteAddress) && c.remotePort === DEMO_WEB_PORT),
    );
  });

  test("HTTP endpoints of the web service", () => {
    const endpoints = byService(DEMO_SERVICES.web).endpoints;
    const health = endpoints.find((e) => e.path === "/health");
    assert.equal(health?.status, 200);
    assert.ok(endpoints.every((e) => e.port === DEMO_WEB_PORT && e.latencyMs >= 0));
    const metrics = endpoints.find((e) => e.path === "/metrics");
    assert.equal(metrics?.status, 200, JSON.stringify(endpoints));
    assert.equal(metrics?.prometheus, true, "/metrics is flagged as Prometheus text");
    assert.match(metrics?.contentType ?? "", /^text\/plain/, "with the content type it was served with");
  });

  test("env references resolve to peers and secrets stay masked", () => {
    const web = byService(DEMO_SERVICES.web);
    const hosts = web.envReferences.map((r) => `${r.host}:${r.port}`);
    assert.ok(hosts.includes(`${DEMO_SERVICES.database}:5432`), hosts.join(","));
    assert.ok(hosts.includes(`${DEMO_SERVICES.cache}:6379`), hosts.join(","));
    const serialized = JSON.stringify(profiles);
    assert.ok(!serialized.includes("shop-secret"), "a secret leaked into the profiles");
  });

  test("the batched helper container reads the same socket tables", async () => {
    const started = Date.now();
    const viaHelper = await discoverServices(
      stack.runtime,
      { project: stack.project },
      { socketSource: "helper", probe: false, logLines: 0 },
    );
    assert.ok(Date.now() - started < 3000, `helper discovery took ${Date.now() - started} ms`);
    for (const p of viaHelper) {
      const hostView = profiles.find((x) => x.containerId === p.containerId);
      assert.deepEqual(
        p.ports.filter((x) => x.source !== "declared").map((x) => `${x.protocol}/${x.port}`),
        hostView?.ports.filter((x) => x.source !== "declared").map((x) => `${x.protocol}/${x.port}`),
      );
    }
    const web = viaHelper.find((x) => x.compose?.service === DEMO_SERVICES.web);
    assert.ok(web?.connections.some((c) => c.remotePort === 5432));
  });
});
