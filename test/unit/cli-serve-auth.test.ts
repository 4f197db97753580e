/**
 * `faultline serve` as users start it (a child process): an API reachable beyond loopback needs a token,
 * and the refusal comes before the engine is touched (the engine socket here cannot exist).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";

const root = fileURLToPath(new URL("../../", import.meta.url));
const TOKEN = "0123456789abcdef0123456789abcdef";
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "faultline-serve-auth-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // Nothing from the caller's environment may configure the token or the address.
  const base = { ...process.env };
  for (const name of [
    "FAULTLINE_API_TOKEN",
    "FAULTLINE_API_TOKEN_FILE",
    "FAULTLINE_LISTEN",
    "FAULTLINE_SCHEDULE",
  ])
    delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "serve", ...args],
      {
        cwd: root,
        env: {
          ...base,
          FAULTLINE_LOG_LEVEL: "silent",
          DOCKER_HOST: "unix:///nonexistent/faultline-test.sock",
          FAULTLINE_STATE_DIR: join(dir, "state"),
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function assertOneLine(result: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one stderr line, got: ${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /serving/);
}

describe("faultline serve refuses an open API", { concurrency: true }, () => {
  test("--listen 0.0.0.0 without a token: exit 2 before the engine is touched", async () => {
    assertOneLine(
      await serve(["--listen", "0.0.0.0:0"]),
      /^faultline: refusing to serve the fault-injection API on non-loopback 0\.0\.0\.0 without an API token \(set FAULTLINE_API_TOKEN or --api-token-file <path>, or listen on 127\.0\.0\.1\)$/,
    );
  });

  test("the IPv6 wildcard and FAULTLINE_LISTEN are refused the same way", async () => {
    assertOneLine(await serve(["--listen", "[::]:0"]), /refusing .* non-loopback :: without an API token/);
    assertOneLine(
      await serve([], { FAULTLINE_LISTEN: "0.0.0.0:0" }),
      /refusing .* non-loopback 0\.0\.0\.0 without an API token/,
    );
  });

  test("with a token the wildcard passes the check (and then needs the engine)", async () => {
    const file = join(dir, "token");
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    for (const [args, env] of [
      [["--listen", "0.0.0.0:0"], { FAULTLINE_API_TOKEN: TOKEN }],
      [["--listen", "0.0.0.0:0", "--api-token-file", file], {}],
    ] as const) {
      const result = await serve([...args], env);
      assert.equal(result.code, 2, result.stderr);
      assert.doesNotMatch(result.stderr, /refusing/);
      assert.match(result.stderr, /engine|docker/i);
      assert.ok(!result.stderr.includes(TOKEN), "the token is never printed");
    }
  });

  test("a bad token is refused in one line and never printed", async () => {
    assertOneLine(
      await serve(["--api-token-file", join(dir, "missing")]),
      /cannot read --api-token-file ".*missing": ENOENT/,
    );
    const weak = await serve([], { FAULTLINE_API_TOKEN: "hunter2" });
    assertOneLine(weak, /FAULTLINE_API_TOKEN is shorter than 16 characters/);
    assert.ok(!weak.stderr.includes("hunter2"));
    assertOneLine(
      await serve(["--api-token-file", join(dir, "token")], { FAULTLINE_API_TOKEN: TOKEN }),
      /both FAULTLINE_API_TOKEN and --api-token-file are set/,
    );
  });
});
