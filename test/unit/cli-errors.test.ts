/** The CLI as users run it (a child process): bad input and a missing engine end in one line and exit 2. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The CLI in a child process; `asUser` prefixes a command (e.g. setpriv) that drops privileges first. */
function cli(
  args: string[],
  env: Record<string, string> = {},
  asUser: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [process.execPath, "--import", "tsx", "src/cli/main.ts", ...args];
  const [file, ...rest] = [...asUser, ...argv];
  return new Promise((resolve) => {
    execFile(
      file!,
      rest,
      { cwd: root, env: { ...process.env, FAULTLINE_LOG_LEVEL: "silent", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function assertOneLineFailure(
  result: { code: number; stdout: string; stderr: string },
  pattern: RegExp,
): void {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, "", "stdout stays clean");
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one stderr line, got: ${result.stderr}`);
  assert.match(lines[0]!, pattern);
}

// Pointing at a socket that cannot exist proves validation happens before the engine is touched.
const noEngine = { DOCKER_HOST: "unix:///nonexistent/faultline-test.sock" };

describe("CLI bad input and missing engine", { concurrency: true }, () => {
  test("unknown graph format", async () => {
    assertOneLineFailure(
      await cli(["graph", "--format", "yaml"], noEngine),
      /unknown --format "yaml".*table, json, mermaid/,
    );
  });

  test("serve: bad cron, bad window, unknown time zone, bad --allow: exit 2 before the engine", async () => {
    const serve = (...args: string[]) => cli(["serve", "--project", "p", ...args], noEngine);
    assertOneLineFailure(await serve("--schedule", "every minute"), /not a cron expression/);
    assertOneLineFailure(
      await serve("--schedule", "* * * * *", "--window", "weekdays"),
      /--window "weekdays"/,
    );
    assertOneLineFailure(
      await serve("--schedule", "* * * * *", "--window", "Mon-Fri 09:00-17:00 Europe/Atlantis"),
      /"Europe\/Atlantis" is not a known time zone/,
    );
    assertOneLineFailure(await serve("--allow", "db=stop"), /not one of the schedule's kinds/);
    assertOneLineFailure(await serve("--max-concurrent", "0"), /--max-concurrent must be at least 1/);
  });

  test("unknown order", async () => {
    assertOneLineFailure(
      await cli(["graph", "--order", "sideways"], noEngine),
      /unknown --order "sideways".*leaves-first/,
    );
  });

  test("bad label syntax", async () => {
    assertOneLineFailure(await cli(["graph", "--label", "=oops"], noEngine), /bad --label "=oops"/);
  });

  test("confidence out of range", async () => {
    assertOneLineFailure(await cli(["graph", "--min-confidence", "2"], noEngine), /--min-confidence "2"/);
  });

  test("unknown discover format", async () => {
    assertOneLineFailure(await cli(["discover", "--format", "xml"], noEngine), /unknown --format "xml"/);
  });

  test("unreachable engine: graph and discover", async () => {
    for (const command of ["graph", "discover"]) {
      assertOneLineFailure(
        await cli([command, "--project", "whatever"], noEngine),
        /^faultline: cannot reach the Docker engine .*(DOCKER_HOST|dockerd)/,
      );
    }
  });

  test("an unsupported DOCKER_HOST is refused, not silently replaced by the default socket", async () => {
    assertOneLineFailure(
      await cli(["discover", "--project", "whatever"], { DOCKER_HOST: "ssh://me@engine.example" }),
      /^faultline: DOCKER_HOST "ssh:\/\/me@engine\.example" is not supported .*unix:\/\/.*tcp:\/\//,
    );
  });

  test("DOCKER_HOST tcp:// is used: a closed port is named in the one line", async () => {
    const probe = createServer();
    const port = await new Promise<number>((r) =>
      probe.listen(0, "127.0.0.1", () => r((probe.address() as AddressInfo).port)),
    );
    await new Promise((r) => probe.close(r));
    assertOneLineFailure(
      await cli(["graph", "--project", "whatever"], { DOCKER_HOST: `tcp://127.0.0.1:${port}` }),
      new RegExp(`^faultline: cannot reach the Docker engine at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });
});

describe("CLI against the real engine socket", () => {
  const socket = "/var/run/docker.sock";
  const hasEngine = existsSync(socket);

  test(
    "DOCKER_HOST unix:// is honoured: the engine found through another path",
    { skip: !hasEngine },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "faultline-docker-host-"));
      try {
        const link = join(dir, "engine.sock");
        symlinkSync(socket, link);
        const result = await cli(
          [
            "discover",
            "--project",
            `faultline-no-such-project-${process.pid}`,
            "--format",
            "json",
            "--quiet",
          ],
          {
            DOCKER_HOST: `unix://${link}`,
          },
        );
        // The engine answered through the link: it listed (nothing) rather than being unreachable.
        assertOneLineFailure(result, /^faultline: no running containers in scope/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  // Root bypasses file permissions, so the CLI runs as root without the capabilities that do so
  // (setpriv drops them from the bounding set). It stays root, so it still reads the checkout wherever CI
  // cloned it; the socket is the test's own, with no permission bits at all.
  const canDrop = process.getuid?.() === 0 && hasSetpriv();
  test(
    "no permission on the socket: one clear line and exit code 2",
    { skip: canDrop ? false : "needs root and setpriv" },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "faultline-socket-perm-"));
      const path = join(dir, "engine.sock");
      const server = createServer();
      try {
        await new Promise<void>((resolve) => server.listen(path, resolve));
        chmodSync(path, 0o000);
        const result = await cli(["discover", "--project", "whatever"], { DOCKER_HOST: `unix://${path}` }, [
          "setpriv",
          "--bounding-set=-dac_override,-dac_read_search",
        ]);
        assertOneLineFailure(
          result,
          new RegExp(
            `^faultline: cannot reach the Docker engine at ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(EACCES\\) \\(no permission on the Docker socket: run as root or join the group that owns it`,
          ),
        );
      } finally {
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

function hasSetpriv(): boolean {
  try {
    execFileSync("setpriv", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
