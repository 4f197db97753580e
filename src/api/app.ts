/**
 * The HTTP API as an express app: routing, body validation and error mapping only. Every decision lives
 * behind `ApiService`, so tests can drive this with a service of their own.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { renderGraphJson } from "../graph/render-json.js";
import { renderMermaid } from "../graph/render-mermaid.js";
import { InvalidInputError } from "../errors.js";
import { isAuthenticated, requireBearerToken } from "./auth.js";
import { jsonBodies } from "./body.js";
import { toErrorResponse } from "./errors.js";
import { discoverBody, experimentBody, injectFaultBody, parseBody } from "./schemas.js";
import type { ApiService } from "./service.js";
import { log } from "../util/log.js";
import { liveRoutes, type LivePageOptions } from "./live/routes.js";
import { maskEnvValue, maskSecretsInText } from "../util/secrets.js";
import { checkExperimentValue, parseExperiment } from "../experiments/load.js";
import { parseHistoryQuery, type HistoryQuery } from "../history/filter.js";

const GRAPH_FORMATS = ["json", "mermaid"] as const;

export interface AppOptions {
  /** When set, every request but liveness and /metrics needs `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** A second token that reads the scraper endpoints (the Prometheus SD document) and nothing else. */
  readToken?: string;
  /** The live page at GET / (its signals sampler, the shutdown that ends its event streams). */
  live?: LivePageOptions;
}

const HISTORY_PARAMS = ["since", "target", "severity", "source", "limit"] as const;

/** GET /api/experiments?since=1h&target=db&severity=major&source=schedule&limit=50, each given once. */
function historyQuery(query: Request["query"]): HistoryQuery {
  const out: HistoryQuery = {};
  for (const name of HISTORY_PARAMS) {
    const value = query[name];
    if (value === undefined) continue;
    if (typeof value !== "string")
      throw new InvalidInputError(`query parameter "${name}" is given more than once`, "give it once");
    out[name] = value;
  }
  return out;
}

/** A JSON body that is an experiment document rather than the planner's request: it has a method. */
function isExperimentDocument(body: unknown): boolean {
  return typeof body === "object" && body !== null && "method" in body;
}

export function createApp(service: ApiService, options: AppOptions = {}): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // Every JSON answer is masked as it is serialised, whatever the service put in it.
  app.set("json replacer", maskingReplacer);
  // Before the body parser: an unauthenticated request is refused without reading its body.
  app.use(requireBearerToken(options.apiToken, options.readToken));
  // Experiment documents may also come as YAML, as they are kept in files.
  app.use(jsonBodies({ yamlRoutes: ["/api/experiments"] }));

  // Liveness for anyone; what runs and on which scope only for who shows a token.
  app.get("/healthz", (_req, res) => {
    res.json(isAuthenticated(res) ? service.health() : { status: "ok" });
  });

  app.get("/metrics", async (_req, res) => {
    const { contentType, body } = await service.metrics();
    res.type(contentType).send(body);
  });

  app.get("/api/services", async (_req, res) => {
    res.json(await service.services());
  });

  app.post("/api/discover", async (req, res) => {
    parseBody(discoverBody, emptyToUndefined(req.body), "discover request");
    res.json(await service.discover());
  });

  app.get("/api/graph", async (req, res) => {
    const format = String(req.query.format ?? "json");
    if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
      throw new InvalidInputError(
        `unknown graph format "${format}"`,
        `use ?format=${GRAPH_FORMATS.join("|")}`,
      );
    }
    const graph = await service.graph();
    if (format === "mermaid") res.type("text/plain").send(renderMermaid(graph));
    else res.type("application/json").send(renderGraphJson(graph));
  });

  app.post("/api/faults", async (req, res) => {
    const body = parseBody(injectFaultBody, req.body, "fault request");
    const fault = await service.injectFault(body);
    res.status(202).location(`/api/faults/${fault.id}`).json(fault);
  });

  app.get("/api/faults", (_req, res) => {
    res.json(service.listFaults());
  });

  app.get("/api/faults/:id", (req, res) => {
    res.json(service.getFault(req.params.id));
  });

  app.delete("/api/faults/:id", async (req, res) => {
    res.json(await service.revertFault(req.params.id));
  });

  app.post("/api/experiments", async (req, res) => {
    // An experiment document (a method of steps) or the planner's request (kinds over the graph).
    const document =
      typeof req.body === "string"
        ? parseExperiment(req.body, "request body")
        : isExperimentDocument(req.body)
          ? checkExperimentValue(req.body, "request body")
          : undefined;
    const experiment = document
      ? await service.startExperimentDocument(document)
      : await service.startExperiment(parseBody(experimentBody, req.body, "experiment request"));
    res.status(202).location(`/api/experiments/${experiment.id}`).json(experiment);
  });

  app.get("/api/experiments", (req, res) => {
    res.json({ experiments: service.listExperiments(parseHistoryQuery(historyQuery(req.query))) });
  });

  app.get("/api/experiments/:id", (req, res) => {
    res.json(service.getExperiment(req.params.id));
  });

  app.delete("/api/experiments/:id", async (req, res) => {
    res.json(await service.cancelExperiment(req.params.id));
  });

  app.get("/api/experiments/:id/report.html", (req, res, next) => {
    res.type("text/html").sendFile(service.experimentReport(req.params.id, "html"), (e) => e && next(e));
  });

  app.get("/api/experiments/:id/report.json", (req, res, next) => {
    res
      .type("application/json")
      .sendFile(service.experimentReport(req.params.id, "json"), (e) => e && next(e));
  });

  app.get("/api/prometheus/targets", async (_req, res) => {
    res.json(await service.prometheusTargets());
  });

  app.get("/api/schedule", (_req, res) => {
    const schedule = service.schedule();
    res.json(schedule ?? { running: false, hint: "start faultline serve with --schedule" });
  });

  app.post("/api/schedule/pause", async (_req, res) => {
    res.json(await service.pauseSchedule());
  });

  app.post("/api/schedule/resume", (_req, res) => {
    res.json(service.resumeSchedule());
  });

  // The big red button: the schedule paused and every fault in scope reverted, whoever started it.
  app.post("/api/halt", async (_req, res) => {
    res.json(await service.halt("halted through the API"));
  });

  // GET /: the live page, and its data at /api/live and /api/live/events.
  app.use(liveRoutes(service, options.live));

  app.use((req, res) => {
    res.status(404).json({
      error: {
        code: "NOT_FOUND",
        message: `no route ${req.method} ${req.path}`,
        hint: "see GET / (the live page), /healthz, /api/services, /api/graph, /api/faults, /api/experiments, /api/schedule, /metrics",
      },
    });
  });

  // Express 5 routes rejected promises here too.
  app.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toErrorResponse(e);
    if (status >= 500) log.error({ err: e, method: req.method, path: req.path }, "request failed");
    res.status(status).json(body);
  });
  return app;
}

function maskingReplacer(key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  return key ? maskEnvValue(key, value) : maskSecretsInText(value);
}

/** Discovery takes no options: no body and an empty object both mean none. */
function emptyToUndefined(body: unknown): unknown {
  return body && typeof body === "object" && Object.keys(body).length === 0 ? undefined : body;
}
