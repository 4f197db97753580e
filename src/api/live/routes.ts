/**
 * The live page as express routes: GET / (static HTML, no data in it), its script and style, the
 * offline Mermaid bundle from the installed `mermaid` package, and its data: GET /api/live (one
 * snapshot) and GET /api/live/events (the same snapshot pushed as server-sent events, read by the page
 * with fetch streaming so the bearer token travels in a header, never in a URL).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Request, type Response } from "express";
import { errorText } from "../../errors.js";
import { maskEnvValue, maskSecretsInText } from "../../util/secrets.js";
import { withTimeout } from "../../util/time.js";
import type { ApiService } from "../service.js";
import { buildLiveSnapshot, type LiveSignal, type LiveSnapshot } from "./view.js";

/** The page and its assets: readable without a token (they hold no data; the data routes need one). */
export const LIVE_PAGE_ROUTES: readonly string[] = [
  "/",
  "/assets/live.js",
  "/assets/live.css",
  "/assets/mermaid.min.js",
];

/**
 * Everything from this origin, nothing inline but styles (Mermaid styles its SVG with a <style>
 * element), no eval, no frames, no form posts anywhere, no base-URL tricks.
 */
export const LIVE_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Runs read from history for the timeline. */
const RUNS_LISTED = 20;
/** How long a snapshot waits for a discovery under way before it shows the map as pending. */
const GRAPH_WAIT_MS = 1500;

export interface LivePageOptions {
  /** The running fault's signals; absent: none are measured. */
  signals?: { current(): LiveSignal[]; readonly source: string };
  /** Ends every event stream (the service is stopping), so closing the server does not wait on them. */
  shutdown?: AbortSignal;
  /** How often an event stream pushes a snapshot. */
  pushIntervalMs?: number;
}

/** The page's files: next to this module, or (from dist/, where tsc copies no assets) in the source tree. */
export function pageDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "page"), join(here, "..", "..", "..", "..", "src", "api", "live", "page")];
  const found = candidates.find((d) => existsSync(join(d, "index.html")));
  if (!found) throw new Error(`the live page's files are missing (looked in ${candidates.join(", ")})`);
  return found;
}

function mermaidBundle(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, next to the browser bundle.
  return join(dirname(require.resolve("mermaid")), "mermaid.min.js");
}

export async function liveSnapshot(service: ApiService, options: LivePageOptions): Promise<LiveSnapshot> {
  let graph: Awaited<ReturnType<ApiService["graph"]>> | undefined;
  let graphPending: string | undefined;
  try {
    graph = await withTimeout(service.graph(), GRAPH_WAIT_MS, "discovery");
  } catch (e) {
    graphPending = `the map is not ready: ${errorText(e, { hint: false })}`;
  }
  let discoveredAt: string | undefined;
  try {
    discoveredAt = graph ? (await service.services()).discoveredAt : undefined;
  } catch {
    discoveredAt = undefined;
  }
  return buildLiveSnapshot({
    now: new Date(),
    ...(graph ? { graph } : {}),
    ...(discoveredAt ? { discoveredAt } : {}),
    ...(graphPending ? { graphPending } : {}),
    faults: service.listFaults(),
    experiments: service.listExperiments({ limit: RUNS_LISTED }),
    ...(service.schedule() ? { schedule: service.schedule()! } : {}),
    signals: options.signals?.current() ?? [],
    signalsSource: options.signals?.source ?? "not measured",
  });
}

/** As the API's JSON answers are: every string masked on its way out. */
function maskedJson(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) =>
    typeof v !== "string" ? v : key ? maskEnvValue(key, v) : maskSecretsInText(v),
  );
}

function pageHeaders(res: Response): void {
  res.set({
    "Content-Security-Policy": LIVE_PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  });
}

export function liveRoutes(service: ApiService, options: LivePageOptions = {}): express.Router {
  const router = express.Router();
  const dir = pageDir();
  const files: Record<string, { file: string; type: string }> = {
    "/": { file: join(dir, "index.html"), type: "text/html; charset=utf-8" },
    "/assets/live.js": { file: join(dir, "live.js"), type: "text/javascript; charset=utf-8" },
    "/assets/live.css": { file: join(dir, "live.css"), type: "text/css; charset=utf-8" },
    "/assets/mermaid.min.js": { file: mermaidBundle(), type: "text/javascript; charset=utf-8" },
  };
  for (const [path, { file, type }] of Object.entries(files)) {
    router.get(path, (_req, res, next) => {
      pageHeaders(res);
      res.type(type).sendFile(file, (e) => e && next(e));
    });
  }

  router.get("/api/live", async (_req, res) => {
    res.set("Cache-Control", "no-store").json(await liveSnapshot(service, options));
  });

  router.get("/api/live/events", (req: Request, res: Response) => {
    const interval = options.pushIntervalMs ?? 1000;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    const ended = new AbortController();
    const end = () => ended.abort();
    req.on("close", end);
    options.shutdown?.addEventListener("abort", end, { once: true });
    void (async () => {
      let last = "";
      let quietSince = Date.now();
      while (!ended.signal.aborted) {
        try {
          const snapshot = await liveSnapshot(service, options);
          const { at: _at, ...content } = snapshot;
          const key = maskedJson(content);
          // Unchanged snapshots are not repeated; a comment keeps proxies from closing a quiet stream.
          if (key !== last) {
            res.write(`event: snapshot\ndata: ${maskedJson(snapshot)}\n\n`);
            last = key;
            quietSince = Date.now();
          } else if (Date.now() - quietSince >= 10_000) {
            res.write(`: still here\n\n`);
            quietSince = Date.now();
          }
        } catch (e) {
          res.write(`event: problem\ndata: ${maskedJson({ error: errorText(e, { hint: false }) })}\n\n`);
        }
        await new Promise<void>((done) => {
          const timer = setTimeout(done, interval);
          ended.signal.addEventListener("abort", () => (clearTimeout(timer), done()), { once: true });
        });
      }
      options.shutdown?.removeEventListener("abort", end);
      res.end();
    })();
  });
  return router;
}
