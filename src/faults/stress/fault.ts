/**
 * CPU / memory stress inside the target's cgroup, by stress-ng in a helper container. stress-ng's own
 * --timeout is the dead-man switch; revert interrupts it (SIGINT stops its workers) and removes it.
 */
import { randomBytes } from "node:crypto";
import type { DockerRuntime } from "../../docker/types.js";
import { LABELS } from "../../docker/types.js";
import { FaultInjectionError, FaultRevertError } from "../../errors.js";
import type { FaultKind, FaultMechanism } from "../kinds.js";
import { formatDuration } from "../../util/duration.js";
import { AGENT_IMAGE, ensureAgentImage } from "../../images/agent.js";
import type { Fault, FaultContext, FaultTarget, JournalFaultEntry } from "../fault.js";
import { watchHelper } from "../helper-watch.js";
import type { StressOptions } from "./options.js";
import { stressArgs, stressPlacement, type CgroupLayout } from "./placement.js";
import { FAULT_TIMEOUTS } from "../timeouts.js";

const STARTUP_CHECK_MS = FAULT_TIMEOUTS.stressStartupCheckMs;
const STOP_GRACE_MS = FAULT_TIMEOUTS.stressStopGraceMs;

export function describeStress(o: StressOptions, service: string): string {
  const span = formatDuration(o.timeoutMs);
  if (o.kind === "cpu")
    return `burn ${o.loadPercent}% of ${o.workers} CPU worker(s) in ${service}'s cgroup for ${span} via stress-ng`;
  const size =
    o.bytes !== undefined
      ? `${Math.round(o.bytes / 1024 ** 2)} MiB`
      : `${o.limitPercent}% of its memory limit`;
  return `hold ${size} of memory in ${service}'s cgroup (${o.workers} worker(s)) for ${span} via stress-ng`;
}

export class StressFault implements Fault {
  readonly id: string;
  readonly mechanism: FaultMechanism = "stress-ng";
  private helperId?: string;
  private runId = "";
  private deadline: number;
  private reverted = false;

  constructor(
    readonly kind: FaultKind,
    readonly target: FaultTarget,
    readonly durationMs: number,
    private readonly options: StressOptions,
    private readonly rawOptions: Record<string, unknown>,
  ) {
    this.id = `${kind}-${randomBytes(4).toString("hex")}`;
    this.deadline = Date.now() + options.timeoutMs;
  }

  describe(): string {
    return describeStress(this.options, this.target.service);
  }

  journalEntry(): JournalFaultEntry {
    return {
      faultId: this.id,
      runId: this.runId,
      kind: this.kind,
      target: { ...this.target },
      options: { ...this.rawOptions },
      mechanism: this.mechanism,
      helperContainerIds: this.helperId ? [this.helperId] : [],
      deadline: this.deadline,
      undo: {},
    };
  }

  async inject(ctx: FaultContext, signal: AbortSignal): Promise<void> {
    this.runId = ctx.runId;
    if (signal.aborted) throw new FaultInjectionError(`fault ${this.id} aborted before injection`);
    await ensureAgentImage(ctx.runtime);
    const [layout, info] = await Promise.all([
      cgroupLayout(ctx.runtime),
      ctx.runtime.inspect(this.target.containerId),
    ]);
    if (info.state !== "running") {
      throw new FaultInjectionError(
        `${this.target.containerName} is ${info.state}, not running`,
        "stress needs a running target",
      );
    }
    const placement = stressPlacement(
      layout,
      { containerId: info.id, cgroupParent: info.cgroupParent, memoryLimit: info.memoryLimit },
      stressArgs(this.options, info.memoryLimit),
    );
    this.deadline = Date.now() + this.options.timeoutMs;
    await ctx.record(this.journalEntry());
    this.helperId = await ctx.runtime.helpers.start({
      image: AGENT_IMAGE,
      role: "stress",
      name: `faultline-stress-${this.id}`,
      labels: {
        [LABELS.run]: ctx.runId,
        [LABELS.fault]: this.id,
        [LABELS.target]: this.target.containerId,
        [LABELS.deadline]: String(this.deadline),
      },
      ...placement,
      // When stress-ng's own timeout ends it with faultline gone, nothing is left behind.
      autoRemove: true,
    });
    await ctx.record(this.journalEntry());
    // stress-ng fails fast on bad arguments or a refused cgroup; a helper still running after a moment is in
    // effect. Its output is followed from the start: an AutoRemove helper's logs vanish with it.
    const watch = watchHelper(ctx.runtime, this.helperId);
    const ended = await watch.untilEnded(STARTUP_CHECK_MS);
    watch.stop();
    const state = ended ? await ctx.runtime.inspect(this.helperId).catch(() => undefined) : undefined;
    if (ended && state?.state !== "running") {
      await this.revert(ctx).catch(() => undefined);
      throw new FaultInjectionError(
        `stress helper for ${this.target.containerName} stopped at once (exit ${state?.exitCode ?? "?"})`,
        (watch.stderr() || watch.stdout()).slice(-300) || undefined,
      );
    }
  }

  async revert(ctx: FaultContext): Promise<void> {
    if (this.reverted) return;
    await revertStress(ctx.runtime, this.journalEntry());
    this.reverted = true;
  }
}

export async function cgroupLayout(runtime: DockerRuntime): Promise<CgroupLayout> {
  const info = await runtime.info();
  return { version: info.cgroupVersion, driver: info.cgroupDriver };
}

/** Interrupts and removes every stress helper of the entry (journalled or found by label). */
export async function revertStress(runtime: DockerRuntime, entry: JournalFaultEntry): Promise<void> {
  const ids = new Set(entry.helperContainerIds);
  for (const c of await runtime.helpers.listOwned([`${LABELS.fault}=${entry.faultId}`]).catch(() => []))
    ids.add(c.id);
  const failures: string[] = [];
  for (const id of ids) {
    try {
      const info = await runtime.inspect(id).catch(() => undefined);
      if (!info) continue;
      if (info.state === "running") {
        // SIGINT lets stress-ng stop its workers, which may live outside the helper's own cgroup.
        await runtime.kill(id, "SIGINT").catch(() => undefined);
        await runtime.helpers.wait(id, { timeoutMs: STOP_GRACE_MS }).catch(() => undefined);
      }
      // AutoRemove usually has removed it by now; a helper that hung (or predates AutoRemove) goes here.
      await runtime.helpers.remove(id);
      await runtime.helpers
        .wait(id, { condition: "removed", timeoutMs: STOP_GRACE_MS })
        .catch(() => undefined);
    } catch (e) {
      failures.push(`${id.slice(0, 12)}: ${(e as Error).message}`);
    }
  }
  if (failures.length) {
    throw new FaultRevertError(
      `stress helpers of ${entry.faultId} may still run: ${failures.join("; ")}`,
      "docker rm -f them",
    );
  }
}
