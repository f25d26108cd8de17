/**
 * Machine clients and several issuers through `authgear()` in a Hono app on Node, against
 * Authgear-shaped tokens from real loopback issuers: the handler's `c.get("authgear")` is a client
 * identity where a rule admits clients, and each issuer's user carries its issuer.
 */
import { Hono } from "hono";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer } from "../../dev/issuer.ts";
import { authgear, type AuthgearVariables } from "../../src/hono/index.ts";
import { authgearProject, type AuthgearProject } from "../fixtures/authgear-tokens.ts";
import { clientIdentity } from "../fixtures/identities.ts";

const RESOURCE = "https://api.example.com";

let a: AuthgearProject;
let b: AuthgearProject;
let stranger: AuthgearProject;

beforeAll(async () => {
  const devs = await Promise.all([startDevIssuer(), startDevIssuer(), startDevIssuer()]);
  const projects = await Promise.all(devs.map((dev) => authgearProject(dev)));
  [a, b, stranger] = projects as [AuthgearProject, AuthgearProject, AuthgearProject];
});
afterAll(() => Promise.all([a, b, stranger].map((project) => project.dev.close())));

function app(): App {
  const settings = {
    ISSUERS: JSON.stringify([a, b].map((project) => ({ issuer: project.issuer, resources: [RESOURCE] }))),
    ROUTES: JSON.stringify([
      { path: "/machine/*", subject: "client", scopes: ["read:orders"] },
      { path: "/b-only/*", issuers: [b.issuer] },
    ]),
  };
  const hono: App = new Hono();
  hono.use("*", authgear({ settings, logger: { log: () => undefined } }));
  hono.all("*", (c) => c.json({ identity: c.get("authgear") ?? null }));
  return hono;
}

type App = Hono<{ Variables: AuthgearVariables }>;

async function call(hono: App, path: string, token: string): Promise<[number, unknown]> {
  const response = await hono.request(path, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { identity?: unknown; code?: unknown };
  return [response.status, response.status === 200 ? body.identity : body.code];
}

describe("authgear() with machine clients and several issuers", () => {
  it("hands the handler a client identity where a rule admits clients, and refuses it elsewhere", async () => {
    const hono = app();
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    expect(await call(hono, "/machine/orders", token)).toEqual([
      200,
      {
        ...clientIdentity(a.issuer, "inventory"),
        scopes: ["read:orders"],
        claims: decodeJwt(token),
        expiresAt: decodeJwt(token).exp,
      },
    ]);
    expect(await call(hono, "/users/1", token)).toEqual([403, "ERR_INSUFFICIENT_SCOPE"]);
    const elsewhere = await a.mintClient({ clientId: "inventory", resourceUri: "https://other.example.com" });
    expect(await call(hono, "/machine/orders", elsewhere)).toEqual([401, "ERR_JWT_CLAIM_INVALID"]);
  });

  it("never hands a user's token over as a client's", async () => {
    const lookalike = await a.mintUser({ userId: "u1", clientId: "inventory", scopes: ["read:orders"] });
    // The rule for clients on /machine says nothing about users: a user passes, as a user.
    const [status, identity] = await call(app(), "/machine/orders", lookalike);
    expect(status).toBe(200);
    expect(identity).toMatchObject({ kind: "user", userId: "u1", clientId: "inventory" });
  });

  it("hands each issuer's user over with its issuer; an untrusted one is refused with no request", async () => {
    const hono = app();
    const [status, identity] = await call(hono, "/b-only/1", await b.mintUser({ userId: "bob" }));
    expect(status).toBe(200);
    expect(identity).toMatchObject({ kind: "user", issuer: b.issuer, userId: "bob" });
    expect(await call(hono, "/b-only/1", await a.mintUser())).toEqual([403, "ERR_INSUFFICIENT_SCOPE"]);
    const before = [a, b, stranger].map((project) => ({ ...project.dev.hits }));
    expect(await call(hono, "/users/1", await stranger.mintUser())).toEqual([401, "ERR_JWT_CLAIM_INVALID"]);
    expect([a, b, stranger].map((project) => ({ ...project.dev.hits }))).toEqual(before);
  });
});
