/**
 * Which containers faults may touch, and how a name the user typed becomes one container.
 * Scope = compose project + labels; exclusions = faultline's own containers (always), containers labelled
 * faultline.exclude (always, any value but an explicit false), and the container faultline itself runs in.
 */
import type { ContainerInfo, ContainerReader } from "../docker/types.js";
import { LABELS } from "../docker/types.js";
import { TargetExcludedError, TargetNotFoundError } from "../errors.js";
import type { ResolvedService } from "../faults/fault.js";
import { detectSelfContainerId } from "./self.js";

export { detectSelfContainerId };

export interface TargetScope {
  /** docker-compose project name. */
  project?: string;
  /** "key=value" or "key" filters, all of which must match. */
  labels?: string[];
}

/** The service id a container stands for: its compose service, else its name (as discovery names it). */
export function serviceIdOf(c: Pick<ContainerInfo, "compose" | "name">): string {
  return c.compose?.service ?? c.name;
}

/** Label values that say "do not exclude"; anything else, a bare label or a typo included, excludes. */
const EXCLUDE_OFF = new Set(["false", "0", "no", "off"]);

/**
 * Does a container carry faultline.exclude meaning yes? Fail-safe: `true`, `1`, `yes`, `on`, an empty
 * value (`--label faultline.exclude`) and anything unclear all protect it; only an explicit false does not.
 */
export function isExcludedByLabel(c: Pick<ContainerInfo, "labels">): boolean {
  const value = c.labels[LABELS.exclude];
  return value !== undefined && !EXCLUDE_OFF.has(value.trim().toLowerCase());
}

/** Why faultline must not touch this container, or undefined when it may. */
export function exclusionReason(
  c: Pick<ContainerInfo, "id" | "labels">,
  selfContainerId: string | undefined = detectSelfContainerId(),
): string | undefined {
  if (c.labels[LABELS.owned] === "true") return "it is one of faultline's own containers";
  if (isExcludedByLabel(c)) return `it is labelled ${LABELS.exclude}=${c.labels[LABELS.exclude]}`;
  if (selfContainerId && c.id.startsWith(selfContainerId)) return "faultline itself runs in it";
  return undefined;
}

/** Does a container carry every "key=value" / "key" label of the filter? */
export function matchesLabels(c: Pick<ContainerInfo, "labels">, filters: readonly string[] = []): boolean {
  return filters.every((f) => {
    const eq = f.indexOf("=");
    return eq < 0 ? f in c.labels : c.labels[f.slice(0, eq)] === f.slice(eq + 1);
  });
}

/**
 * Containers a name refers to: by service id, else container name, else id prefix (12+ hex chars).
 * Several replicas of one service come back sorted by name, so the choice is stable.
 */
export function matchTarget(containers: readonly ContainerInfo[], name: string): ContainerInfo[] {
  const byName = (a: ContainerInfo, b: ContainerInfo) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const byService = containers.filter((c) => serviceIdOf(c) === name);
  if (byService.length) return [...byService].sort(byName);
  const byContainer = containers.filter((c) => c.name === name || c.name === name.replace(/^\//, ""));
  if (byContainer.length) return byContainer;
  if (/^[0-9a-f]{12,64}$/.test(name)) return containers.filter((c) => c.id.startsWith(name));
  return [];
}

export function toResolvedService(c: ContainerInfo): ResolvedService {
  return {
    service: serviceIdOf(c),
    containerId: c.id,
    containerName: c.name,
    ips: c.networks.map((n) => n.ip).filter(Boolean),
  };
}

function describeScope(scope: TargetScope): string {
  const parts = [
    scope.project ? `project "${scope.project}"` : "",
    ...(scope.labels ?? []).map((l) => `label ${l}`),
  ];
  return parts.filter(Boolean).join(", ") || "any project";
}

/** Resolves names within a scope against the live engine. */
export class TargetResolver {
  constructor(
    private readonly reader: ContainerReader,
    readonly scope: TargetScope,
    /** faultline's own container when the caller knows it better than detection (tests, serve). */
    private readonly selfContainerId: string | undefined = detectSelfContainerId(),
  ) {}

  /** Every container in scope, stopped ones included (faultline's own are never listed). */
  async containers(): Promise<ContainerInfo[]> {
    return this.reader.list({ project: this.scope.project, labels: this.scope.labels, all: true });
  }

  /**
   * The running container a service name or container name stands for.
   * Throws TargetNotFoundError (unknown, or not running) or TargetExcludedError; never changes anything.
   */
  async resolveService(name: string): Promise<ResolvedService> {
    const containers = await this.containers();
    const matches = matchTarget(containers, name);
    if (!matches.length) {
      const known = [...new Set(containers.map(serviceIdOf))].sort();
      throw new TargetNotFoundError(
        `no service or container "${name}" in ${describeScope(this.scope)}`,
        known.length ? `known: ${known.join(", ")}` : "check the --project name (`docker ps`)",
      );
    }
    for (const c of matches) {
      const reason = exclusionReason(c, this.selfContainerId);
      if (reason) throw new TargetExcludedError(`"${name}" is excluded: ${reason}`, "pick another target");
    }
    const live = matches.find((c) => c.state === "running") ?? matches.find((c) => c.state === "paused");
    if (!live) {
      throw new TargetNotFoundError(
        `"${name}" is not running (${matches.map((c) => `${c.name}: ${c.state}`).join(", ")})`,
        `start it first, e.g. docker start ${matches[0]!.name}`,
      );
    }
    return toResolvedService(live);
  }
}
