import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  formatIPv6,
  parseHexAddress,
  parseProcNet,
  parseProcNetTables,
  summarizeSockets,
} from "../../src/discovery/sockets/proc-net.js";
import { cgroupBelongsTo } from "../../src/discovery/sockets/host-proc.js";
import { helperScript, parseHelperOutput } from "../../src/discovery/sockets/helper-proc.js";

// Captured from a MariaDB container and the demo web container (Debian bookworm, x86_64).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 29953 1 0000000064aac7c5 100 0 0 10 0
   1: 0100007F:8588 0100007F:0CEA 06 00000000:00000000 03:00001764 00000000     0        0 0 3 00000000f055244a
   2: 050011AC:0CEA 010011AC:9B2C 06 00000000:00000000 03:0000154C 00000000     0        0 0 3 00000000f4c19cf5
   3: 0B00007F:A923 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 83299 1 00000000038411c5 100 0 0 10 0
   4: 040019AC:9A3E 020019AC:18EB 01 00000000:00000000 02:00000A1B 00000000   999        0 84600 2 0000000000000000 20 4 30 10 -1
   5: 040019AC:9A40 020019AC:18EB 01 00000000:00000000 02:00000A1B 00000000   999        0 84601 2 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:107E 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 29881 1 0000000081737cb1 100 0 0 10 0
   1: 0000000000000000FFFF0000050011AC:107E 0000000000000000FFFF0000010011AC:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 30001 1 0000000000000000 20 4 30 10 -1
   2: B80D0120000000000000000001000000:1F90 B80D0120000000000000000002000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 30002 1 0000000000000000 20 4 30 10 -1
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31000 2 0000000000000000 0
  101: 0B00007F:9CF3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31001 2 0000000000000000 0
`;

describe("parseHexAddress", () => {
  test("IPv4 words are little-endian", () => {
    assert.equal(parseHexAddress("0100007F"), "127.0.0.1");
    assert.equal(parseHexAddress("050011AC"), "172.17.0.5");
    assert.equal(parseHexAddress("00000000"), "0.0.0.0");
  });
  test("big-endian machines print bytes in order", () => {
    assert.equal(parseHexAddress("7F000001", false), "127.0.0.1");
  });
  test("IPv6 any, loopback, v4-mapped and a global address", () => {
    assert.equal(parseHexAddress("00000000000000000000000000000000"), "::");
    assert.equal(parseHexAddress("00000000000000000000000001000000"), "::1");
    assert.equal(parseHexAddress("0000000000000000FFFF0000050011AC"), "172.17.0.5");
    assert.equal(parseHexAddress("B80D0120000000000000000001000000"), "2001:db8::1");
  });
  test("rejects garbage", () => {
    assert.throws(() => parseHexAddress("zz"));
    assert.throws(() => parseHexAddress("0100007"));
  });
  test("formatIPv6 shortens the longest zero run only", () => {
    assert.equal(formatIPv6([0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), "2001:0:0:1::1");
  });
});

describe("parseProcNet", () => {
  test("parses entries and skips the header and broken lines", () => {
    const entries = parseProcNet(`${TCP}   9: GARBAGE\n`, "tcp");
    assert.equal(entries.length, 6);
    assert.deepEqual(entries[0], {
      transport: "tcp",
      localAddress: "0.0.0.0",
      localPort: 3306,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: 10,
      inode: 29953,
    });
  });
  test("empty or truncated text gives no entries, not an exception", () => {
    assert.deepEqual(parseProcNet("", "tcp"), []);
    assert.deepEqual(parseProcNet("   0: 0100007F:8588", "tcp"), []);
  });
});

describe("summarizeSockets", () => {
  const summary = summarizeSockets(parseProcNetTables({ tcp: TCP, tcp6: TCP6, udp: UDP }));
  test("listening TCP (v4 and v6) and bound UDP sockets", () => {
    assert.deepEqual(
      summary.listening.map((l) => `${l.protocol}/${l.port}@${l.bindAddress}`),
      ["tcp/3306@0.0.0.0", "tcp/4222@::", "udp/5353@0.0.0.0", "udp/40179@127.0.0.11", "tcp/43299@127.0.0.11"],
    );
  });
  test("connections: loopback dropped, pools collapsed, direction from listening ports", () => {
    const c = summary.connections.map((x) => `${x.direction} ${x.remoteAddress}:${x.remotePort} ${x.state}`);
    assert.deepEqual(c, [
      "inbound 172.17.0.1:39724 time-wait",
      "outbound 172.25.0.2:6379 established",
      "inbound 172.17.0.1:54000 established",
      "outbound 2001:db8::2:50000 established",
    ]);
  });
  test("caps the number of connections", () => {
    assert.equal(summarizeSockets(parseProcNetTables({ tcp: TCP, tcp6: TCP6 }), 1).connections.length, 1);
  });
});

describe("socket readers' pure parts", () => {
  test("cgroup check needs the container id", () => {
    const id = "2769aa0931ed7a2c1f0a1d4c5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6";
    assert.ok(cgroupBelongsTo(`12:pids:/docker/${id}\n`, id));
    assert.ok(cgroupBelongsTo(`0::/system.slice/docker-${id}.scope\n`, id));
    assert.ok(!cgroupBelongsTo("0::/\n", id));
  });
  test("helper script and its output round-trip", () => {
    const script = helperScript([12, 0, 34]);
    assert.match(script, /for p in 12 34;/);
    const out = [
      "@@faultline@@ 12 cgroup",
      "12:pids:/docker/abc",
      "@@faultline@@ 12 tcp",
      TCP.trimEnd(),
      "@@faultline@@ 12 tcp6",
      "@@faultline@@ 34 cgroup",
      "@@faultline@@ 34 tcp",
      "",
    ].join("\n");
    const sections = parseHelperOutput(out);
    assert.equal(sections.get(12)?.cgroup, "12:pids:/docker/abc");
    assert.equal(parseProcNet(sections.get(12)?.tables.tcp ?? "", "tcp").length, 6);
    assert.equal(sections.get(12)?.tables.tcp6, undefined);
    assert.equal(sections.get(34)?.tables.tcp, undefined);
  });
});
