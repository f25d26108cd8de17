/** The whole core against the dev issuer over loopback HTTP: what is accepted, and the named attacks. */
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { createAuthenticatorFromEnv } from "../../src/core/authenticator.ts";
import { identityHeaders } from "../../src/core/identity.ts";
import { MAX_CREDENTIAL_LENGTH } from "../../src/core/credentials.ts";
import { type Harness, bearer, harness, outcome, useDevIssuer } from "../helpers.ts";

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

const issuer = useDevIssuer();
let h: Harness;
let jwk: JWK;

beforeAll(async () => {
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: JWK[] };
  jwk = keys[0]!;
});
beforeEach(() => {
  h = harness(issuer);
});

/** A token with the issuer's usual claims, re-signed or altered by hand. */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

describe("valid access tokens", () => {
  it("verifies an Authgear access token and maps exactly the resolver's headers", async () => {
    const sub = randomUUID();
    const token = await issuer.mintAccessToken({
      sub,
      claims: { "https://authgear.com/claims/user/roles": ["admin", "staff"] },
    });
    const result = await h.auth.authenticate(bearer(token));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const claims = claimsOf(token);
    expect(identityHeaders(result.identity)).toEqual([
      ["x-authgear-session-valid", "true"],
      ["x-authgear-user-id", sub],
      ["x-authgear-user-anonymous", "false"],
      ["x-authgear-user-verified", "true"],
      ["x-authgear-user-can-reauthenticate", "true"],
      ["x-authgear-user-roles", "admin,staff"],
      ["x-authgear-session-amr", "pwd"],
      ["x-authgear-session-authenticated-at", String(claims.auth_time)],
      ["x-authgear-edge-kind", "user"],
      ["x-authgear-edge-issuer", issuer.origin],
    ]);
    expect(result.identity.clientId).toBe("dev-client");
    expect(result.identity.scopes).toContain("openid");
  });

  it("accepts a token from a plain OIDC issuer without Authgear's claims", async () => {
    const token = await issuer.mintAccessToken({
      claims: {
        "https://authgear.com/claims/user/is_anonymous": undefined,
        "https://authgear.com/claims/user/is_verified": undefined,
        "https://authgear.com/claims/user/can_reauthenticate": undefined,
        "https://authgear.com/claims/user/roles": undefined,
        amr: undefined,
        auth_time: undefined,
      },
    });
    const result = await h.auth.authenticate(bearer(token));
    expect(result.ok && identityHeaders(result.identity).map(([name, value]) => `${name}=${value}`)).toEqual([
      "x-authgear-session-valid=true",
      expect.stringMatching(/^x-authgear-user-id=/),
      "x-authgear-user-anonymous=false",
      "x-authgear-user-verified=false",
      "x-authgear-user-can-reauthenticate=false",
      "x-authgear-session-amr=",
      "x-authgear-edge-kind=user",
      `x-authgear-edge-issuer=${issuer.origin}`,
    ]);
  });

  it("reads the token from the configured cookie", async () => {
    const cookie = harness(issuer, { JWT_COOKIE_NAME: "at" });
    const token = await issuer.mintAccessToken();
    const result = await cookie.auth.authenticate(new Headers({ cookie: `x=1; at=${token}` }));
    expect(result.ok && result.source).toBe("cookie");
  });

  it("accepts a configured audience and client id allow-list, and refuses others", async () => {
    const strict = harness(issuer, { AUDIENCE: "https://api.example.com", ALLOWED_CLIENT_IDS: "mobile,web" });
    expect(
      await outcome(
        strict,
        await issuer.mintAccessToken({ claims: { aud: ["https://api.example.com"], client_id: "web" } }),
      ),
    ).toBe("ok");
    expect(
      await outcome(
        strict,
        await issuer.mintAccessToken({ claims: { aud: ["https://api.example.com"], client_id: "other" } }),
      ),
    ).toBe("ERR_JWT_CLAIM_INVALID");
    expect(
      await outcome(
        strict,
        await issuer.mintAccessToken({ claims: { aud: ["https://api.example.com"], client_id: undefined } }),
      ),
    ).toBe("ERR_JWT_CLAIM_INVALID");
    expect(await outcome(strict, await issuer.mintAccessToken())).toBe("ERR_JWT_CLAIM_INVALID");
  });

  it("accepts typ application/at+jwt (RFC 9068 §2.1)", async () => {
    expect(await outcome(h, await issuer.mintAccessToken({ header: { typ: "application/at+jwt" } }))).toBe("ok");
  });
});

