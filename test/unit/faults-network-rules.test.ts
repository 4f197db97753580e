import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import type { DelayProxySpec, NetworkCapabilities } from "../../src/faults/network/rules.js";
import {
  FAULTLINE_MARKS,
  buildRulePlan,
  burstFor,
  chainPrefix,
  dnsHexString,
  faultMarks,
  flowReset,
  netemArgs,
  tcHandle,
  TC_HANDLE_RANGE,
} from "../../src/faults/network/rules.js";
import { explainApplyErrors, readyFrom } from "../../src/faults/network/agent-runner.js";
import type { NetworkKind } from "../../src/faults/network/options.js";
import { parseNetworkOptions } from "../../src/faults/network/options.js";

const NO_NETEM: NetworkCapabilities = {
  netem: false,
  tbf: true,
  htb: true,
  ifb: true,
  statistic: true,
  owner: true,
  string: true,
  conntrack: true,
  redirect: true,
  sockDestroy: false,
  conntrackDelete: false,
  iptablesBackend: "nft",
};
const NETEM: NetworkCapabilities = { ...NO_NETEM, netem: true };
const TAG = "1a2b3c4d";
const H = tcHandle(TAG);

function plan(kind: NetworkKind, raw: Record<string, unknown>, peerIps: string[] = [], caps = NO_NETEM) {
  return buildRulePlan({
    faultId: `${kind}-${TAG}`,
    tag: TAG,
    options: parseNetworkOptions(kind, raw),
    peerIps,
    caps,
    proxyUid: 4717,
  });
}
const lines = (cmds: string[][]) => cmds.map((c) => c.join(" "));

