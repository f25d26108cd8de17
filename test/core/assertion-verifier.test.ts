/**
 * createAssertionVerifier (authgear-edge/assertion) against assertions signed here with jose's
 * SignJWT to the documented format, the gate's keys served by a real JWKS server on 127.0.0.1.
 * Every refusal is checked for its code and for a message that does not quote the assertion.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { CompactSign, exportJWK, exportSPKI, importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AssertionVerificationError,
  createAssertionVerifier,
  type AssertionVerifier,
  type AssertionVerifierOptions,
} from "../../src/assertion/index.ts";
import {
  AUDIENCE,
  clientClaims,
  ISSUER,
  nowSeconds,
  sign,
  signingKey,
  startJwksServer,
  unsigned,
  userClaims,
  verifiedUserClaims,
  type JwksServer,
  type SigningKey,
} from "../assertion-fixtures.ts";

let gate: SigningKey;
let next: SigningKey;
let attacker: SigningKey;
let jwks: JwksServer;
let verifier: AssertionVerifier;

beforeAll(async () => {
  // The attacker's key has the gate's kid: only the signature tells them apart.
  [gate, next, attacker] = await Promise.all([signingKey("gate-1"), signingKey("gate-2"), signingKey("gate-1")]);
  jwks = await startJwksServer([gate.jwk, next.jwk]);
  verifier = verifierWith({});
});
afterAll(() => jwks.close());

/** A verifier of the test's gate, `jwksUrl` and all, with `options` on top. */
function verifierWith(options: Partial<AssertionVerifierOptions>): AssertionVerifier {
  const all = { jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE, ...options };
  return createAssertionVerifier(all as AssertionVerifierOptions);
}

/** A user's assertion signed by the gate's key: `claims` and `header` override the usual ones. */
const byGate = (claims: Record<string, unknown> = {}, header?: Record<string, unknown>) =>
  sign(gate, userClaims(claims), header);

const INVALID = "ERR_ASSERTION_INVALID";

/** "ok", or the refusal's code; a refusal's message must not quote any part of the assertion. */
async function outcome(token: string, by: AssertionVerifier = verifier): Promise<string> {
  try {
    await by.verify(token);
    return "ok";
  } catch (error) {
    if (!(error instanceof AssertionVerificationError)) throw error;
    for (const part of token.split(".").filter((segment) => segment.length > 8)) {
      expect(`${error.message} ${String(error)}`).not.toContain(part);
    }
    return error.code;
  }
}

describe("a good assertion", () => {
  it("gives a user's claims, typed: scope split, the lists and flags as signed", async () => {
    const claims = userClaims();
    expect(await verifier.verify(await sign(gate, claims))).toEqual(verifiedUserClaims(claims));
  });

  it("gives a machine client's claims as a client, never as a user", async () => {
    const claims = clientClaims();
    const verified = await verifier.verify(await sign(gate, claims));
    expect(verified).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "client_id_reporting",
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      kind: "client",
      token_iss: "https://myapp.authgear.cloud",
      scope: ["reports.read"],
      client_id: "reporting",
    });
    expect(verified).not.toHaveProperty("roles");
  });

  it("reads what a user's assertion leaves out as absent, empty or false, never as granted", async () => {
    const absent = { scope: undefined, client_id: undefined, auth_time: undefined, roles: undefined, amr: undefined };
    const claims = userClaims({ ...absent, is_anonymous: undefined, is_verified: undefined });
    expect(await verifier.verify(await sign(gate, claims))).toMatchObject({
      scope: [],
      client_id: undefined,
      auth_time: undefined,
      roles: [],
      amr: [],
      is_anonymous: false,
      is_verified: false,
    });
  });

  it("is accepted from the second key of the set, and under ES384 and EdDSA", async () => {
    expect(await outcome(await sign(next, userClaims()))).toBe("ok");
    const [es384, eddsa] = await Promise.all([signingKey("es384", "ES384"), signingKey("ed", "EdDSA")]);
    const keys = { keys: [es384.jwk, eddsa.jwk] };
    const local = createAssertionVerifier({ keys, issuer: ISSUER, audience: AUDIENCE });
    expect(await outcome(await sign(es384, userClaims()), local)).toBe("ok");
    expect(await outcome(await sign(eddsa, userClaims()), local)).toBe("ok");
  });

  it("returns a frozen object", async () => {
    const verified = await verifier.verify(await byGate());
    expect(Object.isFrozen(verified)).toBe(true);
    expect(Object.isFrozen(verified.scope)).toBe(true);
  });
});

