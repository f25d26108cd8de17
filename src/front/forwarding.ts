/** What the origin receives: the client's request, minus everything that could speak for the gate. */
import type { ClaimHeaders, Identity, Logger } from "../core/index.ts";
import {
  AuthError,
  canonicalHeaderName,
  COOKIE_SEPARATOR,
  cookiePairName,
  hidesCookie,
  identityHeaders,
  isCanonicalOverrideHeader,
  isIdentityHeaderName,
  logOmittedClaimHeaders,
  withoutTokenSubprotocol,
} from "../core/index.ts";

/**
 * Headers removed from every request before anything else happens, in any spelling (`-`, `_`,
 * `.`, any case: several servers map all three to one variable):
 * - hop-by-hop headers: a `Connection` header naming `x-authgear-*` or `Authorization` would ask
 *   a proxy downstream to drop what the gate adds or decided on;
 * - headers some frameworks and proxies use to override the method or the path (IIS/Symfony's
 *   `X-Original-URL`, `X-Rewrite-URL`, `X-HTTP-Method-Override`, ...; core/overrides.ts): the
 *   gate decided on the method and path it forwards, and an origin must not serve something else.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te"]);

/**
 * Whether a client's header of this name reaches the origin: not a spoofable identity,
 * hop-by-hop or override header, nor one of `gateHeaders` (the configured names only the gate
 * may send: `ORIGIN_SECRET_HEADER`, `ASSERTION_HEADER`, `CLAIM_HEADERS`; each a
 * `canonicalHeaderName`), in any spelling. The name is canonicalised once, and every check reads
 * that spelling.
 */
export function isForwarded(name: string, gateHeaders: ReadonlySet<string>): boolean {
  const canonical = canonicalHeaderName(name);
  return !(
    isIdentityHeaderName(canonical) ||
    isCanonicalOverrideHeader(canonical) ||
    HOP_BY_HOP.has(canonical) ||
    gateHeaders.has(canonical)
  );
}

/**
 * The headers the origin receives: a copy of the client's, less every name `isForwarded` refuses.
 * The copy is the runtime's own (no value crosses into JavaScript, the token included), and only
 * the names are read to find what to delete: building `Headers` from pairs instead copies every
 * value twice per request.
 */
export function forwardedHeaders(incoming: Headers, gateHeaders: ReadonlySet<string>): Headers {
  const headers = new Headers(incoming);
  for (const name of incoming.keys()) if (!isForwarded(name, gateHeaders)) headers.delete(name);
  return headers;
}

/**
 * Removes every `name=...` pair from the `Cookie` header, leaving every other byte as it was: the
 * header is cut at `;` only (RFC 6265), so a `,` inside another value stays (credentials.ts).
 * The header goes when nothing is left. Throws `ERR_REQUEST_MALFORMED` when `name=` also follows
 * a `,` inside another pair (a second `Cookie` line, `x=1,at=...`): an origin that splits on `,`
 * would find the cookie there, and no removal leaves the other value whole.
 */
export function removeCookie(headers: Headers, name: string): void {
  const cookie = headers.get("cookie");
  if (cookie === null) return;
  const pairs = cookie.split(COOKIE_SEPARATOR);
  if (pairs.some((pair) => hidesCookie(pair, name))) {
    throw new AuthError("ERR_REQUEST_MALFORMED", `The ${name} cookie appears after a comma.`);
  }
  const kept = pairs.filter((pair) => cookiePairName(pair) !== name);
  if (kept.length === pairs.length) return;
  if (kept.every((pair) => pair.trim() === "")) headers.delete("cookie");
  // A leading space left by the first pair's removal is trimmed by Headers, as any value's is.
  else headers.set("cookie", kept.join(COOKIE_SEPARATOR));
}

/**
 * The headers a browser sends on a CORS preflight (the Fetch standard's and those every browser
 * adds). Under `METHOD_OVERRIDE=any` a preflight, which is forwarded unauthenticated, reaches the
 * origin with these alone and without its query, so that no override channel of any name (a
 * configured header, a `_method` in the query) can have it served as another method.
 */
const PREFLIGHT_HEADERS: ReadonlySet<string> = new Set([
  "origin",
  "access-control-request-method",
  "access-control-request-headers",
  "access-control-request-private-network",
  "accept",
  "accept-encoding",
  "accept-language",
  "user-agent",
  "referer",
  "sec-fetch-dest",
  "sec-fetch-mode",
  "sec-fetch-site",
  "cache-control",
  "pragma",
]);

/**
 * A preflight's headers as `PREFLIGHT_HEADERS` keeps them (exact names: no other spelling is a
 * browser's), but never one of `gateHeaders` (a claim header may be named `referer`).
 */
export function preflightHeaders(incoming: Headers, gateHeaders: ReadonlySet<string>): Headers {
  const kept = new Headers();
  for (const [name, value] of incoming) {
    if (PREFLIGHT_HEADERS.has(name) && !gateHeaders.has(name)) kept.append(name, value);
  }
  return kept;
}

/**
 * Appends the identity headers and the identity's claim headers (every client copy of either is
 * gone already), and logs each claim header left out.
 */
export function addIdentity(headers: Headers, identity: Identity, claimHeaders: ClaimHeaders, log: Logger): void {
  for (const [name, value] of identityHeaders(identity)) headers.append(name, value);
  const claims = claimHeaders.valuesOf(identity);
  for (const [name, value] of claims.headers) headers.append(name, value);
  logOmittedClaimHeaders(claims, log);
}

/**
 * The origin URL for a request: `path` (the request's, as read once), `search` as the query, on `ORIGIN_URL` when
 * set, else on the request's own origin.
 */
export function originUrl(url: URL, base: string | undefined, path: string, search: string): string {
  return `${base ?? url.origin}${path}${search}`;
}

/**
 * `search` (`?` included, or `""`) without any `name` parameter, every other byte kept. A name is
 * compared as `URLSearchParams` decodes it (`access%5Ftoken` is `access_token`), the reading the
 * gate took the token with and the one an origin's framework takes.
 */
export function withoutQueryParameter(search: string, name: string): string {
  if (search === "") return search;
  const pieces = search.slice(1).split("&");
  const kept = pieces.filter((piece) => !new URLSearchParams(piece).has(name));
  if (kept.length === pieces.length) return search;
  return kept.every((piece) => piece === "") ? "" : `?${kept.join("&")}`;
}

/**
 * Removes the token's `Sec-WebSocket-Protocol` entry (core token-subprotocol.ts), whatever
 * `FORWARD_AUTHORIZATION` says: the origin picks its protocol from that list and echoes it in
 * its 101, so a token left there could be chosen and sent back. The header goes when nothing else
 * is left.
 */
export function removeTokenSubprotocol(headers: Headers): void {
  const protocols = headers.get("sec-websocket-protocol");
  if (protocols === null) return;
  const kept = withoutTokenSubprotocol(protocols);
  if (kept === undefined) headers.delete("sec-websocket-protocol");
  else if (kept !== protocols) headers.set("sec-websocket-protocol", kept);
}
