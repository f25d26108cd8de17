/**
 * CORS at the gate, with `CORS_ALLOWED_ORIGINS` set: a browser on an allowed origin gets its
 * preflight answered by the gate and can read every answer, the gate's refusals included (their
 * status and `WWW-Authenticate`, which an app needs to tell "refresh the token" from "network
 * down"). Origins are matched exactly; one that is not listed is never reflected, and the allowed
 * origin is named (never `*`), so credentials (a session cookie) can go with it.
 */
import { isForwarded } from "./forwarding.ts";

/** How long a browser may reuse a preflight answer, in seconds. */
export const PREFLIGHT_MAX_AGE = 600;
const METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/** The request's `Origin` when it is one of `allowed`, else `undefined`. */
export function allowedOrigin(headers: Headers, allowed: ReadonlySet<string>): string | undefined {
  const origin = headers.get("origin");
  return origin !== null && allowed.has(origin) ? origin : undefined;
}

/**
 * The gate's answer to a preflight: 204 with the CORS grant for an allowed origin, 403 without
 * any CORS header for another. The request headers granted are those the gate forwards (never an
 * identity, override or hop-by-hop header, nor one only the gate sends: `gateHeaders`, the origin
 * secret's, the assertion's, a claim's).
 */
export function preflightResponse(
  headers: Headers,
  origin: string | undefined,
  gateHeaders: ReadonlySet<string>,
): Response {
  const vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
  if (origin === undefined) return new Response(null, { status: 403, headers: { vary } });
  const requested = (headers.get("access-control-request-headers") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => /^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) && isForwarded(name, gateHeaders));
  const granted = new Headers({
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": METHODS,
    "access-control-max-age": String(PREFLIGHT_MAX_AGE),
    vary,
  });
  if (requested.length > 0) granted.set("access-control-allow-headers", requested.join(", "));
  return new Response(null, { status: 204, headers: granted });
}

/**
 * `response` readable by `origin`'s scripts: the gate's own answers always, and the origin's
 * when it grants nothing itself (an origin that sets `Access-Control-Allow-Origin` keeps its
 * policy). Adds `Vary: Origin` either way once CORS is on.
 */
export function withCors(response: Response, origin: string | undefined): Response {
  if (response.status === 101 || response.headers.has("access-control-allow-origin")) return response;
  const copy = new Response(response.body, response);
  if (!/(?:^|,)\s*origin\s*(?:,|$)/i.test(copy.headers.get("vary") ?? "")) copy.headers.append("vary", "Origin");
  if (origin !== undefined) {
    copy.headers.set("access-control-allow-origin", origin);
    copy.headers.set("access-control-allow-credentials", "true");
    copy.headers.set("access-control-expose-headers", "WWW-Authenticate, Retry-After");
  }
  return copy;
}
