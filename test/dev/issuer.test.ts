import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactVerify, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import type { JWK } from "jose";
import { startDevIssuer } from "../../dev/issuer.ts";
import type { DevIssuer } from "../../dev/issuer.ts";
import { answer, recordingGate } from "../fixtures/gate.ts";
import { useDevIssuer } from "../helpers.ts";

const DISCOVERY = "/.well-known/openid-configuration";
const JWKS = "/oauth2/jwks";
const USER = "https://authgear.com/claims/user/";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const anyNumber: unknown = expect.any(Number);
const anyString: unknown = expect.any(String);
const base64urlModulus: unknown = expect.stringMatching(/^[A-Za-z0-9_-]{342}$/);

async function readJson<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function publishedKeys(issuer: DevIssuer): Promise<JWK[]> {
  const response = await fetch(issuer.jwksUri);
  return (await readJson<{ keys: JWK[] }>(response)).keys;
}

async function publishedKids(issuer: DevIssuer): Promise<(string | undefined)[]> {
  return (await publishedKeys(issuer)).map((key) => key.kid);
}

function verifyAccessToken(issuer: DevIssuer, token: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
    algorithms: ["RS256"],
    typ: "at+jwt",
    issuer: issuer.origin,
    audience: issuer.origin,
  });
}

describe("discovery and key set", () => {
  const issuer = useDevIssuer();

  it("binds to 127.0.0.1 and derives its URLs from the origin", () => {
    expect(issuer.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(issuer.jwksUri).toBe(`${issuer.origin}/oauth2/jwks`);
  });

  it("serves an Authgear-shaped discovery document whose issuer is the origin", async () => {
    const { origin } = issuer;
    const response = await fetch(`${origin}${DISCOVERY}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBeNull();
    const document = await readJson(response);
    expect(document).toMatchObject({
      issuer: origin,
      jwks_uri: `${origin}/oauth2/jwks`,
      authorization_endpoint: `${origin}/oauth2/authorize`,
      token_endpoint: `${origin}/oauth2/token`,
      userinfo_endpoint: `${origin}/oauth2/userinfo`,
      end_session_endpoint: `${origin}/oauth2/end_session`,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
    expect(document.response_types_supported).toContain("code");
    expect(document.scopes_supported).toEqual(
      expect.arrayContaining(["openid", "offline_access", "https://authgear.com/scopes/full-access"]),
    );
    expect(document.claims_supported).toEqual(expect.arrayContaining(["iss", "aud", "sub", "exp", "iat"]));
  });

  it("publishes public RS256 signing keys only, the signing key first", async () => {
    const response = await fetch(issuer.jwksUri);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("cache-control")).toBeNull();
    const { keys } = await readJson<{ keys: JWK[] }>(response);
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(key).toEqual({
      kty: "RSA",
      n: base64urlModulus,
      e: "AQAB",
      kid: issuer.signingKid,
      alg: "RS256",
      use: "sig",
    });
    expect(issuer.signingKid).toMatch(UUID);
  });

  it("answers HEAD without a body, 404 for unknown paths, 405 for other methods", async () => {
    const { origin } = issuer;
    const head = await fetch(`${origin}${JWKS}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await fetch(`${origin}/oauth2/unknown`)).status).toBe(404);
    expect((await fetch(`${origin}/redirected/oauth2/unknown`)).status).toBe(404);
    const post = await fetch(`${origin}${JWKS}`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const getToken = await fetch(`${origin}/_dev/token`);
    expect(getToken.status).toBe(405);
    expect(getToken.headers.get("allow")).toBe("POST");
  });

  it("overrides the discovery issuer until reset", async () => {
    const url = `${issuer.origin}${DISCOVERY}`;
    issuer.setDiscoveryIssuer("https://other.example.com");
    expect((await readJson(await fetch(url))).issuer).toBe("https://other.example.com");
    issuer.setDiscoveryIssuer(undefined);
    expect((await readJson(await fetch(url))).issuer).toBe(issuer.origin);
  });

  it("appends raw extra JWKs after its own keys", async () => {
    const extra = [
      { kty: "oct", k: "c2VjcmV0", kid: "oct-key" },
      { kty: "RSA", n: "AQAB", e: "AQAB", kid: "enc-key", use: "enc" },
    ];
    issuer.setExtraJwks(extra);
    expect(await publishedKeys(issuer)).toEqual([expect.objectContaining({ kid: issuer.signingKid }), ...extra]);
    issuer.setExtraJwks([]);
    expect(await publishedKids(issuer)).toEqual([issuer.signingKid]);
  });

  it("counts discovery and key-set requests, HEAD included", async () => {
    const { origin, hits } = issuer;
    const before = { ...hits };
    await fetch(`${origin}${DISCOVERY}`);
    await fetch(`${origin}${JWKS}`);
    await fetch(`${origin}${JWKS}`, { method: "HEAD" });
    await fetch(`${origin}/elsewhere`);
    expect(hits).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 2, redirected: before.redirected });
  });
});

