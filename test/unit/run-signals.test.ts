import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const CHILD = fileURLToPath(new URL("../support/signals-child.ts", import.meta.url));

function start(revertMs: number) {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, REVERT_MS: String(revertMs) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.filter((w) => out.includes(w.text))) w.resolve();
  });
  const seen = (text: string) =>
    out.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, seen, exited, output: () => out };
}

test("SIGTERM: reverts what is in flight, then exits non-zero", { timeout: 20_000 }, async () => {
  const p = start(200);
  await p.seen("ready");
  p.child.kill("SIGTERM");
  const [code] = await p.exited;
  assert.equal(code, 143);
  assert.match(p.output(), /reverting\nreverted\n/);
});

test(
  "SIGINT twice: the second exits at once, without waiting for the revert",
  { timeout: 20_000 },
  async () => {
    const p = start(10_000);
    await p.seen("ready");
    const started = Date.now();
    p.child.kill("SIGINT");
    await p.seen("reverting");
    p.child.kill("SIGINT");
    const [code] = await p.exited;
    assert.equal(code, 130);
    assert.ok(Date.now() - started < 5_000);
    assert.doesNotMatch(p.output(), /reverted/);
  },
);
