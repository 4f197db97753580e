/**
 * `faultline halt` against a running service (the express app over a real ChaosService, with a token):
 * the schedule is paused and every fault in effect reverted; a wrong or missing token, or no service at
 * the URL, is a clear error with exit code 2 that changes nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createApp } from "../../src/api/app.js";
import { closeServer, listen } from "../../src/api/server.js";
import { ChaosService } from "../../src/api/service.js";
import { openRuntime } from "../../src/cli/runtime.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { Journal } from "../../src/run/journal.js";
import { runFaultline } from "../support/cli.js";
import {
  type EchoTarget,
  removeProject,
  startEcho,
  state,
  uniqueProject,
} from "../support/lifecycle-targets.js";

const TOKEN = "halt-test-token-0123456789abcdef";
const project = uniqueProject("halt");
let stateDir: string;
let service: ChaosService;
let server: Server | undefined;
let base: string;
let targets: EchoTarget[];

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-halt-"));
  targets = await Promise.all([
    startEcho(project, "alpha", "no", ["faultline.test=halt"]),
    startEcho(project, "beta", "no", ["faultline.test=halt"]),
  ]);
  service = new ChaosService({
    runtime: await openRuntime(),
    journal: new Journal(stateDir),
    registry: defaultRegistry(),
    selector: { project },
    outDir: join(stateDir, "reports"),
    defaults: { kinds: ["pause"], durationMs: 60_000, recoveryWaitMs: 0 },
    // Never fires during the test: the faults come from the API.
    schedule: "0 0 1 1 *",
    discoverOnStart: false,
  });
  await service.start();
  ({ server, url: base } = await listen(createApp(service, { apiToken: TOKEN }), {
    host: "127.0.0.1",
    port: 0,
  }));
});

after(async () => {
  await service?.shutdown("test done");
  if (server) await closeServer(server);
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

describe("faultline halt", { timeout: 120_000 }, () => {
  test("without the token: refused with exit 2, the faults stay", async () => {
    await service.injectFault({ target: "alpha", kind: "pause", options: {} });
    const refused = await runFaultline(["halt", "--url", base], {
      timeoutMs: 30_000,
      env: { FAULTLINE_API_TOKEN: "" },
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /refused.*FAULTLINE_API_TOKEN/s);
    assert.equal((await state(targets[0]!.id)).paused, true);
    assert.equal(service.schedule()!.paused, false);
  });

  test("with the token: schedule paused, every fault reverted", async () => {
    await service.injectFault({ target: "beta", kind: "pause", options: {} });
    const halted = await runFaultline(["halt", "--url", base], {
      timeoutMs: 60_000,
      env: { FAULTLINE_API_TOKEN: TOKEN },
    });
    assert.equal(halted.code, 0, halted.stderr);
    assert.match(halted.stdout, /schedule paused; reverted 2 fault\(s\) in \d+ ms/);
    for (const t of targets) assert.equal((await state(t.id)).paused, false);
    assert.equal(service.schedule()!.paused, true);
    assert.deepEqual(service.listFaults().active, []);
  });

  test("no service at the URL: exit 2 with what to do", async () => {
    await closeServer(server!);
    server = undefined;
    const unreachable = await runFaultline(["halt", "--url", base], { timeoutMs: 30_000 });
    assert.equal(unreachable.code, 2, unreachable.stderr);
    assert.match(unreachable.stderr, /faultline serve.*running.*faultline revert/);
    const bad = await runFaultline(["halt", "--url", "ftp://x"], { timeoutMs: 30_000 });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not http/);
  });
});
