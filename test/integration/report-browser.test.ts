/** Opens report.html in real headless Chromium: diagrams render as SVG, no console errors, offline. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { writeReport } from "../../src/report/write.js";
import { reportRun } from "../fixtures/monitor/report-run.js";

/** The page's globals, typed just enough for the evaluate callbacks (no DOM lib in this project). */
type PageGlobals = { document: { body: { dataset: Record<string, string> } }; __pwned?: number };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

test("report.html renders both dependency maps in headless Chromium", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), "faultline-report-browser-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const { record, analysis } = reportRun();
    const files = await writeReport(dir, record, analysis);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    // The page must not need the network at all.
    await page.route("**/*", (route) =>
      route.request().url().startsWith("file:") || route.request().url().startsWith("data:")
        ? route.continue()
        : route.abort(),
    );
    await page.goto(pathToFileURL(files.html).href);
    await page.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.body.dataset.mermaid !== "pending",
      undefined,
      {
        timeout: 60_000,
      },
    );
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.dataset.mermaid),
      "done",
      problems.join("\n"),
    );
    for (const id of ["map-before", "map-after"]) {
      const svgCount = await page.locator(`#${id} svg`).count();
      assert.equal(svgCount, 1, `${id} rendered as SVG`);
      const text = await page.locator(`#${id} svg`).textContent();
      for (const name of ["storefront", "sessions", "cache", "db", "batch", "mailer", "evil"])
        assert.ok(text?.includes(name), `${id} shows ${name}`);
    }
    // Hidden dependency appears only after.
    assert.ok(
      (await page.locator("#map-after svg .edgePaths path, #map-after svg path.flowchart-link").count()) >
        (await page.locator("#map-before svg .edgePaths path, #map-before svg path.flowchart-link").count()),
    );
    assert.ok((await page.locator("svg.chart").count()) > 0, "metric charts present");
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned),
      undefined,
      "no injected script ran",
    );
    assert.deepEqual(problems, []);
    await mkdir("artifacts", { recursive: true });
    await page.screenshot({ path: path.join("artifacts", "report.png"), fullPage: true });
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
