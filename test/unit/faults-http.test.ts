import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { describeNetworkFault } from "../../src/faults/network/fault.js";
import { globToRegex, parseHeaderMatch, parsePathPattern } from "../../src/faults/network/http-options.js";
import { httpFlowReset } from "../../src/faults/network/http-rules.js";
import { parseNetworkOptions } from "../../src/faults/network/options.js";
import type { HttpProxySpec, NetworkCapabilities } from "../../src/faults/network/rules.js";
import { buildRulePlan } from "../../src/faults/network/rules.js";
import { readyFrom } from "../../src/faults/network/agent-runner.js";
import { describeAgentCommands } from "../../src/run/dry-run.js";

const CAPS: NetworkCapabilities = {
  netem: false,
  tbf: true,
  htb: true,
  ifb: true,
  statistic: true,
  owner: true,
  string: true,
  conntrack: true,
  redirect: true,
  sockDestroy: true,
  conntrackDelete: true,
  iptablesBackend: "nft",
};
const TAG = "1a2b3c4d";
const lines = (cmds: string[][]) => cmds.map((c) => c.join(" "));

function plan(raw: Record<string, unknown>, peerIps: string[] = [], caps = CAPS, candidates?: number[]) {
  return buildRulePlan({
    faultId: `http-${TAG}`,
    tag: TAG,
    options: parseNetworkOptions("http", raw),
    peerIps,
    caps,
    proxyUid: 4717,
    ...(candidates ? { httpCandidatePorts: candidates } : {}),
  });
}