describe("refusals", () => {
  it("a missing header (undefined, null, empty) is ERR_ASSERTION_MISSING, not a crash", async () => {
    for (const value of [undefined, null, ""]) {
      await expect(verifier.verify(value)).rejects.toMatchObject({ code: "ERR_ASSERTION_MISSING" });
    }
  });

  it("a client-forged assertion (another key, the gate's kid) is refused", async () => {
    expect(await outcome(await sign(attacker, userClaims()))).toBe(INVALID);
    // The gate's header and payload under the attacker's signature, and the reverse.
    const good = (await byGate()).split(".");
    const forged = (await sign(attacker, userClaims({ roles: ["admin", "root"] }))).split(".");
    expect(await outcome(`${forged[0]!}.${forged[1]!}.${good[2]!}`)).toBe(INVALID);
    expect(await outcome(`${good[0]!}.${good[1]!}.${forged[2]!}`)).toBe(INVALID);
  });

  it("an expired one is ERR_ASSERTION_EXPIRED; within the 5 s tolerance it is still accepted", async () => {
    const now = nowSeconds();
    expect(await outcome(await byGate({ iat: now - 67, exp: now - 7 }))).toBe("ERR_ASSERTION_EXPIRED");
    expect(await outcome(await byGate({ iat: now - 63, exp: now - 3 }))).toBe("ok");
  });

  it("one issued in the future is refused; 3 s ahead (within tolerance) is accepted", async () => {
    const now = nowSeconds();
    expect(await outcome(await byGate({ iat: now + 30, exp: now + 60 }))).toBe(INVALID);
    expect(await outcome(await byGate({ iat: now + 3, exp: now + 60 }))).toBe("ok");
  });

  it("one for another audience, or with aud as a list, is refused", async () => {
    expect(await outcome(await byGate({ aud: "https://other.example" }))).toBe(INVALID);
    expect(await outcome(await byGate({ aud: [AUDIENCE] }))).toBe(INVALID);
    expect(await outcome(await byGate({ aud: `${AUDIENCE}/` }))).toBe(INVALID);
  });

  it("one from another issuer is refused", async () => {
    expect(await outcome(await byGate({ iss: "https://other-gate.example" }))).toBe(INVALID);
    expect(await outcome(await byGate({ iss: `${ISSUER}/` }))).toBe(INVALID);
  });

  it("a wrong typ is refused: an access token (at+jwt) never passes, even signed by the gate's key", async () => {
    for (const typ of ["at+jwt", "JWT", "application/at+jwt", undefined]) {
      expect(await outcome(await byGate({}, { typ })), String(typ)).toBe(INVALID);
    }
    // typ is a media type: the `application/` prefix may be left out and its case does not matter (RFC 7515 §4.1.9).
    expect(await outcome(await byGate({}, { typ: "application/Authgear-Edge+JWT" }))).toBe("ok");
  });

  it("alg none is refused, with or without a signature", async () => {
    const header = { alg: "none", kid: "gate-1", typ: "authgear-edge+jwt" };
    expect(await outcome(unsigned(header, userClaims()))).toBe("ERR_ASSERTION_MALFORMED");
    expect(await outcome(unsigned(header, userClaims(), "c2lnbmF0dXJl"))).toBe(INVALID);
    expect(await outcome(unsigned({ ...header, alg: "NONE" }, userClaims(), "c2lnbmF0dXJl"))).toBe(INVALID);
  });

  it("HS256 with the gate's public key as the secret (JWK JSON, PEM, x coordinate) is refused", async () => {
    const { x } = gate.jwk;
    const secrets = [JSON.stringify(gate.jwk), await exportSPKI((await importJWK(gate.jwk, "ES256")) as CryptoKey), x!];
    for (const secret of secrets) {
      const token = await new SignJWT(userClaims())
        .setProtectedHeader({ alg: "HS256", kid: "gate-1", typ: "authgear-edge+jwt" })
        .sign(new TextEncoder().encode(secret));
      expect(await outcome(token)).toBe(INVALID);
    }
  });

  it("an asymmetric algorithm outside the list (RS256) is refused even when its key is in the set", async () => {
    const rsa = await signingKey("rsa", "RS256");
    const local = createAssertionVerifier({ keys: [gate.jwk, rsa.jwk], issuer: ISSUER, audience: AUDIENCE });
    expect(await outcome(await sign(rsa, userClaims()), local)).toBe(INVALID);
  });

  it("a lifetime over 60 s + tolerance is refused; exactly 60 + 5 is accepted; 60 with no tolerance", async () => {
    const now = nowSeconds();
    expect(await outcome(await byGate({ iat: now, exp: now + 66 }))).toBe(INVALID);
    expect(await outcome(await byGate({ iat: now, exp: now + 65 }))).toBe("ok");
    expect(await outcome(await byGate({ iat: now, exp: now + 3600 }))).toBe(INVALID);
    const strict = verifierWith({ clockToleranceSeconds: 0 });
    expect(await outcome(await byGate({ iat: now, exp: now + 61 }), strict)).toBe(INVALID);
    expect(await outcome(await byGate({ iat: now, exp: now + 60 }), strict)).toBe("ok");
    const shorter = verifierWith({ maxLifetimeSeconds: 30 });
    expect(await outcome(await byGate({ iat: now, exp: now + 36 }), shorter)).toBe(INVALID);
    expect(await outcome(await byGate({ iat: now, exp: now + 35 }), shorter)).toBe("ok");
  });

  it("one without exp, iat, jti, sub, aud, token_iss or kind is refused", async () => {
    for (const claim of ["exp", "iat", "jti", "sub", "aud", "token_iss", "kind"]) {
      expect(await outcome(await byGate({ [claim]: undefined })), claim).toBe(INVALID);
    }
  });

  it("a claim of the wrong type is refused, never handed on", async () => {
    const wrong: Array<Record<string, unknown>> = [
      { kind: "admin" },
      { kind: "User" },
      { roles: "admin" },
      { roles: ["admin", 1] },
      { amr: "pwd" },
      { is_anonymous: "false" },
      { is_verified: 1 },
      { auth_time: "yesterday" },
      { scope: ["openid"] },
      { client_id: 7 },
      { client_id: "" },
      { token_iss: 1 },
      { sub: "" },
      { jti: "" },
    ];
    for (const claims of wrong) {
      expect(await outcome(await byGate(claims)), JSON.stringify(claims)).toBe(INVALID);
    }
    // A client without its client_id.
    expect(await outcome(await sign(gate, clientClaims({ client_id: undefined })))).toBe(INVALID);
  });

  it("a malformed value is ERR_ASSERTION_MALFORMED: segments, padding, whitespace, two copies", async () => {
    const good = await byGate();
    const [head, body, signature] = good.split(".") as [string, string, string];
    const values = [
      "garbage",
      `${head}.${body}`,
      `${good}.x`,
      `${head}.${body}.${signature}=`,
      ` ${good}`,
      `${head}.${body}. ${signature}`,
      `${good}, ${good}`,
      `${head}.${body}.${signature.slice(0, -1)}${tweakLastBits(signature)}`,
      "a".repeat(9000),
    ];
    for (const value of values) expect(await outcome(value), value.slice(0, 40)).toBe("ERR_ASSERTION_MALFORMED");
    // Signed by the gate, but a payload that is not a JSON object.
    const list = await new CompactSign(new TextEncoder().encode("[1]"))
      .setProtectedHeader({ alg: "ES256", kid: "gate-1", typ: "authgear-edge+jwt" })
      .sign(gate.privateKey);
    expect(await outcome(list)).toBe("ERR_ASSERTION_MALFORMED");
  });
});

