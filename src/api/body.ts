/**
 * How a request body becomes a value, for every route. JSON only: any other body on a mutating route is a
 * 415, never read as "no options". The body is read as text within a size bound and parsed here, so an
 * empty body stays "no body" (a 400 where the route needs one) instead of turning into {} and defaults.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { InvalidJsonError, UnsupportedMediaTypeError } from "./errors.js";

export const MAX_BODY_BYTES = 64 * 1024;

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

/** Sets req.body to the parsed JSON, or undefined when the request carries no (or an empty) body. */
export function jsonBodies(): RequestHandler {
  const readText = express.text({ type: () => true, limit: MAX_BODY_BYTES, defaultCharset: "utf-8" });
  return (req: Request, res: Response, next: NextFunction) => {
    req.body = undefined;
    if (BODILESS_METHODS.has(req.method) || !announcesBody(req)) return next();
    const charset = declaredCharset(req);
    if (!req.is("application/json") || (charset && charset !== "utf-8" && charset !== "utf8")) {
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
      try {
        req.body = JSON.parse(text) as unknown;
      } catch (parseError) {
        return next(
          new InvalidJsonError(
            `the request body is not valid JSON: ${(parseError as Error).message}`,
            JSON_BODY_HINT,
          ),
        );
      }
      next();
    });
  };
}