describe("claims and time", () => {
  it.each([
    ["an ID token presented as an access token", () => issuer.mintIdToken(), "ERR_JWT_TYPE"],
    ["a token without typ", () => issuer.mintAccessToken({ header: { typ: undefined } }), "ERR_JWT_TYPE"],
    ["typ JWT", () => issuer.mintAccessToken({ header: { typ: "JWT" } }), "ERR_JWT_TYPE"],
    [
      "a wrong issuer",
      () => issuer.mintAccessToken({ claims: { iss: "https://evil.example.com" } }),
      "ERR_JWT_CLAIM_INVALID",
    ],
    [
      "the issuer with a trailing slash",
      () => issuer.mintAccessToken({ claims: { iss: `${issuer.origin}/` } }),
      "ERR_JWT_CLAIM_INVALID",
    ],
    [
      "a wrong audience",
      () => issuer.mintAccessToken({ claims: { aud: ["https://other.example.com"] } }),
      "ERR_JWT_CLAIM_INVALID",
    ],
    ["no audience", () => issuer.mintAccessToken({ claims: { aud: undefined } }), "ERR_JWT_CLAIM_INVALID"],
    ["an expired token", () => issuer.mintAccessToken({ expiresIn: -1 }), "ERR_JWT_EXPIRED"],
    ["no exp", () => issuer.mintAccessToken({ claims: { exp: undefined } }), "ERR_JWT_CLAIM_INVALID"],
    ["no iat", () => issuer.mintAccessToken({ claims: { iat: undefined } }), "ERR_JWT_CLAIM_INVALID"],
    [
      "iat in the future",
      () => issuer.mintAccessToken({ issuedAt: Math.floor(Date.now() / 1000) + 60 }),
      "ERR_JWT_CLAIM_INVALID",
    ],
    [
      "nbf in the future",
      () => issuer.mintAccessToken({ claims: { nbf: Math.floor(Date.now() / 1000) + 60 } }),
      "ERR_JWT_CLAIM_INVALID",
    ],
    ["no sub", () => issuer.mintAccessToken({ claims: { sub: undefined } }), "ERR_JWT_CLAIM_INVALID"],
    [
      "a sub with a line break",
      () => issuer.mintAccessToken({ sub: "alice\r\nx-authgear-user-roles: admin" }),
      "ERR_IDENTITY_CLAIM_INVALID",
    ],
    [
      "roles that are not a string array",
      () => issuer.mintAccessToken({ claims: { "https://authgear.com/claims/user/roles": "admin" } }),
      "ERR_IDENTITY_CLAIM_INVALID",
    ],
    [
      "a role with a comma",
      () => issuer.mintAccessToken({ claims: { "https://authgear.com/claims/user/roles": ["a,admin"] } }),
      "ERR_IDENTITY_CLAIM_INVALID",
    ],
    [
      "is_verified as a string",
      () => issuer.mintAccessToken({ claims: { "https://authgear.com/claims/user/is_verified": "true" } }),
      "ERR_IDENTITY_CLAIM_INVALID",
    ],
    [
      "auth_time as a string",
      () => issuer.mintAccessToken({ claims: { auth_time: "1700000000" } }),
      "ERR_IDENTITY_CLAIM_INVALID",
    ],
    [
      "an unknown crit header",
      () => issuer.mintAccessToken({ header: { crit: ["x-unknown"], "x-unknown": true } }),
      "ERR_JWT_MALFORMED",
    ],
  ])("refuses %s", async (_name, mint, code) => {
    expect(await outcome(h, await mint())).toBe(code);
  });

  it("applies CLOCK_TOLERANCE_SECONDS to exp and iat, and nothing more", async () => {
    const lenient = harness(issuer, { CLOCK_TOLERANCE_SECONDS: "30" });
    const now = Math.floor(Date.now() / 1000);
    expect(await outcome(lenient, await issuer.mintAccessToken({ issuedAt: now - 100, expiresIn: 90 }))).toBe("ok");
    expect(await outcome(lenient, await issuer.mintAccessToken({ issuedAt: now + 20 }))).toBe("ok");
    expect(await outcome(lenient, await issuer.mintAccessToken({ issuedAt: now - 100, expiresIn: 60 }))).toBe(
      "ERR_JWT_EXPIRED",
    );
    expect(await outcome(lenient, await issuer.mintAccessToken({ issuedAt: now + 45 }))).toBe("ERR_JWT_CLAIM_INVALID");
  });
});