describe("tokens", () => {
  const issuer = useDevIssuer({ clientId: "test-client" });

  it("mints access tokens that verify as Authgear's at+jwt against the served key set", async () => {
    const { origin, signingKid } = issuer;
    const token = await issuer.mintAccessToken({ sub: "user-1" });
    const { payload, protectedHeader } = await verifyAccessToken(issuer, token);
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "at+jwt", kid: signingKid });
    expect(payload).toEqual({
      iss: origin,
      aud: [origin],
      sub: "user-1",
      iat: anyNumber,
      exp: payload.iat! + 1800,
      auth_time: payload.iat,
      amr: ["pwd"],
      client_id: "test-client",
      scope: "openid offline_access https://authgear.com/scopes/full-access",
      jti: anyString,
      [`${USER}is_anonymous`]: false,
      [`${USER}is_verified`]: true,
      [`${USER}can_reauthenticate`]: true,
      [`${USER}roles`]: [],
    });
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
  });

  it("gives each token a random subject and jti by default", async () => {
    const [first, second] = await Promise.all([issuer.mintAccessToken(), issuer.mintAccessToken()]);
    const a = decodeJwt(first);
    const b = decodeJwt(second);
    expect(a.sub).toMatch(UUID);
    expect(a.sub).not.toBe(b.sub);
    expect(a.jti).not.toBe(b.jti);
  });

  it("merges claim overrides, removing claims set to undefined", async () => {
    const token = await issuer.mintAccessToken({
      claims: { [`${USER}roles`]: ["admin"], auth_time: undefined, amr: undefined, extra: 1 },
      issuedAt: 1_700_000_000,
      expiresIn: 60,
    });
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({ [`${USER}roles`]: ["admin"], extra: 1, iat: 1_700_000_000, exp: 1_700_000_060 });
    expect(payload).not.toHaveProperty("auth_time");
    expect(payload).not.toHaveProperty("amr");
  });

  it("mints expired tokens with a negative lifetime", async () => {
    const token = await issuer.mintAccessToken({ expiresIn: -60 });
    await expect(verifyAccessToken(issuer, token)).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
  });

  it("merges header overrides, removing members set to undefined", async () => {
    const token = await issuer.mintAccessToken({ header: { typ: undefined, kid: "not-published", x: "y" } });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: "not-published", x: "y" });
    const critical = await issuer.mintAccessToken({ header: { crit: ["exp"], exp: 1 } });
    expect(decodeProtectedHeader(critical)).toMatchObject({ crit: ["exp"], exp: 1 });
  });

  it("signs with any RSA algorithm and refuses the others clearly", async () => {
    const token = await issuer.mintAccessToken({ header: { alg: "PS256" } });
    const [jwk] = await publishedKeys(issuer);
    const unbound = { ...jwk! };
    delete unbound.alg;
    await expect(compactVerify(token, await importJWK(unbound, "PS256"))).resolves.toMatchObject({
      protectedHeader: { alg: "PS256" },
    });
    for (const alg of ["HS256", "ES256", "none", undefined]) {
      await expect(issuer.mintAccessToken({ header: { alg } })).rejects.toThrow(/cannot sign with alg/);
    }
  });

  it("mints ID tokens: typ JWT, audience the client id, five minutes, same key and issuer", async () => {
    const { origin, signingKid } = issuer;
    const token = await issuer.mintIdToken({ sub: "user-2" });
    const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
    const { payload, protectedHeader } = await jwtVerify(token, keys, { issuer: origin, audience: "test-client" });
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "JWT", kid: signingKid });
    expect(payload).toMatchObject({
      iss: origin,
      aud: ["test-client"],
      sub: "user-2",
      auth_time: payload.iat,
      [`${USER}is_anonymous`]: false,
      [`${USER}is_verified`]: true,
      [`${USER}can_reauthenticate`]: true,
    });
    expect(payload.exp! - payload.iat!).toBe(300);
    await expect(verifyAccessToken(issuer, token)).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
  });

  it("mints through POST /_dev/token", async () => {
    const url = `${issuer.origin}/_dev/token`;
    const response = await fetch(url, { method: "POST", body: JSON.stringify({ sub: "user-3", roles: ["admin"] }) });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await readJson<{ access_token: string; token_type: string; expires_in: number }>(response);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 1800 });
    const { payload } = await verifyAccessToken(issuer, body.access_token);
    expect(payload).toMatchObject({ sub: "user-3", [`${USER}roles`]: ["admin"] });

    const bare = await readJson<{ access_token: string }>(await fetch(url, { method: "POST" }));
    expect((await verifyAccessToken(issuer, bare.access_token)).payload.sub).toMatch(UUID);

    for (const body of [
      "{",
      "[]",
      '{"sub":1}',
      '{"roles":"admin"}',
      '{"roles":[1]}',
      '{"expires_in":1.5}',
      '{"expires_in":"60"}',
      '{"expires_in":86401}',
      '{"expires_in":-86401}',
    ]) {
      expect((await fetch(url, { method: "POST", body })).status).toBe(400);
    }
  });

  it("mints through POST /_dev/token with expires_in, an already expired token for a negative one", async () => {
    const url = `${issuer.origin}/_dev/token`;
    for (const expiresIn of [20, -300]) {
      const body = await readJson<{ access_token: string; expires_in: number }>(
        await fetch(url, { method: "POST", body: JSON.stringify({ expires_in: expiresIn }) }),
      );
      expect(body.expires_in).toBe(expiresIn);
      const { exp, iat } = decodeJwt(body.access_token);
      expect(exp! - iat!).toBe(expiresIn);
    }
  });

  it("says what it takes when refused: kind, expires_in and its bound, nonce", async () => {
    const url = `${issuer.origin}/_dev/token`;
    const refused = await fetch(url, { method: "POST", body: '{"expires_in":86401}' });
    expect(refused.status).toBe(400);
    const { error_description: usage } = await readJson<{ error_description: string }>(refused);
    for (const part of ['"kind"?: "access_token" | "id_token"', '"expires_in"?', "-86400 to 86400", "negative"]) {
      expect(usage).toContain(part);
    }
    expect(usage).toContain('"nonce"?: string (id_token only)');
  });

  it("mints an ID token through POST /_dev/token with kind id_token: typ JWT, audience the client id", async () => {
    const { origin, signingKid } = issuer;
    const url = `${origin}/_dev/token`;
    const minted = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ kind: "id_token", sub: "user-4", roles: ["admin"], nonce: "n-0S6_WzA2Mj" }),
    });
    expect(minted.status).toBe(200);
    expect(minted.headers.get("cache-control")).toBe("no-store");
    const body = await readJson<{ id_token: string; expires_in: number }>(minted);
    expect(Object.keys(body).sort()).toEqual(["expires_in", "id_token"]);
    expect(body.expires_in).toBe(300);
    const keys = createRemoteJWKSet(new URL(issuer.jwksUri));
    const { payload, protectedHeader } = await jwtVerify(body.id_token, keys, {
      issuer: origin,
      audience: "test-client",
    });
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "JWT", kid: signingKid });
    expect(payload).toMatchObject({ iss: origin, aud: ["test-client"], sub: "user-4", nonce: "n-0S6_WzA2Mj" });
    expect(payload[`${USER}roles`]).toEqual(["admin"]);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.client_id).toBeUndefined();
    await expect(verifyAccessToken(issuer, body.id_token)).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
    });

    const expired = await readJson<{ id_token: string; expires_in: number }>(
      await fetch(url, { method: "POST", body: '{"kind":"id_token","expires_in":-60}' }),
    );
    expect(expired.expires_in).toBe(-60);
    const { exp, iat, nonce } = decodeJwt(expired.id_token);
    expect(exp! - iat!).toBe(-60);
    expect(nonce).toBeUndefined();

    for (const refused of [
      '{"kind":"refresh_token"}',
      '{"kind":1}',
      '{"nonce":"n"}',
      '{"kind":"id_token","nonce":1}',
    ]) {
      expect((await fetch(url, { method: "POST", body: refused })).status).toBe(400);
    }
  });

  it("an ID token from POST /_dev/token is refused by the gate as an access token (401), its access token passes", async () => {
    const { origin } = issuer;
    const mintedAs = async (kind: string): Promise<string> => {
      const body = await readJson<Record<string, string>>(
        await fetch(`${origin}/_dev/token`, { method: "POST", body: JSON.stringify({ kind, sub: "user-5" }) }),
      );
      return body[kind]!;
    };
    const gate = recordingGate({ AUTHGEAR_ENDPOINT: origin });
    expect(answer(await gate.decide("/api", await mintedAs("access_token")))).toBe("200 user");
    expect(answer(await gate.decide("/api", await mintedAs("id_token")))).toBe("401 ERR_JWT_TYPE invalid_token");
  });
});

