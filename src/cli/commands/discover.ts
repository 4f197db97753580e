/** `faultline discover`: profile every service in scope (ports, protocols, endpoints, references, kind). */
import { Command } from "commander";
import { discoverServices } from "../../discovery/discover.js";
import { maskProfile } from "../../discovery/mask.js";
import type { ServiceProfile } from "../../discovery/profile.js";
import { TargetNotFoundError } from "../../errors.js";
import { formatColumns } from "../../util/table.js";
import { addScopeOptions, parseChoice, resolveScope, type ScopeOptions } from "../options.js";
import { stderrProgress, warn } from "../progress.js";
import { openRuntime } from "../runtime.js";

export const DISCOVER_FORMATS = ["json", "table"] as const;
export type DiscoverFormat = (typeof DISCOVER_FORMATS)[number];

interface DiscoverOptions extends ScopeOptions {
  deep?: boolean;
  format: string;
  quiet?: boolean;
}

export function discoverCommand(): Command {
  const command = new Command("discover").description(
    "profile the services in scope: ports, protocols, HTTP endpoints, env references, kind",
  );
  addScopeOptions(command)
    .option("--deep", "also fingerprint unknown ports with nmap -sV (slower)", false)
    .option("-f, --format <format>", `output format: ${DISCOVER_FORMATS.join(", ")}`, "table")
    .option("-q, --quiet", "no progress on stderr", false)
    .action(async (options: DiscoverOptions) => {
      const format = parseChoice(options.format, DISCOVER_FORMATS, "--format");
      const profiles = await discoverInScope(options, "discover");
      process.stdout.write(
        format === "json" ? `${JSON.stringify(profiles, null, 2)}\n` : renderProfilesTable(profiles),
      );
    });
  return command;
}

/** Shared by discover and graph: validate scope, open the engine, profile, mask. */
export async function discoverInScope(
  options: ScopeOptions & { deep?: boolean; quiet?: boolean },
  commandName: string,
): Promise<ServiceProfile[]> {
  const scope = resolveScope(options);
  const runtime = await openRuntime();
  if (scope.warning) warn(scope.warning);
  const profiles = await discoverServices(runtime, scope.selector, {
    deep: options.deep ?? false,
    onProgress: stderrProgress(commandName, options.quiet),
  });
  if (profiles.length === 0) {
    throw new TargetNotFoundError(
      `no running containers in scope${describeScope(options)}`,
      "check `docker ps`, the --project name or the --label filters",
    );
  }
  return profiles.map(maskProfile);
}

function describeScope(options: ScopeOptions): string {
  const parts = [
    ...(options.project ? [`--project ${options.project}`] : []),
    ...(options.label ?? []).map((l) => `--label ${l}`),
  ];
  return parts.length ? ` (${parts.join(" ")})` : "";
}

export function renderProfilesTable(profiles: ServiceProfile[]): string {
  const rows = [...profiles]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((p) => [
      p.id,
      `${p.classification.kind} (${p.classification.confidence.toFixed(2)})`,
      p.state + (p.health.status !== "none" ? `/${p.health.status}` : ""),
      p.ports
        .map((port) => `${port.port}/${port.protocol}${port.probe ? ` ${port.probe.protocol}` : ""}`)
        .join(", ") || "-",
      p.endpoints.map((e) => `${e.path} ${e.status}`).join(", ") || "-",
      [...new Set(p.envReferences.map((r) => (r.port ? `${r.host}:${r.port}` : r.host)))].join(", ") || "-",
      String(p.connections.length),
    ]);
  const out = [
    formatColumns(["SERVICE", "KIND", "STATE", "PORTS", "ENDPOINTS", "REFERENCES", "CONNS"], rows),
  ];
  const notes = profiles.flatMap((p) => p.notes.map((n) => `  ${p.id}: ${n}`));
  if (notes.length) out.push("", "NOTES", ...notes);
  return `${out.join("\n")}\n`;
}
