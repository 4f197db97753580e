/**
 * faultline's own image and the compose overlay. The monitoring images cannot be pulled here, so the
 * overlay is checked as merged configuration, and only the faultline image is built and run: as the
 * overlay runs it (host network and PID namespace, the engine socket), serving a small labelled project.
 * A fault injected through its API is reverted when the container is stopped (SIGTERM).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { listFilesRecursively } from "../../src/docker/files.js";
import {
  type EchoTarget,
  docker,
  helpersFor,
  removeProject,
  startEcho,
  state,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OVERLAY_DIR = ROOT.replace(/\/+$/, "");
const project = uniqueProject("serveimg");
const serverName = `${project}-faultline`;
let tag: string;
let target: EchoTarget;
let port: number;
const API_TOKEN = randomBytes(24).toString("hex");

/** The tag names the inputs of the image, so an unchanged checkout reuses it and a changed one rebuilds. */
function imageTag(): string {
  const hash = createHash("sha256");
  const inputs = [
    ...["src", "images/agent", "images/faultline"].flatMap((dir) =>
      listFilesRecursively(join(ROOT, dir)).map((f) => join(dir, f)),
    ),
    "package-lock.json",
    "scripts/build-image.sh",
    "tsconfig.json",
  ];
  for (const f of inputs)
    hash
      .update(f)
      .update("\0")
      .update(readFileSync(join(ROOT, f)))
      .update("\0");
  return `faultline/faultline:test-${hash.digest("hex").slice(0, 12)}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

async function compose(...args: string[]): Promise<string> {
  const files = [
    "-f",
    join(ROOT, "examples/shop/docker-compose.yml"),
    "-f",
    join(ROOT, "docker-compose.chaos.yml"),
  ];
  const { stdout } = await run("docker-compose", [...files, ...args], {
    timeout: 60_000,
    env: { ...process.env, COMPOSE_PROJECT_NAME: project, FAULTLINE_OVERLAY_DIR: OVERLAY_DIR },
  });
  return stdout;
}

before(async () => {
  tag = imageTag();
  const present = await docker("image", "inspect", tag).then(
    () => true,
    () => false,
  );
  if (!present) {
    await run("bash", [join(ROOT, "scripts/build-image.sh"), "--tag", tag], { cwd: ROOT, timeout: 600_000 });
    // Earlier test builds of this image are superseded by this one.
    const old = (await docker("images", "--format", "{{.Repository}}:{{.Tag}}", "faultline/faultline"))
      .split("\n")
      .filter((t) => t.startsWith("faultline/faultline:test-") && t !== tag);
    if (old.length) await docker("rmi", ...old).catch(() => "");
  }
  target = await startEcho(project, "cache", "no", ["faultline.test=serve-image"]);
  port = await freePort();
});

after(async () => {
  await docker("rm", "-f", serverName).catch(() => "");
  await removeProject(project);
});

async function api(method: string, path: string, body?: unknown, authenticated = true) {
  const headers: Record<string, string> = authenticated ? { authorization: `Bearer ${API_TOKEN}` } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: (text.startsWith("{") ? JSON.parse(text) : undefined) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe("faultline image and compose overlay", { timeout: 600_000 }, () => {
  test("the overlay merges with a 2.4 stack in docker-compose 1.29 and sets faultline up as documented", async () => {
    const merged = await compose("config");
    for (const s of [
      "faultline",
      "prometheus",
      "grafana",
      "elasticsearch",
      "logstash",
      "kibana",
      "storefront",
    ])
      assert.match(merged, new RegExp(`^  ${s}:$`, "m"), `service ${s} in the merged config`);
    const faultline = /^ {2}faultline:\n((?: {4}.*\n)+)/m.exec(merged)?.[1] ?? "";
    assert.match(faultline, /network_mode: host/);
    assert.match(faultline, /pid: host/);
    assert.match(faultline, /\/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
    assert.match(faultline, new RegExp(`FAULTLINE_PROJECT: ${project}`));
    assert.match(faultline, /faultline\.exclude: ['"]true['"]/);
    // Every overlay service is protected from faults; no registry host name is written anywhere.
    assert.equal((merged.match(/faultline\.exclude: ['"]true['"]/g) ?? []).length, 6);
    const overlay = readFileSync(join(ROOT, "docker-compose.chaos.yml"), "utf8");
    assert.doesNotMatch(overlay, /docker\.io|docker\.elastic\.co|quay\.io|ghcr\.io/);
    // Nothing listens beyond loopback: the host-network services bind 127.0.0.1 and publish nothing,
    // the others publish on 127.0.0.1 only.
    const block = (name: string) => new RegExp(`^ {2}${name}:\n((?: {4}.*\n)+)`, "m").exec(merged)?.[1] ?? "";
    assert.match(faultline, /FAULTLINE_LISTEN: 127\.0\.0\.1:8080/);
    assert.match(faultline, /FAULTLINE_API_TOKEN: ''/);
    assert.match(faultline, /ELASTICSEARCH_URL: http:\/\/127\.0\.0\.1:9200/);
    for (const name of ["faultline", "prometheus", "grafana"]) {
      assert.match(block(name), /network_mode: host/, name);
      assert.doesNotMatch(block(name), /ports:|networks:|extra_hosts:/, name);
    }
    assert.match(block("prometheus"), /--web\.listen-address=127\.0\.0\.1:9090/);
    assert.match(block("grafana"), /GF_SERVER_HTTP_ADDR: 127\.0\.0\.1/);
    for (const name of ["elasticsearch", "kibana"]) {
      const ports = [...block(name).matchAll(/^ {4}- (\S+:\d+)(?:\/tcp)?$/gm)].map((m) => m[1]!);
      assert.ok(ports.length > 0 && ports.every((p) => p.startsWith("127.0.0.1:")), `${name}: ${ports}`);
    }
    // The monitoring config is mounted from this checkout, and Prometheus scrapes faultline on loopback.
    assert.match(block("prometheus"), new RegExp(`- ${OVERLAY_DIR}/prometheus:/etc/prometheus:ro`));
    const promConfig = readFileSync(join(ROOT, "prometheus/prometheus.yml"), "utf8");
    assert.match(promConfig, /targets: \["127\.0\.0\.1:8080"\]/);
    assert.match(promConfig, /url: http:\/\/127\.0\.0\.1:8080\/api\/prometheus\/targets/);
    // The targets document needs the read token when faultline has a token: Prometheus reads it from a
    // file the overlay writes from FAULTLINE_API_READ_TOKEN.
    assert.match(promConfig, /credentials_file: \/prometheus\/faultline-read-token/);
    assert.match(block("prometheus"), /FAULTLINE_API_READ_TOKEN: ''/);
    assert.match(block("prometheus"), /> \/prometheus\/faultline-read-token/);
    assert.match(faultline, /FAULTLINE_API_READ_TOKEN: ''/);
    assert.doesNotMatch(promConfig + overlay, /host\.docker\.internal|0\.0\.0\.0:8080/);
    const services = (await compose("config", "--services")).split("\n").filter(Boolean);
    assert.ok(services.includes("faultline"));
  });

  test("the image serves the API from the host network behind its token and reverts its faults on SIGTERM", async () => {
    const labels = await docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag);
    assert.equal(JSON.parse(labels)["faultline.owned"], "true");
    // The token reaches the container from the environment, never from a command line.
    await run(
      "docker",
      [
        "run",
        "-d",
        "--name",
        serverName,
        "--network",
        "host",
        "--pid",
        "host",
        "--label",
        "faultline.test=serve-image",
        "--label",
        "faultline.exclude=true",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-e",
        `FAULTLINE_PROJECT=${project}`,
        "-e",
        `FAULTLINE_LISTEN=127.0.0.1:${port}`,
        "-e",
        "FAULTLINE_LOG_LEVEL=warn",
        "-e",
        "FAULTLINE_API_TOKEN",
        tag,
      ],
      { timeout: 60_000, env: { ...process.env, FAULTLINE_API_TOKEN: API_TOKEN } },
    );
    await waitFor(async () => (await api("GET", "/healthz")).status === 200, 30_000, "faultline /healthz");
    const health = (await api("GET", "/healthz")).json;
    assert.deepEqual(health.scope, { project });

    const refused = await api("POST", "/api/faults", { target: "cache", kind: "pause" }, false);
    assert.equal(refused.status, 401, refused.text);
    assert.equal(refused.json.error.code, "UNAUTHORIZED");
    assert.equal((await state(target.id)).paused, false);
    assert.equal((await api("GET", "/metrics", undefined, false)).status, 200);

    const services = await api("GET", "/api/services");
    assert.equal(services.status, 200, services.text);
    assert.deepEqual(
      services.json.services.map((s: { id: string }) => s.id),
      ["cache"],
    );

    const fault = await api("POST", "/api/faults", { target: "cache", kind: "pause", duration: "10m" });
    assert.equal(fault.status, 202, fault.text);
    assert.equal((await state(target.id)).paused, true);

    await docker("stop", "--time", "60", serverName);
    const exit = await docker("inspect", "--format", "{{.State.ExitCode}}", serverName);
    const logs = await run("docker", ["logs", serverName]).then((r) => r.stdout + r.stderr);
    assert.equal(exit, "0", logs);
    assert.match(logs, /SIGTERM received/);
    assert.equal((await state(target.id)).paused, false, logs);
    assert.deepEqual(await helpersFor(target.id), []);
  });

  test("a faultline in a container with host networking and no labels refuses to fault itself, on every path", async () => {
    // As the issue found it: in scope as a compose service, host network (so the hostname is the host's),
    // and none of faultline's labels (container labels override the image's owned and exclude labels).
    const selfName = `${project}-chaos-1`;
    const selfPort = await freePort();
    await run(
      "docker",
      [
        "run",
        "-d",
        "--name",
        selfName,
        "--network",
        "host",
        "--pid",
        "host",
        "--label",
        "faultline.test=serve-image",
        "--label",
        "faultline.owned=false",
        "--label",
        "faultline.exclude=false",
        "--label",
        `com.docker.compose.project=${project}`,
        "--label",
        "com.docker.compose.service=chaos",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-e",
        `FAULTLINE_PROJECT=${project}`,
        "-e",
        `FAULTLINE_LISTEN=127.0.0.1:${selfPort}`,
        "-e",
        "FAULTLINE_LOG_LEVEL=warn",
        tag,
      ],
      { timeout: 60_000 },
    );
    const self = await docker("inspect", "-f", "{{.Id}}", selfName);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${selfPort}${path}`, {
        method,
        headers: body ? { "content-type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      return { status: res.status, text };
    };
    try {
      await waitFor(async () => (await call("GET", "/healthz")).status === 200, 30_000, "faultline /healthz");
      for (const name of ["chaos", selfName, self.slice(0, 12)]) {
        for (const kind of ["pause", "stop", "kill"]) {
          const r = await call("POST", "/api/faults", { target: name, kind, duration: "3s" });
          assert.equal(r.status, 403, `${kind} ${name}: ${r.text}`);
          assert.match(r.text, /faultline itself runs in it/);
        }
      }
      const experiment = await call("POST", "/api/experiments", {
        only: ["chaos"],
        kinds: ["pause"],
        duration: "2s",
      });
      assert.equal(experiment.status, 400, experiment.text);
      assert.match(experiment.text, /faultline itself runs in it/);
      const s = await state(self);
      assert.equal(s.status, "running");
      assert.equal(s.paused, false);
      assert.deepEqual(await helpersFor(self), []);
    } finally {
      await docker("unpause", selfName).catch(() => "");
      await docker("rm", "-f", selfName).catch(() => "");
    }
  });
});
