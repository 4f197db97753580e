/**
 * How a request body becomes a value, for every route. JSON only: any other body on a mutating route is a
 * 415, never read as "no options". The body is read as text within a size bound and parsed here, so an
 * empty body stays "no body" (a 400 where the route needs one) instead of turning into {} and defaults.
 * Scanned with secure-json-parse, which refuses `__proto__` (and `constructor.prototype`) keys that
 * JSON.parse keeps and a later copy would silently drop or turn into a prototype; nesting is bounded
 * before any schema or serialiser recurses into it.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import secureJson from "secure-json-parse";
import { InvalidInputError } from "../errors.js";
import { InvalidJsonError, UnsupportedMediaTypeError } from "./errors.js";

export const MAX_BODY_BYTES = 64 * 1024;
/** Far deeper than any body the API takes (a fault's options are three levels down). */
export const MAX_BODY_DEPTH = 16;

/** What every refusal of a body tells the client to send instead. */
export const JSON_BODY_HINT =
  'send Content-Type: application/json and a JSON object, e.g. {"target":"api","kind":"pause"}';

/** Methods whose bodies have no meaning here: never read. */
const BODILESS_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A body is on its way when its length is announced and above zero, or when it comes chunked. */
function announcesBody(req: Request): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = Number(req.headers["content-length"]);
  return Number.isFinite(length) && length > 0;
}

/** JSON is UTF-8 (RFC 8259); a body declared in another charset would be read as something else. */
function declaredCharset(req: Request): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers["content-type"] ?? "")?.[1]?.toLowerCase();
}

/** Media types a YAML document comes as (no registered type until RFC 9512; clients send all of these). */
export const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

export interface BodyOptions {
  /** Routes (exact paths) that also take a YAML document: their body is then the document's text. */
  yamlRoutes?: readonly string[];
}

/**
 * Sets req.body to the parsed JSON, or undefined when the request carries no (or an empty) body. On a
 * route listed in `yamlRoutes`, a YAML body is kept as its text for the route to parse.
 */
export function jsonBodies(options: BodyOptions = {}): RequestHandler {
  const readText = express.text({ type: () => true, limit: MAX_BODY_BYTES, defaultCharset: "utf-8" });
  const yamlRoutes = new Set(options.yamlRoutes ?? []);
  return (req: Request, res: Response, next: NextFunction) => {
    req.body = undefined;
    if (BODILESS_METHODS.has(req.method) || !announcesBody(req)) return next();
    const charset = declaredCharset(req);
    const utf8 = !charset || charset === "utf-8" || charset === "utf8";
    if (yamlRoutes.has(req.path) && req.is(YAML_TYPES) && utf8) {
      return readText(req, res, (e?: unknown) => {
        if (e) return next(e);
        const text = typeof req.body === "string" ? req.body : "";
        req.body = text.trim() ? text : undefined;
        next();
      });
    }
    if (!req.is("application/json") || !utf8) {
      const type = req.headers["content-type"];
      return next(
        new UnsupportedMediaTypeError(
          `${req.method} ${req.path} takes a JSON body, not ${type ? `"${type}"` : "a body without a content type"}`,
          JSON_BODY_HINT,
        ),
      );
    }
    readText(req, res, (e?: unknown) => {
      if (e) return next(e);
      const text = typeof req.body === "string" ? req.body : "";
      req.body = undefined;
      if (!text.trim()) return next();
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch (parseError) {
        return next(
          new InvalidJsonError(
            `the request body is not valid JSON: ${(parseError as Error).message}`,
            JSON_BODY_HINT,
          ),
        );
      }
      const refusal = refusedShape(body);
      if (refusal) return next(refusal);
      req.body = body;
      next();
    });
  };
}

/** Deeper than `max` levels of objects and arrays? Iterative, so no depth can overflow the stack. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Why a parsed body is refused before any schema sees it, if it is. */
function refusedShape(body: unknown): InvalidInputError | undefined {
  if (nestedDeeperThan(body, MAX_BODY_DEPTH)) {
    return new InvalidInputError(
      `the request body is nested deeper than ${MAX_BODY_DEPTH} levels`,
      "fault options are flat: a value is a string, a number or a list of them",
    );
  }
  try {
    if (body !== null && typeof body === "object")
      secureJson.scan(body, { protoAction: "error", constructorAction: "error" });
  } catch {
    return new InvalidInputError(
      'the request body has a "__proto__" or "constructor" key with a prototype',
      "such keys are never options; remove them",
    );
  }
  return undefined;
}
