/**
 * `authgear()` in a Hono app on Node (`app.request`), with the dev issuer on loopback: settings
 * passed in code (as `process.env` would be on Node), the refusals the Worker gives, and a bad
 * configuration. examples/hono-worker is the same middleware on Workers, reading `c.env`.
 */
import { Hono } from "hono";
import { methodOverride } from "hono/method-override";
import { describe, expect, it } from "vitest";
import { authgear, type AuthgearVariables } from "../../src/hono/index.ts";
import type { LogFields } from "../../src/core/index.ts";
import { useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer();

function app(
  settings: Record<string, string>,
  logs: Array<{ event: string } & LogFields> = [],
): Hono<{ Variables: AuthgearVariables }> {
  const hono = new Hono<{ Variables: AuthgearVariables }>();
  hono.use(
    "*",
    authgear({
      settings: { AUTHGEAR_ENDPOINT: issuer.origin, ...settings },
      logger: { log: (event, fields) => logs.push({ event, ...fields }) },
    }),
  );
  hono.all("*", (c) => {
    const identity = c.get("authgear");
    const user = identity?.kind === "user" ? identity.userId : null;
    return c.json({ user, method: c.req.method, report: c.get("authgearReport") ?? null });
  });
  return hono;
}

describe("authgear() on Node", () => {
  it("reads its settings from the options, and gives the handler the identity", async () => {
    const token = await issuer.mintAccessToken({ sub: "dana" });
    const response = await app({}).request("/anything", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: "dana", method: "GET", report: null });
  });

  it("answers a refusal itself: a HEAD without a body, an ambiguous path with a 400, and logs it", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const gated = app({}, logs);
    const head = await gated.request("/anything", { method: "HEAD" });
    expect(head.status).toBe(401);
    expect(head.headers.get("www-authenticate")).toBe(`Bearer realm="${issuer.origin}"`);
    expect(await head.text()).toBe("");
    const token = await issuer.mintAccessToken({ sub: "dana" });
    const ambiguous = await gated.request("/public/..%2fadmin", { headers: { authorization: `Bearer ${token}` } });
    expect(ambiguous.status).toBe(400);
    expect(logs.map(({ event, code }) => [event, code])).toEqual([
      ["request_refused", "ERR_CREDENTIALS_MISSING"],
      ["request_refused", "ERR_REQUEST_MALFORMED"],
    ]);
  });

  it("decides every request but a GET as every method it could be served as; with METHOD_OVERRIDE=none, as its own", async () => {
    const token = await issuer.mintAccessToken({ sub: "dana" });
    const routes = '[{"path":"/items/*","methods":["DELETE"],"roles":["admin"]}]';
    const gated = app({ ROUTES: routes });
    const headers = { authorization: `Bearer ${token}` };
    expect(
      (await gated.request("/items/1", { method: "POST", headers: { ...headers, "x-http-method-override": "DELETE" } }))
        .status,
    ).toBe(403);
    expect((await gated.request("/items/1", { method: "POST", headers })).status).toBe(403);
    expect((await gated.request("/items/1", { method: "GET", headers })).status).toBe(200);
    const wireOnly = app({ ROUTES: routes, METHOD_OVERRIDE: "none" });
    expect((await wireOnly.request("/items/1", { method: "POST", headers })).status).toBe(200);
    expect((await wireOnly.request("/items/1", { method: "DELETE", headers })).status).toBe(403);
  });

  // docs/method-override.md: Hono's methodOverride re-dispatches the overridden request through the
  // whole app, so authgear() in the same app decides the method it is served as, even under none.
  it("decides the method Hono's methodOverride serves, whichever middleware comes first", async () => {
    const token = await issuer.mintAccessToken({ sub: "dana" });
    const settings = {
      AUTHGEAR_ENDPOINT: issuer.origin,
      ROUTES: '[{"path":"/items/*","methods":["DELETE"],"roles":["admin"]}]',
      METHOD_OVERRIDE: "none",
    } as const;
    const form = { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" };
    for (const gateFirst of [true, false]) {
      const hono = new Hono();
      if (gateFirst) hono.use("*", authgear({ settings }));
      hono.use("*", methodOverride({ app: hono }));
      if (!gateFirst) hono.use("*", authgear({ settings }));
      hono.on(["POST", "DELETE"], "/items/:id", (c) => c.text(c.req.method));
      const overridden = await hono.request("/items/1", { method: "POST", headers: form, body: "_method=DELETE" });
      expect(overridden.status, `gate first: ${String(gateFirst)}`).toBe(403);
      const plain = await hono.request("/items/1", { method: "POST", headers: form, body: "a=1" });
      expect(await plain.text()).toBe("POST");
    }
  });

  it("answers every request 500 under a bad configuration, naming every bad key in the log once", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const broken = app({ AUTH_MODE: "magic", ALGORITHMS: "HS256" }, logs);
    for (let i = 0; i < 2; i += 1) {
      const response = await broken.request("/anything");
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ code: "ERR_CONFIG_INVALID" });
    }
    expect(logs.filter(({ event }) => event === "config_invalid")).toEqual([
      expect.objectContaining({ keys: "AUTH_MODE,ALGORITHMS" }),
    ]);
  });

  it("without settings on Node (no c.env), answers every request 500 and says so once", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const bare = new Hono();
    bare.use("*", authgear({ logger: { log: (event, fields) => logs.push({ event, ...fields }) } }));
    bare.get("*", (c) => c.text("never"));
    for (let i = 0; i < 3; i += 1) expect((await bare.request("/x")).status).toBe(500);
    expect(logs.filter(({ event }) => event === "config_invalid")).toEqual([
      expect.objectContaining({ keys: "AUTHGEAR_ENDPOINT" }),
    ]);
  });

  it("with REPORT_ONLY=true lets a would-be refusal through with its code and no identity, and logs it", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const reporting = app(
      { REPORT_ONLY: "true", LOG_DECISIONS: "true", ROUTES: '[{"path":"/admin/*","roles":["admin"]}]' },
      logs,
    );
    const token = await issuer.mintAccessToken({ sub: "erin" });
    const missing = await reporting.request("/anything");
    expect(missing.status).toBe(200);
    expect(await missing.json()).toEqual({ user: null, method: "GET", report: "ERR_CREDENTIALS_MISSING" });
    // Valid credentials that a rule refuses: still no identity for the app.
    const ruled = await reporting.request("/admin/x", { headers: { authorization: `Bearer ${token}` } });
    expect(await ruled.json()).toEqual({ user: null, method: "GET", report: "ERR_INSUFFICIENT_SCOPE" });
    const allowed = await reporting.request("/anything", { headers: { authorization: `Bearer ${token}` } });
    expect(await allowed.json()).toEqual({ user: "erin", method: "GET", report: null });
    expect(
      logs
        .filter(({ event }) => event !== "keyset_refreshed")
        .map(({ event, code, user_id }) => [event, code, user_id]),
    ).toEqual([
      ["would_refuse", "ERR_CREDENTIALS_MISSING", undefined],
      ["would_refuse", "ERR_INSUFFICIENT_SCOPE", "erin"],
      ["request_allowed", undefined, "erin"],
    ]);
  });
});

