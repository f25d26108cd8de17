/** What the origin receives: the client's request, minus everything that could speak for the gate. */
import type { Identity } from "../core/index.ts";
import { identityHeaders, isIdentityHeaderName } from "../core/index.ts";

/**
 * Headers removed from every request before anything else happens:
 * - hop-by-hop headers: a `Connection` header naming `x-authgear-*` or `Authorization` would ask
 *   a proxy downstream to drop what the gate adds or decided on;
 * - headers some frameworks and proxies use to override the method or the path (IIS/Symfony's
 *   `X-Original-URL`, `X-Rewrite-URL`, `X-HTTP-Method-Override`, ...): the gate decided on the
 *   method and path it forwards, and an origin must not serve something else.
 */
const REMOVED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "x-original-url",
  "x-original-uri",
  "x-rewrite-url",
  "x-forwarded-uri",
  "x-forwarded-prefix",
  "x-forwarded-path",
]);

/** A copy of the incoming headers without spoofable identity, hop-by-hop and override headers. */
export function sanitizeHeaders(incoming: Headers): Headers {
  const headers = new Headers();
  for (const [name, value] of incoming) {
    if (!isIdentityHeaderName(name) && !REMOVED.has(name)) headers.append(name, value);
  }
  return headers;
}

export function addIdentity(headers: Headers, identity: Identity): void {
  for (const [name, value] of identityHeaders(identity)) headers.set(name, value);
}

/** The origin URL for a request: same path and query, on `ORIGIN_URL` when set. */
export function originUrl(url: URL, base: string | undefined): string {
  return base === undefined ? url.href : `${base}${url.pathname}${url.search}`;
}
