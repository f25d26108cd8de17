/**
 * Finds the one access token a request carries: in `Authorization: Bearer` (RFC 6750 §2.1), in a
 * `Sec-WebSocket-Protocol` entry (token-subprotocol.ts), in the query of a WebSocket upgrade
 * (`WEBSOCKET_QUERY_TOKEN`, websocket.ts) or, when a JWT cookie is configured, in that cookie
 * (RFC 6265).
 *
 * RFC 6750 §2 forbids a client to send a token two ways in one request. The first three are
 * deliberate, and two of them (or two of one kind) are refused (400): which one the client meant
 * is not known. A deliberate credential wins over the cookie, which is then ignored (not used as
 * a fallback, even when the deliberate token turns out to be invalid): the cookie is ambient
 * (sent by the browser on its own, a stale one included), so refusing the pair would lock out a
 * browser that holds an old cookie. This is also the order Authgear's resolver uses. Tokens in
 * the query of any other request or in a form body (RFC 6750 §2.2, §2.3) are never read.
 */
import { AuthError } from "./errors.ts";
import { subprotocolToken } from "./token-subprotocol.ts";

/** Read-only view of request headers; `Headers` satisfies it. Repeated headers arrive joined by ", ". */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * Longest accepted credential, in characters: an `Authorization` value, or the JWT cookie's value.
 * Authgear access tokens are about 1 KB; 8 KiB leaves room for many roles and matches common
 * server header limits. A longer credential is refused before any parsing.
 */
export const MAX_CREDENTIAL_LENGTH = 8192;

export type Credentials =
  { readonly kind: "none" } | { readonly kind: "bearer"; readonly token: string; readonly source: CredentialSource };

/** Where the token was found: `Authorization`, a `Sec-WebSocket-Protocol` entry, an upgrade's query, the JWT cookie. */
export type CredentialSource = "header" | "subprotocol" | "query" | "cookie";

const NONE: Credentials = { kind: "none" };

/** RFC 6750 §2.1: `Bearer` 1*SP b64token (the scheme is matched case-insensitively, RFC 9110 §11.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 9110 §11.1 auth-scheme: a token. */
const AUTH_SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * `known`: whether a token was verified before (the verified-token cache). A verified JWS is
 * base64url and dots, which the syntax check accepts, so it is not scanned again: the scan costs
 * about 2 µs for a 1 KB token, a third of a cache hit.
 *
 * `webSocket`: set for a WebSocket upgrade, the only request whose `Sec-WebSocket-Protocol` entry
 * and query token (as `webSocketQueryToken` found it) are read. On any other request neither is a
 * credential: no browser can send that header outside a handshake, and API Gateway caches an
 * authorizer's answer by the `Authorization` header alone, so a credential read from elsewhere
 * would have its answer reused for a request that does not carry it.
 */
export function extractCredentials(
  headers: HeaderReader,
  jwtCookieName: string | undefined,
  known?: (token: string) => boolean,
  webSocket?: WebSocketCredentials,
): Credentials {
  const deliberate = deliberateCredential(headers, known, webSocket);
  if (deliberate !== undefined) return deliberate;
  if (jwtCookieName === undefined) return NONE;
  const cookieHeader = headers.get("cookie");
  if (cookieHeader === null) return NONE;
  const token = findCookie(cookieHeader, jwtCookieName);
  if (token === undefined || token === "") return NONE;
  if (token.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthError(
      "ERR_REQUEST_MALFORMED",
      `The ${jwtCookieName} cookie is longer than ${MAX_CREDENTIAL_LENGTH} characters.`,
    );
  }
  return { kind: "bearer", token, source: "cookie" };
}

/** What a WebSocket upgrade may carry besides the other requests' credentials. */
export interface WebSocketCredentials {
  /** The token its query carries (`WEBSOCKET_QUERY_TOKEN`), if any. */
  readonly queryToken?: string | undefined;
}

/** The one Bearer credential the client sent on purpose; refused when it sent two. */
function deliberateCredential(
  headers: HeaderReader,
  known: ((token: string) => boolean) | undefined,
  webSocket: WebSocketCredentials | undefined,
): Credentials | undefined {
  const authorization = headers.get("authorization");
  const found: Credentials[] = [];
  const fromHeader = authorization === null ? undefined : parseAuthorization(authorization, known);
  if (fromHeader !== undefined) found.push(fromHeader);
  const protocols = webSocket === undefined ? null : headers.get("sec-websocket-protocol");
  const fromProtocol = protocols === null ? undefined : subprotocolToken(protocols, MAX_CREDENTIAL_LENGTH);
  if (fromProtocol !== undefined) found.push({ kind: "bearer", token: fromProtocol, source: "subprotocol" });
  const queryToken = webSocket?.queryToken;
  if (queryToken !== undefined) found.push(parseQueryToken(queryToken, known));
  if (found.length > 1) throw new AuthError("ERR_REQUEST_MALFORMED", "The request carries more than one credential.");
  return found[0];
}