describe("network rule plans", () => {
  const cases: {
    name: string;
    kind: NetworkKind;
    raw: Record<string, unknown>;
    peers?: string[];
    caps?: NetworkCapabilities;
    mechanism: string;
    apply: string[];
    revert?: string[];
  }[] = [
    {
      name: "netem latency, unscoped, outgoing",
      kind: "latency",
      raw: { latency: "100ms", jitter: "10ms", correlation: 25 },
      caps: NETEM,
      mechanism: "tc-netem",
      apply: [`tc qdisc add dev eth0 root handle ${H}: netem delay 100ms 10ms 25%`],
      revert: [`fl-agent release-root eth0 ${H}:`],
    },
    {
      name: "netem latency scoped to a peer and port (htb + u32, both sides of the port)",
      kind: "latency",
      raw: { latency: 50, peers: "db", ports: 5432 },
      peers: ["10.0.0.5"],
      caps: NETEM,
      mechanism: "tc-netem",
      apply: [
        `tc qdisc add dev eth0 root handle ${H}: htb default 0`,
        `tc class add dev eth0 parent ${H}: classid ${H}:1 htb rate 100gbit`,
        `tc qdisc add dev eth0 parent ${H}:1 netem delay 50ms`,
        `tc filter add dev eth0 parent ${H}: protocol ip prio 1 u32 match ip dst 10.0.0.5/32 match ip dport 5432 0xffff flowid ${H}:1`,
        `tc filter add dev eth0 parent ${H}: protocol ip prio 1 u32 match ip dst 10.0.0.5/32 match ip sport 5432 0xffff flowid ${H}:1`,
      ],
    },
    {
      name: "netem latency incoming goes through an ifb",
      kind: "latency",
      raw: { latency: "20ms", direction: "in" },
      caps: NETEM,
      mechanism: "tc-netem",
      apply: [
        `ip link add flb${TAG} type ifb`,
        `ip link set dev flb${TAG} up`,
        `tc qdisc add dev flb${TAG} root handle ${H}: netem delay 20ms`,
        "tc qdisc add dev eth0 handle ffff: ingress",
        `tc filter add dev eth0 parent ffff: protocol ip prio 64000 u32 match u32 0 0 action mirred egress redirect dev flb${TAG}`,
      ],
      revert: [`fl-agent release-ingress eth0 flb${TAG}`, `ip link del flb${TAG}`],
    },
    {
      name: "netem loss with correlation both ways: egress tree and an ifb tree",
      kind: "loss",
      raw: { percent: 20, correlation: 25, direction: "both" },
      caps: NETEM,
      mechanism: "tc-netem",
      apply: [
        `tc qdisc add dev eth0 root handle ${H}: netem loss 20% 25%`,
        `ip link add flb${TAG} type ifb`,
        `ip link set dev flb${TAG} up`,
        `tc qdisc add dev flb${TAG} root handle ${H}: netem loss 20% 25%`,
        "tc qdisc add dev eth0 handle ffff: ingress",
        `tc filter add dev eth0 parent ffff: protocol ip prio 64000 u32 match u32 0 0 action mirred egress redirect dev flb${TAG}`,
      ],
      revert: [
        `fl-agent release-root eth0 ${H}:`,
        `fl-agent release-ingress eth0 flb${TAG}`,
        `ip link del flb${TAG}`,
      ],
    },
    {
      name: "bandwidth incoming from a peer: an htb tree on the ifb selecting the peer as source",
      kind: "bandwidth",
      raw: { rate: "1mbit", direction: "in", peers: "db" },
      peers: ["10.0.0.5"],
      mechanism: "tc-tbf",
      apply: [
        `ip link add flb${TAG} type ifb`,
        `ip link set dev flb${TAG} up`,
        `tc qdisc add dev flb${TAG} root handle ${H}: htb default 0`,
        `tc class add dev flb${TAG} parent ${H}: classid ${H}:1 htb rate 1000000bit ceil 1000000bit burst 16000b`,
        `tc filter add dev flb${TAG} parent ${H}: protocol ip prio 1 u32 match ip src 10.0.0.5/32 flowid ${H}:1`,
        "tc qdisc add dev eth0 handle ffff: ingress",
        `tc filter add dev eth0 parent ffff: protocol ip prio 64000 u32 match u32 0 0 action mirred egress redirect dev flb${TAG}`,
      ],
      revert: [`fl-agent release-ingress eth0 flb${TAG}`, `ip link del flb${TAG}`],
    },
    {
      name: "proxy latency redirects the target's connections and those to it",
      kind: "latency",
      raw: { latency: "200ms", peers: "db" },
      peers: ["10.0.0.5"],
      mechanism: "delay-proxy",
      apply: [
        `iptables -t nat -N FL-${TAG}-O`,
        `iptables -t nat -A FL-${TAG}-O -m owner --uid-owner 4717 -j RETURN`,
        `iptables -t nat -A FL-${TAG}-O -d 127.0.0.0/8 -j RETURN`,
        `iptables -t nat -A FL-${TAG}-O -p tcp -m tcp -d 10.0.0.5/32 -j REDIRECT --to-ports {outPort}`,
        `iptables -t nat -N FL-${TAG}-P`,
        `iptables -t nat -A FL-${TAG}-P -p tcp -m tcp -s 10.0.0.5/32 -j REDIRECT --to-ports {inPort}`,
        `iptables -t nat -I OUTPUT 1 -m comment --comment faultline:latency-${TAG} -j FL-${TAG}-O`,
        `iptables -t nat -I PREROUTING 1 -m comment --comment faultline:latency-${TAG} -j FL-${TAG}-P`,
      ],
      revert: [
        `iptables -t nat -D OUTPUT -m comment --comment faultline:latency-${TAG} -j FL-${TAG}-O`,
        `iptables -t nat -D PREROUTING -m comment --comment faultline:latency-${TAG} -j FL-${TAG}-P`,
        `iptables -t nat -F FL-${TAG}-O`,
        `iptables -t nat -X FL-${TAG}-O`,
        `iptables -t nat -F FL-${TAG}-P`,
        `iptables -t nat -X FL-${TAG}-P`,
      ],
    },
    {
      name: "loss via iptables statistic, one draw per packet (goto)",
      kind: "loss",
      raw: { percent: 12.5 },
      mechanism: "iptables-statistic",
      apply: [
        `iptables -t filter -N FL-${TAG}-L`,
        `iptables -t filter -A FL-${TAG}-L -m statistic --mode random --probability 0.1250 -j DROP`,
        `iptables -t filter -N FL-${TAG}-O`,
        `iptables -t filter -A FL-${TAG}-O ! -o lo -g FL-${TAG}-L`,
        `iptables -t filter -I OUTPUT 1 -m comment --comment faultline:loss-${TAG} -j FL-${TAG}-O`,
      ],
    },
    {
      name: "loss stays on iptables even with netem (so it stacks with netem latency)",
      kind: "loss",
      raw: { percent: 5, direction: "in", peers: "x" },
      peers: ["10.0.0.9"],
      caps: NETEM,
      mechanism: "iptables-statistic",
      apply: [
        `iptables -t filter -N FL-${TAG}-L`,
        `iptables -t filter -A FL-${TAG}-L -m statistic --mode random --probability 0.0500 -j DROP`,
        `iptables -t filter -N FL-${TAG}-I`,
        `iptables -t filter -A FL-${TAG}-I ! -i lo -s 10.0.0.9/32 -g FL-${TAG}-L`,
        `iptables -t filter -I INPUT 1 -m comment --comment faultline:loss-${TAG} -j FL-${TAG}-I`,
      ],
    },
    {
      name: "bandwidth unscoped is a root tbf",
      kind: "bandwidth",
      raw: { rate: "1mbit" },
      mechanism: "tc-tbf",
      apply: [`tc qdisc add dev eth0 root handle ${H}: tbf rate 1000000bit burst 16000b latency 100ms`],
    },
    {
      name: "bandwidth scoped is an htb class",
      kind: "bandwidth",
      raw: { rate: "100mbit", peers: "db" },
      peers: ["10.0.0.5"],
      mechanism: "tc-tbf",
      apply: [
        `tc qdisc add dev eth0 root handle ${H}: htb default 0`,
        `tc class add dev eth0 parent ${H}: classid ${H}:1 htb rate 100000000bit ceil 100000000bit burst 250000b`,
        `tc filter add dev eth0 parent ${H}: protocol ip prio 1 u32 match ip dst 10.0.0.5/32 flowid ${H}:1`,
      ],
    },
    {
      name: "partition defaults to both ways",
      kind: "partition",
      raw: { peers: "db" },
      peers: ["10.0.0.5"],
      mechanism: "iptables-drop",
      apply: [
        `iptables -t filter -N FL-${TAG}-O`,
        `iptables -t filter -A FL-${TAG}-O ! -o lo -d 10.0.0.5/32 -j DROP`,
        `iptables -t filter -N FL-${TAG}-I`,
        `iptables -t filter -A FL-${TAG}-I ! -i lo -s 10.0.0.5/32 -j DROP`,
        `iptables -t filter -I OUTPUT 1 -m comment --comment faultline:partition-${TAG} -j FL-${TAG}-O`,
        `iptables -t filter -I INPUT 1 -m comment --comment faultline:partition-${TAG} -j FL-${TAG}-I`,
      ],
    },
    {
      name: "dns for one name rejects matching queries by their original port 53",
      kind: "dns",
      raw: { name: "db" },
      mechanism: "dns-block",
      apply: [
        `iptables -t filter -N FL-${TAG}-O`,
        `iptables -t filter -A FL-${TAG}-O -p udp -m conntrack --ctorigdstport 53 -m string --algo bm --icase --hex-string |02 64 62| -j REJECT --reject-with icmp-port-unreachable`,
        `iptables -t filter -A FL-${TAG}-O -p tcp -m conntrack --ctorigdstport 53 -m string --algo bm --icase --hex-string |02 64 62| -j REJECT --reject-with tcp-reset`,
        `iptables -t filter -I OUTPUT 1 -m comment --comment faultline:dns-${TAG} -j FL-${TAG}-O`,
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const p = plan(c.kind, c.raw, c.peers ?? [], c.caps ?? NO_NETEM);
      assert.equal(p.mechanism, c.mechanism);
      assert.deepEqual(lines(p.apply), c.apply);
      if (c.revert) assert.deepEqual(lines(p.revert), c.revert);
    });
  }

  test("every plan's jumps are inserted last and removed first", () => {
    for (const kind of ["loss", "partition", "dns"] as const) {
      const p = plan(kind, kind === "loss" ? { percent: 10, direction: "both" } : {});
      const firstJump = p.apply.findIndex((c) => c.includes("-I"));
      assert.ok(
        p.apply.slice(firstJump).every((c) => c.includes("-I")),
        kind,
      );
      const lastDelete = p.revert.map((c) => c.includes("-D")).lastIndexOf(true);
      assert.ok(
        p.revert.slice(0, lastDelete + 1).every((c) => c.includes("-D")),
        kind,
      );
    }
  });

  test("proxy listeners delay the right direction", () => {
    const both = plan("latency", { latency: 100, jitter: 5, direction: "both" }).proxy!;
    assert.deepEqual(both.listeners, [
      { name: "outPort", toUpstreamMs: 100, toDownstreamMs: 100, connectDelayMs: 200 },
      { name: "inPort", toUpstreamMs: 100, toDownstreamMs: 100, connectDelayMs: 0 },
    ]);
    const out = plan("latency", { latency: 100 }).proxy!;
    assert.deepEqual(out.listeners[1], {
      name: "inPort",
      toUpstreamMs: 0,
      toDownstreamMs: 100,
      connectDelayMs: 0,
    });
    assert.equal((plan("latency", { latency: 100, jitter: 5 }).proxy as DelayProxySpec).jitterMs, 5);
  });

  test("missing kernel features are explained", () => {
    assert.throws(() => plan("dns", { name: "db" }, [], { ...NO_NETEM, string: false }), InvalidInputError);
    assert.throws(
      () => plan("loss", { percent: 1 }, [], { ...NO_NETEM, statistic: false }),
      InvalidInputError,
    );
    assert.throws(
      () => plan("bandwidth", { rate: "1mbit", direction: "in" }, [], { ...NO_NETEM, ifb: false }),
      InvalidInputError,
    );
  });

  test("helpers", () => {
    assert.equal(dnsHexString("api.internal"), "|03 61 70 69 08 69 6e 74 65 72 6e 61 6c|");
    assert.deepEqual(netemArgs(parseNetworkOptions("loss", { percent: 3, correlation: 10 })), [
      "netem",
      "loss",
      "3%",
      "10%",
    ]);
    assert.equal(burstFor(8_000), "16000b");
    for (const tag of ["00000000", "ffffffff", "fffe0000"]) {
      const h = parseInt(tcHandle(tag), 16);
      assert.ok(h >= 0xfa00 && h <= 0xfaff, `${tag}: reserved range`);
    }
  });

  test("the delay proxy resets established flows in scope; other mechanisms do not", () => {
    const destroy = { ...NO_NETEM, sockDestroy: true, conntrackDelete: true };
    const scoped = plan("latency", { latency: 100, ports: 5432 }, ["10.0.0.5"], destroy);
    assert.deepEqual(scoped.resetFlows, {
      method: "sock-destroy",
      commands: [
        "ss -K -4 -t -n -H state established ( ( dst 10.0.0.5/32 and dport = :5432 ) or ( dst 10.0.0.5/32 and sport = :5432 ) ) and not dst 127.0.0.0/8".split(
          " ",
        ),
      ],
    });
    assert.deepEqual(
      lines(flowReset([], [], destroy)!.commands),
      ["ss -K -4 -t -n -H state established not dst 127.0.0.0/8"],
      "unscoped: every non-loopback TCP flow",
    );
    assert.deepEqual(lines(flowReset(["10.0.0.5"], [], destroy)!.commands), [
      "ss -K -4 -t -n -H state established ( ( dst 10.0.0.5/32 ) ) and not dst 127.0.0.0/8",
    ]);
    const ct = { ...NO_NETEM, conntrackDelete: true };
    assert.deepEqual(lines(flowReset(["10.0.0.5"], [6379], ct)!.commands), [
      "conntrack -D -p tcp --state ESTABLISHED --dst 10.0.0.5 --dport 6379",
      "conntrack -D -p tcp --state ESTABLISHED --src 10.0.0.5 --dport 6379",
    ]);
    assert.deepEqual(lines(flowReset([], [], ct)!.commands), ["conntrack -D -p tcp --state ESTABLISHED"]);
    assert.equal(plan("latency", { latency: 100 }).resetFlows, undefined, "nothing can reset here");
    assert.equal(
      plan("latency", { latency: 100 }, [], { ...NETEM, sockDestroy: true }).resetFlows,
      undefined,
    );
    assert.equal(plan("loss", { percent: 5 }, [], destroy).resetFlows, undefined);
  });
});

