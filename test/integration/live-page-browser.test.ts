/**
 * The live page in real headless Chromium against a real ChaosService on the demo shop: the map renders
 * as SVG with the stack's nodes, a fault injected through the API is highlighted within 2 s, the Halt
 * button reverts it (checked through the API), no console errors; with a token configured the page asks
 * for it and then shows the map. The screenshot (artifacts/live-page.png) is taken before the asserts
 * that follow it, so a failure leaves it to look at.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { createApp } from "../../src/api/app.js";
import { liveSignalsFor } from "../../src/api/live/index.js";
import { closeServer, listen } from "../../src/api/server.js";
import { ChaosService } from "../../src/api/service.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { Journal } from "../../src/run/journal.js";
import { DEMO_SERVICES, demoStack } from "../support/demo-stack.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "live-page-test-token-0123456789";

test("the live page on the demo shop in headless Chromium", { timeout: 300_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    const why = `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
    if (process.env.CI === "true") assert.fail(why);
    t.skip(why);
    return;
  }
  const stack = await demoStack();
  const stateDir = await mkdtemp(path.join(tmpdir(), "faultline-live-"));
  const stopping = new AbortController();
  const service = new ChaosService({
    runtime: stack.runtime,
    journal: new Journal(stateDir),
    registry: defaultRegistry(),
    selector: { project: stack.project },
    outDir: path.join(stateDir, "reports"),
    defaults: { kinds: ["pause"], durationMs: 60_000, recoveryWaitMs: 1000, baselineMs: 1000 },
  });
  const signals = liveSignalsFor(service, stack.runtime);
  const servers: Server[] = [];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    await service.start();
    await service.discover();
    const open = await listen(createApp(service, { live: { signals, shutdown: stopping.signal } }), {
      host: "127.0.0.1",
      port: 0,
    });
    const guarded = await listen(
      createApp(service, { apiToken: TOKEN, live: { signals, shutdown: stopping.signal } }),
      { host: "127.0.0.1", port: 0 },
    );
    servers.push(open.server, guarded.server);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    // Nothing but faultline itself: no CDN, nothing else.
    await page.route("**/*", (route) =>
      route.request().url().startsWith(open.url) || route.request().url().startsWith("data:")
        ? route.continue()
        : route.abort(),
    );
    await page.goto(`${open.url}/`);
    await page.locator('#map[data-rendered="svg"] svg').waitFor({ timeout: 60_000 });
    const text = (await page.locator("#map svg").textContent()) ?? "";
    for (const name of Object.values(DEMO_SERVICES)) assert.ok(text.includes(name), `map shows ${name}`);

    const target = DEMO_SERVICES.cache;
    const injected = await fetch(`${open.url}/api/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target, kind: "pause", duration: "60s" }),
    });
    assert.equal(injected.status, 202, await injected.clone().text());
    const started = Date.now();
    await page.locator("#map svg g.node.faulted").first().waitFor({ timeout: 2000 });
    const highlightedMs = Date.now() - started;
    assert.ok(
      ((await page.locator("#map svg g.node.faulted").textContent()) ?? "").includes(target),
      "the faulted node is the target",
    );
    await page.locator(`#faults li[data-target="${target}"]`).waitFor({ timeout: 2000 });
    await mkdir("artifacts", { recursive: true });
    await page.screenshot({ path: path.join("artifacts", "live-page.png"), fullPage: true });
    assert.ok(highlightedMs <= 2000, `highlighted after ${highlightedMs} ms`);

    await page.locator("#halt").click();
    await page.locator("#map svg g.node.faulted").waitFor({ state: "detached", timeout: 10_000 });
    const faults = (await (await fetch(`${open.url}/api/faults`)).json()) as { active: unknown[] };
    assert.deepEqual(faults.active, [], "nothing in effect after halt");
    const info = await stack.runtime.inspect(
      (await service.services()).services.find((s) => s.id === target)!.containerId,
    );
    assert.equal(info.state, "running", "the target is unpaused");
    assert.deepEqual(problems, []);

    // With a token: the page asks for it, then shows the map; the token is in no URL.
    const guardedPage = await browser.newPage();
    const urls: string[] = [];
    guardedPage.on("request", (r) => urls.push(r.url()));
    await guardedPage.goto(`${guarded.url}/`);
    await guardedPage.locator("#login:not([hidden])").waitFor({ timeout: 10_000 });
    await guardedPage.fill("#token", TOKEN);
    await guardedPage.click('#token-form button[type="submit"]');
    await guardedPage.locator('#map[data-rendered="svg"] svg').waitFor({ timeout: 60_000 });
    assert.ok(
      urls.every((u) => !u.includes(TOKEN)),
      "no token in a URL",
    );
  } finally {
    stopping.abort();
    await browser.close();
    await signals.stop();
    await service.shutdown();
    for (const s of servers) await closeServer(s);
    await rm(stateDir, { recursive: true, force: true });
    await stack.dispose();
  }
});