function parseQueryToken(token: string, known: ((token: string) => boolean) | undefined): Credentials {
  if (token.length > MAX_CREDENTIAL_LENGTH) {
    const message = `The query's access token is longer than ${MAX_CREDENTIAL_LENGTH} characters.`;
    throw new AuthError("ERR_REQUEST_MALFORMED", message);
  }
  if (!(known?.(token) === true || B64TOKEN.test(token))) {
    throw new AuthError("ERR_REQUEST_MALFORMED", "The query's access token is not a well-formed Bearer token.");
  }
  return { kind: "bearer", token, source: "query" };
}

/** `undefined` when the header holds another scheme (Basic, for instance): not ours to judge. */
function parseAuthorization(value: string, known: ((token: string) => boolean) | undefined): Credentials | undefined {
  if (value.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthError(
      "ERR_REQUEST_MALFORMED",
      `The Authorization header is longer than ${MAX_CREDENTIAL_LENGTH} characters.`,
    );
  }
  const scheme = AUTH_SCHEME.exec(value)?.[0] ?? "";
  const rest = value.slice(scheme.length);
  if (scheme.toLowerCase() !== "bearer") {
    // Another scheme. A Bearer credential joined after it (a duplicated header) is still two credentials.
    if (/,[ \t]*bearer(?:[ \t]|$)/i.test(value)) {
      throw new AuthError("ERR_REQUEST_MALFORMED", "The request carries more than one credential.");
    }
    return undefined;
  }
  if (rest.includes(",")) {
    throw new AuthError("ERR_REQUEST_MALFORMED", "The request carries more than one credential.");
  }
  let start = 0;
  while (rest.charCodeAt(start) === 0x20) start += 1;
  const token = rest.slice(start);
  if (start === 0 || !(known?.(token) === true || B64TOKEN.test(token))) {
    throw new AuthError("ERR_REQUEST_MALFORMED", "The Authorization header is not a well-formed Bearer credential.");
  }
  return { kind: "bearer", token, source: "header" };
}

/**
 * Cookie pairs are separated by `;` only (RFC 6265 §4.2.1, §5.4): a `,` belongs to a value
 * (`recent=12,34,56`, `prefs="x, y"`). Two `Cookie` header lines reach a Worker joined by `, `
 * (workerd joins them as any repeated header), so the first pair of the second line reads as
 * part of the last value of the first: never as a cookie of its own.
 */
export const COOKIE_SEPARATOR = ";";

/** The name of one `;`-separated piece of a `Cookie` header, `undefined` when it holds no `=`. */
export function cookiePairName(pair: string): string | undefined {
  const eq = pair.indexOf("=");
  return eq === -1 ? undefined : pair.slice(0, eq).trim();
}

/**
 * Whether `name=` follows a `,` inside this piece: what a reader that also splits on `,` (or a
 * second `Cookie` line) would take for a cookie `name`. The gate reads no cookie there, but an
 * origin might, so a cookie the gate reads or removes is refused when it hides like this.
 */
export function hidesCookie(pair: string, name: string): boolean {
  if (!pair.includes(",")) return false;
  return pair
    .split(",")
    .slice(1)
    .some((piece) => cookiePairName(piece) === name);
}

/**
 * The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: pairs separated by `;`, names
 * compared case-sensitively, a DQUOTE-wrapped value unwrapped). Refused (400) when the name
 * appears twice, or after a `,` inside another pair (`x=1,at=...`, or a second `Cookie` line):
 * which one the application would read is not defined.
 */
export function findCookie(cookieHeader: string, name: string): string | undefined {
  let found: string | undefined;
  for (const pair of cookieHeader.split(COOKIE_SEPARATOR)) {
    if (hidesCookie(pair, name)) {
      throw new AuthError("ERR_REQUEST_MALFORMED", `The ${name} cookie appears after a comma.`);
    }
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) {
      throw new AuthError("ERR_REQUEST_MALFORMED", `The ${name} cookie appears more than once.`);
    }
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    found = value;
  }
  return found;
}
