/**
 * Finds the one access token a request carries: in `Authorization: Bearer` (RFC 6750 §2.1) or,
 * when a JWT cookie is configured, in that cookie (RFC 6265).
 *
 * RFC 6750 §2 forbids a client to send a token two ways in one request. This gate decides by
 * precedence rather than refusing: a `Bearer` header wins and the cookie is then ignored (not
 * used as a fallback, even when the header's token turns out to be invalid). The header is
 * deliberate; the cookie is ambient (sent by the browser on its own, a stale one included), so
 * refusing the pair would lock out a browser that holds an old cookie. This is also the order
 * Authgear's resolver uses. Tokens in the query string or a form body (RFC 6750 §2.2, §2.3) are
 * never read.
 */
import { AuthError } from "./errors.ts";

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
  | { readonly kind: "none" }
  | { readonly kind: "bearer"; readonly token: string; readonly source: "header" | "cookie" };

const NONE: Credentials = { kind: "none" };

/** RFC 6750 §2.1: `Bearer` 1*SP b64token (the scheme is matched case-insensitively, RFC 9110 §11.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 9110 §11.1 auth-scheme: a token. */
const AUTH_SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * `known`: whether a token was verified before (the verified-token cache). A verified JWS is
 * base64url and dots, which the syntax check accepts, so it is not scanned again: the scan costs
 * about 2 µs for a 1 KB token, a third of a cache hit.
 */
export function extractCredentials(headers: HeaderReader, jwtCookieName: string | undefined, known?: (token: string) => boolean): Credentials {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const fromHeader = parseAuthorization(authorization, known);
    if (fromHeader !== undefined) return fromHeader;
  }
  if (jwtCookieName === undefined) return NONE;
  const cookieHeader = headers.get("cookie");
  if (cookieHeader === null) return NONE;
  const token = findCookie(cookieHeader, jwtCookieName);
  if (token === undefined || token === "") return NONE;
  if (token.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthError("ERR_REQUEST_MALFORMED", `The ${jwtCookieName} cookie is longer than ${MAX_CREDENTIAL_LENGTH} characters.`);
  }
  return { kind: "bearer", token, source: "cookie" };
}

/** `undefined` when the header holds another scheme (Basic, for instance): not ours to judge. */
function parseAuthorization(value: string, known: ((token: string) => boolean) | undefined): Credentials | undefined {
  if (value.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthError("ERR_REQUEST_MALFORMED", `The Authorization header is longer than ${MAX_CREDENTIAL_LENGTH} characters.`);
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
 * The value of cookie `name` in a `Cookie` header (RFC 6265 §4.2.1 and §5.4: pairs separated by
 * `;`, names compared case-sensitively, a DQUOTE-wrapped value unwrapped). A `,` separates pairs
 * too: no cookie value may hold one, and it is how a runtime joins two `Cookie` header lines
 * (workerd does). A name that appears twice is refused: which one the application would read is
 * not defined.
 */
/** Between two cookie pairs: `;` (RFC 6265), or `,` where two `Cookie` lines were joined. */
export const COOKIE_SEPARATOR = /[;,]/;

export function findCookie(cookieHeader: string, name: string): string | undefined {
  let found: string | undefined;
  for (const pair of cookieHeader.split(COOKIE_SEPARATOR)) {
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
