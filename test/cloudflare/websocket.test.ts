/**
 * WebSockets through the Worker in real workerd: a real client (`ws`) opens a WebSocket through
 * the gate to the demo origin's echo endpoint (dev/websocket-echo.ts) on 127.0.0.1, which reports
 * the identity headers and the `Sec-WebSocket-Protocol` it received and echoes messages.
 */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { EchoHello } from "../../dev/websocket-echo.ts";
import { removeTokenSubprotocol, withoutQueryParameter } from "../../src/front/forwarding.ts";
import { originRequestsThisTest, startWorker } from "./harness.ts";
import { useDevIssuer, useDemoOrigin } from "../helpers.ts";

const PREFIX = "base64url.bearer.authorization.k8s.io.";
const ADMIN_ONLY = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);

const issuer = useDevIssuer();
const origin = useDemoOrigin();
/** The gate without `WEBSOCKET_QUERY_TOKEN`, and with it. */
let plain: Miniflare;
let withQuery: Miniflare;
let reportOnly: Miniflare;
let logs: string[];

beforeAll(async () => {
  const base = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ROUTES: ADMIN_ONLY, JWT_COOKIE_NAME: "at" };
  logs = [];
  plain = startWorker(base, 1, logs);
  withQuery = startWorker({ ...base, WEBSOCKET_QUERY_TOKEN: "access_token" }, 1, logs);
  reportOnly = startWorker({ ...base, REPORT_ONLY: "true" }, 1, logs);
  await Promise.all([plain.ready, withQuery.ready, reportOnly.ready]);
}, 60_000);
afterAll(async () => {
  await Promise.all([plain.dispose(), withQuery.dispose(), reportOnly.dispose()]);
});

const seen = originRequestsThisTest(() => origin);

/** A token's subprotocol entry, encoded by Node (not by the code under test). */
const entry = (token: string): string => `${PREFIX}${Buffer.from(token).toString("base64url")}`;

interface Opened {
  readonly protocol: string;
  readonly hello: EchoHello;
  /** Sends `text` and waits for its echo. */
  echo(text: string): Promise<string>;
  close(): void;
}

interface Refused {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Opens a WebSocket through `gate` to `path`: the connection, or the refusal (never both). */
async function open(
  gate: Miniflare,
  path: string,
  protocols: string[] = [],
  headers: Record<string, string> = {},
): Promise<Opened | Refused> {
  const url = (await gate.ready).href.replace(/^http/, "ws").replace(/\/$/, "") + path;
  const socket = new WebSocket(url, protocols, { headers, handshakeTimeout: 10_000 });
  const messages: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  socket.on("message", (data: Buffer) => {
    const next = waiting.shift();
    if (next === undefined) messages.push(data.toString());
    else next(data.toString());
  });
  const nextMessage = (): Promise<string> => {
    const queued = messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("no message within 10 s"));
      }, 10_000);
      waiting.push((text) => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  };
  return new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        socket.terminate();
      });
    });
    socket.once("error", reject);
    socket.once("open", () => {
      nextMessage().then((hello) => {
        resolve({
          protocol: socket.protocol,
          hello: JSON.parse(hello) as EchoHello,
          echo: (text) => {
            socket.send(text);
            return nextMessage();
          },
          close: () => {
            socket.close();
          },
        });
      }, reject);
    });
  });
}

function opened(result: Opened | Refused): Opened {
  if (!("hello" in result)) throw new Error(`refused: ${result.status} ${result.body}`);
  return result;
}

function refused(result: Opened | Refused): Refused {
  if ("hello" in result) {
    result.close();
    throw new Error(`opened, as ${result.hello.identity["x-authgear-user-id"] ?? "nobody"}`);
  }
  return result;
}

