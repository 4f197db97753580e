/**
 * Opens report.html in real headless Chromium: diagrams render as SVG with impacted nodes coloured by
 * severity, error example lines are shown with secrets masked, no console errors, offline. The
 * screenshot (artifacts/report.png) is taken before any assertion, so a failure leaves it to look at.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { impactStyle } from "../../src/report/impact-style.js";
import { writeReport } from "../../src/report/write.js";
import { reportRun } from "../fixtures/monitor/report-run.js";

/** The page's globals, typed just enough for the evaluate callbacks (no DOM lib in this project). */
interface PageElement {
  textContent: string | null;
  open?: boolean;
  querySelector(selector: string): PageElement | null;
}
type PageGlobals = {
  document: {
    body: { dataset: Record<string, string> };
    querySelectorAll(selector: string): Iterable<PageElement>;
  };
  getComputedStyle(element: PageElement): { fill: string; stroke: string };
  __pwned?: number;
};

/** "#fdba74" -> "rgb(253, 186, 116)", as getComputedStyle reports colours. */
function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

test("report.html renders both dependency maps in headless Chromium", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    const why = `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
    // On CI a missing browser is a broken set-up, not a reason to pass silently.
    if (process.env.CI === "true") assert.fail(why);
    t.skip(why);
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
    await page
      .waitForFunction(
        () => (globalThis as unknown as PageGlobals).document.body.dataset.mermaid !== "pending",
        undefined,
        { timeout: 60_000 },
      )
      .catch((e: unknown) => problems.push(`mermaid never finished: ${String(e)}`));
    // Evidence first: whatever fails below, the page as rendered is on disk.
    await page.evaluate(() => {
      for (const d of (globalThis as unknown as PageGlobals).document.querySelectorAll("details"))
        d.open = true;
    });
    await mkdir("artifacts", { recursive: true });
    await page.screenshot({ path: path.join("artifacts", "report.png"), fullPage: true });

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

    // Impact colouring: every impacted node of the map is filled with its worst severity's colour,
    // the target is outlined, and a service no fault touched keeps its kind's colour.
    const style = impactStyle(analysis, false).nodes ?? {};
    const impacted = Object.entries(style).filter(([, st]) => st.fill);
    assert.ok(impacted.length >= 2, `impacted nodes in the fixture: ${JSON.stringify(style)}`);
    const shapes = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return [...g.document.querySelectorAll("#map-before svg g.node")].map((node) => {
        const shape = node.querySelector("rect, polygon, path, circle");
        const css = shape ? g.getComputedStyle(shape) : undefined;
        return { text: node.textContent ?? "", fill: css?.fill ?? "", stroke: css?.stroke ?? "" };
      });
    });
    const nodeOf = (service: string) => {
      const found = shapes.find((n) => n.text.startsWith(service));
      assert.ok(found, `node ${service} in ${JSON.stringify(shapes)}`);
      return found;
    };
    for (const [service, st] of impacted)
      assert.equal(nodeOf(service).fill, rgb(st.fill!), `${service} coloured as ${st.note ?? "impacted"}`);
    assert.equal(nodeOf("cache").stroke, rgb("#0f172a"), "the fault target is outlined");
    const untouched = nodeOf("db").fill;
    assert.ok(
      !impacted.some(([, st]) => rgb(st.fill!) === untouched),
      `db (never impacted) is not impact-coloured: ${untouched}`,
    );

    // Error example lines: shown, escaped, with secrets masked.
    const examples = await page.evaluate(() =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll("pre.log")].map(
        (e) => e.textContent ?? "",
      ),
    );
    assert.ok(examples.length >= 2, `example lines shown: ${examples.length}`);
    const refused = examples.find((l) => l.startsWith("connect refused"));
    assert.equal(refused, "connect refused redis://mail:****@cache:6379 password=****");
    assert.ok(
      examples.every((l) => !l.includes("hunter2")),
      `a secret reached the page: ${examples.join("\n")}`,
    );
    assert.ok(
      examples.some((l) => l.includes("</script><script>window.__pwned=2</script>")),
      "shown as text",
    );
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
