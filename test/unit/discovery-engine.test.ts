/** The engine adapter's pure parts discovery relies on: DOCKER_HOST, and containers lost between list and inspect. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type Docker from "dockerode";
import { parseDockerHost } from "../../src/docker/address.js";
import { fromListing } from "../../src/docker/mappers.js";
import { isFaultlineError } from "../../src/errors.js";

describe("parseDockerHost", () => {
  test("unset or empty: the default socket", () => {
    assert.deepEqual(parseDockerHost(undefined), { socketPath: "/var/run/docker.sock" });
    assert.deepEqual(parseDockerHost(""), { socketPath: "/var/run/docker.sock" });
  });
  test("unix:// paths", () => {
    assert.deepEqual(parseDockerHost("unix:///run/user/1000/docker.sock"), {
      socketPath: "/run/user/1000/docker.sock",
    });
  });
  test("tcp:// with and without a port, TLS from DOCKER_TLS_VERIFY", () => {
    assert.deepEqual(parseDockerHost("tcp://10.0.0.5:2375"), {
      host: "10.0.0.5",
      port: 2375,
      protocol: "http",
    });
    assert.deepEqual(parseDockerHost("tcp://docker.internal"), {
      host: "docker.internal",
      port: 2375,
      protocol: "http",
    });
    assert.deepEqual(parseDockerHost("tcp://docker.internal", "1"), {
      host: "docker.internal",
      port: 2376,
      protocol: "https",
    });
    assert.deepEqual(parseDockerHost("tcp://[::1]:2375/"), { host: "::1", port: 2375, protocol: "http" });
  });
  test("anything else is refused with a usable message, never silently replaced", () => {
    for (const bad of [
      "ssh://me@host",
      "npipe:////./pipe/docker_engine",
      "unix://relative",
      "tcp://h:99999",
    ]) {
      assert.throws(
        () => parseDockerHost(bad),
        (e: unknown) =>
          isFaultlineError(e) && e.exitCode === 2 && /DOCKER_HOST ".*" is not supported/.test(e.message),
        bad,
      );
    }
  });
});

describe("fromListing: a container the engine listed but could not inspect", () => {
  const summary = {
    Id: "a".repeat(64),
    Names: ["/shop-cache-1"],
    Image: "redis:7",
    ImageID: "sha256:1",
    Command: "redis-server",
    Created: 0,
    Ports: [],
    Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "cache" },
    State: "running",
    Status: "Up 2 seconds",
    HostConfig: { NetworkMode: "shop_default" },
    NetworkSettings: { Networks: { shop_default: { IPAddress: "172.18.0.3", NetworkID: "n1" } } },
    Mounts: [],
  } as unknown as Docker.ContainerInfo;

  test("removed in between (404): state gone, with the listing's identity and a reason", () => {
    const info = fromListing(summary, Object.assign(new Error("no such container"), { statusCode: 404 }));
    assert.equal(info.state, "gone");
    assert.equal(info.name, "shop-cache-1");
    assert.deepEqual(info.compose, { project: "shop", service: "cache" });
    assert.equal(info.networks[0]?.ip, "172.18.0.3");
    assert.equal(info.pid, 0);
    assert.match(info.problem ?? "", /removed after it was listed \(was running\)/);
  });

  test("any other failure: the listed state stands, the problem is named", () => {
    const info = fromListing(summary, new Error("socket hang up"));
    assert.equal(info.state, "running");
    assert.match(info.problem ?? "", /could not be inspected: socket hang up/);
  });
});
