/**
 * Typed errors: each carries what a user needs to act (a hint) and the process exit code the CLI uses.
 * Inside the engine results are values; these are thrown at the public edge.
 */
export abstract class FaultlineError extends Error {
  readonly isFaultlineError = true;
  abstract readonly code: string;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;

  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** One line for a terminal: the message and, when known, what to do about it. */
  toUserLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function isFaultlineError(e: unknown): e is FaultlineError {
  return (
    typeof e === "object" && e !== null && (e as { isFaultlineError?: unknown }).isFaultlineError === true
  );
}

/**
 * One line for any error: a faultline error's message and hint (without it, with `hint: false`, for a
 * caller that passes the hint on by itself), another error's message with its cause's, anything else
 * as text.
 */
export function errorText(e: unknown, options: { hint?: boolean } = {}): string {
  if (isFaultlineError(e)) return options.hint === false ? e.message : e.toUserLine();
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error && !e.message.includes(cause.message)
      ? `${e.message} (${cause.message})`
      : e.message;
  }
  return String(e);
}

/** No Docker engine reachable, or no permission on its socket. */
export class EngineUnavailableError extends FaultlineError {
  readonly code = "ENGINE_UNAVAILABLE";
  override readonly exitCode = 2;
}

/** A faultline service the command talks to (`faultline halt`) did not answer. */
export class ServiceUnavailableError extends FaultlineError {
  readonly code = "SERVICE_UNAVAILABLE";
  override readonly exitCode = 2;
}

/** The user asked for something malformed; nothing was changed. */
export class InvalidInputError extends FaultlineError {
  readonly code = "INVALID_INPUT";
  override readonly exitCode = 2;
}

/** A named target (service, container, peer) does not exist in scope. */
export class TargetNotFoundError extends FaultlineError {
  readonly code = "TARGET_NOT_FOUND";
  override readonly exitCode = 2;
}

/** The engine (or a resolver) does not know the container or service: removed, or never there. */
export function isTargetNotFound(e: unknown): e is TargetNotFoundError {
  return isFaultlineError(e) && e.code === "TARGET_NOT_FOUND";
}

/** The target exists but is protected (faultline's own, `faultline.exclude=true`, blast radius). */
export class TargetExcludedError extends FaultlineError {
  readonly code = "TARGET_EXCLUDED";
  override readonly exitCode = 2;
}

/** An image faultline needs is missing and could not be built. */
export class ImageUnavailableError extends FaultlineError {
  readonly code = "IMAGE_UNAVAILABLE";
  override readonly exitCode = 2;
}

/** Injecting a fault failed; whatever part of it was applied has been reverted. */
export class FaultInjectionError extends FaultlineError {
  readonly code = "FAULT_INJECTION_FAILED";
}

/** Reverting a fault failed; the message names what may still be in place. */
export class FaultRevertError extends FaultlineError {
  readonly code = "FAULT_REVERT_FAILED";
}

/** A bounded operation ran out of time. */
export class OperationTimeoutError extends FaultlineError {
  readonly code = "TIMEOUT";
}