describe("named attacks", () => {
  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s", async (alg) => {
    const claims = claimsOf(await issuer.mintAccessToken());
    const header = { alg, typ: "at+jwt", kid: issuer.signingKid };
    expect(await outcome(h, `${b64(header)}.${b64(claims)}.`)).toBe("ERR_JWT_MALFORMED");
    expect(await outcome(h, `${b64(header)}.${b64(claims)}.${b64("x")}`)).toBe("ERR_JWT_ALGORITHM");
  });

  it("refuses HS256 signed with the RSA public key (key confusion)", async () => {
    const claims = claimsOf(await issuer.mintAccessToken());
    const header = { alg: "HS256", typ: "at+jwt", kid: issuer.signingKid };
    const input = `${b64(header)}.${b64(claims)}`;
    const pem = createPublicKey({ key: jwk as never, format: "jwk" }).export({ type: "spki", format: "pem" });
    for (const secret of [pem, JSON.stringify(jwk), Buffer.from(jwk.n!, "base64url")]) {
      const signature = createHmac("sha256", secret).update(input).digest("base64url");
      expect(await outcome(h, `${input}.${signature}`)).toBe("ERR_JWT_ALGORITHM");
    }
  });

  describe("embedded key headers are never used to find a key", () => {
    let attackerServer: Server;
    let attackerUrl: string;
    let attackerHits = 0;
    let attacker: { privateKey: CryptoKey; publicJwk: JWK };

    beforeAll(async () => {
      const pair = await generateKeyPair("RS256", { extractable: true });
      attacker = {
        privateKey: pair.privateKey,
        publicJwk: { ...(await exportJWK(pair.publicKey)), kid: "attacker", alg: "RS256", use: "sig" },
      };
      attackerServer = createServer((_req, res) => {
        attackerHits += 1;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ keys: [attacker.publicJwk] }));
      });
      await new Promise<void>((resolve) => attackerServer.listen(0, "127.0.0.1", resolve));
      attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}/jwks`;
    });
    afterAll(
      () =>
        new Promise<void>((resolve) =>
          attackerServer.close(() => {
            resolve();
          }),
        ),
    );

    async function forged(header: Record<string, unknown>): Promise<string> {
      const claims = claimsOf(await issuer.mintAccessToken());
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", ...header })
        .sign(attacker.privateKey);
    }

    it.each([
      ["jwk", () => ({ jwk: attacker.publicJwk })],
      ["jku", () => ({ jku: attackerUrl, kid: "attacker" })],
      ["x5u", () => ({ x5u: attackerUrl, kid: "attacker" })],
      ["x5c", () => ({ x5c: ["MIIBszCCAVmgAwIBAgIUQ2k="], kid: "attacker" })],
      ["jku with the real kid", () => ({ jku: attackerUrl, kid: issuer.signingKid })],
      ["jwk with the real kid", () => ({ jwk: attacker.publicJwk, kid: issuer.signingKid })],
    ])("refuses an attacker-signed token with an embedded %s", async (_name, header) => {
      const code = await outcome(h, await forged(header()));
      expect(["ERR_JWT_KEY_NOT_FOUND", "ERR_JWT_SIGNATURE"]).toContain(code);
      expect(attackerHits).toBe(0);
      expect(h.fetched.every((url) => url.startsWith(issuer.origin))).toBe(true);
    });

    it("ignores a jku on a genuine token: no fetch of it", async () => {
      expect(await outcome(h, await issuer.mintAccessToken({ header: { jku: attackerUrl, x5u: attackerUrl } }))).toBe(
        "ok",
      );
      expect(attackerHits).toBe(0);
    });
  });

  it.each([
    ["padding", (t: string) => t.replace(/\.([^.]+)$/, ".$1==")],
    ["a trailing newline", (t: string) => `${t}\n`],
    ["a space inside the signature", (t: string) => t.replace(/\.(.{10})/, ".$1 ")],
    ["standard base64 characters", (t: string) => t.replace(/-/g, "+").replace(/_/g, "/")],
    ["four segments", (t: string) => `${t}.x`],
    ["an empty payload segment", (t: string) => t.replace(/\.[^.]+\./, "..")],
  ])("refuses a non-canonical or malformed serialization: %s", async (_name, mutate) => {
    const token = await issuer.mintAccessToken();
    const mutated = mutate(token);
    const result = await h.auth.verifyToken(mutated).then(
      () => "ok",
      (error: unknown) => (error as { code: string }).code,
    );
    expect(result).not.toBe("ok");
  });

  it("refuses non-zero trailing bits in the signature's last character", async () => {
    const token = await issuer.mintAccessToken();
    // A 256-byte RSA signature is 342 base64url characters: the last holds 2 unused bits.
    const last = token.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    expect(twin).not.toBe(last);
    expect(Buffer.from(`${token.slice(0, -1)}${twin}`.split(".")[2]!, "base64url")).toEqual(
      Buffer.from(token.split(".")[2]!, "base64url"),
    );
    expect(await outcome(h, `${token.slice(0, -1)}${twin}`)).toBe("ERR_JWT_MALFORMED");
    expect(await outcome(h, token)).toBe("ok");
  });

  it("tells an opaque token (no dots) from a broken JWT in its description", async () => {
    const session = issuer.createSession("olive");
    const opaque = await h.auth.authenticate(bearer(session.opaqueAccessToken));
    expect(opaque.ok ? undefined : [opaque.error.code, opaque.error.message]).toEqual([
      "ERR_JWT_MALFORMED",
      "The access token is not a JWT (an opaque token?); this API accepts JWT access tokens only.",
    ]);
    const broken = await h.auth.authenticate(bearer("a.b"));
    expect(broken.ok ? undefined : [broken.error.code, broken.error.message]).toEqual([
      "ERR_JWT_MALFORMED",
      "The access token is not a well-formed JWT.",
    ]);
  });

  it("refuses an oversized token before any verification work", async () => {
    const verify = vi.spyOn(crypto.subtle, "verify");
    const token = await issuer.mintAccessToken({ claims: { pad: "x".repeat(MAX_CREDENTIAL_LENGTH) } });
    const result = await h.auth.authenticate(bearer(token));
    expect(result.ok || result.error.code).toBe("ERR_REQUEST_MALFORMED");
    expect(verify).not.toHaveBeenCalled();
    expect(h.fetched).toEqual([]);
    verify.mockRestore();
  });

  it("1000 random kids in a burst cause at most one key-set fetch per cooldown", async () => {
    await outcome(h, await issuer.mintAccessToken());
    h.advance(31);
    const before = issuer.hits.jwks;
    const claims = claimsOf(await issuer.mintAccessToken());
    const tokens = Array.from(
      { length: 1000 },
      () => `${b64({ alg: "RS256", typ: "at+jwt", kid: randomUUID() })}.${b64(claims)}.${b64("sig")}`,
    );
    const results = await Promise.all(tokens.map((token) => outcome(h, token)));
    expect(new Set(results)).toEqual(new Set(["ERR_JWT_KEY_NOT_FOUND"]));
    expect(issuer.hits.jwks - before).toBe(1);
    const again = await Promise.all(tokens.slice(0, 100).map((token) => outcome(h, token)));
    expect(new Set(again)).toEqual(new Set(["ERR_JWT_KEY_NOT_FOUND"]));
    expect(issuer.hits.jwks - before).toBe(1);
  });

  it("a signature from an unpublished key of the same kid is refused", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const claims = claimsOf(await issuer.mintAccessToken());
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: issuer.signingKid })
      .sign(privateKey);
    expect(await outcome(h, token)).toBe("ERR_JWT_SIGNATURE");
  });
});

describe("a bad configuration", () => {
  it("is logged once, naming every bad key, and returned instead of an authenticator", async () => {
    const logs: Array<Record<string, unknown>> = [];
    const built = createAuthenticatorFromEnv(
      { AUTHGEAR_ENDPOINT: "http://example.com", ALGORITHMS: "HS256" },
      { logger: { log: (event, fields) => logs.push({ event, ...fields }) } },
    );
    expect(built.ok || built.error.code).toBe("ERR_CONFIG_INVALID");
    expect(logs).toEqual([expect.objectContaining({ event: "config_invalid", keys: "AUTHGEAR_ENDPOINT,ALGORITHMS" })]);
    const good = createAuthenticatorFromEnv(
      { AUTHGEAR_ENDPOINT: issuer.origin },
      { logger: { log: (event, fields) => logs.push({ event, ...fields }) } },
    );
    expect(good.ok && (await good.authenticator.authenticate(bearer(await issuer.mintAccessToken()))).ok).toBe(true);
    expect(logs.filter((line) => line.event === "config_invalid")).toHaveLength(1);
  });
});

describe("no credential value reaches a log or an error", () => {
  it("keeps tokens out of every refusal and log line", async () => {
    const tokens = [
      await issuer.mintAccessToken({ expiresIn: -10 }),
      await issuer.mintIdToken(),
      (await issuer.mintAccessToken()).slice(0, -4) + "AAAA",
    ];
    for (const token of tokens) {
      const result = await h.auth.authenticate(bearer(token));
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      const signature = token.split(".")[2]!;
      expect(result.error.message).not.toContain(signature.slice(0, 16));
      expect(JSON.stringify(h.logs)).not.toContain(signature.slice(0, 16));
    }
  });
});
