/** The monitor's sampling helpers and the run command's monitoring options (pure). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { monitoringOptions } from "../../src/cli/commands/run.js";
import { parseProcNetTables } from "../../src/discovery/sockets/proc-net.js";
import { InvalidInputError } from "../../src/errors.js";
import { countPeerConnections } from "../../src/monitor/connections.js";
import { classifyLine } from "../../src/monitor/log-classifier.js";
import { cpuPercentBetween } from "../../src/monitor/monitor.js";

describe("cpuPercentBetween", () => {
  test("share of all CPUs over the interval, times the CPU count (as docker stats)", () => {
    const prev = { cpuTotalNs: 1_000_000_000, systemCpuNs: 10_000_000_000 };
    const next = { cpuTotalNs: 1_500_000_000, systemCpuNs: 12_000_000_000, onlineCpus: 2 };
    assert.equal(cpuPercentBetween(prev, next), 50);
  });
  test("unknown without a previous sample, after a counter reset, or when the host clock did not move", () => {
    const next = { cpuTotalNs: 10, systemCpuNs: 100, onlineCpus: 1 };
    assert.equal(cpuPercentBetween(undefined, next), undefined);
    assert.equal(cpuPercentBetween({ cpuTotalNs: 50, systemCpuNs: 50 }, next), undefined);
    assert.equal(cpuPercentBetween({ cpuTotalNs: 5, systemCpuNs: 100 }, next), undefined);
    assert.equal(cpuPercentBetween({}, next), undefined);
  });
});

describe("countPeerConnections", () => {
  // web 172.25.0.4: two pooled connections to the database (172.25.0.2:5432), one to itself over its
  // own address, one closing connection to the database, and its listener.
  const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 040019AC:9A3E 020019AC:1538 01 00000000:00000000 02:00000A1B 00000000   999        0 2 2 0 20 4 30 10 -1
   2: 040019AC:9A40 020019AC:1538 01 00000000:00000000 02:00000A1B 00000000   999        0 3 2 0 20 4 30 10 -1
   3: 040019AC:9A42 040019AC:1F90 01 00000000:00000000 02:00000A1B 00000000   999        0 4 2 0 20 4 30 10 -1
   4: 040019AC:9A44 020019AC:1538 06 00000000:00000000 03:00001764 00000000     0        0 0 3 0
   5: 040019AC:9A46 090019AC:0050 01 00000000:00000000 02:00000A1B 00000000   999        0 5 2 0 20 4 30 10 -1
`;
  const ips = new Map([
    ["172.25.0.2", "db"],
    ["172.25.0.4", "web"],
  ]);
  test("counts established sockets to other known services, each socket once", () => {
    assert.equal(countPeerConnections(parseProcNetTables({ tcp: TCP }), "web", ips), 2);
  });
  test("nothing known, nothing counted", () => {
    assert.equal(countPeerConnections(parseProcNetTables({ tcp: TCP }), "web", new Map()), 0);
  });
});

describe("log lines that report zero failures are not errors", () => {
  test("summary counters", () => {
    assert.equal(classifyLine("INFO shopper summary peer=web ok=25 failed=0 window=10s").class, "none");
    assert.equal(classifyLine("INFO batch done, failures: 0").class, "none");
    assert.equal(classifyLine("INFO shopper summary peer=web ok=20 failed=3 window=10s").class, "error");
    assert.equal(classifyLine("WARN ratio failed=0.5").class, "error");
  });
});

describe("run --out monitoring options", () => {
  const base = { baseline: "8s", interval: "1s", abortWhenDown: "15s", envelopeFor: "10s" };
  test("no --out: no monitoring", () => {
    assert.equal(monitoringOptions(base), undefined);
  });
  test("envelope limits need --out", () => {
    assert.throws(() => monitoringOptions({ ...base, maxErrorRate: "5" }), InvalidInputError);
  });
  test("parses the envelope and the waits", () => {
    const m = monitoringOptions({ ...base, out: "r", maxErrorRate: "2.5", maxProbeFailures: "0.5" });
    assert.deepEqual(m, {
      out: "r",
      baselineMs: 8000,
      intervalMs: 1000,
      envelope: {
        allDownForMs: 15_000,
        errorRateForMs: 10_000,
        probeFailureForMs: 10_000,
        maxErrorsPerSecond: 2.5,
        maxProbeFailureRatio: 0.5,
      },
    });
  });
  test("bad values are refused before anything runs", () => {
    assert.throws(() => monitoringOptions({ ...base, out: "r", maxErrorRate: "lots" }), InvalidInputError);
    assert.throws(() => monitoringOptions({ ...base, out: "r", maxProbeFailures: "2" }), InvalidInputError);
    assert.throws(() => monitoringOptions({ ...base, out: "r", interval: "10ms" }), InvalidInputError);
    assert.throws(() => monitoringOptions({ ...base, out: " " }), InvalidInputError);
  });
});
