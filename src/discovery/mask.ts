/**
 * A profile as it may leave faultline (API, CLI, reports). Discovery masks what it keeps already; this is
 * the last line of defence: commands and healthchecks as argv (so `--requirepass x` masks x), every
 * other string by its key's name and its shape.
 */
import { maskArgs, maskSecretsDeep } from "../util/secrets.js";
import type { ServiceProfile } from "./profile.js";

export function maskProfile(p: ServiceProfile): ServiceProfile {
  const masked = maskSecretsDeep(p);
  return {
    ...masked,
    command: maskArgs(p.command),
    health: { ...masked.health, test: maskArgs(p.health.test) },
  };
}
