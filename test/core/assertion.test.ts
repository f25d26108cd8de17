/**
 * The signed identity assertion in the core: what `createAssertionSigner` signs (checked with
 * jose's own verification against the published JWKS, not with anything of the signer's), when an
 * assertion is reused, the keys (ES256, ES384, EdDSA; a Secrets Store binding read once), and the
 * settings refused at start-up, each naming its key.
 */
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { LAMBDA_SETTINGS } from "../../src/aws/config.ts";
import { WORKER_SETTINGS } from "../../src/cloudflare/config.ts";
import {
  ConfigError,
  createAssertionKeys,
  createAssertionSigner,
  identityFromClaims,
  type AssertionKeys,
  type Identity,
  type PrivateAssertionJwk,
} from "../../src/core/index.ts";
import { thrownBy } from "../helpers.ts";

const ISSUER = "https://gate.example.com";
const AUDIENCE = "https://origin.example.com";
const TOKEN_ISS = "https://myapp.authgear.cloud";
const T0 = 1_900_000_000;

function userIdentity(exp = T0 + 3600): Identity {
  return identityFromClaims(
    {
      iss: TOKEN_ISS,
      sub: "alice",
      exp,
      client_id: "spa",
      scope: "openid orders:read",
      auth_time: T0 - 100,
      amr: ["pwd", "otp"],
      "https://authgear.com/claims/user/roles": ["admin", "staff"],
      "https://authgear.com/claims/user/is_verified": true,
    },
    TOKEN_ISS,
  );
}

async function signerWith(lifetimeSeconds = 60, minRemainingSeconds = 0, key?: PrivateAssertionJwk) {
  const jwk = key ?? (await newAssertionKey("k1"));
  const keys = createAssertionKeys({ jwk }, undefined);
  let nowMs = T0 * 1000;
  const signer = createAssertionSigner({
    keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    lifetimeSeconds,
    minRemainingSeconds,
    clock: () => nowMs,
  });
  return {
    keys,
    signer,
    at: (seconds: number) => {
      nowMs = (T0 + seconds) * 1000;
    },
  };
}

/** jose's verification against the published key set, at `seconds` past T0. */
async function verified(keys: AssertionKeys, jwt: string, seconds = 0) {
  const jwks = createLocalJWKSet((await keys.jwks()) as { keys: JWK[] });
  return jwtVerify(jwt, jwks, {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: "authgear-edge+jwt",
    currentDate: new Date((T0 + seconds) * 1000),
  });
}

describe("what the gate signs", () => {
  it("a user: exactly the documented claims and header, verifiable with the published key", async () => {
    const { keys, signer } = await signerWith();
    const jwt = await signer.assertion(userIdentity());
    const { payload, protectedHeader } = await verified(keys, jwt);
    expect(protectedHeader).toEqual({ alg: "ES256", kid: "k1", typ: "authgear-edge+jwt" });
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect({ ...payload, jti: "" }).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "alice",
      iat: T0,
      exp: T0 + 60,
      jti: "",
      kind: "user",
      token_iss: TOKEN_ISS,
      scope: "openid orders:read",
      client_id: "spa",
      roles: ["admin", "staff"],
      amr: ["pwd", "otp"],
      auth_time: T0 - 100,
      is_anonymous: false,
      is_verified: true,
    });
  });

  it("a machine client: its kind, client id and scope, no user claim; no scope claim when it has none", async () => {
    const { keys, signer } = await signerWith();
    const client = identityFromClaims(
      { iss: TOKEN_ISS, sub: "client_id_svc", client_id: "svc", exp: T0 + 600 },
      TOKEN_ISS,
    );
    const { payload } = await verified(keys, await signer.assertion(client));
    expect({ ...payload, jti: "" }).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "client_id_svc",
      iat: T0,
      exp: T0 + 60,
      jti: "",
      kind: "client",
      token_iss: TOKEN_ISS,
      client_id: "svc",
    });
  });

  it("never outlives the access token", async () => {
    const { keys, signer } = await signerWith();
    const { payload } = await verified(keys, await signer.assertion(userIdentity(T0 + 25)));
    expect(payload.exp).toBe(T0 + 25);
  });

  it.each(["ES384", "EdDSA"] as const)("signs with an %s key", async (alg) => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `k-${alg}` } as PrivateAssertionJwk;
    const parsed = LAMBDA_SETTINGS.parse({ ...settings(), ASSERTION_KEY: JSON.stringify(jwk) }).assertion;
    if (parsed === undefined || !("jwk" in parsed.key)) throw new Error("no key");
    const { keys, signer } = await signerWith(60, 0, parsed.key.jwk);
    const jwt = await signer.assertion(userIdentity());
    expect(decodeProtectedHeader(jwt).alg).toBe(alg);
    await verified(keys, jwt);
  });
});

