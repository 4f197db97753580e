/**
 * Every lifecycle fault's dead-man switch exists before the change is made: read from the engine's own
 * event stream, the watchdog container starts before the target is paused, stopped or killed. Otherwise
 * a faultline that froze itself (or died in between) would leave the change with nothing to undo it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectDocker } from "../../src/docker/engine.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { Journal } from "../../src/run/journal.js";
import { adHocStep } from "../../src/run/plan.js";
import { runSingleFault } from "../../src/run/runner.js";
import { TargetResolver } from "../../src/run/targeting.js";
import {
  type EchoTarget,
  docker,
  helpersFor,
  probe,
  removeProject,
  startEcho,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const runtime = connectDocker();
const registry = defaultRegistry();
const project = uniqueProject("wdfirst");
let stateDir: string;
let echo: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-wdfirst-"));
  echo = await startEcho(project, "echo");
});

after(async () => {
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

interface EngineEvent {
  Action: string;
  id: string;
  timeNano: number;
}

async function eventsOf(ids: string[], since: number, until: number): Promise<EngineEvent[]> {
  const out = await docker(
    "events",
    "--since",
    (since / 1000).toFixed(3),
    "--until",
    (until / 1000).toFixed(3),
    "--format",
    "{{json .}}",
    ...ids.flatMap((id) => ["--filter", `container=${id}`]),
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EngineEvent);
}

describe("the dead-man switch comes first", { timeout: 180_000 }, () => {
  for (const [kind, options, changes] of [
    ["pause", {}, ["pause"]],
    ["stop", { timeout: 1 }, ["kill", "die", "stop"]],
    ["kill", { signal: "SIGKILL" }, ["kill", "die"]],
  ] as const) {
    test(`${kind}: the watchdog starts before the target is touched`, async () => {
      const resolver = new TargetResolver(runtime, { project });
      const step = adHocStep(await resolver.resolveService("echo"), registry.parseKind(kind), options, 1500);
      const since = Date.now() - 1000;
      let watchdog: string | undefined;
      await runSingleFault(step, {
        runtime,
        registry,
        journal: new Journal(stateDir),
        resolver,
        project,
        observer: {
          async onInjected() {
            watchdog = (await helpersFor(echo.id))[0];
          },
        },
      });
      await waitFor(async () => (await probe(echo.id)) === "ok", 10_000, "echo answering again");
      assert.ok(watchdog, "a watchdog stood by while the fault was in effect");
      const events = await eventsOf([echo.id, watchdog], since, Date.now());
      const started = events.find((e) => e.id.startsWith(watchdog!) && e.Action === "start");
      const changed = events.find(
        (e) => e.id === echo.id && (changes as readonly string[]).includes(e.Action),
      );
      assert.ok(started && changed, JSON.stringify(events.map((e) => `${e.id.slice(0, 12)} ${e.Action}`)));
      assert.ok(
        started.timeNano < changed.timeNano,
        `watchdog started ${(changed.timeNano - started.timeNano) / 1e6} ms relative to the ${changed.Action}`,
      );
    });
  }
});