describe("POST /_dev/token across origins (the SPA demo)", () => {
  const SPA = "http://127.0.0.1:4030";
  let issuer: DevIssuer;
  beforeAll(async () => {
    issuer = await startDevIssuer({ corsOrigins: [SPA] });
  });
  afterAll(() => issuer.close());
  const preflight = (origin: string): Promise<Response> =>
    fetch(`${issuer.origin}/_dev/token`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
  const headerRecord = (response: Response): Record<string, string> => {
    const record: Record<string, string> = {};
    response.headers.forEach((value, name) => (record[name] = value));
    return record;
  };
  const corsHeaders = (response: Response): string[] =>
    Object.keys(headerRecord(response)).filter((name) => name.startsWith("access-control-"));

  it("answers a listed origin's preflight and lets it read the token", async () => {
    const answer = await preflight(SPA);
    expect(answer.status).toBe(204);
    expect(
      Object.fromEntries(
        Object.entries(headerRecord(answer)).filter(([name]) => name.startsWith("access-control-") || name === "vary"),
      ),
    ).toEqual({
      "access-control-allow-origin": SPA,
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "600",
      vary: "Origin",
    });
    const minted = await fetch(`${issuer.origin}/_dev/token`, { method: "POST", headers: { origin: SPA }, body: "{}" });
    expect(minted.status).toBe(200);
    expect(minted.headers.get("access-control-allow-origin")).toBe(SPA);
  });

  it("grants nothing to another origin, a near miss included", async () => {
    for (const origin of ["http://127.0.0.1:4031", "http://localhost:4030", "http://127.0.0.1:4030/", "null"]) {
      const answer = await preflight(origin);
      expect(answer.status).toBe(403);
      expect(corsHeaders(answer)).toEqual([]);
      const minted = await fetch(`${issuer.origin}/_dev/token`, { method: "POST", headers: { origin }, body: "{}" });
      expect(corsHeaders(minted)).toEqual([]);
    }
  });
});

describe("keys", () => {
  const issuer = useDevIssuer();

  it("adds a published, non-signing key last", async () => {
    const signing = issuer.signingKid;
    const kid = await issuer.addKey();
    expect(kid).toMatch(UUID);
    expect(issuer.signingKid).toBe(signing);
    expect(await publishedKids(issuer)).toEqual([signing, kid]);
    const token = await issuer.mintAccessToken({ kid });
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    await expect(verifyAccessToken(issuer, token)).resolves.toBeDefined();
    issuer.removeKey(kid);
    expect(await publishedKids(issuer)).toEqual([signing]);
  });

  it("adds a signing key first", async () => {
    const previous = issuer.signingKid;
    const kid = await issuer.addKey({ sign: true });
    expect(issuer.signingKid).toBe(kid);
    expect(await publishedKids(issuer)).toEqual([kid, previous]);
    expect(decodeProtectedHeader(await issuer.mintAccessToken()).kid).toBe(kid);
    issuer.removeKey(previous);
  });

  it("rotates: a new signing key replaces the old one, whose tokens no longer verify", async () => {
    const previous = issuer.signingKid;
    const oldToken = await issuer.mintAccessToken();
    const kid = await issuer.rotateKey();
    expect(kid).not.toBe(previous);
    expect(issuer.signingKid).toBe(kid);
    expect(await publishedKids(issuer)).toEqual([kid]);
    await expect(verifyAccessToken(issuer, await issuer.mintAccessToken())).resolves.toBeDefined();
    await expect(verifyAccessToken(issuer, oldToken)).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
    await expect(issuer.mintAccessToken({ kid: previous })).rejects.toThrow(/no published key/);
  });

  it("refuses to remove or sign with an unknown kid", async () => {
    expect(() => {
      issuer.removeKey("missing");
    }).toThrow(/no published key missing/);
    await expect(issuer.mintIdToken({ kid: "missing" })).rejects.toThrow(/no published key missing/);
  });
});

describe("failure modes", () => {
  const issuer = useDevIssuer();
  const urls = () => [`${issuer.origin}${DISCOVERY}`, issuer.jwksUri];

  it("http500 answers 500", async () => {
    issuer.setFailure("http500");
    for (const url of urls()) expect((await fetch(url)).status).toBe(500);
  });

  it("hang never answers", async () => {
    issuer.setFailure("hang");
    for (const url of urls()) {
      await expect(fetch(url, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: "TimeoutError" });
    }
  });

  it("reset destroys the connection", async () => {
    issuer.setFailure("reset");
    for (const url of urls()) await expect(fetch(url)).rejects.toThrow(TypeError);
  });

  it("redirect answers 302 to a loopback copy of the document on the same server", async () => {
    issuer.setFailure("redirect");
    for (const url of urls()) {
      const response = await fetch(url, { redirect: "manual" });
      expect(response.status).toBe(302);
      const path = new URL(url).pathname;
      expect(response.headers.get("location")).toBe(`${issuer.origin}/redirected${path}`);
    }
    const before = issuer.hits.redirected;
    const followed = await fetch(issuer.jwksUri);
    expect(followed.status).toBe(200);
    expect((await readJson<{ keys: JWK[] }>(followed)).keys[0]?.kid).toBe(issuer.signingKid);
    expect(issuer.hits.redirected).toBe(before + 1);
  });

  it("oversize answers a valid-looking JSON document of about 2 MB", async () => {
    issuer.setFailure("oversize");
    const jwks = await fetch(issuer.jwksUri);
    expect(jwks.status).toBe(200);
    expect(Number(jwks.headers.get("content-length"))).toBeGreaterThan(2 * 1024 * 1024);
    const { keys } = await readJson<{ keys: JWK[] }>(jwks);
    expect(keys.length).toBeGreaterThan(1000);
    expect(keys[0]?.kid).toBe(issuer.signingKid);

    const discovery = await fetch(`${issuer.origin}${DISCOVERY}`);
    const text = await discovery.text();
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(JSON.parse(text)).toMatchObject({ issuer: issuer.origin, jwks_uri: issuer.jwksUri });
  });

  it("invalid-json answers 200 with a body that is not JSON", async () => {
    issuer.setFailure("invalid-json");
    for (const url of urls()) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe("{not json");
    }
  });

  it("none restores normal answers, and every failed request was counted", async () => {
    issuer.setFailure("none");
    for (const url of urls()) expect((await fetch(url)).status).toBe(200);
    expect(issuer.hits).toMatchObject({ discovery: 7, jwks: 8 });
  });
});

