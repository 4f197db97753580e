/**
 * The HTTP service-discovery document (http_sd_configs) that points Prometheus at the discovered
 * services' /metrics.
 */
import type { ServiceProfile } from "../discovery/profile.js";
import { LABELS } from "../docker/types.js";

// ------------------------------------------------------------------ HTTP service discovery

/** One target group of Prometheus' http_sd_configs format. */
export interface SdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface SdOptions {
  /** Prefer an address on these networks (the ones Prometheus is attached to), in order. */
  networks?: readonly string[];
}

/**
 * The http_sd_configs document for every discovered service whose metrics endpoint answered in the
 * Prometheus text format: one group per (service, path), addressed by container IP on a shared network.
 */
export function prometheusSdTargets(
  profiles: readonly ServiceProfile[],
  options: SdOptions = {},
): SdTargetGroup[] {
  const groups: SdTargetGroup[] = [];
  for (const p of profiles) {
    if (p.labels[LABELS.owned] === "true") continue;
    const ip = addressOf(p, options.networks ?? []);
    if (!ip) continue;
    const byPath = new Map<string, Set<number>>();
    for (const e of p.endpoints) {
      if (!e.prometheus) continue;
      const ports = byPath.get(e.path) ?? new Set<number>();
      ports.add(e.port);
      byPath.set(e.path, ports);
    }
    for (const [path, ports] of [...byPath].sort(([a], [b]) => a.localeCompare(b))) {
      const host = ip.includes(":") ? `[${ip}]` : ip;
      groups.push({
        targets: [...ports].sort((a, b) => a - b).map((port) => `${host}:${port}`),
        labels: {
          __metrics_path__: path,
          service: p.id,
          container: p.containerName,
          ...(p.compose ? { compose_project: p.compose.project } : {}),
        },
      });
    }
  }
  return groups;
}

function addressOf(p: ServiceProfile, preferred: readonly string[]): string | undefined {
  for (const name of preferred) {
    const n = p.networks.find((x) => x.name === name && x.ip);
    if (n) return n.ip;
  }
  return p.networks.find((n) => n.ip)?.ip;
}
