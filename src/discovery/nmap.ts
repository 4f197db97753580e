/** `--deep`: ports no probe recognised get `nmap -sV` from the agent image, joined to the target's network namespace. */
import type { DockerRuntime } from "../docker/types.js";
import type { ProbedProtocol } from "./profile.js";
import { errorText } from "../errors.js";

export interface NmapService {
  port: number;
  protocol: "tcp" | "udp";
  state: string;
  name: string;
  product?: string;
  version?: string;
  /** "probed": a probe's reply matched; "table": only the port number's usual service (a guess). */
  method?: string;
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
}

/** Pulls the port/service elements out of `nmap -oX -` output (the format is stable and flat enough). */
export function parseNmapXml(xml: string): NmapService[] {
  const out: NmapService[] = [];
  for (const m of xml.matchAll(/<port\s[^>]*>[\s\S]*?<\/port>/g)) {
    const block = m[0];
    const portTag = /<port\s[^>]*>/.exec(block)?.[0] ?? "";
    const stateTag = /<state\s[^>]*\/?>/.exec(block)?.[0] ?? "";
    const serviceTag = /<service\s[^>]*\/?>/.exec(block)?.[0] ?? "";
    out.push({
      port: Number(attr(portTag, "portid")),
      protocol: attr(portTag, "protocol") === "udp" ? "udp" : "tcp",
      state: attr(stateTag, "state") ?? "unknown",
      name: attr(serviceTag, "name") ?? "unknown",
      product: attr(serviceTag, "product"),
      version: attr(serviceTag, "version"),
      method: attr(serviceTag, "method"),
    });
  }
  return out;
}

const NMAP_NAMES: Record<string, ProbedProtocol> = {
  http: "http",
  "http-proxy": "http",
  "http-alt": "http",
  https: "http",
  http2: "http2",
  grpc: "grpc",
  redis: "redis",
  postgresql: "postgresql",
  mysql: "mysql",
  mongodb: "mongodb",
  mongod: "mongodb",
  amqp: "amqp",
  mqtt: "mqtt",
  nats: "nats",
  memcached: "memcached",
  kafka: "kafka",
  smtp: "smtp",
  ssh: "banner",
  ftp: "banner",
};

export function nmapVerdict(s: NmapService): { protocol: ProbedProtocol; detail: string } {
  // nmap names an unrecognised port after the services file's entry for its number ("remote-as" on
  // 1053): that says nothing about what actually listens there.
  if (s.method === "table")
    return { protocol: "unknown", detail: `nmap: no match (port usually ${s.name || "unassigned"})` };
  const protocol = /elasticsearch|opensearch/i.test(s.product ?? "")
    ? "elasticsearch"
    : (NMAP_NAMES[s.name] ??
      (s.name && s.name !== "unknown" && !s.name.endsWith("?") ? "banner" : "unknown"));
  const detail = ["nmap", s.name, s.product, s.version].filter(Boolean).join(" ");
  return { protocol, detail };
}

export interface NmapRun {
  services: NmapService[];
  note?: string;
}

export async function runNmap(
  runtime: DockerRuntime,
  containerId: string,
  ports: number[],
  options: { image: string; timeoutMs: number; signal?: AbortSignal },
): Promise<NmapRun> {
  if (!ports.length) return { services: [] };
  if (!(await runtime.images.exists(options.image))) {
    return {
      services: [],
      note: `--deep: agent image ${options.image} is missing, nmap skipped (run \`faultline images build\`)`,
    };
  }
  const hostTimeout = Math.max(5, Math.floor(options.timeoutMs / 1000) - 3);
  try {
    const result = await runtime.helpers.run(
      {
        image: options.image,
        cmd: [
          "nmap",
          "-sV",
          "-Pn",
          "-n",
          "--version-light",
          "--host-timeout",
          `${hostTimeout}s`,
          "-p",
          ports.join(","),
          "-oX",
          "-",
          "127.0.0.1",
        ],
        role: "probe",
        networkMode: `container:${containerId}`,
        labels: { "faultline.probe": "nmap" },
      },
      { timeoutMs: options.timeoutMs, signal: options.signal },
    );
    if (result.exitCode !== 0)
      return { services: [], note: `--deep: nmap exited ${result.exitCode}: ${result.stderr.slice(0, 200)}` };
    return { services: parseNmapXml(result.stdout) };
  } catch (e) {
    return { services: [], note: `--deep: nmap failed: ${errorText(e)}` };
  }
}
