/**
 * The signed identity assertion in the authorizer's context (`edgeAssertion`), through
 * `createHandler`: REST TOKEN and REQUEST, HTTP API simple and IAM answers. Each assertion is
 * verified with jose's own `jwtVerify` against the public key taken from the private JWK here (not
 * with the gate's JWKS code). Under API Gateway's cache the context is handed to requests for the
 * TTL, so a reused assertion must outlive it, and a TTL above half the lifetime is refused.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { createHandler, type AuthorizerResult } from "../../src/aws/create-handler.ts";
import type { PrivateAssertionJwk } from "../../src/core/index.ts";
import { httpApiEvent, requestEvent, tokenEvent } from "./fixtures.ts";

const GATE = "https://gate.example.com";
const AUDIENCE = "https://backend.example.com";

let issuer: DevIssuer;
let key: PrivateAssertionJwk;
let token: string;
const logs: Array<Record<string, unknown>> = [];
const logger = { log: (event: string, fields: Record<string, unknown>) => logs.push({ event, ...fields }) };

beforeAll(async () => {
  [issuer, key] = await Promise.all([startDevIssuer(), newAssertionKey("lambda-1")]);
  token = await issuer.mintAccessToken({ sub: "alice" });
});
afterAll(() => issuer.close());

function handlerWith(extra: Record<string, string> = {}, clock?: () => number) {
  return createHandler({
    env: {
      AUTHGEAR_ENDPOINT: issuer.origin,
      ASSERTION_KEY: JSON.stringify(key),
      ASSERTION_ISSUER: GATE,
      ASSERTION_AUDIENCE: AUDIENCE,
      AUTHORIZER_CACHE_SECONDS: "30",
      ...extra,
    },
    logger,
    ...(clock !== undefined && { clock }),
  });
}

function assertionOf(result: AuthorizerResult): string | undefined {
  const value: unknown = result.context?.edgeAssertion;
  return typeof value === "string" ? value : undefined;
}

async function verify(jwt: string | undefined, at?: number): Promise<JWTPayload> {
  const { d: _private, ...publicPart } = key;
  const { payload } = await jwtVerify(jwt ?? "", createLocalJWKSet({ keys: [publicPart as JWK] }), {
    issuer: GATE,
    audience: AUDIENCE,
    typ: "authgear-edge+jwt",
    ...(at !== undefined && { currentDate: new Date(at) }),
  });
  return payload;
}

const bearer = (jwt = token) => ({ authorization: `Bearer ${jwt}` });

describe("edgeAssertion in the context", () => {
  it("REST REQUEST and TOKEN, HTTP API simple and IAM: a verifiable assertion for the token's user", async () => {
    const answers = [
      await handlerWith()(requestEvent({ headers: bearer() })),
      await handlerWith()(tokenEvent(`Bearer ${token}`)),
      await handlerWith({ HTTP_API_RESPONSE: "simple" })(httpApiEvent({ headers: bearer() })),
      await handlerWith({ HTTP_API_RESPONSE: "iam" })(httpApiEvent({ headers: bearer() })),
    ];
    for (const answer of answers) {
      const payload = await verify(assertionOf(answer));
      expect([payload.sub, payload.kind, payload.token_iss]).toEqual(["alice", "user", issuer.origin]);
      expect(payload.exp).toBe((payload.iat ?? 0) + 60);
      expect(payload.exp).toBeLessThanOrEqual(decodeJwt(token).exp ?? 0);
    }
    // The identity's other context keys are still there.
    expect(answers[0]?.context?.userId).toBe("alice");
  });

  it("none without an identity (a public path), nor on a Deny", async () => {
    const open = handlerWith({ PUBLIC_PATHS: "/request", AUTHORIZER_CACHE_SECONDS: "0" });
    expect(assertionOf(await open(requestEvent()))).toBeUndefined();
    const ruled = handlerWith({ ROUTES: '[{"path":"/request","roles":["admin"]}]', AUTHORIZER_CACHE_SECONDS: "0" });
    const denied = await ruled(requestEvent({ headers: bearer() }));
    expect(JSON.stringify(denied)).toContain('"Effect":"Deny"');
    expect(assertionOf(denied)).toBeUndefined();
  });

  it("a key that cannot sign fails the request (503), never an Allow without it", async () => {
    const broken = createHandler({
      env: {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ASSERTION_KEY: JSON.stringify({ ...key, x: key.y, y: key.x }),
        ASSERTION_ISSUER: GATE,
        ASSERTION_AUDIENCE: AUDIENCE,
        AUTHORIZER_CACHE_SECONDS: "0",
      },
      logger,
    });
    await expect(broken(requestEvent({ headers: bearer() }))).rejects.toThrow("Service Unavailable");
    expect(logs.some((line) => line.event === "assertion_failed")).toBe(true);
  });
});

describe("under API Gateway's cache", () => {
  it("refuses a TTL above half the lifetime, naming AUTHORIZER_CACHE_SECONDS", async () => {
    const cases: Array<[Record<string, string>, boolean]> = [
      [{ AUTHORIZER_CACHE_SECONDS: "30" }, true],
      [{ AUTHORIZER_CACHE_SECONDS: "31" }, false],
      [{ AUTHORIZER_CACHE_SECONDS: "300" }, false],
      [{ AUTHORIZER_CACHE_SECONDS: "10", ASSERTION_LIFETIME_SECONDS: "20" }, true],
      [{ AUTHORIZER_CACHE_SECONDS: "11", ASSERTION_LIFETIME_SECONDS: "20" }, false],
      [{ AUTHORIZER_CACHE_SECONDS: "0", ASSERTION_LIFETIME_SECONDS: "10" }, true],
    ];
    for (const [env, starts] of cases) {
      const before = logs.length;
      const answer = handlerWith(env)(requestEvent({ headers: bearer() }));
      if (starts) {
        await verify(assertionOf(await answer));
        continue;
      }
      await expect(answer).rejects.toThrow("Service Unavailable");
      const invalid = logs.slice(before).find((line) => line.event === "config_invalid");
      expect(invalid?.keys).toBe("AUTHORIZER_CACHE_SECONDS");
    }
  });

  it("a reused assertion keeps at least the TTL (+1 s) of life: reused at +29 s, renewed at +30 s", async () => {
    let now = Date.now();
    const started = now;
    const handler = handlerWith({ AUTHORIZER_CACHE_SECONDS: "30" }, () => now);
    const fresh = await issuer.mintAccessToken({ sub: "bob", expiresIn: 3600 });
    const first = assertionOf(await handler(requestEvent({ headers: bearer(fresh) })));
    const iat = (await verify(first)).iat ?? 0;
    now = (iat + 29) * 1000;
    expect(assertionOf(await handler(requestEvent({ headers: bearer(fresh) })))).toBe(first);
    now = (iat + 30) * 1000;
    const renewed = assertionOf(await handler(requestEvent({ headers: bearer(fresh) })));
    expect(renewed).not.toBe(first);
    const payload = await verify(renewed, now);
    expect((payload.exp ?? 0) * 1000 - now).toBeGreaterThanOrEqual(31_000);
    expect(now - started).toBeLessThan(31_000);
  });
});
