import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { parseNetworkOptions, parseRate, validateDnsName } from "../../src/faults/network/options.js";
import { describeNetworkFault } from "../../src/faults/network/fault.js";
import { explainApplyErrors, findMarker, agentHelperSpec } from "../../src/faults/network/agent-runner.js";
import { parseCapabilities } from "../../src/faults/network/capabilities.js";

describe("network options", () => {
  test("normalises", () => {
    const o = parseNetworkOptions("latency", {
      latency: "200ms",
      jitter: "20ms",
      peers: "db, cache",
      ports: "5432,6379",
    });
    assert.equal(o.latencyMs, 200);
    assert.equal(o.jitterMs, 20);
    assert.equal(o.direction, "out");
    assert.deepEqual(o.peers, ["db", "cache"]);
    assert.deepEqual(o.ports, [5432, 6379]);
    assert.equal(parseNetworkOptions("partition", {}).direction, "both");
    assert.equal(parseNetworkOptions("loss", { loss: "2.5" }).lossPercent, 2.5);
    assert.deepEqual(parseNetworkOptions("dns", { name: "DB." }).dnsNames, ["db"]);
  });

  const invalid: [string, Parameters<typeof parseNetworkOptions>[0], Record<string, unknown>][] = [
    ["no latency", "latency", {}],
    ["zero latency", "latency", { latency: 0 }],
    ["latency >= 60s", "latency", { latency: "60s" }],
    ["jitter not below latency", "latency", { latency: 100, jitter: 100 }],
    ["loss 0", "loss", { percent: 0 }],
    ["loss > 100", "loss", { percent: 101 }],
    ["bad rate", "bandwidth", { rate: "fast" }],
    ["tiny rate", "bandwidth", { rate: "1bit" }],
    ["bad direction", "partition", { direction: "sideways" }],
    ["bad port", "loss", { percent: 1, ports: 70000 }],
    ["unknown option", "loss", { percent: 1, colour: "red" }],
    ["dns direction in", "dns", { direction: "in" }],
    ["bad dns name", "dns", { name: "no spaces allowed" }],
  ];
  for (const [name, kind, raw] of invalid) {
    test(`rejects ${name}`, () => assert.throws(() => parseNetworkOptions(kind, raw), InvalidInputError));
  }

  test("rates and durations", () => {
    assert.equal(parseRate("1mbit"), 1_000_000);
    assert.equal(parseRate("500kbit"), 500_000);
    assert.equal(parseRate("1gbit"), 1e9);
    assert.equal(parseRate("1mbps"), 8_000_000);
    assert.throws(() => validateDnsName(""), InvalidInputError);
  });

  test("descriptions", () => {
    const o = parseNetworkOptions("latency", { latency: "200ms", jitter: "20ms", peers: "db", ports: 5432 });
    assert.equal(
      describeNetworkFault(o, "api", ["db"], "delay-proxy"),
      "add 200ms ±20ms latency on api <-> db:5432 (outgoing) via delay-proxy",
    );
    assert.match(describeNetworkFault(parseNetworkOptions("dns", {}), "api", []), /every name/);
  });
});

describe("agent protocol", () => {
  test("markers, errors, helper spec, capabilities", () => {
    assert.deepEqual(findMarker('x\nFAULTLINE-READY {"ports":{}}\n', "FAULTLINE-READY"), { ports: {} });
    assert.equal(findMarker("nothing", "FAULTLINE-READY"), undefined);
    assert.match(explainApplyErrors(["tc ...: Exclusivity flag on"]), /one per direction/);
    const spec = agentHelperSpec("abc", ["fl-agent", "show"], {
      runId: "r",
      faultId: "f",
      targetId: "abc",
      deadlineMs: 5,
    });
    assert.equal(spec.networkMode, "container:abc");
    assert.deepEqual(spec.capAdd, ["NET_ADMIN"]);
    assert.equal(spec.labels?.["faultline.deadline"], "5");
    const caps = parseCapabilities('junk\n{"netem": false, "tbf": true, "iptablesBackend": "legacy"}\n');
    assert.equal(caps.netem, false);
    assert.equal(caps.tbf, true);
    assert.equal(caps.string, false);
    assert.equal(caps.iptablesBackend, "legacy");
  });
});
