/**
 * Grafana annotations for faults, per Grafana's HTTP API: POST /api/annotations when a fault is in
 * effect (time, tags ["faultline", kind, target, runId], text) and PATCH /api/annotations/:id with
 * timeEnd once it is reverted, so the fault shows as a region on every dashboard that displays the
 * "faultline" tag.
 *
 * Calls never hold up the runner: each hook queues its request and returns; requests for one fault
 * run in order (the PATCH needs the POST's id), every request has a deadline, failures are logged and
 * dropped. onRunEnd waits (bounded) for what is still queued.
 */
import { log as defaultLog, type Logger } from "../util/log.js";
import type { RunObserver, StepContext } from "../run/observer.js";
import type { FaultStep, RunRecord } from "../run/record.js";
import { authorizationHeader, type GrafanaConfig } from "./config.js";
import { errorText } from "../errors.js";
import { requestJson } from "./http.js";

export interface GrafanaAnnotation {
  /** ms since epoch. */
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  dashboardUID?: string;
}

export class GrafanaClient {
  constructor(private readonly config: GrafanaConfig) {}

  private url(path: string): string {
    return `${this.config.url}${path}`;
  }

  private headers(): Record<string, string> {
    return authorizationHeader(this.config.auth);
  }

  /** Returns the annotation id. */
  async createAnnotation(a: GrafanaAnnotation, signal?: AbortSignal): Promise<number> {
    const body = await requestJson("grafana", this.url("/api/annotations"), {
      method: "POST",
      headers: this.headers(),
      body: a,
      timeoutMs: this.config.timeoutMs,
      ...(signal ? { signal } : {}),
    });
    const id = (body as { id?: unknown } | undefined)?.id;
    if (typeof id !== "number") throw new Error("grafana: POST /api/annotations answered without an id");
    return id;
  }

  async patchAnnotation(id: number, patch: Partial<GrafanaAnnotation>, signal?: AbortSignal): Promise<void> {
    await requestJson("grafana", this.url(`/api/annotations/${id}`), {
      method: "PATCH",
      headers: this.headers(),
      body: patch,
      timeoutMs: this.config.timeoutMs,
      ...(signal ? { signal } : {}),
    });
  }
}

export const FAULTLINE_TAG = "faultline";

/** Tags of a fault's annotation; Grafana tags are free strings, empty ones are dropped. */
export function annotationTags(step: Pick<FaultStep, "kind" | "target">, runId: string): string[] {
  return [FAULTLINE_TAG, step.kind, step.target, runId].filter((t) => t.length > 0);
}

export function annotationText(step: FaultStep, runId: string): string {
  return `faultline ${step.kind} on ${step.target}: ${step.description} (run ${runId}, fault ${step.faultId})`;
}

export interface GrafanaObserverOptions {
  log?: Pick<Logger, "warn" | "debug">;
  /** Longest onRunEnd waits for queued requests. */
  drainTimeoutMs?: number;
}

export class GrafanaAnnotations implements RunObserver {
  private runId = "";
  private readonly chains = new Map<string, Promise<number | undefined>>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly log: Pick<Logger, "warn" | "debug">;
  private readonly stop = new AbortController();
  private failures = 0;

  constructor(
    private readonly client: GrafanaClient,
    private readonly options: GrafanaObserverOptions = {},
  ) {
    this.log = options.log ?? defaultLog;
  }

  /** Requests that failed so far (each was logged). */
  get failed(): number {
    return this.failures;
  }

  onRunStart(run: RunRecord): void {
    this.runId = run.runId;
  }

  onInjected(ctx: StepContext): void {
    const step = ctx.step;
    const time = Date.parse(step.injectedAt ?? step.requestedAt);
    const created = this.track(
      this.client
        .createAnnotation(
          {
            time: Number.isFinite(time) ? time : Date.now(),
            tags: annotationTags(step, this.runId),
            text: annotationText(step, this.runId),
          },
          this.stop.signal,
        )
        .then(
          (id) => {
            this.log.debug({ id, fault: step.faultId }, "grafana annotation created");
            return id;
          },
          (e) => this.failure(`annotating ${step.kind} on ${step.target}`, e),
        ),
    );
    this.chains.set(step.faultId, created);
  }

  onReverted(ctx: StepContext): void {
    this.close(ctx.step);
  }

  /** A fault that ended without a clean revert still gets an end (and says so). */
  onStepEnd(ctx: StepContext): void {
    const status = ctx.step.outcome?.status;
    if (this.chains.has(ctx.step.faultId) && status && status !== "reverted") this.close(ctx.step, status);
  }

  private close(step: FaultStep, status?: string): void {
    const created = this.chains.get(step.faultId);
    if (!created) return;
    this.chains.delete(step.faultId);
    const end = Date.parse(step.revertedAt ?? "");
    this.track(
      created.then(async (id) => {
        if (id === undefined) return;
        try {
          await this.client.patchAnnotation(
            id,
            {
              timeEnd: Number.isFinite(end) ? end : Date.now(),
              ...(status
                ? {
                    text: `${annotationText(step, this.runId)} [${status}]`,
                    tags: [...annotationTags(step, this.runId), status],
                  }
                : {}),
            },
            this.stop.signal,
          );
        } catch (e) {
          this.failure(`ending the annotation of ${step.kind} on ${step.target}`, e);
        }
      }),
    );
  }

  async onRunEnd(): Promise<void> {
    await this.drain();
  }

  /** Waits for queued requests, at most drainTimeoutMs; then abandons the rest. */
  async drain(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.drainTimeoutMs ?? 10_000);
    });
    try {
      await Promise.race([Promise.allSettled([...this.pending]), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (this.pending.size > 0) {
      this.stop.abort(new Error("run ended"));
      this.log.warn({ pending: this.pending.size }, "grafana: gave up on annotation requests still pending");
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  private failure(what: string, e: unknown): undefined {
    this.failures++;
    this.log.warn(`grafana: ${what} failed: ${errorText(e)} (the run goes on without it)`);
    return undefined;
  }
}