describe("faultline's marks: what a journal-less sweep removes", () => {
  const re = (pattern: string | undefined) => new RegExp(pattern ?? "(?!)");
  /** Every artifact a plan creates: chains, hook comments, root qdisc handles, ifb devices, ingress prios. */
  function artifacts(cmds: string[][]) {
    const a = {
      chains: [] as string[],
      comments: [] as string[],
      handles: [] as string[],
      ifbs: [] as string[],
    };
    const prios: string[] = [];
    for (const c of cmds) {
      const at = (flag: string) => c[c.indexOf(flag) + 1]!;
      if (c[0] === "iptables" && c.includes("-N")) a.chains.push(at("-N"));
      if (c[0] === "iptables" && c.includes("--comment")) a.comments.push(at("--comment"));
      if (c.slice(0, 3).join(" ") === "tc qdisc add" && c.includes("root")) a.handles.push(at("handle"));
      if (c.slice(0, 3).join(" ") === "ip link add") a.ifbs.push(c[3]!);
      if (c.includes("ffff:") && c.includes("filter")) prios.push(at("prio"));
    }
    return { ...a, prios };
  }
  const variants: [NetworkKind, Record<string, unknown>, NetworkCapabilities][] = [];
  for (const caps of [NO_NETEM, { ...NETEM, sockDestroy: true }])
    for (const direction of ["out", "in", "both"])
      for (const scope of [{}, { peers: "db", ports: 5432 }]) {
        variants.push(["latency", { latency: 100, direction, ...scope }, caps]);
        variants.push(["loss", { percent: 10, direction, ...scope }, caps]);
        variants.push(["loss", { percent: 10, correlation: 5, direction, ...scope }, caps]);
        variants.push(["bandwidth", { rate: "1mbit", direction, ...scope }, caps]);
        variants.push(["partition", { direction, ...scope }, caps]);
      }
  variants.push(["dns", { name: "db" }, NO_NETEM], ["dns", {}, NO_NETEM]);

  test("every plan's artifacts carry faultline's marks (and its own fault's)", () => {
    for (const [kind, raw, caps] of variants) {
      const p = plan(kind, raw, raw.peers ? ["10.0.0.5"] : [], caps);
      const a = artifacts(p.apply);
      const own = faultMarks(`${kind}-${TAG}`, chainPrefix(TAG));
      const what = `${kind} ${JSON.stringify(raw)} ${p.mechanism}`;
      assert.ok(a.chains.length + a.handles.length > 0, `${what}: creates something`);
      for (const marks of [FAULTLINE_MARKS, own]) {
        for (const chain of a.chains) assert.match(chain, re(marks.chain), `${what}: chain ${chain}`);
        for (const comment of a.comments) assert.match(comment, re(marks.comment), `${what}: ${comment}`);
        for (const ifb of a.ifbs) assert.match(ifb, re(marks.ifb), `${what}: ifb ${ifb}`);
      }
      for (const handle of a.handles)
        assert.match(`${handle}`, re(FAULTLINE_MARKS.tcHandle), `${what}: ${handle}`);
      for (const prio of a.prios) assert.equal(Number(prio), FAULTLINE_MARKS.ingressPrio, `${what}: prio`);
      // Every hook into a built-in chain carries the comment (that is how the sweep finds it).
      const hooks = p.apply.filter((c) => c[0] === "iptables" && c.includes("-I"));
      assert.equal(hooks.length, a.comments.length, `${what}: hooks commented`);
    }
  });

  test("the marks match nothing of Docker's or a user's", () => {
    for (const chain of [
      "DOCKER_OUTPUT",
      "DOCKER_POSTROUTING",
      "FL-custom",
      `FL-${TAG}`,
      "FL-1A2B3C4D-O",
      "INPUT",
    ])
      assert.doesNotMatch(chain, re(FAULTLINE_MARKS.chain), chain);
    for (const comment of ["mine", "faultline", "faultline:mine", `xfaultline:loss-${TAG}`])
      assert.doesNotMatch(comment, re(FAULTLINE_MARKS.comment), comment);
    for (const handle of ["0:", "1:", "10:", "ffff:", "fa1:", "fb00:"])
      assert.doesNotMatch(handle, re(FAULTLINE_MARKS.tcHandle), handle);
    for (const dev of ["eth0", "ifb0", "lo", "flb1234"])
      assert.doesNotMatch(dev, re(FAULTLINE_MARKS.ifb), dev);
  });

  test("one fault's marks match only that fault", () => {
    const own = faultMarks(`loss-${TAG}`, chainPrefix(TAG));
    const other = plan("loss", { percent: 5, direction: "both" });
    const b = buildRulePlan({
      faultId: "loss-99999999",
      tag: "99999999",
      options: parseNetworkOptions("loss", { percent: 5 }),
      peerIps: [],
      caps: NO_NETEM,
      proxyUid: 4717,
    });
    assert.ok(artifacts(other.apply).chains.every((c) => new RegExp(own.chain).test(c)));
    assert.ok(artifacts(b.apply).chains.every((c) => !new RegExp(own.chain).test(c)));
    assert.ok(artifacts(b.apply).comments.every((c) => !new RegExp(own.comment).test(c)));
    assert.doesNotMatch("flb99999999", new RegExp(own.ifb));
    assert.equal(own.tcHandle, undefined, "root qdiscs are left to the fault's precise revert commands");
  });
});

