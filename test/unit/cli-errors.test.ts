/** The CLI as users run it (a child process): bad input and a missing engine end in one line and exit 2. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", ...args],
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
});
