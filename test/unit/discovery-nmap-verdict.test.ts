/** nmap -sV verdicts: a probe's match identifies a port; the port number's usual service does not. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nmapVerdict, parseNmapXml } from "../../src/discovery/nmap.js";

// Both lines as nmap 7.93 (the agent image) printed them for dnsmasq on 5520 and on 1053.
const probed = `<port protocol="tcp" portid="5520"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="domain" product="dnsmasq" version="2.90" method="probed" conf="10"><cpe>cpe:/a:thekelleys:dnsmasq:2.90</cpe></service></port>`;
const table = `<port protocol="tcp" portid="1053"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="remote-as" method="table" conf="3"/></port>`;

test("a probed match is a verdict, with product and version in the detail", () => {
  const [s] = parseNmapXml(`<ports>${probed}</ports>`);
  assert.equal(s?.method, "probed");
  const v = nmapVerdict(s!);
  assert.notEqual(v.protocol, "unknown");
  assert.equal(v.detail, "nmap domain dnsmasq 2.90");
});

test("a name taken from the services table (method=table) is not an identification", () => {
  const [s] = parseNmapXml(`<ports>${table}</ports>`);
  assert.equal(s?.name, "remote-as");
  const v = nmapVerdict(s!);
  assert.equal(v.protocol, "unknown");
  assert.match(v.detail, /no match/);
});
