/** Masking a service profile before it leaves faultline (printed, served by the API, written in a report). */
import { isSecretName, MASK, maskSecretsInText, maskUrlCredentials } from "../util/secrets.js";
import type { ServiceProfile } from "./profile.js";

/** Discovery masks secrets already; this is the last line of defence before anything is printed. */
export function maskProfile(p: ServiceProfile): ServiceProfile {
  return {
    ...p,
    env: Object.fromEntries(
      Object.entries(p.env).map(([k, v]) => [k, isSecretName(k) ? MASK : maskUrlCredentials(v)]),
    ),
    envReferences: p.envReferences.map((r) => ({ ...r, value: maskUrlCredentials(r.value) })),
    logMentions: p.logMentions.map(maskSecretsInText),
    command: p.command.map(maskSecretsInText),
    health: p.health.lastOutput
      ? { ...p.health, lastOutput: maskSecretsInText(p.health.lastOutput) }
      : p.health,
  };
}