describe("an upgrade let through", () => {
  it("with a Bearer header: the origin gets the identity, messages are echoed", async () => {
    const token = await issuer.mintAccessToken({ sub: "alice" });
    const ws = opened(await open(plain, "/chat", [], { authorization: `Bearer ${token}` }));
    expect(ws.hello.identity["x-authgear-user-id"]).toBe("alice");
    expect(ws.hello.path).toBe("/chat");
    expect(await ws.echo("ping")).toBe("ping");
    ws.close();
    expect(seen().map((request) => request.headers.upgrade)).toEqual(["websocket"]);
  });

  it("with the token as a subprotocol: the entry never reaches the origin, the app's protocol returned", async () => {
    const token = await issuer.mintAccessToken({ sub: "bob" });
    const ws = opened(await open(plain, "/chat", [entry(token), "chat.v1", "chat.v2"]));
    expect(ws.hello.identity["x-authgear-user-id"]).toBe("bob");
    // The client joined its offer with "," and no space: every byte but the entry's is kept.
    expect(ws.hello.offered).toBe("chat.v1,chat.v2");
    expect(ws.hello.protocol).toBe("chat.v1");
    expect(ws.protocol).toBe("chat.v1");
    expect(await ws.echo("über")).toBe("über");
    ws.close();
    const [request] = seen();
    expect(JSON.stringify(request)).not.toContain(token);
    expect(JSON.stringify(request)).not.toContain(PREFIX);
  });

  it("with the JWT cookie", async () => {
    const token = await issuer.mintAccessToken({ sub: "carol" });
    const ws = opened(await open(plain, "/chat", ["chat.v1"], { cookie: `theme=dark; at=${token}` }));
    expect(ws.hello.identity["x-authgear-user-id"]).toBe("carol");
    expect(ws.protocol).toBe("chat.v1");
    ws.close();
  });

  it("on a ruled path, for a caller the rule admits", async () => {
    const roles = { "https://authgear.com/claims/user/roles": ["admin"] };
    const token = await issuer.mintAccessToken({ sub: "dora", claims: roles });
    const ws = opened(await open(plain, "/admin/feed", ["feed", entry(token)]));
    expect(ws.hello.identity["x-authgear-user-id"]).toBe("dora");
    expect(ws.hello.offered).toBe("feed");
    expect(ws.protocol).toBe("feed");
    ws.close();
  });

  it("with the token entry alone: the origin is offered nothing, and the client fails the 101", async () => {
    // RFC 6455 §4.1: a client that offered protocols fails a 101 naming none (browsers do too);
    // the gate never lets the token be the chosen one, so a client offers one of its own beside it.
    const token = await issuer.mintAccessToken({ sub: "dan" });
    await expect(open(plain, "/chat", [entry(token)])).rejects.toThrow("Server sent no subprotocol");
    const [request] = seen();
    expect(request?.headers["sec-websocket-protocol"]).toBeUndefined();
    expect(request?.headers["x-authgear-user-id"]).toBe("dan");
  });
});