describe("tc handle collisions: a failed fault never removes another's root qdisc", () => {
  const tcVariants: [NetworkKind, Record<string, unknown>, NetworkCapabilities][] = [];
  for (const direction of ["out", "in", "both"])
    for (const scope of [{}, { peers: "db", ports: 5432 }]) {
      tcVariants.push(["latency", { latency: 100, direction, ...scope }, NETEM]);
      tcVariants.push(["loss", { percent: 10, correlation: 5, direction, ...scope }, NETEM]);
      tcVariants.push(["bandwidth", { rate: "1mbit", direction, ...scope }, NO_NETEM]);
    }

  test("no plan reverts with a bare root delete: roots on shared devices go through release-root", () => {
    for (const [kind, raw, caps] of tcVariants) {
      const p = plan(kind, raw, raw.peers ? ["10.0.0.5"] : [], caps);
      const what = `${kind} ${JSON.stringify(raw)}`;
      assert.ok(
        !p.revert.some((c) => c.slice(0, 3).join(" ") === "tc qdisc del" && c.includes("root")),
        `${what}: ${lines(p.revert).join("; ")}`,
      );
      const roots = p.apply.filter((c) => c.slice(0, 3).join(" ") === "tc qdisc add" && c.includes("root"));
      const sharedRoots = roots.filter((c) => c[c.indexOf("dev") + 1] === "eth0");
      assert.deepEqual(
        p.revert.filter((c) => c[1] === "release-root"),
        sharedRoots.map((c) => ["fl-agent", "release-root", "eth0", c[c.indexOf("handle") + 1]!]),
        `${what}: one release per root added on eth0`,
      );
    }
  });

  test("plans adding a root on a shared device ask the agent to claim its handle in the reserved range", () => {
    for (const [kind, raw, caps] of tcVariants) {
      const p = plan(kind, raw, raw.peers ? ["10.0.0.5"] : [], caps);
      const what = `${kind} ${JSON.stringify(raw)}`;
      if (raw.direction === "in") {
        // The tree sits on the fault's own ifb: no other fault can hold a qdisc there.
        assert.equal(p.tcClaim, undefined, what);
        continue;
      }
      assert.deepEqual(
        p.tcClaim,
        {
          handle: H,
          devices: ["eth0"],
          range: [TC_HANDLE_RANGE.min.toString(16), TC_HANDLE_RANGE.max.toString(16)],
        },
        what,
      );
    }
    assert.equal(plan("loss", { percent: 10 }).tcClaim, undefined, "iptables plans claim nothing");
    assert.equal(plan("partition", { peers: "db" }, ["10.0.0.5"]).tcClaim, undefined);
  });

  test("two faults whose tags draw the same handle plan the same claim (the agent resolves it)", () => {
    const a = buildRulePlan({
      faultId: "bandwidth-12aaaaaa",
      tag: "12aaaaaa",
      options: parseNetworkOptions("bandwidth", { rate: "1mbit" }),
      peerIps: [],
      caps: NO_NETEM,
      proxyUid: 4717,
    });
    const b = buildRulePlan({
      faultId: "bandwidth-12bbbbbb",
      tag: "12bbbbbb",
      options: parseNetworkOptions("bandwidth", { rate: "2mbit" }),
      peerIps: [],
      caps: NO_NETEM,
      proxyUid: 4717,
    });
    assert.equal(a.tcClaim?.handle, "fa12");
    assert.equal(b.tcClaim?.handle, "fa12");
    assert.deepEqual(lines(b.revert), ["fl-agent release-root eth0 fa12:"]);
  });

  test("a second root refused under another handle is explained like one under the same handle", () => {
    const refused =
      "tc qdisc add dev eth0 root handle fa13: tbf … -> Error: NLM_F_REPLACE needed to override.";
    assert.match(explainApplyErrors([refused]), /already holds this interface's root or ingress qdisc/);
  });

  test("the agent's READY line carries the handle it drew instead and the rewritten revert", () => {
    assert.deepEqual(readyFrom("agent-1", { backend: "nft", reset: null, rehandled: null }), {
      id: "agent-1",
    });
    const revert = [["fl-agent", "release-root", "eth0", "fa13:"]];
    assert.deepEqual(readyFrom("agent-1", { rehandled: { handle: "fa13", revert } }), {
      id: "agent-1",
      rehandled: { handle: "fa13", revert },
    });
  });
});
