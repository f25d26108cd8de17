/**
 * What a WebSocket upgrade may carry that no other request may: a token in its query, named by
 * `WEBSOCKET_QUERY_TOKEN`. Some WebSocket clients can set neither a header nor a subprotocol; but
 * a URL lands in access logs (the gate's platform, proxies, the origin), so the query is read only
 * when the setting asks for it, and only on an upgrade. An upgrade that carries `access_token`
 * without the setting is refused with a message saying why, rather than let through without its
 * token or with the token on its way to the origin's logs.
 */
import type { HeaderReader } from "./credentials.ts";
import { AuthError } from "./errors.ts";
import { TOKEN_SUBPROTOCOL_PREFIX } from "./token-subprotocol.ts";

/** The query parameter RFC 6750 §2.3 names, refused on an upgrade when `WEBSOCKET_QUERY_TOKEN` is unset. */
export const RFC6750_QUERY_PARAMETER = "access_token";

/** `WEBSOCKET_QUERY_TOKEN`'s values: URL-unreserved characters, which read the same encoded or not. */
export const QUERY_PARAMETER_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

/** Read-only view of a query; `URLSearchParams` satisfies it (names and values percent-decoded). */
export interface QueryReader {
  getAll(name: string): string[];
}

/**
 * RFC 6455 §4.1: a WebSocket opening handshake is a GET whose `Upgrade` names `websocket` (in
 * any case, RFC 9110 §7.8).
 */
export function isWebSocketUpgrade(method: string, headers: HeaderReader): boolean {
  if (method !== "GET") return false;
  const upgrade = headers.get("upgrade");
  if (upgrade === null) return false;
  return upgrade.split(",").some((protocol) => protocol.trim().toLowerCase() === "websocket");
}

/**
 * The token an upgrade's query carries in `parameter` (`WEBSOCKET_QUERY_TOKEN`), `undefined`
 * when none (an empty value is none). Throws `ERR_REQUEST_MALFORMED` when the parameter appears
 * twice, or, with `parameter` unset, when the query holds `access_token`.
 */
export function webSocketQueryToken(query: QueryReader, parameter: string | undefined): string | undefined {
  if (parameter === undefined) {
    if (query.getAll(RFC6750_QUERY_PARAMETER).length === 0) return undefined;
    const message =
      "A token in the query string is not accepted (URLs land in logs): offer it as a Sec-WebSocket-Protocol " +
      `entry ${TOKEN_SUBPROTOCOL_PREFIX}<token in base64url>, or ask the operator for WEBSOCKET_QUERY_TOKEN.`;
    throw new AuthError("ERR_REQUEST_MALFORMED", message);
  }
  const values = query.getAll(parameter);
  if (values.length > 1) throw new AuthError("ERR_REQUEST_MALFORMED", "The request carries more than one credential.");
  const [value] = values;
  return value === undefined || value === "" ? undefined : value;
}
