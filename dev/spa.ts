/**
 * The single-page-app demo of `npm start`: one page on an origin of its own that does what an SPA
 * using Authgear does. It gets an access token from the dev issuer (`POST /_dev/token`, which
 * answers CORS for this origin as Authgear's token endpoint does for a client's allowed origins),
 * keeps it in memory, and calls the API through the gate with `Authorization: Bearer`: a
 * cross-origin call, so the browser sends a preflight, which the gate answers for the origins of
 * `CORS_ALLOWED_ORIGINS`. It shows what came back: the `x-authgear-*` identity the origin received,
 * or the gate's refusal as the page can read it (status, `WWW-Authenticate`, body), or the
 * browser's "Failed to fetch" when the answer was hidden from it. A token "already expired" shows
 * what an SPA sees when its token runs out. It also opens a WebSocket through the gate, offering
 * its token as a subprotocol beside its own (docs/websockets.md), and shows what the demo origin's
 * echo endpoint reports and echoes. The page allows scripts and connections to nothing but its own
 * inline script (by nonce), the dev issuer and the gate.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenOnLoopback, type LoopbackServer } from "./loopback-server.ts";

/** The user the demo signs in as. */
export const SPA_USER = "dev-user";

/** Token lifetimes the page offers, in seconds (negative: already expired). */
const LIFETIMES = [
  { seconds: 1800, label: "valid 30 minutes" },
  { seconds: 20, label: "expires in 20 seconds" },
  { seconds: -300, label: "already expired" },
] as const;

/** The application protocol the page offers beside its token's entry (the origin echoes the first offered). */
export const SPA_WEBSOCKET_PROTOCOL = "authgear-edge.demo";