describe("the gate's key set", () => {
  const timedVerifier = (url: string, timing: NonNullable<AssertionVerifierOptions["jwks"]>) =>
    createAssertionVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, jwks: timing });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("a key rotated out: accepted while published, refused once the set without it is fetched", async () => {
    const server = await startJwksServer([gate.jwk, next.jwk]);
    try {
      const rotating = timedVerifier(server.url, { maxAgeSeconds: 0.5 });
      const old = await byGate();
      expect(await outcome(old, rotating)).toBe("ok");
      // The gate now signs with `next` and has stopped publishing `gate`: while the fetched set is
      // fresh the old key still verifies (what maxAgeSeconds bounds), then it no longer does.
      server.serve([next.jwk]);
      expect(await outcome(old, rotating)).toBe("ok");
      await sleep(600);
      expect(await outcome(old, rotating)).toBe(INVALID);
      expect(await outcome(await byGate(), rotating)).toBe(INVALID);
      expect(await outcome(await sign(next, userClaims()), rotating)).toBe("ok");
      expect(server.fetches()).toBeGreaterThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it("a new key's kid fetches the set again, at most once per cooldown however many unknown kids arrive", async () => {
    const server = await startJwksServer([gate.jwk]);
    try {
      const rotating = timedVerifier(server.url, { cooldownSeconds: 1.5 });
      const kids = Array.from({ length: 10 }, (_, i) => `kid-${i}`);
      const madeUp = await Promise.all(kids.map((kid) => sign({ ...attacker, kid }, userClaims())));
      const fromNext = await sign(next, userClaims());
      expect(await outcome(await byGate(), rotating)).toBe("ok");
      server.serve([gate.jwk, next.jwk]);
      // Within the cooldown: refused, and no fetch, whatever kids a client makes up.
      for (const token of madeUp) expect(await outcome(token, rotating)).toBe(INVALID);
      expect(await outcome(fromNext, rotating)).toBe(INVALID);
      expect(server.fetches()).toBe(1);
      await sleep(1600);
      expect(await outcome(await sign(next, userClaims()), rotating)).toBe("ok");
      expect(server.fetches()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("a set that cannot be fetched is ERR_ASSERTION_KEYS_UNAVAILABLE: error status, closed port, timeout", async () => {
    const server = await startJwksServer([gate.jwk]);
    const token = await byGate();
    server.serve(500);
    expect(await outcome(token, timedVerifier(server.url, {}))).toBe("ERR_ASSERTION_KEYS_UNAVAILABLE");
    await server.close();
    expect(await outcome(token, timedVerifier(server.url, {}))).toBe("ERR_ASSERTION_KEYS_UNAVAILABLE");
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/jwks.json`;
      expect(await outcome(token, timedVerifier(url, { timeoutMs: 200 }))).toBe("ERR_ASSERTION_KEYS_UNAVAILABLE");
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe("verifyRequest", () => {
  it("reads the header from a Fetch Request, in any case of its name", async () => {
    const token = await byGate();
    const request = new Request("https://origin.example/", { headers: { "X-Authgear-Edge-Assertion": token } });
    await expect(verifier.verifyRequest(request)).resolves.toMatchObject({ sub: "alice" });
    const without = new Request("https://origin.example/");
    await expect(verifier.verifyRequest(without)).rejects.toMatchObject({ code: "ERR_ASSERTION_MISSING" });
  });

  it("reads it from a Node IncomingMessage; a request carrying it twice is refused", async () => {
    const results: string[] = [];
    const server = createServer((request, response) => {
      verifier
        .verifyRequest(request)
        .then(
          (verified) => results.push(verified.sub),
          (error: unknown) => results.push((error as AssertionVerificationError).code),
        )
        .finally(() => response.end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const token = await byGate();
      await fetch(url, { headers: { "x-authgear-edge-assertion": token } });
      await fetch(url);
      // Two header lines, as no Fetch client sends them: Node joins them into one value.
      const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
      const line = `x-authgear-edge-assertion: ${token}\r\n`;
      socket.end(`GET / HTTP/1.1\r\nhost: origin.example\r\n${line}${line}connection: close\r\n\r\n`);
      socket.resume();
      await once(socket, "close");
      expect(results).toEqual(["alice", "ERR_ASSERTION_MISSING", "ERR_ASSERTION_MALFORMED"]);
    } finally {
      server.close();
    }
  });

  it("reads the configured header name; an array value (two copies) is refused", async () => {
    const token = await byGate();
    const custom = verifierWith({ header: "X-Edge-Identity" });
    expect(custom.header).toBe("x-edge-identity");
    const code = (headers: Record<string, string | string[]>) =>
      custom.verifyRequest({ headers }).then(
        () => "ok",
        (error: unknown) => (error as AssertionVerificationError).code,
      );
    expect(await code({ "x-edge-identity": token })).toBe("ok");
    expect(await code({ "x-authgear-edge-assertion": token })).toBe("ERR_ASSERTION_MISSING");
    expect(await code({ "x-edge-identity": [token, token] })).toBe("ERR_ASSERTION_MALFORMED");
  });
});

describe("options, checked once when the verifier is made", () => {
  const base = { issuer: ISSUER, audience: AUDIENCE };

  it("refuses what would weaken it or cannot work", async () => {
    const privateKey = await exportJWK(gate.privateKey);
    const bad: unknown[] = [
      { ...base, jwksUrl: "http://gate.example/jwks.json" },
      { ...base, jwksUrl: "not a url" },
      { ...base },
      { ...base, jwksUrl: jwks.url, keys: [gate.jwk] },
      { ...base, keys: [] },
      { ...base, keys: [privateKey] },
      { ...base, keys: [{ kty: "oct", k: "c2VjcmV0" }] },
      { jwksUrl: jwks.url, audience: AUDIENCE },
      { jwksUrl: jwks.url, issuer: ISSUER, audience: "" },
      { ...base, jwksUrl: jwks.url, clockToleranceSeconds: 61 },
      { ...base, jwksUrl: jwks.url, clockToleranceSeconds: -1 },
      { ...base, jwksUrl: jwks.url, clockToleranceSeconds: 1.5 },
      { ...base, jwksUrl: jwks.url, maxLifetimeSeconds: 61 },
      { ...base, jwksUrl: jwks.url, maxLifetimeSeconds: 0 },
      { ...base, jwksUrl: jwks.url, header: "x edge" },
      { ...base, jwksUrl: jwks.url, jwks: { cooldownSeconds: -1 } },
    ];
    for (const options of bad) {
      const make = () => createAssertionVerifier(options as AssertionVerifierOptions);
      expect(make, JSON.stringify(options)).toThrow(TypeError);
    }
  });

  it("takes a list of keys, a JWKS, https and loopback URLs", () => {
    for (const options of [
      { ...base, keys: [gate.jwk] },
      { ...base, keys: { keys: [gate.jwk] } },
      { ...base, jwksUrl: "https://gate.example/.well-known/authgear-edge/jwks.json" },
      { ...base, jwksUrl: new URL("http://localhost:8787/.well-known/authgear-edge/jwks.json") },
    ] as AssertionVerifierOptions[]) {
      expect(createAssertionVerifier(options).header).toBe("x-authgear-edge-assertion");
    }
  });
});

/** The last character of a base64url segment with its unused low bits set: the same bytes, a second spelling. */
function tweakLastBits(segment: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const index = alphabet.indexOf(segment.at(-1)!);
  return alphabet.charAt(segment.length % 4 === 2 ? index | 0b1111 : index | 0b11);
}
