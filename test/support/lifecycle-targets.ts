/**
 * Small real containers for lifecycle tests: each runs a perl TCP server (the base image has perl) that
 * answers "ok" and is published on 127.0.0.1, labelled as a compose service of a unique test project so
 * `--project` scoping works exactly as with compose. Every container carries faultline.test=lifecycle.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { docker } from "./docker-cli.js";

export { CLI } from "./cli.js";
export { docker };

export const IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";
const SERVER = String.raw`use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 7000, Listen => 20, ReuseAddr => 1) or die $!; $| = 1; print "listening\n"; while (my $c = $s->accept) { print $c "ok\n"; close $c }`;

export function uniqueProject(area: string): string {
  return `fltest-${area}-${randomBytes(3).toString("hex")}`;
}

export interface EchoTarget {
  id: string;
  name: string;
  service: string;
}

export async function startEcho(
  project: string,
  service: string,
  restart = "no",
  labels: string[] = [],
): Promise<EchoTarget> {
  const name = `${project}-${service}-1`;
  const id = await docker(
    "run",
    "-d",
    "--name",
    name,
    "--restart",
    restart,
    "--label",
    "faultline.test=lifecycle",
    "--label",
    `com.docker.compose.project=${project}`,
    "--label",
    `com.docker.compose.service=${service}`,
    ...labels.flatMap((l) => ["--label", l]),
    "-p",
    "127.0.0.1::7000",
    IMAGE,
    "perl",
    "-e",
    SERVER,
  );
  await waitFor(async () => (await probe(id)) === "ok", 10_000, `${name} answering`);
  return { id, name, service };
}

export async function state(
  id: string,
): Promise<{ status: string; paused: boolean; startedAt: string; exitCode: number }> {
  const raw = await docker("inspect", "-f", "{{json .State}}", id);
  const s = JSON.parse(raw) as { Status: string; Paused: boolean; StartedAt: string; ExitCode: number };
  return { status: s.Status, paused: s.Paused, startedAt: s.StartedAt, exitCode: s.ExitCode };
}

/** What a client sees: "ok", "refused" (nothing listening / no port) or "timeout" (frozen). */
export async function probe(id: string, timeoutMs = 400): Promise<"ok" | "refused" | "timeout"> {
  let port: number;
  try {
    port = Number((await docker("port", id, "7000/tcp")).split("\n")[0]!.split(":").pop());
  } catch {
    return "refused";
  }
  if (!port) return "refused";
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (r: "ok" | "refused" | "timeout") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    socket.on("data", (d) => done(d.toString().startsWith("ok") ? "ok" : "refused"));
    socket.on("error", () => done("refused"));
    socket.on("close", () => done("refused"));
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** faultline's helper containers aimed at one target (any state). */
export async function helpersFor(targetId: string): Promise<string[]> {
  const out = await docker(
    "ps",
    "-aq",
    "--filter",
    "label=faultline.owned=true",
    "--filter",
    `label=faultline.target=${targetId}`,
  );
  return out ? out.split("\n") : [];
}

/** Removes the test project's containers and any helper aimed at them. */
export async function removeProject(project: string): Promise<void> {
  const ids = (await docker("ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`))
    .split("\n")
    .filter(Boolean);
  const helpers = (await Promise.all(ids.map(helpersFor))).flat();
  const all = [...helpers, ...ids];
  if (all.length) await docker("rm", "-f", ...all).catch(() => "");
}
