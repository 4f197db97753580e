/**
 * API-only errors, and how every typed error becomes an HTTP status. The body is always
 * {"error":{"code","message","hint"}} so clients can branch on `code` and show `hint` to a person.
 */
import { errorText, FaultlineError, isFaultlineError } from "../errors.js";

/** The request is valid but collides with something in effect (a fault on the target, a running experiment). */
export class ConflictError extends FaultlineError {
  readonly code = "CONFLICT";
  override readonly exitCode = 2;
}

/** A fault or experiment id the API does not know. */
export class UnknownIdError extends FaultlineError {
  readonly code = "NOT_FOUND";
  override readonly exitCode = 2;
}

/** The report of an experiment that has not finished (or could not be written). */
export class ReportNotReadyError extends FaultlineError {
  readonly code = "REPORT_NOT_READY";
  override readonly exitCode = 2;
}

/** A request without the API token (or with a wrong one) when faultline serve has one configured. */
export class UnauthorizedError extends FaultlineError {
  readonly code = "UNAUTHORIZED";
  override readonly exitCode = 2;
}

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_INPUT: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  TARGET_NOT_FOUND: 404,
  NOT_FOUND: 404,
  // Refusing a protected target is a policy decision about an existing resource.
  TARGET_EXCLUDED: 403,
  CONFLICT: 409,
  REPORT_NOT_READY: 409,
  ENGINE_UNAVAILABLE: 503,
  IMAGE_UNAVAILABLE: 503,
  TIMEOUT: 504,
};

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function httpStatusOf(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** Any thrown value as a status and a JSON body; unknown errors keep their message but no stack. */
export function toErrorResponse(e: unknown): { status: number; body: ErrorBody } {
  if (isFaultlineError(e)) {
    return {
      status: httpStatusOf(e.code),
      body: { error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } },
    };
  }
  const parseFailure = e as { type?: string; status?: number; message?: string };
  if (parseFailure?.type === "entity.parse.failed") {
    return {
      status: 400,
      body: {
        error: {
          code: "INVALID_JSON",
          message: `the request body is not valid JSON: ${parseFailure.message ?? ""}`.trim(),
          hint: 'send Content-Type: application/json and a JSON object, e.g. {"target":"api","kind":"pause"}',
        },
      },
    };
  }
  if (typeof parseFailure?.status === "number" && parseFailure.status >= 400 && parseFailure.status < 500) {
    return {
      status: parseFailure.status,
      body: { error: { code: "BAD_REQUEST", message: parseFailure.message ?? "bad request" } },
    };
  }
  return {
    status: 500,
    body: { error: { code: "INTERNAL", message: errorText(e) } },
  };
}
