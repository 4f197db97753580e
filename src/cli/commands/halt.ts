/**
 * `faultline halt`: the big red button of a running `faultline serve`, from a terminal. The service pauses
 * its schedule and reverts every fault in its scope, whoever started it (its own API and scheduled faults,
 * and what other faultline processes journalled), exactly as POST /api/halt.
 */
import { Command } from "commander";
import { resolveApiToken } from "../../api/auth.js";
import type { HaltReport } from "../../api/service.js";
import { FaultRevertError, InvalidInputError, ServiceUnavailableError } from "../../errors.js";
import { IntegrationHttpError, requestJson } from "../../integrations/http.js";

interface HaltOptions {
  url: string;
  apiTokenFile?: string;
}

/** A halt waits for every revert; the service bounds each one, this bounds the whole call. */
const HALT_TIMEOUT_MS = 120_000;

const env = (name: string): string | undefined => process.env[name] || undefined;

export function haltCommand(): Command {
  return new Command("halt")
    .description(
      "pause a running faultline service's schedule and revert every fault in its scope (POST /api/halt)",
    )
    .option(
      "--url <url>",
      "the service's base URL (or set FAULTLINE_URL)",
      env("FAULTLINE_URL") ?? `http://${env("FAULTLINE_LISTEN") ?? "127.0.0.1:8080"}`,
    )
    .option(
      "--api-token-file <path>",
      "file holding the service's bearer token (or set FAULTLINE_API_TOKEN)",
      env("FAULTLINE_API_TOKEN_FILE"),
    )
    .action(async (options: HaltOptions) => {
      const url = haltUrl(options.url);
      const token = resolveApiToken({
        envToken: env("FAULTLINE_API_TOKEN"),
        tokenFile: options.apiTokenFile,
      });
      const report = await postHalt(url, token);
      process.stdout.write(`${formatHaltReport(report)}\n`);
      if (report.failed.length) {
        throw new FaultRevertError(
          `${report.failed.length} fault(s) could not be reverted: ${report.failed.map((f) => `${f.faultId}: ${f.error}`).join("; ")}`,
          "they stay in the journal; fix the cause and run `faultline halt` or `faultline revert` again",
        );
      }
    });
}

export function haltUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new InvalidInputError(`--url "${base}" is not a URL`, "e.g. http://127.0.0.1:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidInputError(`--url "${base}" is not http(s)`, "e.g. http://127.0.0.1:8080");
  }
  return new URL("api/halt", url.href.endsWith("/") ? url : `${url.href}/`);
}

async function postHalt(url: URL, token: string | undefined): Promise<HaltReport> {
  try {
    return (await requestJson("faultline service", url, {
      method: "POST",
      headers: token ? { authorization: `Bearer ${token}` } : {},
      timeoutMs: HALT_TIMEOUT_MS,
    })) as HaltReport;
  } catch (e) {
    if (!(e instanceof IntegrationHttpError)) throw e;
    if (e.status === 401) {
      throw new InvalidInputError(
        `the service at ${url.origin} refused the request: ${e.message}`,
        "pass its token with FAULTLINE_API_TOKEN or --api-token-file",
      );
    }
    throw new ServiceUnavailableError(
      e.message,
      e.status === undefined
        ? `is \`faultline serve\` running there? Set --url; without a service, \`faultline revert\` reverts what the journal holds`
        : undefined,
    );
  }
}

export function formatHaltReport(report: HaltReport): string {
  const own = report.reverted.length;
  const journalled = report.revertedFromJournal.length;
  const parts = [
    report.paused ? "schedule paused" : "no schedule running",
    own + journalled === 0
      ? "no fault was in effect"
      : `reverted ${own + journalled} fault(s)${journalled ? ` (${journalled} from the journal)` : ""}`,
  ];
  return `${parts.join("; ")} in ${report.durationMs} ms`;
}
