/** The dry run's pure parts: which helpers may really run, and how an agent's commands are described. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HelperSpec } from "../../src/docker/types.js";
import {
  agentInvocation,
  describeAgentCommands,
  describeHelper,
  isSelfContainedHelper,
} from "../../src/run/dry-run.js";

const probe: HelperSpec = {
  image: "faultline/agent:x",
  cmd: ["fl-agent", "caps"],
  role: "probe",
  networkMode: "none",
  capAdd: ["NET_ADMIN"],
};

test("only a helper that can reach nothing outside itself really runs in a dry run", () => {
  assert.equal(isSelfContainedHelper(probe), true);
  assert.equal(isSelfContainedHelper({ ...probe, networkMode: "container:abc" }), false);
  assert.equal(isSelfContainedHelper({ ...probe, networkMode: undefined }), false, "default bridge");
  assert.equal(
    isSelfContainedHelper({ ...probe, binds: ["/var/run/docker.sock:/var/run/docker.sock"] }),
    false,
  );
  assert.equal(isSelfContainedHelper({ ...probe, pidMode: "host" }), false);
  assert.equal(isSelfContainedHelper({ ...probe, privileged: true }), false);
  assert.equal(isSelfContainedHelper({ ...probe, cgroupParent: "/docker/abc" }), false);
});

test("an agent's apply, reset and revert commands are described one per line", () => {
  const spec = {
    faultId: "loss-1234abcd",
    apply: [["iptables", "-t", "filter", "-N", "FL-1234abcd-O"]],
    revert: [["iptables", "-t", "filter", "-X", "FL-1234abcd-O"]],
    resetFlows: { method: "sock-destroy", commands: [["ss", "-K"]] },
  };
  const invocation = agentInvocation(["fl-agent", "run", JSON.stringify(spec)]);
  assert.equal(invocation?.mode, "run");
  assert.deepEqual(describeAgentCommands("run", invocation!.spec, "web's network namespace"), [
    "  in web's network namespace: iptables -t filter -N FL-1234abcd-O",
    "  in web's network namespace: ss -K (resets established flows: sock-destroy)",
  ]);
  assert.deepEqual(describeAgentCommands("revert", invocation!.spec, "web's network namespace"), [
    "  in web's network namespace: iptables -t filter -X FL-1234abcd-O",
    "  in web's network namespace: remove every rule and chain tagged loss-1234abcd",
  ]);
  assert.equal(agentInvocation(["fl-agent", "caps"]), undefined);
  assert.equal(agentInvocation(["fl-agent", "run", "{not json"]), undefined);
});

test("a helper's command line names the agent's spec instead of dumping its JSON", () => {
  const line = describeHelper({
    image: "faultline/agent:x",
    cmd: ["fl-agent", "run", JSON.stringify({ faultId: "dns-1", apply: [], revert: [] })],
    role: "agent",
    name: "faultline-agent-dns-1",
    networkMode: "container:abc",
    autoRemove: true,
  });
  assert.equal(
    line,
    "--label faultline.role=agent --name faultline-agent-dns-1 --network container:abc --rm faultline/agent:x fl-agent run <spec of dns-1: commands below>",
  );
});