describe("reuse", () => {
  it("one signature per identity while at least half its life is left, then a new one", async () => {
    const { signer, at } = await signerWith(60);
    const identity = userIdentity();
    const first = await signer.assertion(identity);
    at(30);
    expect(await signer.assertion(identity)).toBe(first);
    at(31);
    const second = await signer.assertion(identity);
    expect(second).not.toBe(first);
    // Another identity object (another token) gets its own.
    expect(await signer.assertion(userIdentity())).not.toBe(second);
  });

  it("keeps the authorizer cache's TTL of life in a reused one", async () => {
    const { signer, at } = await signerWith(60, 31);
    const identity = userIdentity();
    const first = await signer.assertion(identity);
    at(29);
    expect(await signer.assertion(identity)).toBe(first);
    at(30);
    expect(await signer.assertion(identity)).not.toBe(first);
  });

  it("halves on the assertion's own life when the token caps it", async () => {
    const { signer, at } = await signerWith(60);
    const identity = userIdentity(T0 + 20);
    const first = await signer.assertion(identity);
    at(10);
    expect(await signer.assertion(identity)).toBe(first);
    at(11);
    expect(await signer.assertion(identity)).not.toBe(first);
  });
});

describe("keys", () => {
  it("publishes both keys' public parts, and signs with the first only", async () => {
    const key = await newAssertionKey("current");
    const next = await newAssertionKey("next");
    const keys = createAssertionKeys({ jwk: key }, next);
    const { keys: published } = await keys.jwks();
    expect(published.map((jwk) => [jwk.kid, "d" in jwk])).toEqual([
      ["current", false],
      ["next", false],
    ]);
    expect(published[1]).toEqual({
      kty: "EC",
      crv: "P-256",
      x: next.x,
      y: next.y,
      kid: "next",
      alg: "ES256",
      use: "sig",
    });
    expect((await keys.signingKey()).kid).toBe("current");
  });

  it("reads a Secrets Store binding once; a failed read is retried, a bad key refused by name", async () => {
    const key = JSON.stringify(await newAssertionKey("bound"));
    const answers = [Promise.reject(new Error("store down")), Promise.resolve(key), Promise.resolve("{}")];
    let reads = 0;
    const binding = { get: () => answers[reads++] ?? Promise.resolve("{}") };
    const keys = createAssertionKeys({ binding }, undefined);
    await expect(keys.signingKey()).rejects.toThrow("store down");
    expect((await keys.signingKey()).kid).toBe("bound");
    expect((await keys.jwks()).keys.map((jwk) => jwk.kid)).toEqual(["bound"]);
    expect(reads).toBe(2);
    const bad = createAssertionKeys(
      { binding: { get: () => Promise.resolve('{"kty":"oct","k":"AAAA","kid":"x"}') } },
      undefined,
    );
    await expect(bad.signingKey()).rejects.toThrow(/^ASSERTION_KEY \(Secrets Store\) is a symmetric key/);
  });
});

function settings(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { AUTHGEAR_ENDPOINT: TOKEN_ISS, ASSERTION_ISSUER: ISSUER, ASSERTION_AUDIENCE: AUDIENCE, ...extra };
}

function refusal(parse: (env: Record<string, unknown>) => unknown, env: Record<string, unknown>): ConfigError {
  return thrownBy(ConfigError, () => parse(env));
}

const key = await newAssertionKey("k1");
const text = JSON.stringify(key);
const { d: secretPart, ...publicOnly } = key;
const { kid: _kid, ...noKid } = key;

