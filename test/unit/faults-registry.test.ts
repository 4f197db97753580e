import assert from "node:assert/strict";
import { test } from "node:test";
import type { DockerRuntime } from "../../src/docker/types.js";
import { InvalidInputError } from "../../src/errors.js";
import type { Fault, FaultFamily, JournalFaultEntry, ResolvedService } from "../../src/faults/fault.js";
import { FaultRegistry, defaultRegistry } from "../../src/faults/registry.js";

const target: ResolvedService = { service: "api", containerId: "c1", containerName: "api-1", ips: [] };
const runtime = {} as DockerRuntime;
const deps = { runtime, resolveService: async () => target };

function recordingFamily(kinds: FaultFamily["kinds"], calls: string[]): FaultFamily {
  return {
    kinds,
    async create(kind) {
      calls.push(`create:${kind}`);
      return { id: "f", kind } as unknown as Fault;
    },
    async revertFromEntry(entry) {
      calls.push(`revert:${entry.kind}`);
    },
  };
}

test("dispatches create and revertFromEntry to the family that owns the kind", async () => {
  const calls: string[] = [];
  const registry = new FaultRegistry([
    recordingFamily(["pause"], calls),
    recordingFamily(["latency"], calls),
  ]);
  await registry.create("latency", target, {}, 1000, deps);
  await registry.revertFromEntry({ kind: "pause" } as JournalFaultEntry, runtime);
  assert.deepEqual(calls, ["create:latency", "revert:pause"]);
});

test("an unknown kind is an InvalidInputError listing what exists", async () => {
  const registry = new FaultRegistry([recordingFamily(["pause", "stop"], [])]);
  await assert.rejects(registry.create("explode", target, {}, 1000, deps), (e: Error) => {
    assert.ok(e instanceof InvalidInputError);
    assert.match(e.hint ?? "", /pause, stop/);
    return true;
  });
});

test("durations are checked for every family before it is asked", async () => {
  const calls: string[] = [];
  const registry = new FaultRegistry([recordingFamily(["cpu"], calls)]);
  await assert.rejects(registry.create("cpu", target, {}, 48 * 3_600_000, deps), InvalidInputError);
  assert.deepEqual(calls, []);
});

test("each family's shortest duration is declared once and enforced for every kind", async () => {
  const calls: string[] = [];
  const registry = new FaultRegistry([
    recordingFamily(["restart"], calls),
    recordingFamily(["latency"], calls),
    recordingFamily(["cpu"], calls),
  ]);
  await registry.create("restart", target, {}, 0, deps);
  await assert.rejects(registry.create("latency", target, {}, 50, deps), /shorter than a latency fault/);
  await registry.create("latency", target, {}, 100, deps);
  // stress-ng counts whole seconds: 500 ms would run for 1 s.
  await assert.rejects(registry.create("cpu", target, {}, 500, deps), (e: Error) => {
    assert.ok(e instanceof InvalidInputError);
    assert.match(e.hint ?? "", /at least --duration 1s/);
    return true;
  });
  await registry.create("cpu", target, {}, 1000, deps);
  assert.deepEqual(calls, ["create:restart", "create:latency", "create:cpu"]);
});

test("two families cannot claim one kind", () => {
  assert.throws(
    () => new FaultRegistry([recordingFamily(["stop"], []), recordingFamily(["stop"], [])]),
    /two fault families/,
  );
});

test("the default registry knows the lifecycle kinds", () => {
  const kinds = defaultRegistry().kinds();
  for (const k of ["stop", "kill", "pause", "restart"]) assert.ok(kinds.includes(k as never), k);
});

test("lifecycle faults are validated at construction, touching nothing", async () => {
  const registry = defaultRegistry();
  await assert.rejects(registry.create("kill", target, { signal: "BOOM" }, 1000, deps), InvalidInputError);
  const fault = await registry.create("kill", target, { signal: "term" }, 1000, deps);
  assert.equal(fault.kind, "kill");
  assert.deepEqual(fault.journalEntry().options, { signal: "SIGTERM" });
  assert.deepEqual(fault.journalEntry().helperContainerIds, []);
});
