/**
 * The signed identity assertion through the built Worker (dist/worker.js) in workerd, to the demo
 * origin, which records what it received. Each assertion is verified here with jose's own
 * `createLocalJWKSet` and `jwtVerify` against the JWKS the Worker serves: nothing of the gate's
 * code checks what the gate signed.
 */
import type { Miniflare } from "miniflare";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin, type ReceivedRequest } from "../../dev/origin.ts";
import { publicJwk, type PrivateAssertionJwk } from "../../src/core/index.ts";
import { originRequestsThisTest, startWorker, dispatch } from "./harness.ts";

const GATE = "https://gate.example.com";
const AUDIENCE = "https://origin.example.com";
const JWKS_PATH = "/.well-known/authgear-edge/jwks.json";
const HEADER = "x-authgear-edge-assertion";
/** Short, so that a test sees an assertion replaced at half its life. */
const LIFETIME = 10;

let issuer: DevIssuer;
let origin: DemoOrigin;
let current: PrivateAssertionJwk;
let next: PrivateAssertionJwk;
let mf: Miniflare;
let custom: Miniflare;
let broken: Miniflare;

function settings(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AUTHGEAR_ENDPOINT: issuer.origin,
    ORIGIN_URL: origin.url,
    PUBLIC_PATHS: "/public/*",
    ASSERTION_KEY: JSON.stringify(current),
    ASSERTION_SECOND_KEY: JSON.stringify(publicJwk(next)),
    ASSERTION_ISSUER: GATE,
    ASSERTION_AUDIENCE: AUDIENCE,
    ASSERTION_LIFETIME_SECONDS: String(LIFETIME),
    ...extra,
  };
}

beforeAll(async () => {
  [issuer, origin, current, next] = await Promise.all([
    startDevIssuer(),
    startDemoOrigin(),
    newAssertionKey("current"),
    newAssertionKey("next"),
  ]);
  mf = startWorker(settings());
  custom = startWorker(settings({ ASSERTION_HEADER: "X-Edge-Assertion" }));
  // A key whose point is on no curve: it parses, and WebCrypto refuses to import it.
  broken = startWorker(settings({ ASSERTION_KEY: JSON.stringify({ ...current, x: current.y, y: current.x }) }));
  await Promise.all([mf.ready, custom.ready, broken.ready]);
}, 60_000);
afterAll(async () => {
  await Promise.all([mf.dispose(), custom.dispose(), broken.dispose()]);
  await origin.close();
  await issuer.close();
});

const seen = originRequestsThisTest(() => origin);

function send(worker: Miniflare, path: string, init: RequestInit = {}): Promise<Response> {
  return dispatch(worker, `${GATE}${path}`, init);
}

async function bearer(claims: Record<string, unknown> = {}, expiresIn?: number): Promise<Record<string, string>> {
  const token = await issuer.mintAccessToken({ sub: "alice", claims, ...(expiresIn !== undefined && { expiresIn }) });
  return { authorization: `Bearer ${token}` };
}

/** The one assertion the origin received on its last request (a string: a second copy would be an array). */
function lastAssertion(header = HEADER): string {
  const received: ReceivedRequest | undefined = seen().at(-1);
  const value = received?.headers[header];
  if (typeof value !== "string") throw new Error(`the origin received ${JSON.stringify(value)} in ${header}`);
  return value;
}

async function verify(jwt: string, keys?: JWK[]): Promise<JWTPayload> {
  const published = keys ?? ((await (await send(mf, JWKS_PATH)).json()) as { keys: JWK[] }).keys;
  const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: published }), {
    issuer: GATE,
    audience: AUDIENCE,
    typ: "authgear-edge+jwt",
    algorithms: ["ES256"],
  });
  return payload;
}

/** Every spelling of `name` a server could map to one variable: `-`, `_`, `.`, any case. */
function spellings(name: string): string[] {
  return [
    name,
    name.toUpperCase(),
    name.replace(/-/g, "_"),
    name.replace(/-/g, "."),
    name.replace(/-/g, "_").toUpperCase(),
  ];
}

describe("the JWKS", () => {
  it("is served before any authentication, cacheable, with both keys' public parts", async () => {
    const response = await send(mf, JWKS_PATH);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(response.headers.get("content-type")).toBe("application/jwk-set+json");
    const body = (await response.json()) as { keys: Array<Record<string, unknown>> };
    expect(body.keys).toEqual([publicJwk(current), publicJwk(next)]);
    expect(JSON.stringify(body)).not.toContain(current.d);
    const head = await send(mf, JWKS_PATH, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
    expect(seen()).toEqual([]);
  });

  it("is a protected path like any other when the assertion is off", async () => {
    const plain = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url });
    try {
      expect((await send(plain, JWKS_PATH)).status).toBe(401);
    } finally {
      await plain.dispose();
    }
  });
});

