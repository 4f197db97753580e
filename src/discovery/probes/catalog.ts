/** Which probes exist and in which order a port gets them. Pure. */
import { amqpProbe } from "./amqp.js";
import { genericBannerProbe, smtpProbe } from "./banner.js";
import { httpProbe } from "./http.js";
import { http2Probe } from "./http2.js";
import { kafkaProbe } from "./kafka.js";
import { memcachedProbe } from "./memcached.js";
import { mongodbProbe } from "./mongodb.js";
import { mqttProbe } from "./mqtt.js";
import { mysqlProbe } from "./mysql.js";
import { natsProbe } from "./nats.js";
import { postgresqlProbe } from "./postgresql.js";
import { redisProbe } from "./redis.js";
import type { Probe, ProbeMatch } from "./types.js";

/** Servers that speak first: read before sending anything. Most specific first. */
export const BANNER_PROBES: readonly Probe[] = [mysqlProbe, natsProbe, smtpProbe, genericBannerProbe];

/** Client-speaks-first protocols; on a tie the earlier one wins (HTTP before h2c, which is rarer). */
export const REQUEST_PROBES: readonly Probe[] = [
  httpProbe,
  redisProbe,
  postgresqlProbe,
  mongodbProbe,
  mysqlProbe,
  amqpProbe,
  mqttProbe,
  memcachedProbe,
  kafkaProbe,
  http2Probe,
].filter((p) => p.request !== undefined);

export type ProbeStep = { kind: "banner"; probes: readonly Probe[] } | { kind: "request"; probes: Probe[] };

/**
 * The order of attempts for one port: when the port hints at a banner protocol, listen first; when it
 * hints at a request protocol, try that one alone first (one connection settles most ports), then
 * listen for a banner, then everything else at once.
 */
export function planProbes(port: number): ProbeStep[] {
  const hintedRequest = REQUEST_PROBES.filter((p) => p.portHints.includes(port));
  const rest = REQUEST_PROBES.filter((p) => !hintedRequest.includes(p));
  const banner: ProbeStep = { kind: "banner", probes: BANNER_PROBES };
  const bannerHinted = BANNER_PROBES.some((p) => p.portHints.includes(port));
  if (bannerHinted || hintedRequest.length === 0) {
    return [banner, { kind: "request", probes: [...hintedRequest, ...rest] }];
  }
  return [{ kind: "request", probes: hintedRequest }, banner, { kind: "request", probes: rest }];
}

/** First probe (in the given order) whose matcher accepts the reply. */
export function firstMatch(probes: readonly Probe[], reply: Buffer): ProbeMatch | undefined {
  for (const p of probes) {
    const m = p.match(reply);
    if (m) return m;
  }
  return undefined;
}