describe("restoreDefaults", () => {
  const issuer = useDevIssuer();

  it("undoes every failure mode and override, and keeps keys, users and sessions", async () => {
    const { origin } = issuer;
    const kid = await issuer.addKey();
    const session = issuer.createSession("kept", {});
    issuer.setFailure("http500");
    issuer.setDiscoveryIssuer("https://other.example.com");
    issuer.setExtraJwks([{ kty: "oct", k: "c2VjcmV0", kid: "oct-key" }]);
    issuer.setResolverFailure("http500");
    issuer.setResolverDelay(5_000);
    issuer.restoreDefaults();
    const started = Date.now();
    const resolved = await fetch(issuer.resolverUrl, {
      headers: { authorization: `Bearer ${session.opaqueAccessToken}` },
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(resolved.status).toBe(200);
    expect(resolved.headers.get("x-authgear-user-id")).toBe("kept");
    const discovery = await fetch(`${origin}${DISCOVERY}`);
    expect(discovery.status).toBe(200);
    expect((await readJson(discovery)).issuer).toBe(origin);
    expect(await publishedKids(issuer)).toEqual([issuer.signingKid, kid]);
  });
});

describe("close", () => {
  it("returns promptly with a hung request open and stops listening", async () => {
    const issuer = await startDevIssuer();
    issuer.setFailure("hang");
    const pending = fetch(issuer.jwksUri).then(
      () => "answered",
      () => "failed",
    );
    while (issuer.hits.jwks === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    const started = performance.now();
    await issuer.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBe("failed");
    await expect(fetch(issuer.jwksUri)).rejects.toThrow(TypeError);
    await expect(issuer.close()).resolves.toBeUndefined();
  });

  it("listens on the requested port", async () => {
    const first = await startDevIssuer();
    const port = Number(new URL(first.origin).port);
    await first.close();
    const second = await startDevIssuer({ port });
    try {
      expect(second.origin).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${second.origin}${DISCOVERY}`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
