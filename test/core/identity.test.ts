import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/core/errors.ts";
import {
  CLIENT_MARKS,
  identityFromClaims,
  identityHeaders,
  isIdentityHeaderName,
  type ClientMarks,
} from "../../src/core/identity.ts";

const USER = "https://authgear.com/claims/user/";
const ISSUER = "https://project.authgear.cloud";

describe("identity", () => {
  it("maps Authgear's claims to the resolver's header set", () => {
    const identity = identityFromClaims(
      {
        sub: "c0ffee",
        auth_time: 1_700_000_000,
        amr: ["pwd", "otp"],
        client_id: "web",
        scope: "openid  email",
        [`${USER}is_anonymous`]: true,
        [`${USER}is_verified`]: false,
        [`${USER}can_reauthenticate`]: true,
        [`${USER}roles`]: [],
      },
      ISSUER,
    );
    expect(identity.scopes).toEqual(["openid", "email"]);
    expect(Object.fromEntries(identityHeaders(identity))).toEqual({
      "x-authgear-session-valid": "true",
      "x-authgear-user-id": "c0ffee",
      "x-authgear-user-anonymous": "true",
      "x-authgear-user-verified": "false",
      "x-authgear-user-can-reauthenticate": "true",
      "x-authgear-session-amr": "pwd otp",
      "x-authgear-session-authenticated-at": "1700000000",
      "x-authgear-edge-kind": "user",
      "x-authgear-edge-issuer": ISSUER,
    });
  });

  it("builds the headers once per identity object, the same as for a fresh equal identity", () => {
    const claims = { sub: "u1", auth_time: 1_700_000_000, amr: ["pwd"], [`${USER}roles`]: ["a", "b"] };
    const identity = identityFromClaims(claims, ISSUER);
    const first = identityHeaders(identity);
    expect(identityHeaders(identity)).toBe(first);
    expect(identityHeaders(identityFromClaims(claims, ISSUER))).toEqual(first);
    expect(first.map(([name, value]) => `${name}: ${value}`)).toEqual([
      "x-authgear-session-valid: true",
      "x-authgear-user-id: u1",
      "x-authgear-user-anonymous: false",
      "x-authgear-user-verified: false",
      "x-authgear-user-can-reauthenticate: false",
      "x-authgear-user-roles: a,b",
      "x-authgear-session-amr: pwd",
      "x-authgear-session-authenticated-at: 1700000000",
      "x-authgear-edge-kind: user",
      `x-authgear-edge-issuer: ${ISSUER}`,
    ]);
  });

  it.each([
    ["sub", { sub: "" }],
    ["sub", { sub: " padded" }],
    ["sub", { sub: "a\u0000b" }],
    ["sub", { sub: "ünïcode" }],
    ["sub", { sub: "x".repeat(256) }],
    ["sub", { sub: 42 }],
    ["auth_time", { sub: "u", auth_time: -1 }],
    ["auth_time", { sub: "u", auth_time: 1.5 }],
    ["amr", { sub: "u", amr: "pwd" }],
    ["amr", { sub: "u", amr: ["p w d"] }],
    ["roles", { sub: "u", [`${USER}roles`]: [1] }],
    ["roles", { sub: "u", [`${USER}roles`]: [""] }],
    ["client_id", { sub: "u", client_id: 7 }],
    ["scope", { sub: "u", scope: ["openid"] }],
    [`${USER}is_anonymous`, { sub: "u", [`${USER}is_anonymous`]: "false" }],
  ])("refuses a bad %s", (claim, payload) => {
    let error: unknown;
    try {
      identityFromClaims(payload as JWTPayload, ISSUER);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("ERR_IDENTITY_CLAIM_INVALID");
    expect((error as AuthError).message).toContain(claim);
  });
});

/** The code and message of what `identityFromClaims` throws; `undefined` when it returns. */
function refusal(payload: JWTPayload, marks?: ClientMarks): { code: string; message: string } | undefined {
  try {
    identityFromClaims(payload, ISSUER, marks);
  } catch (caught) {
    if (!(caught instanceof AuthError)) throw caught;
    return { code: caught.code, message: caught.message };
  }
  return undefined;
}

/** A client-credentials token's claims as authgear-server's `EncodeClientAccessToken` sets them. */
const M2M = {
  iss: ISSUER,
  aud: ["https://api.example.com"],
  sub: "client_id_svc",
  client_id: "svc",
  scope: "read:orders write:orders",
  jti: "0b1d",
  iat: 1_700_000_000,
  exp: 1_700_003_600,
};

/** Every claim only a user's token carries, with a value a user's token could hold. */
const USER_CLAIMS: ReadonlyArray<readonly [string, unknown]> = [
  ["auth_time", 1_700_000_000],
  ["amr", ["pwd"]],
  [`${USER}is_anonymous`, false],
  [`${USER}is_verified`, true],
  [`${USER}can_reauthenticate`, false],
  [`${USER}roles`, ["admin"]],
];

describe("the claims an identity carries", () => {
  it("hands the application every verified claim, custom ones included, frozen all the way down", () => {
    const org = { id: ["o1"] };
    const payload = { sub: "u1", exp: 1_800_000_000, email: "a@example.com", "https://app.example/org": org };
    const identity = identityFromClaims(payload, ISSUER);
    expect(identity).toMatchObject({ source: "jwt", expiresAt: 1_800_000_000 });
    expect(identity.claims).toEqual(payload);
    const nested = identity.claims["https://app.example/org"] as { id: string[] };
    expect(() => nested.id.push("o2")).toThrow(TypeError);
    expect(() => {
      (identity.claims as Record<string, unknown>).email = "b@example.com";
    }).toThrow(TypeError);
    expect(identity.claims.email).toBe("a@example.com");
  });

  it("gives a client's token its claims too", () => {
    const identity = identityFromClaims({ sub: "client_id_svc", client_id: "svc", exp: 9, tenant: "t1" }, ISSUER);
    expect(identity).toMatchObject({ kind: "client", source: "jwt", expiresAt: 9, claims: { tenant: "t1" } });
  });
});

describe("identity of a machine client", () => {
  it("recognises Authgear's client-credentials token (sub = client_id_ + client_id) by default", () => {
    const identity = identityFromClaims(M2M, ISSUER);
    expect(identity).toEqual({
      kind: "client",
      issuer: ISSUER,
      subject: "client_id_svc",
      clientId: "svc",
      scopes: ["read:orders", "write:orders"],
      source: "jwt",
      claims: M2M,
      expiresAt: M2M.exp,
    });
    expect(identityFromClaims(M2M, ISSUER, "authgear")).toEqual(identity);
  });

  it("recognises an RFC 9068 client token (sub = client_id) under clientMarks rfc9068 only", () => {
    const token = { ...M2M, sub: "svc" };
    expect(identityFromClaims(token, ISSUER, "rfc9068")).toEqual({
      kind: "client",
      issuer: ISSUER,
      subject: "svc",
      clientId: "svc",
      scopes: ["read:orders", "write:orders"],
      source: "jwt",
      claims: token,
      expiresAt: M2M.exp,
    });
    // Under Authgear's marks a sub equal to client_id is a user's id, as Authgear never issues one to a client.
    expect(identityFromClaims(token, ISSUER, "authgear").kind).toBe("user");
    // Under RFC 9068's marks, a client_id_ sub that differs from client_id is a user's id like any other.
    expect(identityFromClaims(M2M, ISSUER, "rfc9068").kind).toBe("user");
  });

  it.each([
    ["another client's id", { client_id: "other" }],
    ["no client_id", { client_id: undefined }],
    ["a longer sub", { sub: "client_id_svc2" }],
    ["the bare prefix", { sub: "client_id_" }],
  ])("refuses a client_id_ sub with %s", (_case, change) => {
    expect(refusal({ ...M2M, ...change })).toEqual({
      code: "ERR_JWT_CLAIM_INVALID",
      message: "The token's sub names a client, but not its client_id.",
    });
  });

  it("refuses an RFC 9068 client token with a sub other than its client_id as a client, taking it for a user", () => {
    const identity = identityFromClaims({ ...M2M, sub: "svc2" }, ISSUER, "rfc9068");
    expect(identity).toMatchObject({ kind: "user", userId: "svc2" });
  });

  it.each(USER_CLAIMS)("refuses a client's token that also carries the user claim %s", (claim, value) => {
    const expected = {
      code: "ERR_JWT_CLAIM_INVALID",
      message: "The token names a client as its sub but carries user claims.",
    };
    expect(refusal({ ...M2M, [claim]: value })).toEqual(expected);
    expect(refusal({ ...M2M, sub: "svc", [claim]: value }, "rfc9068")).toEqual(expected);
  });

  it("never makes a client of a token with a user claim, whatever its sub and client_id", () => {
    let checked = 0;
    for (const sub of ["u1", "svc", "client_id_svc", "client_id_"]) {
      for (const clientId of [undefined, "svc", "web"]) {
        for (const marks of CLIENT_MARKS) {
          for (const [claim, value] of USER_CLAIMS) {
            const payload = { sub, client_id: clientId, [claim]: value };
            const outcome = refusal(payload, marks) ?? identityFromClaims(payload, ISSUER, marks).kind;
            expect(outcome, JSON.stringify({ payload, marks })).not.toBe("client");
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBe(4 * 3 * 2 * USER_CLAIMS.length);
  });

  it("keeps an Authgear user's token a user, with its client_id and scope", () => {
    const claims = { sub: "c0ffee", client_id: "web", scope: "openid", auth_time: 1_700_000_000 };
    expect(identityFromClaims(claims, ISSUER)).toMatchObject({
      kind: "user",
      userId: "c0ffee",
      subject: "c0ffee",
      clientId: "web",
      scopes: ["openid"],
    });
  });

  it("refuses a client's scope that cannot travel in a header", () => {
    expect(refusal({ ...M2M, scope: 'read "all"' })).toEqual({
      code: "ERR_IDENTITY_CLAIM_INVALID",
      message: "The token's scope claim is invalid.",
    });
  });

  it("hands the origin exactly the kind, issuer, client id and scope: nothing that names a user or a session", () => {
    const lines = (payload: JWTPayload): string[] =>
      identityHeaders(identityFromClaims(payload, ISSUER)).map(([name, value]) => `${name}: ${value}`);
    expect(lines(M2M)).toEqual([
      "x-authgear-edge-kind: client",
      `x-authgear-edge-issuer: ${ISSUER}`,
      "x-authgear-edge-client-id: svc",
      "x-authgear-edge-scope: read:orders write:orders",
    ]);
    expect(lines({ ...M2M, scope: undefined })).toEqual([
      "x-authgear-edge-kind: client",
      `x-authgear-edge-issuer: ${ISSUER}`,
      "x-authgear-edge-client-id: svc",
    ]);
  });
});

describe("isIdentityHeaderName", () => {
  it.each([
    "x-authgear-user-id",
    "X-Authgear-Session-Valid",
    "x_authgear_user_roles",
    "x.authgear.user.id",
    "X_AUTHGEAR-x",
    "x-authgear-",
  ])("recognizes %s", (name) => {
    expect(isIdentityHeaderName(name)).toBe(true);
  });
  it.each(["x-authgearx", "authgear-user-id", "xx-authgear-user-id", "x-auth-gear-user-id", "x-request-id"])(
    "ignores %s",
    (name) => {
      expect(isIdentityHeaderName(name)).toBe(false);
    },
  );
});