describe("http fault options", () => {
  test("globs become regular expressions both engines read alike", () => {
    assert.equal(globToRegex("/orders*"), "/orders.*");
    assert.equal(globToRegex("/a?c"), "/a.c");
    assert.equal(globToRegex("/v[0-9]/x.json"), "/v[0-9]/x\\.json");
    assert.equal(globToRegex("/[!a-z]"), "/[^a-z]");
    assert.equal(globToRegex("/a+(b)"), "/a\\+\\(b\\)");
    const re = new RegExp(`^(?:${globToRegex("/orders/*/items")})$`);
    assert.ok(re.test("/orders/42/items"));
    assert.ok(re.test("/orders/4/2/items"), "* crosses slashes");
    assert.ok(!re.test("/orders/42/items/1"));
  });

  test("a path without glob characters is a prefix", () => {
    const prefix = new RegExp(`^(?:${parsePathPattern("/orders").regex})$`);
    assert.ok(prefix.test("/orders") && prefix.test("/orders/1"));
    assert.ok(!prefix.test("/order"));
    assert.equal(parsePathPattern("*").regex, ".*");
  });

  const invalidPaths: [string, RegExp][] = [
    ["/orders[", /not a valid glob: "\[" at position 8 is never closed/],
    ["/a]b", /"\]" at position 3 closes nothing/],
    ["/x[]", /empty character class/],
    ["/x[a b]", /white space/],
    ["/x[$]", /holds characters it may not/],
    ["orders", /must start with "\/"/],
  ];
  for (const [path, message] of invalidPaths) {
    test(`refuses the path ${path}`, () => {
      assert.throws(
        () => parseNetworkOptions("http", { status: 503, path }),
        (e: unknown) => {
          assert.ok(e instanceof InvalidInputError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  test("headers: name and value glob, or presence", () => {
    assert.deepEqual(parseHeaderMatch("X-User: test*"), { name: "x-user", glob: "test*", value: "test.*" });
    assert.deepEqual(parseHeaderMatch("X-User=a?"), { name: "x-user", glob: "a?", value: "a." });
    assert.deepEqual(parseHeaderMatch("Authorization"), { name: "authorization" });
    assert.throws(() => parseHeaderMatch(": x"), InvalidInputError);
    assert.throws(() => parseHeaderMatch("X: [oops"), /not a valid glob/);
  });

  test("defaults and normalisation", () => {
    const o = parseNetworkOptions("http", {
      status: "503",
      percent: "30",
      method: "get,post",
      path: ["/a", "/b*"],
      header: "X-A: 1",
      port: "8080",
    });
    assert.equal(o.direction, "in");
    assert.deepEqual(o.ports, [8080]);
    assert.deepEqual(o.http, {
      direction: "in",
      status: 503,
      percent: 30,
      delayMs: 0,
      jitterMs: 0,
      methods: ["GET", "POST"],
      paths: [
        { pattern: "/a", regex: "/a.*" },
        { pattern: "/b*", regex: "/b.*" },
      ],
      headers: [{ name: "x-a", glob: "1", value: "1" }],
    });
    assert.equal(parseNetworkOptions("http", { delay: "200ms" }).http?.percent, 100);
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ["no status and no delay", { percent: 50 }, /needs a status to answer, a delay, or both/],
    ["percent 0", { status: 503, percent: 0 }, /percent/],
    ["percent over 100", { status: 503, percent: 101 }, /percent/],
    ["percent not a number", { status: 503, percent: "lots" }, /percent/],
    ["an interim status", { status: 100 }, /status/],
    ["status past 599", { status: 600 }, /status/],
    ["jitter not below the delay", { delay: "100ms", jitter: "100ms" }, /jitter/],
    ["direction both", { status: 503, direction: "both" }, /direction/],
    ["outgoing without a peer", { status: 503, direction: "out" }, /needs a peer/],
    ["a method that is not a token", { status: 503, method: "GE T" }, /not an HTTP method/],
    ["an option of another kind", { status: 503, latency: "1s" }, /latency/],
  ];
  for (const [name, raw, message] of invalid) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parseNetworkOptions("http", raw),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      );
    });
  }

  test("descriptions say what is selected, what happens and where", () => {
    const d = (raw: Record<string, unknown>, peers: string[] = []) =>
      describeNetworkFault(parseNetworkOptions("http", raw), "web", peers, "http-proxy");
    assert.equal(
      d({ status: 503, percent: 30, method: "GET", path: "/orders*", port: 8080 }),
      "answer 503 to 30% of GET /orders* requests to web:8080 (incoming) via http-proxy",
    );
    assert.equal(
      d({ delay: "200ms", jitter: "20ms", status: 504, direction: "out", peer: "pay" }, ["pay"]),
      "delay by 200ms ±20ms, then answer 504 to all requests web makes to pay (outgoing) via http-proxy",
    );
    assert.equal(
      d({ delay: "1s", header: "X-Canary" }),
      "delay by 1s all requests with x-canary to web (incoming) via http-proxy",
    );
  });
});

describe("http fault rules", () => {
  test("incoming: PREROUTING to the proxy for each HTTP port, found by the agent", () => {
    const p = plan({ status: 503, percent: 50, path: "/orders*" });
    assert.equal(p.mechanism, "http-proxy");
    assert.deepEqual(lines(p.apply), [
      `iptables -t nat -N FL-${TAG}-P`,
      `iptables -t nat -A FL-${TAG}-P -p tcp -m tcp --dport {httpPort} -j REDIRECT --to-ports {inPort}`,
      `iptables -t nat -I PREROUTING 1 -m comment --comment faultline:http-${TAG} -j FL-${TAG}-P`,
    ]);
    assert.deepEqual(lines(p.revert), [
      `iptables -t nat -D PREROUTING -m comment --comment faultline:http-${TAG} -j FL-${TAG}-P`,
      `iptables -t nat -F FL-${TAG}-P`,
      `iptables -t nat -X FL-${TAG}-P`,
    ]);
    assert.deepEqual(p.httpPorts, { ports: [], detect: { hosts: [], candidates: [] } });
    const proxy = p.proxy as HttpProxySpec;
    assert.deepEqual(proxy, {
      mode: "http",
      faultId: `http-${TAG}`,
      listeners: [{ name: "inPort" }],
      select: { methods: [], paths: ["/orders.*"], headers: [], percent: 50 },
      status: 503,
      delayMs: 0,
      jitterMs: 0,
      drainSeconds: 2,
    });
    assert.deepEqual(lines(p.resetFlows!.commands), [
      "ss -K -4 -t -n -H state established ( sport = :{httpPort} ) and not dst 127.0.0.0/8",
    ]);
  });

  test("incoming from one client only; ports given need no detection", () => {
    const p = plan({ delay: "1s", peer: "shop", port: [8080, 8443] }, ["10.0.0.7"]);
    assert.deepEqual(lines(p.apply).slice(1, 2), [
      `iptables -t nat -A FL-${TAG}-P -p tcp -m tcp -s 10.0.0.7/32 --dport {httpPort} -j REDIRECT --to-ports {inPort}`,
    ]);
    assert.deepEqual(p.httpPorts, { ports: [8080, 8443] });
  });

  test("outgoing: nat OUTPUT to the peers, the proxy's own uid and loopback excluded", () => {
    const p = plan({ status: 502, direction: "out", peer: "db" }, ["10.0.0.5", "10.1.0.5"], CAPS, [9000]);
    assert.deepEqual(lines(p.apply), [
      `iptables -t nat -N FL-${TAG}-O`,
      `iptables -t nat -A FL-${TAG}-O -m owner --uid-owner 4717 -j RETURN`,
      `iptables -t nat -A FL-${TAG}-O -d 127.0.0.0/8 -j RETURN`,
      `iptables -t nat -A FL-${TAG}-O -p tcp -m tcp -d 10.0.0.5/32 --dport {httpPort} -j REDIRECT --to-ports {outPort}`,
      `iptables -t nat -A FL-${TAG}-O -p tcp -m tcp -d 10.1.0.5/32 --dport {httpPort} -j REDIRECT --to-ports {outPort}`,
      `iptables -t nat -I OUTPUT 1 -m comment --comment faultline:http-${TAG} -j FL-${TAG}-O`,
    ]);
    const detect = p.httpPorts!.detect!;
    assert.deepEqual(detect.hosts, ["10.0.0.5", "10.1.0.5"]);
    assert.ok(
      detect.candidates.includes(9000) && detect.candidates.includes(8080),
      "declared ports and hints",
    );
    assert.deepEqual(lines(p.resetFlows!.commands), [
      "ss -K -4 -t -n -H state established ( dport = :{httpPort} ) and ( dst 10.0.0.5/32 or dst 10.1.0.5/32 ) and not dst 127.0.0.0/8",
    ]);
  });

  test("flow resets without socket destruction, and kernels that cannot redirect", () => {
    const ct = { ...CAPS, sockDestroy: false };
    assert.deepEqual(lines(httpFlowReset("in", ["10.0.0.7"], ct)!.commands), [
      "conntrack -D -p tcp --state ESTABLISHED --orig-port-dst {httpPort} --orig-src 10.0.0.7",
    ]);
    assert.deepEqual(lines(httpFlowReset("out", [], ct)!.commands), [
      "conntrack -D -p tcp --state ESTABLISHED --orig-port-dst {httpPort}",
    ]);
    assert.equal(httpFlowReset("in", [], { ...ct, conntrackDelete: false }), undefined);
    assert.throws(() => plan({ status: 503 }, [], { ...CAPS, redirect: false }), /REDIRECT/);
  });

  test("the agent reports the ports it found; a dry run names how it finds them", () => {
    assert.deepEqual(readyFrom("a", { httpPorts: [8080], reset: null }), { id: "a", httpPorts: [8080] });
    const p = plan({ status: 503 });
    const described = describeAgentCommands(
      "run",
      { faultId: `http-${TAG}`, apply: p.apply, proxy: p.proxy, httpPorts: p.httpPorts },
      "web's network namespace",
    );
    assert.match(described[0]!, /ports listening here that answer HTTP/);
    assert.match(described[1]!, /start the HTTP fault proxy on \{inPort\} \(answers selected requests 503/);
  });
});

describe("dns failure modes", () => {
  const dns = (raw: Record<string, unknown>, caps = CAPS) =>
    buildRulePlan({
      faultId: `dns-${TAG}`,
      tag: TAG,
      options: parseNetworkOptions("dns", raw),
      peerIps: [],
      caps,
      proxyUid: 4717,
    });

  test("reject (the default) refuses queries as they leave", () => {
    const p = dns({});
    assert.equal(p.mechanism, "dns-block");
    assert.match(lines(p.apply).join("\n"), /-I OUTPUT 1 .*-j FL-1a2b3c4d-O/);
    assert.match(lines(p.apply).join("\n"), /-p udp -m conntrack --ctorigdstport 53 -j REJECT/);
  });

  test("timeout drops the answers on the way back", () => {
    const p = dns({ mode: "timeout", name: "db" });
    assert.deepEqual(lines(p.apply), [
      `iptables -t filter -N FL-${TAG}-I`,
      `iptables -t filter -A FL-${TAG}-I -p udp -m conntrack --ctorigdstport 53 --ctdir REPLY -m string --algo bm --icase --hex-string |02 64 62| -j DROP`,
      `iptables -t filter -A FL-${TAG}-I -p tcp -m conntrack --ctorigdstport 53 --ctdir REPLY -m string --algo bm --icase --hex-string |02 64 62| -j DROP`,
      `iptables -t filter -I INPUT 1 -m comment --comment faultline:dns-${TAG} -j FL-${TAG}-I`,
    ]);
    assert.equal(p.proxy, undefined);
  });

  test("nxdomain / servfail: UDP queries redirected to the responder, TCP ones reset", () => {
    const p = dns({ mode: "servfail", names: ["db", "cache"] });
    assert.equal(p.mechanism, "dns-responder");
    const text = lines(p.apply).join("\n");
    assert.match(text, /-t nat -A FL-1a2b3c4d-O -m owner --uid-owner 4717 -j RETURN/);
    assert.match(text, /-p udp -m udp --dport 53 .*\|02 64 62\| -j REDIRECT --to-ports \{dnsPort\}/);
    assert.match(text, /\|05 63 61 63 68 65\| -j REDIRECT/);
    assert.match(text, /-t filter -A FL-1a2b3c4d-T -p tcp .* -j REJECT --reject-with tcp-reset/);
    assert.deepEqual(p.proxy, {
      mode: "dns",
      listeners: [{ name: "dnsPort" }],
      rcode: "servfail",
      names: ["db", "cache"],
    });
    assert.deepEqual(lines(p.resetFlows!.commands), ["conntrack -D -p udp --orig-port-dst 53"]);
    assert.throws(
      () => dns({ mode: "nxdomain" }, { ...CAPS, redirect: false }),
      (e: unknown) => e instanceof InvalidInputError && /use mode "reject"/.test(e.hint ?? ""),
    );
    assert.throws(() => parseNetworkOptions("dns", { mode: "sometimes" }), InvalidInputError);
  });

  test("descriptions name the mode", () => {
    const d = (raw: Record<string, unknown>) =>
      describeNetworkFault(parseNetworkOptions("dns", raw), "web", [], "dns-responder", true);
    assert.equal(
      d({ mode: "nxdomain", name: "db" }),
      "fail DNS lookups of db from web (answered NXDOMAIN) via dns-responder",
    );
    assert.match(d({ mode: "timeout" }), /every name from web \(never answered\)/);
  });
});
