/**
 * End to end: the Worker (dist/worker.js in workerd) signs the assertion, the Express example
 * (its own process) fetches the Worker's JWKS and verifies it. A dev issuer's token gets through
 * to the app; a client's forged assertion is stripped at the gate and refused by the app when the
 * gate is gone around.
 */
import type { Miniflare } from "miniflare";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { rememberCredential } from "../../dev/remember.ts";
import {
  AUDIENCE,
  sign,
  signingKey,
  startExpressOrigin,
  userClaims,
  type ExampleOrigin,
} from "../assertion-fixtures.ts";
import { startWorker } from "../cloudflare/harness.ts";
import { freePort, useDevIssuer } from "../helpers.ts";

const ROLES = "https://authgear.com/claims/user/roles";
/** A bare origin: the Worker signs ASSERTION_ISSUER exactly as written, and the app compares it exactly. */
const GATE = "https://gate.example";

const issuer = useDevIssuer();
let app: ExampleOrigin;
let mf: Miniflare;
let gateUrl: string;
let alice: string;
let forged: string;

beforeAll(async () => {
  const key = await newAssertionKey("gate-e2e");
  rememberCredential(key.d);
  // The app must know the Worker's JWKS URL before the Worker knows the app's: the Worker's port first.
  const port = await freePort();
  gateUrl = `http://127.0.0.1:${port}`;
  app = await startExpressOrigin({
    ASSERTION_JWKS_URL: `${gateUrl}/.well-known/authgear-edge/jwks.json`,
    ASSERTION_ISSUER: GATE,
    ASSERTION_AUDIENCE: AUDIENCE,
  });
  mf = startWorker(
    {
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: app.url,
      ASSERTION_KEY: JSON.stringify(key),
      ASSERTION_ISSUER: GATE,
      ASSERTION_AUDIENCE: AUDIENCE,
    },
    1,
    [],
    undefined,
    port,
  );
  await mf.ready;
  alice = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } });
  // A client's own assertion for mallory, under a key of its own that claims the gate's kid.
  forged = await sign(await signingKey("gate-e2e"), userClaims({ sub: "mallory", roles: ["root"] }));
}, 30_000);
afterAll(async () => {
  await mf.dispose();
  app.stop();
});

async function call(base: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}/orders/7`, { headers });
  return { status: response.status, body: await response.json() };
}

describe("the Worker in front of examples/express-origin", () => {
  it("lets a dev issuer's token through: the app verifies the gate's assertion and knows the caller", async () => {
    const { status, body } = await call(gateUrl, { authorization: `Bearer ${alice}` });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      path: "/orders/7",
      caller: { iss: GATE, aud: AUDIENCE, kind: "user", sub: "alice", token_iss: issuer.origin, roles: ["admin"] },
    });
  });

  it("never lets the assertion outlive the access token", async () => {
    const brief = await issuer.mintAccessToken({ sub: "bob", expiresIn: 20 });
    const { status, body } = await call(gateUrl, { authorization: `Bearer ${brief}` });
    expect(status).toBe(200);
    expect((body as { caller: { exp: number } }).caller.exp).toBe(decodeJwt(brief).exp);
  });

  it("strips a client's forged assertion: the app sees the gate's, for the token's user", async () => {
    const headers = { authorization: `Bearer ${alice}`, "X-Authgear-Edge-Assertion": forged };
    const { status, body } = await call(gateUrl, headers);
    expect(status).toBe(200);
    expect(body).toMatchObject({ caller: { sub: "alice", roles: ["admin"] } });
  });

  it("the app refuses a request that went around the gate, with or without a forged assertion", async () => {
    expect(await call(app.url, { "x-authgear-edge-assertion": forged })).toEqual({
      status: 401,
      body: { error: "ERR_ASSERTION_INVALID" },
    });
    expect(await call(app.url, { authorization: `Bearer ${alice}` })).toEqual({
      status: 401,
      body: { error: "ERR_ASSERTION_MISSING" },
    });
  });
});
