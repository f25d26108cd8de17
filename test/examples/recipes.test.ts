/**
 * docs/recipes.md: its code is the example files, verbatim, and each reads the identity exactly as
 * the gate hands it on — the headers the Worker forwards (`identityHeaders`) through a real Express
 * server on 127.0.0.1, and the context the authorizer returns (`identityContext`).
 */
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent } from "aws-lambda";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateIdentity, lockedToGate } from "../../examples/express-origin/identity.ts";
import { createOrdersApp } from "../../examples/express-origin/locked-origin.ts";
import { callerFrom, handler } from "../../examples/lambda-authorizer/identity-context.ts";
import { identityContext } from "../../src/aws/index.ts";
import { identityHeaders, type ClientIdentity, type UserIdentity } from "../../src/core/index.ts";

const ROOT = new URL("../../", import.meta.url);
const ISSUER = "https://example.authgear.cloud";
const SECRET = "a-secret-the-worker-sends-to-the-origin-0123456789";

const USER: UserIdentity = {
  kind: "user",
  issuer: ISSUER,
  subject: "u-1",
  userId: "u-1",
  scopes: [],
  source: "jwt",
  claims: {},
  expiresAt: undefined,
  isAnonymous: false,
  isVerified: true,
  canReauthenticate: true,
  roles: ["admin", "editor"],
  amr: ["pwd", "otp"],
  authenticatedAt: 1_700_000_000,
  clientId: "app",
};
const CLIENT: ClientIdentity = {
  kind: "client",
  issuer: ISSUER,
  subject: "client_id_m2m",
  clientId: "m2m",
  scopes: ["orders:read", "orders:write"],
  source: "jwt",
  claims: {},
  expiresAt: undefined,
};

describe("docs/recipes.md", () => {
  it.each([
    "examples/express-origin/identity.ts",
    "examples/express-origin/locked-origin.ts",
    "examples/lambda-authorizer/identity-context.ts",
  ])("shows %s as it is compiled", async (file) => {
    const doc = await readFile(new URL("docs/recipes.md", ROOT), "utf8");
    expect(doc).toContain((await readFile(new URL(file, ROOT), "utf8")).trim());
  });
});

const servers: Server[] = [];

/** `app` on 127.0.0.1; returns its base URL. */
async function serve(app: express.Express): Promise<string> {
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((resolve) => server.once("listening", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(() => {
  for (const server of servers) server.close();
});

describe("recipe: an Express origin behind the Worker", () => {
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(lockedToGate(SECRET));
    app.get("/{*path}", (req, res) => {
      res.json({ identity: gateIdentity(req) ?? null });
    });
    base = await serve(app);
  });

  const get = async (headers: Record<string, string>) => {
    const response = await fetch(`${base}/orders`, { headers });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const forwarded = (identity: UserIdentity | ClientIdentity) => ({
    "x-authgear-edge-secret": SECRET,
    ...Object.fromEntries(identityHeaders(identity)),
  });

  it("reads a user from the headers the Worker forwards", async () => {
    expect(await get(forwarded(USER))).toEqual({
      status: 200,
      body: {
        identity: {
          kind: "user",
          userId: "u-1",
          anonymous: false,
          verified: true,
          canReauthenticate: true,
          roles: ["admin", "editor"],
          amr: ["pwd", "otp"],
          authenticatedAt: 1_700_000_000,
          issuer: ISSUER,
        },
      },
    });
  });

  it("reads a user without roles, methods or login time as the Worker leaves them out", async () => {
    const plain = { ...USER, roles: [], amr: [], authenticatedAt: undefined };
    const { identity } = (await get(forwarded(plain))).body as { identity: Record<string, unknown> };
    expect(identity).toMatchObject({ roles: [], amr: [] });
    // undefined, which JSON leaves out.
    expect(identity).not.toHaveProperty("authenticatedAt");
  });

  it("reads a machine client", async () => {
    expect((await get(forwarded(CLIENT))).body).toEqual({
      identity: { kind: "client", clientId: "m2m", scopes: ["orders:read", "orders:write"], issuer: ISSUER },
    });
  });

  it("no identity on a request the gate forwarded without one (a public path)", async () => {
    expect(await get({ "x-authgear-edge-secret": SECRET })).toEqual({ status: 200, body: { identity: null } });
  });

  it("refuses a request without the gate's secret, whatever x-authgear-* it claims", async () => {
    const { "x-authgear-edge-secret": _, ...claimed } = forwarded(USER);
    expect((await get(claimed)).status).toBe(401);
    expect((await get({ ...claimed, "x-authgear-edge-secret": `${SECRET.slice(1)}x` })).status).toBe(401);
  });

  it("the orders app serves users, refuses machine clients and what went around the gate", async () => {
    const orders = await serve(createOrdersApp(SECRET));
    const status = async (headers: Record<string, string>) => (await fetch(`${orders}/orders`, { headers })).status;
    const user = await fetch(`${orders}/orders`, { headers: forwarded(USER) });
    expect(await user.json()).toEqual({ orders: [], for: "u-1", admin: true });
    expect(await status(forwarded(CLIENT))).toBe(403);
    expect(await status(Object.fromEntries(identityHeaders(USER)))).toBe(401);
  });
});

describe("recipe: a Lambda integration behind the authorizer", () => {
  it("reads the user and the machine client from the authorizer's context", () => {
    expect(callerFrom(identityContext(USER))).toEqual({
      kind: "user",
      userId: "u-1",
      roles: ["admin", "editor"],
      verified: true,
    });
    expect(callerFrom({ ...identityContext(CLIENT), principalId: "client_id_m2m" })).toEqual({
      kind: "client",
      clientId: "m2m",
      scopes: ["orders:read", "orders:write"],
    });
    expect(callerFrom({ ...identityContext({ ...USER, roles: [] }) })).toMatchObject({ roles: [] });
    expect(callerFrom(undefined)).toBeUndefined();
    expect(callerFrom({ authgearEdgeReport: "ERR_NO_CREDENTIALS" })).toBeUndefined();
  });

  it("the REST handler answers from requestContext.authorizer", async () => {
    const event = (path: string, authorizer: Record<string, unknown>) =>
      ({ path, requestContext: { authorizer } }) as unknown as APIGatewayProxyEvent;
    const editor = { ...identityContext({ ...USER, roles: ["editor"] }), principalId: "u-1" };
    expect(await handler(event("/hello", editor))).toEqual({ statusCode: 200, body: '{"hello":"u-1"}' });
    expect((await handler(event("/admin/users", editor))).statusCode).toBe(403);
    const admin = { ...identityContext(USER), principalId: "u-1" };
    expect((await handler(event("/admin/users", admin))).statusCode).toBe(200);
  });
});