describe("settings refused at start-up", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["not JSON", { ASSERTION_KEY: "{kty" }, "ASSERTION_KEY"],
    ["a public key", { ASSERTION_KEY: JSON.stringify(publicOnly) }, "ASSERTION_KEY"],
    ["no kid", { ASSERTION_KEY: JSON.stringify(noKid) }, "ASSERTION_KEY"],
    ["a symmetric key", { ASSERTION_KEY: '{"kty":"oct","k":"c2VjcmV0","kid":"s","alg":"HS256"}' }, "ASSERTION_KEY"],
    ["an RSA key", { ASSERTION_KEY: '{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB","kid":"r"}' }, "ASSERTION_KEY"],
    ["an alg off the list", { ASSERTION_KEY: JSON.stringify({ ...key, alg: "ES512" }) }, "ASSERTION_KEY"],
    ["an alg for another curve", { ASSERTION_KEY: JSON.stringify({ ...key, alg: "ES384" }) }, "ASSERTION_KEY"],
    ["use enc", { ASSERTION_KEY: JSON.stringify({ ...key, use: "enc" }) }, "ASSERTION_KEY"],
    [
      "the same kid twice",
      { ASSERTION_KEY: text, ASSERTION_SECOND_KEY: JSON.stringify(publicOnly) },
      "ASSERTION_SECOND_KEY",
    ],
    ["no issuer", { ASSERTION_KEY: text, ASSERTION_ISSUER: "" }, "ASSERTION_ISSUER"],
    ["an http issuer", { ASSERTION_KEY: text, ASSERTION_ISSUER: "http://gate.example.com" }, "ASSERTION_ISSUER"],
    ["no audience", { ASSERTION_KEY: text, ASSERTION_AUDIENCE: "" }, "ASSERTION_AUDIENCE"],
    ["a lifetime of 9", { ASSERTION_KEY: text, ASSERTION_LIFETIME_SECONDS: "9" }, "ASSERTION_LIFETIME_SECONDS"],
    ["a lifetime of 61", { ASSERTION_KEY: text, ASSERTION_LIFETIME_SECONDS: "61" }, "ASSERTION_LIFETIME_SECONDS"],
  ];
  it.each(cases)("%s", (_case, env, name) => {
    // ASSERTION_SECOND_KEY is the Worker's (the authorizer publishes no key set, and refuses it: settings-binding).
    const parsers =
      name === "ASSERTION_SECOND_KEY" ? [WORKER_SETTINGS.parse] : [LAMBDA_SETTINGS.parse, WORKER_SETTINGS.parse];
    for (const parse of parsers) {
      const error = refusal(parse, settings(env));
      expect(error.keys).toEqual([name]);
      expect(error.message).not.toContain(secretPart);
    }
  });

  it("every ASSERTION_* without ASSERTION_KEY, named in one error", () => {
    const env = {
      AUTHGEAR_ENDPOINT: TOKEN_ISS,
      ASSERTION_SECOND_KEY: JSON.stringify(publicOnly),
      ASSERTION_ISSUER: ISSUER,
      ASSERTION_AUDIENCE: AUDIENCE,
      ASSERTION_LIFETIME_SECONDS: "30",
      ASSERTION_HEADER: "x-edge-assertion",
    };
    expect(refusal(WORKER_SETTINGS.parse, env).keys).toEqual([
      "ASSERTION_ISSUER",
      "ASSERTION_AUDIENCE",
      "ASSERTION_LIFETIME_SECONDS",
      "ASSERTION_SECOND_KEY",
      "ASSERTION_HEADER",
    ]);
  });

  const headers = [
    "authorization",
    "Cookie",
    "host",
    "connection",
    "Keep-Alive",
    "te",
    "upgrade",
    "x-authgear-user-id",
    "X_Authgear_Edge_Kind",
    "x.authgear.edge.report",
    "x-authgear-edge-secret",
    "x-http-method-override",
    "x-original-url",
  ];
  it.each(headers)("ASSERTION_HEADER %s, a header the gate or the client already uses", (name) => {
    expect(refusal(WORKER_SETTINGS.parse, settings({ ASSERTION_KEY: text, ASSERTION_HEADER: name })).keys).toEqual([
      "ASSERTION_HEADER",
    ]);
  });

  it("ASSERTION_HEADER equal to ORIGIN_SECRET_HEADER in another spelling", () => {
    const env = settings({
      ASSERTION_KEY: text,
      ASSERTION_HEADER: "x_edge_key",
      ORIGIN_SECRET: "s".repeat(32),
      ORIGIN_SECRET_HEADER: "X-Edge-Key",
    });
    expect(refusal(WORKER_SETTINGS.parse, env).keys).toEqual(["ASSERTION_HEADER"]);
  });

  it("a Secrets Store binding as ASSERTION_KEY: taken as is, read only when a key is needed", async () => {
    let reads = 0;
    const binding = {
      get: () => {
        reads += 1;
        return Promise.resolve(text);
      },
    };
    const config = WORKER_SETTINGS.parse(
      settings({ ASSERTION_KEY: binding, ASSERTION_SECOND_KEY: JSON.stringify(publicOnly) }),
    );
    expect(config.assertion?.key).toEqual({ binding });
    expect(reads).toBe(0);
    if (config.assertion === undefined) throw new Error("no assertion");
    // Its kid is the second key's: found when read, and nothing is signed.
    const keys = createAssertionKeys(config.assertion.key, config.assertionSecondKey);
    await expect(keys.signingKey()).rejects.toThrow("has the kid of ASSERTION_SECOND_KEY");
    expect(reads).toBe(1);
  });

  it("a good configuration, with a custom header, in both packagings", () => {
    const worker = WORKER_SETTINGS.parse(settings({ ASSERTION_KEY: text, ASSERTION_HEADER: "X-Edge-Assertion" }));
    expect(worker.assertionHeader).toBe("x-edge-assertion");
    expect([...worker.gateHeaders]).toEqual(["x-edge-assertion"]);
    expect(
      LAMBDA_SETTINGS.parse(settings({ ASSERTION_KEY: text, AUTHORIZER_CACHE_SECONDS: "30" })).assertion
        ?.lifetimeSeconds,
    ).toBe(60);
  });
});