describe("authgear() on a WebSocket upgrade (docs/websockets.md)", () => {
  const upgrade = { upgrade: "websocket", connection: "Upgrade" };
  const entry = (token: string) => `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString("base64url")}`;

  it("reads the token's subprotocol entry; the app receives the request as sent", async () => {
    const token = await issuer.mintAccessToken({ sub: "wes" });
    const headers = { ...upgrade, "sec-websocket-protocol": `chat, ${entry(token)}` };
    const response = await app({}).request("/chat", { headers });
    expect(await response.json()).toMatchObject({ user: "wes" });
  });

  it("refuses an upgrade's access_token unless WEBSOCKET_QUERY_TOKEN names it, then reads it", async () => {
    const token = await issuer.mintAccessToken({ sub: "wes" });
    const refused = await app({}).request(`/chat?access_token=${token}`, { headers: upgrade });
    expect(refused.status).toBe(400);
    expect(await refused.text()).not.toContain(token);
    const reading = app({ WEBSOCKET_QUERY_TOKEN: "access_token" });
    const allowed = await reading.request(`/chat?access_token=${token}`, { headers: upgrade });
    expect(await allowed.json()).toMatchObject({ user: "wes" });
    const notUpgrade = await reading.request(`/chat?access_token=${token}`);
    expect(notUpgrade.status).toBe(401);
  });
});