describe("what the origin receives", () => {
  it("an authenticated request: one assertion, signed by the current key, with the documented claims", async () => {
    const headers = await bearer({
      "https://authgear.com/claims/user/roles": ["admin"],
      amr: ["pwd"],
      "https://authgear.com/claims/user/is_verified": true,
    });
    const response = await send(mf, "/orders", { headers });
    expect(response.status).toBe(200);
    const jwt = lastAssertion();
    const payload = await verify(jwt);
    const token = decodeJwt(headers.authorization!.slice(7));
    expect(typeof payload.iat).toBe("number");
    expect({ ...payload, jti: "", iat: 0 }).toEqual({
      iss: GATE,
      aud: AUDIENCE,
      sub: "alice",
      iat: 0,
      exp: (payload.iat ?? 0) + LIFETIME,
      jti: "",
      kind: "user",
      token_iss: issuer.origin,
      scope: token.scope,
      client_id: token.client_id,
      roles: ["admin"],
      amr: ["pwd"],
      auth_time: token.auth_time,
      is_anonymous: false,
      is_verified: true,
    });
    // Rotation: the second key is published, never used to sign.
    await expect(verify(jwt, [publicJwk(next) as JWK])).rejects.toThrow();
    expect(await verify(jwt, [publicJwk(current) as JWK])).toEqual(payload);
  });

  it("never an exp past the access token's", async () => {
    const headers = await bearer({}, 4);
    await send(mf, "/orders", { headers });
    const payload = await verify(lastAssertion());
    expect(payload.exp).toBe(decodeJwt(headers.authorization!.slice(7)).exp);
  });

  it("the same assertion for repeated requests of one token, and a new one after half its life", async () => {
    const headers = await bearer();
    await send(mf, "/a", { headers });
    const first = lastAssertion();
    const signedAt = Date.now();
    await send(mf, "/b", { headers });
    expect(lastAssertion()).toBe(first);
    let latest = first;
    // Bounded: 40 polls of 250 ms, past the 5 s half life (counted from its whole-second iat).
    for (let poll = 0; poll < 40 && latest === first; poll += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      await send(mf, "/c", { headers });
      latest = lastAssertion();
    }
    const elapsed = Date.now() - signedAt;
    expect(latest).not.toBe(first);
    expect(elapsed).toBeGreaterThanOrEqual((LIFETIME / 2 - 1) * 1000);
    expect(elapsed).toBeLessThan((LIFETIME / 2 + 1.5) * 1000);
    const [old, renewed] = [decodeJwt(first), await verify(latest)];
    expect(renewed.jti).not.toBe(old.jti);
    // Another token of the same user: another identity, another assertion.
    await send(mf, "/d", { headers: await bearer() });
    expect(lastAssertion()).not.toBe(latest);
  }, 20_000);

  it("no client copy, in any spelling, on authenticated, public and preflight requests", async () => {
    const forged = Object.fromEntries(spellings(HEADER).map((name, index) => [name, `forged-${index}`]));
    const headers = await bearer();
    // workerd folds case; the spellings with `_` and `.` stay distinct headers.
    await send(mf, "/orders", { headers: { ...forged, ...headers } });
    await verify(lastAssertion());
    await send(mf, "/public/page", { headers: forged });
    await send(mf, "/orders", {
      method: "OPTIONS",
      headers: { ...forged, origin: "https://app.example", "access-control-request-method": "PUT" },
    });
    const received = seen();
    expect(received).toHaveLength(3);
    for (const request of received) {
      expect(JSON.stringify(request.headers)).not.toContain("forged");
    }
    expect(received[1]?.headers[HEADER]).toBeUndefined();
    expect(received[2]?.headers[HEADER]).toBeUndefined();
  });

  it("on a public path: an assertion with a valid token, none without", async () => {
    await send(mf, "/public/page", { headers: await bearer() });
    await verify(lastAssertion());
    await send(mf, "/public/page");
    expect(seen().at(-1)?.headers[HEADER]).toBeUndefined();
  });

  it("under ASSERTION_HEADER, client copies of that name stripped in every spelling", async () => {
    const forged = Object.fromEntries(spellings("x-edge-assertion").map((name, index) => [name, `forged-${index}`]));
    await send(custom, "/orders", { headers: { ...forged, ...(await bearer()) } });
    await verify(lastAssertion("x-edge-assertion"));
    expect(seen().at(-1)?.headers[HEADER]).toBeUndefined();
    await send(custom, "/public/page", { headers: forged });
    expect(JSON.stringify(seen().at(-1)?.headers)).not.toContain("forged");
  });

  it("a key that cannot sign: 500 ERR_INTERNAL and nothing forwarded; public requests still served", async () => {
    const response = await send(broken, "/orders", { headers: await bearer() });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: "ERR_INTERNAL" });
    expect(seen()).toEqual([]);
    expect((await send(broken, "/public/page")).status).toBe(200);
    expect(seen()).toHaveLength(1);
  });
});