describe("an upgrade refused: its status and challenge, never a 101, nothing forwarded", () => {
  it("without credentials: 401 with the challenge", async () => {
    const answer = refused(await open(plain, "/chat", ["chat.v1"]));
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toMatch(/^Bearer realm="/);
    expect(answer.body).toContain("ERR_CREDENTIALS_MISSING");
    expect(seen()).toEqual([]);
  });

  it("with a bad token as a subprotocol: 401 invalid_token", async () => {
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    const answer = refused(await open(plain, "/chat", [entry(expired), "chat.v1"]));
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toContain('error="invalid_token"');
    expect(answer.body).toContain("ERR_JWT_EXPIRED");
    expect(seen()).toEqual([]);
  });

  it("with a malformed entry, or one beside a Bearer header: 400 invalid_request", async () => {
    const token = await issuer.mintAccessToken();
    // "YR" is "a" with non-zero trailing bits: a lenient decoder would take it.
    const malformed = refused(await open(plain, "/chat", [`${PREFIX}YR`, "chat.v1"]));
    expect(malformed.status).toBe(400);
    const twice = refused(await open(plain, "/chat", [entry(token), "chat.v1", entry(`${token}x`)]));
    expect(twice.status).toBe(400);
    expect(twice.body).toContain("more than one credential");
    const both = refused(await open(plain, "/chat", [entry(token)], { authorization: `Bearer ${token}` }));
    expect(both.status).toBe(400);
    expect(both.headers["www-authenticate"]).toContain('error="invalid_request"');
    expect(seen()).toEqual([]);
  });

  it("by a route rule: 403 insufficient_scope", async () => {
    const token = await issuer.mintAccessToken({ sub: "erin" });
    const answer = refused(await open(plain, "/admin/feed", [entry(token)]));
    expect(answer.status).toBe(403);
    expect(answer.headers["www-authenticate"]).toContain('error="insufficient_scope"');
    expect(seen()).toEqual([]);
  });
});

describe("a token in the query (WEBSOCKET_QUERY_TOKEN)", () => {
  it("unset: refused with a message saying why, even with a valid token", async () => {
    const token = await issuer.mintAccessToken();
    const answer = refused(await open(plain, `/chat?room=1&access_token=${token}`));
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("A token in the query string is not accepted (URLs land in logs)");
    expect(answer.body).not.toContain(token);
    expect(seen()).toEqual([]);
    expect(logs.join("\n")).not.toContain(token);
  });

  it("set: accepted on an upgrade, and the parameter is gone from the URL the origin gets", async () => {
    const token = await issuer.mintAccessToken({ sub: "fay" });
    const ws = opened(await open(withQuery, `/chat?room=1&access_token=${token}&b=%20x`, ["chat.v1"]));
    expect(ws.hello.identity["x-authgear-user-id"]).toBe("fay");
    expect(ws.hello.path).toBe("/chat?room=1&b=%20x");
    expect(ws.protocol).toBe("chat.v1");
    ws.close();
    expect(seen().map((request) => request.path)).toEqual(["/chat?room=1&b=%20x"]);
  });

  it("unset, REPORT_ONLY: the refused upgrade goes on without an identity, and without the token", async () => {
    const token = await issuer.mintAccessToken({ sub: "gus" });
    const ws = opened(await open(reportOnly, `/chat?access_token=${token}&room=1`, ["chat.v1"]));
    expect(ws.hello.identity).toEqual({ "x-authgear-edge-report": "ERR_REQUEST_MALFORMED" });
    expect(ws.hello.path).toBe("/chat?room=1");
    ws.close();
    expect(JSON.stringify(seen())).not.toContain(token);
  });

  it("the subprotocol entry is no credential on a request that is not an upgrade", async () => {
    const token = await issuer.mintAccessToken();
    const headers = { "sec-websocket-protocol": entry(token) };
    const response = await plain.dispatchFetch("https://gate.example/chat", { headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "ERR_CREDENTIALS_MISSING" });
  });

  it("set: never read on a request that is not an upgrade", async () => {
    const token = await issuer.mintAccessToken();
    const response = await withQuery.dispatchFetch(`https://gate.example/chat?access_token=${token}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "ERR_CREDENTIALS_MISSING" });
  });
});

describe("withoutQueryParameter: the forwarded query", () => {
  it.each([
    ["?access_token=t", ""],
    ["?a=1&access_token=t&b=%20x", "?a=1&b=%20x"],
    ["?access%5Ftoken=t&a=1", "?a=1"],
    ["?access_token&a=1", "?a=1"],
    ["?access_token=t&access_token=u", ""],
    ["?a=1&&b=2", "?a=1&&b=2"],
    ["?a=access_token", "?a=access_token"],
    ["?access_tokens=t", "?access_tokens=t"],
    ["", ""],
  ])("%s → %s", (search, expected) => {
    expect(withoutQueryParameter(search, "access_token")).toBe(expected);
  });
});

describe("removeTokenSubprotocol: the forwarded Sec-WebSocket-Protocol", () => {
  it("drops the header when only the token's entry was offered, and leaves a header without one as it is", () => {
    const alone = new Headers({ "sec-websocket-protocol": entry("t") });
    removeTokenSubprotocol(alone);
    expect(alone.has("sec-websocket-protocol")).toBe(false);
    const mixed = new Headers({ "sec-websocket-protocol": `a,${entry("t")}, b` });
    removeTokenSubprotocol(mixed);
    expect(mixed.get("sec-websocket-protocol")).toBe("a, b");
    const none = new Headers({ "sec-websocket-protocol": "a,  b" });
    removeTokenSubprotocol(none);
    expect(none.get("sec-websocket-protocol")).toBe("a,  b");
  });
});
