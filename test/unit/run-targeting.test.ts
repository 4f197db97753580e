import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ContainerInfo, ContainerReader, ContainerSelector } from "../../src/docker/types.js";
import { TargetExcludedError, TargetNotFoundError } from "../../src/errors.js";
import { namespacesToSweep } from "../../src/run/recovery.js";
import { selfContainerIdFrom } from "../../src/run/self.js";
import { container } from "../support/containers.js";
import {
  TargetResolver,
  exclusionReason,
  matchTarget,
  matchesLabels,
  serviceIdOf,
} from "../../src/run/targeting.js";

const compose = (service: string, replica = 1, extra: Partial<ContainerInfo> = {}) =>
  container(`shop-${service}-${replica}`, { compose: { project: "shop", service }, ...extra });

describe("matchTarget", () => {
  const all = [compose("api", 2), compose("api", 1), compose("db"), container("standalone")];
  test("by compose service, replicas sorted by name", () => {
    assert.deepEqual(
      matchTarget(all, "api").map((c) => c.name),
      ["shop-api-1", "shop-api-2"],
    );
  });
  test("by container name", () => assert.deepEqual(matchTarget(all, "shop-db-1").map(serviceIdOf), ["db"]));
  test("by id prefix", () => assert.equal(matchTarget(all, all[3]!.id.slice(0, 12))[0]?.name, "standalone"));
  test("nothing", () => assert.deepEqual(matchTarget(all, "nope"), []));
});

test("exclusions: faultline's own, labelled exclude, faultline's own container", () => {
  assert.match(
    exclusionReason(container("a", { labels: { "faultline.owned": "true" } }), undefined) ?? "",
    /faultline's own/,
  );
  assert.match(
    exclusionReason(container("a", { labels: { "faultline.exclude": "TRUE" } }), undefined) ?? "",
    /exclude/,
  );
  const self = container("me");
  assert.match(exclusionReason(self, self.id.slice(0, 12)) ?? "", /faultline itself/);
  assert.equal(
    exclusionReason(container("a", { labels: { "faultline.exclude": "false" } }), undefined),
    undefined,
  );
});

test("matchesLabels: key=value and bare key", () => {
  const c = container("a", { labels: { tier: "backend", critical: "" } });
  assert.ok(matchesLabels(c, ["tier=backend", "critical"]));
  assert.ok(!matchesLabels(c, ["tier=frontend"]));
  assert.ok(!matchesLabels(c, ["missing"]));
});

describe("TargetResolver", () => {
  const reader = (containers: ContainerInfo[]): ContainerReader => ({
    async list(_selector: ContainerSelector) {
      return containers;
    },
    async inspect() {
      throw new Error("not used");
    },
  });

  test("faultline's own container is refused by the resolver when serve knows it, by any name", async () => {
    // Host networking, no labels: only the id serve read from mountinfo says this is faultline itself.
    const self = compose("chaos");
    const r = new TargetResolver(reader([self, compose("api")]), { project: "shop" }, self.id);
    for (const name of ["chaos", "shop-chaos-1", self.id.slice(0, 12)])
      await assert.rejects(r.resolveService(name), (e: Error) => {
        assert.ok(e instanceof TargetExcludedError, name);
        assert.match(e.message, /faultline itself runs in it/);
        return true;
      });
    assert.equal((await r.resolveService("api")).service, "api");
  });

  test("resolves a service to its running container with its IPs", async () => {
    const r = new TargetResolver(reader([compose("api", 1, { state: "exited" }), compose("api", 2)]), {
      project: "shop",
    });
    const s = await r.resolveService("api");
    assert.equal(s.containerName, "shop-api-2");
    assert.deepEqual(s.ips, ["172.20.0.2"]);
  });

  test("a missing name lists what is known", async () => {
    const r = new TargetResolver(reader([compose("api"), compose("db")]), { project: "shop" });
    await assert.rejects(r.resolveService("cache"), (e: Error) => {
      assert.ok(e instanceof TargetNotFoundError);
      assert.match(e.message, /project "shop"/);
      assert.match((e as TargetNotFoundError).hint ?? "", /api, db/);
      return true;
    });
  });

  test("an excluded service is refused", async () => {
    const r = new TargetResolver(reader([compose("db", 1, { labels: { "faultline.exclude": "true" } })]), {});
    await assert.rejects(r.resolveService("db"), TargetExcludedError);
  });

  test("a stopped service is refused with its state", async () => {
    const r = new TargetResolver(reader([compose("db", 1, { state: "exited" })]), {});
    await assert.rejects(r.resolveService("db"), /not running \(shop-db-1: exited\)/);
  });
});

test("faultline.exclude: any value but an explicit false excludes (1, yes, on, a bare label, a typo)", () => {
  for (const value of ["true", "TRUE", "1", "yes", "Yes", "on", " true ", "", "ture"]) {
    const c = container("a", { labels: { "faultline.exclude": value } });
    assert.match(exclusionReason(c, undefined) ?? "", /labelled faultline\.exclude/, JSON.stringify(value));
    assert.deepEqual(namespacesToSweep([c]), [], value);
  }
  for (const value of ["false", "FALSE", "0", "no", "off"]) {
    const c = container("a", { labels: { "faultline.exclude": value } });
    assert.equal(exclusionReason(c, undefined), undefined, value);
    assert.equal(namespacesToSweep([c]).length, 1, value);
  }
});

describe("which container faultline runs in", () => {
  const id = "b308593ddbd901eacf063281a15c08a39f3dbf2e54bec344a4d4054515b750e4";
  test("mountinfo first (host networking makes the hostname the host's), then cgroup, then hostname", () => {
    const mountinfo = `248 231 254:0 /var/lib/docker/containers/${id}/hostname /etc/hostname rw - ext4 /dev/vda rw\n`;
    assert.equal(selfContainerIdFrom({ mountinfo, hostname: "myhost", inContainer: true }), id);
    assert.equal(
      selfContainerIdFrom({ cgroup: `12:pids:/docker/${id}\n`, hostname: "myhost", inContainer: true }),
      id,
    );
    assert.equal(
      selfContainerIdFrom({
        cgroup: `0::/system.slice/docker-${id}.scope\n`,
        hostname: "myhost",
        inContainer: true,
      }),
      id,
    );
    assert.equal(selfContainerIdFrom({ hostname: "b308593ddbd9", inContainer: true }), "b308593ddbd9");
    assert.equal(selfContainerIdFrom({ hostname: "b308593ddbd9", inContainer: false }), undefined);
    assert.equal(
      selfContainerIdFrom({
        mountinfo: "22 1 0:21 / /proc rw - proc proc rw\n",
        cgroup: "0::/\n",
        hostname: "myhost",
        inContainer: false,
      }),
      undefined,
    );
  });
});