/** The page's script: plain browser JavaScript, run with the stack's URLs from the JSON block. */
const SCRIPT = `
const { issuer, gate, user } = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
let token;
let expiresAt;

function show(text) {
  $("result").textContent = text;
}

function tokenState() {
  if (token === undefined) return "no token (calls go without Authorization)";
  const left = Math.round((expiresAt - Date.now()) / 1000);
  return left > 0 ? "a token for " + user + ", expires in " + left + " s" : "a token for " + user + ", expired " + -left + " s ago";
}
setInterval(() => ($("token").textContent = tokenState()), 1000);

$("sign-in").addEventListener("click", async () => {
  const expiresIn = Number($("lifetime").value);
  try {
    const response = await fetch(issuer + "/_dev/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sub: user, roles: ["admin"], expires_in: expiresIn }),
    });
    if (!response.ok) throw new Error("the dev issuer answered " + response.status);
    token = (await response.json()).access_token;
    expiresAt = Date.now() + expiresIn * 1000;
    $("token").textContent = tokenState();
    show("signed in: " + tokenState());
  } catch (error) {
    show("sign-in failed: " + error);
  }
});

$("sign-out").addEventListener("click", () => {
  token = undefined;
  $("token").textContent = tokenState();
  show("token forgotten");
});

$("call").addEventListener("click", async () => {
  const path = $("path").value;
  const headers = token === undefined ? {} : { authorization: "Bearer " + token };
  let response;
  try {
    response = await fetch(gate + path, { headers });
  } catch (error) {
    show("GET " + path + " -> failed: " + error + "\\n(the browser hid the answer: this origin is not granted CORS, or the gate is down)");
    return;
  }
  const body = await response.text();
  if (response.ok) {
    let identity = [];
    try {
      const received = JSON.parse(body).headers;
      identity = Object.keys(received).filter((name) => name.startsWith("x-authgear-")).map((name) => "  " + name + ": " + received[name]);
    } catch {
      identity = ["  (not the demo origin's echo)"];
    }
    show("GET " + path + " -> " + response.status + "\\nthe origin received:\\n" + identity.join("\\n"));
    return;
  }
  const challenge = response.headers.get("www-authenticate");
  show("GET " + path + " -> " + response.status + " (refused by the gate)\\nWWW-Authenticate: " + (challenge ?? "(none)") + "\\n" + body);
});

// A browser cannot set Authorization on a WebSocket: the token goes as a subprotocol entry
// (base64url, no padding), after the page's own protocol, which the origin then chooses.
const TOKEN_PROTOCOL = "base64url.bearer.authorization.k8s.io.";
const base64url = (text) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
let socket;

$("ws-open").addEventListener("click", () => {
  const path = $("ws-path").value;
  const protocols = [${JSON.stringify(SPA_WEBSOCKET_PROTOCOL)}];
  if (token !== undefined) protocols.push(TOKEN_PROTOCOL + base64url(token));
  socket?.close();
  const ws = new WebSocket(gate.replace(/^http/, "ws") + path, protocols);
  socket = ws;
  let lines = [];
  ws.addEventListener("message", (event) => {
    if (lines.length > 0) {
      show(lines.concat("echoed: " + event.data).join("\\n"));
      return;
    }
    const hello = JSON.parse(event.data);
    const identity = Object.keys(hello.identity).map((name) => "  " + name + ": " + hello.identity[name]);
    lines = ["WebSocket " + path + " -> open, protocol " + ws.protocol, "the origin received:"].concat(identity, [
      "  sec-websocket-protocol: " + hello.offered,
    ]);
    show(lines.join("\\n"));
    ws.send("hello from the page");
  });
  ws.addEventListener("close", (event) => {
    if (lines.length > 0) return;
    // A refused handshake shows the page no status: the browser only says the connection closed.
    show("WebSocket " + path + " -> refused (closed with code " + event.code + " before opening)");
  });
});
$("token").textContent = tokenState();
`;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(nonce: string, config: { issuer: string; gate: string }): string {
  // JSON in a script block: `<` escaped so no value can close it.
  const json = JSON.stringify({ ...config, user: SPA_USER }).replace(/</g, "\\u003c");
  const options = LIFETIMES.map(({ seconds, label }) => `<option value="${seconds}">${label}</option>`).join("");
  return `<!doctype html><meta charset="utf-8"><title>authgear-edge: SPA demo</title>
<style nonce="${nonce}">body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem } pre { white-space: pre-wrap; overflow-wrap: anywhere }</style>
<h1>SPA demo</h1>
<p>This page (its own origin) signs in with the dev issuer and calls the API through the gate at ${escapeHtml(config.gate)} with <code>Authorization: Bearer</code>, or opens a WebSocket through it with the token as a subprotocol.</p>
<p><label>Token <select id="lifetime">${options}</select></label> <button id="sign-in">Sign in</button> <button id="sign-out">Forget token</button></p>
<p id="token"></p>
<p><label>Path <input id="path" value="/hello"></label> <button id="call">Call the API</button></p>
<p><label>WebSocket path <input id="ws-path" value="/chat"></label> <button id="ws-open">Open a WebSocket</button></p>
<pre id="result"></pre>
<script type="application/json" id="config">${json}</script>
<script nonce="${nonce}">${SCRIPT}</script>`;
}

/**
 * Serves the demo page at `/` on 127.0.0.1 (`port` 0: a free one), calling `gate` with tokens from
 * `issuer` (both origins, no trailing slash).
 */
export function startDemoSpa(options: { port?: number; issuer: string; gate: string }): Promise<LoopbackServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://spa.invalid").pathname;
    if (path !== "/" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return Promise.resolve();
    }
    const nonce = randomBytes(16).toString("base64");
    const html = page(nonce, { issuer: options.issuer, gate: options.gate });
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(html),
      "cache-control": "no-store",
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src ${options.issuer} ${options.gate} ${options.gate.replace(/^http/, "ws")}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    });
    res.end(req.method === "HEAD" ? undefined : html);
    return Promise.resolve();
  };
  return listenOnLoopback("SPA demo", options.port ?? 0, handle);
}
