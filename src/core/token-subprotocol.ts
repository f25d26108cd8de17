/**
 * A browser cannot set `Authorization` on a WebSocket; what it can set is the list of
 * subprotocols it offers (`new WebSocket(url, protocols)`, sent as `Sec-WebSocket-Protocol`).
 * The Kubernetes API server's convention carries the token there, beside the application's own
 * protocol: an entry `base64url.bearer.authorization.k8s.io.<token, base64url without padding>`
 * (kubernetes/apiserver pkg/authentication/request/websocket). The gate reads that entry as a
 * Bearer credential and removes it before forwarding, so the origin can never pick it as the
 * protocol it speaks (it would echo the token back in its 101).
 */
import { AuthError } from "./errors.ts";

/** The entry's prefix; the token follows it. Subprotocol names are case-sensitive (RFC 6455 §4.1). */
export const TOKEN_SUBPROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io.";

const LOWER_PREFIX = TOKEN_SUBPROTOCOL_PREFIX.toLowerCase();
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** RFC 7235 token68, the shape of a Bearer token (a JWT is one). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Whether a `Sec-WebSocket-Protocol` entry is meant to carry a token: the prefix in any case. One
 * spelt otherwise than exactly is refused, never forwarded: an origin that compared names
 * without regard to case could otherwise take it for a credential the gate did not check.
 */
function isTokenEntry(entry: string): boolean {
  return entry.toLowerCase().startsWith(LOWER_PREFIX);
}

/** A `Sec-WebSocket-Protocol` value's entries (RFC 6455 §11.3.4 `1#token`; repeated lines arrive joined by ", "). */
function entriesOf(value: string): string[] {
  return value.split(",").map((entry) => entry.trim());
}

/**
 * The token a `Sec-WebSocket-Protocol` value carries, `undefined` when it carries none.
 * `maxLength`: the longest token accepted, in characters. Throws `ERR_REQUEST_MALFORMED` for an
 * entry that is not exactly the prefix and a token68 value in canonical, unpadded base64url, and
 * for two entries (two credentials).
 */
export function subprotocolToken(value: string, maxLength: number): string | undefined {
  let token: string | undefined;
  for (const entry of entriesOf(value)) {
    if (!isTokenEntry(entry)) continue;
    if (token !== undefined) {
      throw new AuthError("ERR_REQUEST_MALFORMED", "The request carries more than one credential.");
    }
    token = decodeEntry(entry, maxLength);
  }
  return token;
}

function decodeEntry(entry: string, maxLength: number): string {
  const malformed = (detail: string) =>
    new AuthError("ERR_REQUEST_MALFORMED", `The Sec-WebSocket-Protocol token entry ${detail}.`);
  if (!entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) throw malformed(`must begin ${TOKEN_SUBPROTOCOL_PREFIX} exactly`);
  const encoded = entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  if (encoded.length > Math.ceil((maxLength * 4) / 3)) throw malformed(`is longer than a ${maxLength}-character token`);
  const token = decodeBase64url(encoded);
  if (token === undefined) throw malformed("is not unpadded base64url");
  if (!TOKEN68.test(token)) throw malformed("does not hold a Bearer token");
  return token;
}

/**
 * Strict base64url (RFC 4648 §5) without padding, as a binary string: `undefined` for any other
 * character, an impossible length, or non-zero trailing bits (`atob` accepts all of these, and
 * whitespace: two spellings of one token must not both pass).
 */
function decodeBase64url(encoded: string): string | undefined {
  if (!BASE64URL.test(encoded) || encoded.length % 4 === 1) return undefined;
  const base64 = encoded.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  return btoa(binary).replace(/=+$/, "") === base64 ? binary : undefined;
}

/**
 * `value` without its token entries (any spelling of the prefix, well-formed or not), every other
 * byte kept; `undefined` when nothing else is left (the header is then dropped). Cut at `,` only,
 * so the remaining entries keep their order and spacing.
 */
export function withoutTokenSubprotocol(value: string): string | undefined {
  const pieces = value.split(",");
  const kept = pieces.filter((piece) => !isTokenEntry(piece.trim()));
  if (kept.length === pieces.length) return value;
  return kept.every((piece) => piece.trim() === "") ? undefined : kept.join(",");
}
