import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { parseSize, parseStressOptions } from "../../src/faults/stress/options.js";
import { stressArgs, stressPlacement, targetCgroupPath } from "../../src/faults/stress/placement.js";

const target = { containerId: "abc123", cgroupParent: "", memoryLimit: 512 * 1024 ** 2 };
const cpu = parseStressOptions("cpu", { workers: 2, load: 80 }, 30_000);

describe("stress placement", () => {
  test("cgroup v1 + cgroupfs: child of the target's cgroup", () => {
    const p = stressPlacement({ version: "1", driver: "cgroupfs" }, target, stressArgs(cpu, 0));
    assert.equal(p.cgroupParent, "/docker/abc123");
    assert.deepEqual(p.cmd, [
      "stress-ng",
      "--cpu",
      "2",
      "--cpu-load",
      "80",
      "--timeout",
      "30s",
      "--metrics-brief",
    ]);
    assert.equal(p.privileged, undefined);
    assert.equal(
      stressPlacement({ version: "1", driver: "cgroupfs" }, { ...target, cgroupParent: "/mine/" }, [])
        .cgroupParent,
      "/mine/abc123",
    );
  });

  test("cgroup v2 + systemd: joins the target's scope through the host cgroupfs", () => {
    const p = stressPlacement({ version: "2", driver: "systemd" }, target, ["stress-ng", "--cpu", "1"]);
    assert.equal(p.cgroupParent, undefined);
    assert.equal(p.pidMode, "container:abc123");
    assert.equal(p.privileged, true);
    assert.deepEqual(p.binds, ["/sys/fs/cgroup:/sys/fs/cgroup-host:rw"]);
    assert.deepEqual(p.cmd, [
      "sh",
      "-c",
      "echo $$ > /sys/fs/cgroup-host/system.slice/docker-abc123.scope/cgroup.procs && exec 'stress-ng' '--cpu' '1'",
    ]);
  });

  test("cgroup v2 + cgroupfs and v1 + systemd paths", () => {
    assert.equal(targetCgroupPath({ version: "2", driver: "cgroupfs" }, target), "docker/abc123");
    assert.equal(
      targetCgroupPath({ version: "2", driver: "systemd" }, { ...target, cgroupParent: "my.slice" }),
      "my.slice/docker-abc123.scope",
    );
    const v1sd = stressPlacement({ version: "1", driver: "systemd" }, target, ["x"]);
    assert.match(
      v1sd.cmd[2]!,
      /for c in cpu,cpuacct memory pids; do echo \$\$ > \/sys\/fs\/cgroup-host\/\$c\/system.slice\/docker-abc123.scope\/cgroup.procs/,
    );
  });

  test("memory sizing", () => {
    const fixed = parseStressOptions("memory", { bytes: "256m", workers: 2 }, 10_000);
    assert.deepEqual(stressArgs(fixed, 0).slice(0, 4), ["stress-ng", "--vm", "2", "--vm-bytes"]);
    assert.equal(stressArgs(fixed, 0)[4], String(128 * 1024 ** 2));
    const share = parseStressOptions("memory", { bytes: "50%" }, 10_000);
    assert.equal(stressArgs(share, target.memoryLimit)[4], String(256 * 1024 ** 2));
  });

  test("options", () => {
    assert.equal(parseSize("1g"), 1024 ** 3);
    assert.equal(parseSize("512MiB"), 512 * 1024 ** 2);
    assert.equal(parseStressOptions("cpu", {}, 20_000).timeoutMs, 20_000);
    assert.equal(parseStressOptions("cpu", { timeout: "5s" }, 20_000).timeoutMs, 5_000);
    for (const [kind, raw] of [
      ["cpu", { load: 0 }],
      ["cpu", { load: 101 }],
      ["cpu", { workers: 0 }],
      ["cpu", { bytes: "1g" }],
      ["cpu", { timeout: "1m" }],
      ["memory", { bytes: "lots" }],
      ["memory", { bytes: "1k" }],
      ["memory", { bytes: "150%" }],
      ["memory", { load: 50 }],
    ] as const) {
      assert.throws(
        () => parseStressOptions(kind, raw as Record<string, unknown>, 20_000),
        InvalidInputError,
        JSON.stringify(raw),
      );
    }
  });
});
