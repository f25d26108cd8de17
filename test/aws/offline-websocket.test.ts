/**
 * The WebSocket API of serverless.yml under serverless-offline, with a real WebSocket client (`ws`)
 * on loopback: serverless-offline runs the `$connect` authorizer (the built bundle) on each
 * handshake, evaluates its policy against the `$connect` ARN, and hands the context to the
 * backend (examples/websocket.mjs), which echoes it on every message. Offline differences from
 * API Gateway, checked here so they are known: a thrown "Unauthorized" fails the handshake with
 * 500 (API Gateway: 401), and the 101 names the first protocol the client offered, whatever the
 * `$connect` integration chose (API Gateway: the integration's choice).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";
import { useDevIssuer } from "../helpers.ts";

const ROLES = "https://authgear.com/claims/user/roles";
const ROUTES = JSON.stringify([{ path: "/$connect", roles: ["admin"] }]);
/** The longest a handshake, or an answer to one message, may take. */
const EXCHANGE_MS = 10_000;

const issuer = useDevIssuer();
let offline: Offline;
let admin: string;
let staff: string;

beforeAll(async () => {
  admin = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } });
  staff = await issuer.mintAccessToken({ sub: "bob", claims: { [ROLES]: ["staff"] } });
  offline = await startOffline({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES, WEBSOCKET_QUERY_TOKEN: "access_token" });
}, STARTUP_MS + 10_000);

afterAll(async () => {
  await offline.stop();
});

type Handshake =
  { readonly open: true; readonly socket: WebSocket } | { readonly open: false; readonly status: number };
interface HandshakeOptions {
  readonly protocols?: string[];
  readonly headers?: Record<string, string>;
  /** The query string, without `?`. */
  readonly query?: string;
}
/** What examples/websocket.mjs answers each message with. */
interface Echo {
  readonly authorizer: Record<string, unknown> | null;
  readonly message: string;
}

/** One handshake, bounded: the open socket, or the status the server refused it with. */
function connect(options: HandshakeOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const url = `${offline.webSocketUrl}${options.query === undefined ? "" : `/?${options.query}`}`;
    const init = { headers: options.headers ?? {}, handshakeTimeout: EXCHANGE_MS };
    const socket = new WebSocket(url, options.protocols ?? [], init);
    socket.once("open", () => {
      resolve({ open: true, socket });
    });
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve({ open: false, status: response.statusCode ?? 0 });
    });
    socket.once("error", reject);
  });
}

/** Sends one message and waits (bounded) for the backend's answer. */
function exchange(socket: WebSocket, message: string): Promise<Echo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no answer within ${EXCHANGE_MS} ms`));
    }, EXCHANGE_MS);
    socket.once("message", (data: Buffer) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()) as Echo);
    });
    socket.send(message);
  });
}

async function close(socket: WebSocket): Promise<void> {
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.close();
  await closed;
}

describe("serverless offline: the WebSocket API's $connect authorizer", () => {
  it("lets the admin connect with an Authorization header; the backend sees the identity on each message", async () => {
    const handshake = await connect({ headers: { authorization: `Bearer ${admin}` } });
    if (!handshake.open) throw new Error(`refused with ${handshake.status}`);
    const answer = await exchange(handshake.socket, "hello");
    expect(answer).toMatchObject({
      message: "hello",
      authorizer: {
        principalId: "alice",
        userId: "alice",
        userRoles: "admin",
        edgeKind: "user",
        edgeIssuer: issuer.origin,
      },
    });
    await close(handshake.socket);
  }, 30_000);

  it("lets a browser-style client in with its token as a subprotocol entry after its own protocol", async () => {
    const entry = `base64url.bearer.authorization.k8s.io.${Buffer.from(admin).toString("base64url")}`;
    const handshake = await connect({ protocols: ["chat.v1", entry] });
    if (!handshake.open) throw new Error(`refused with ${handshake.status}`);
    // Offline, the first offered protocol; under API Gateway, the one examples/websocket.mjs chose (the same here).
    expect(handshake.socket.protocol).toBe("chat.v1");
    const echo = await exchange(handshake.socket, "hi");
    expect(echo).toMatchObject({ message: "hi", authorizer: { principalId: "alice" } });
    await close(handshake.socket);
  }, 30_000);

  it("lets a client in with its token in the query parameter WEBSOCKET_QUERY_TOKEN names", async () => {
    const handshake = await connect({ query: `access_token=${admin}` });
    if (!handshake.open) throw new Error(`refused with ${handshake.status}`);
    expect(await exchange(handshake.socket, "q")).toMatchObject({ authorizer: { principalId: "alice" } });
    await close(handshake.socket);
  }, 30_000);

  it("refuses the staff member, whom the /$connect rule does not admit, with the Deny's 403", async () => {
    expect(await connect({ headers: { authorization: `Bearer ${staff}` } })).toEqual({ open: false, status: 403 });
  }, 30_000);

  it("refuses a handshake without credentials (offline 500 for the thrown Unauthorized; API Gateway 401)", async () => {
    const before = offline.output().length;
    expect(await connect()).toEqual({ open: false, status: 500 });
    // The authorizer's own refusal, not another failure: its log line reaches the output shortly after.
    const deadline = Date.now() + EXCHANGE_MS;
    while (!offline.output().slice(before).includes('"code":"ERR_CREDENTIALS_MISSING"') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(offline.output().slice(before)).toContain('"code":"ERR_CREDENTIALS_MISSING"');
  }, 30_000);
});
