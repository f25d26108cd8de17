/**
 * The example WebSocket backend of serverless.yml, behind the authorizer on `$connect`
 * (docs/websockets.md, "API Gateway WebSocket APIs"):
 * - `$connect` runs only after the authorizer allowed the connection. It chooses the subprotocol:
 *   API Gateway returns to the client the `Sec-WebSocket-Protocol` this integration answers, and
 *   a browser that offered protocols fails a handshake that names none. The token entry
 *   (`base64url.bearer.authorization.k8s.io.…`) is never chosen: that would send the token back in
 *   the handshake's response. A client that offered nothing but the token entry is refused (400).
 * - `$default` answers each message with what API Gateway handed it in
 *   `requestContext.authorizer` (the authorizer's context) and the message, so you (and
 *   test/aws/offline-websocket.test.ts) can see the identity the backend receives.
 * Neither logs the headers: on `$connect` they hold the client's credentials.
 */

/** Subprotocol names are compared case-sensitively (RFC 6455 §4.1); the token entry's prefix in any case. */
const TOKEN_ENTRY = /^base64url\.bearer\.authorization\.k8s\.io\./i;

/**
 * The first protocol the client offered other than the token entry; `undefined` when it offered none,
 * `null` when it offered only the token entry.
 * @param {Record<string, string | undefined> | null | undefined} headers
 * @returns {string | null | undefined}
 */
function chooseProtocol(headers) {
  // API Gateway keeps header names as the client spelled them.
  const offered = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === "sec-websocket-protocol")?.[1];
  if (offered === undefined) return undefined;
  const entries = offered
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return entries.find((entry) => !TOKEN_ENTRY.test(entry)) ?? null;
}

/**
 * @param {{
 *   headers?: Record<string, string | undefined> | null,
 *   body?: string | null,
 *   requestContext: { routeKey: string, authorizer?: unknown },
 * }} event
 * @returns {Promise<{ statusCode: number, headers?: Record<string, string>, body?: string }>}
 */
export function handler(event) {
  const { routeKey } = event.requestContext;
  if (routeKey === "$connect") {
    const protocol = chooseProtocol(event.headers);
    if (protocol === null) return Promise.resolve({ statusCode: 400 });
    const headers = protocol === undefined ? undefined : { "Sec-WebSocket-Protocol": protocol };
    return Promise.resolve({ statusCode: 200, ...(headers && { headers }) });
  }
  if (routeKey === "$disconnect") return Promise.resolve({ statusCode: 200 });
  const body = JSON.stringify({ authorizer: event.requestContext.authorizer ?? null, message: event.body ?? null });
  return Promise.resolve({ statusCode: 200, body });
}
