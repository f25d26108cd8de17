import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/core/errors.ts";
import { identityFromClaims, identityHeaders, isIdentityHeaderName } from "../../src/core/identity.ts";

const USER = "https://authgear.com/claims/user/";

describe("identity", () => {
  it("maps Authgear's claims to the resolver's header set", () => {
    const identity = identityFromClaims({
      sub: "c0ffee",
      auth_time: 1_700_000_000,
      amr: ["pwd", "otp"],
      client_id: "web",
      scope: "openid  email",
      [`${USER}is_anonymous`]: true,
      [`${USER}is_verified`]: false,
      [`${USER}can_reauthenticate`]: true,
      [`${USER}roles`]: [],
    });
    expect(identity.scopes).toEqual(["openid", "email"]);
    expect(Object.fromEntries(identityHeaders(identity))).toEqual({
      "x-authgear-session-valid": "true",
      "x-authgear-user-id": "c0ffee",
      "x-authgear-user-anonymous": "true",
      "x-authgear-user-verified": "false",
      "x-authgear-user-can-reauthenticate": "true",
      "x-authgear-session-amr": "pwd otp",
      "x-authgear-session-authenticated-at": "1700000000",
    });
  });

  it("builds the headers once per identity object, the same as for a fresh equal identity", () => {
    const claims = { sub: "u1", auth_time: 1_700_000_000, amr: ["pwd"], [`${USER}roles`]: ["a", "b"] };
    const identity = identityFromClaims(claims);
    const first = identityHeaders(identity);
    expect(identityHeaders(identity)).toBe(first);
    expect(identityHeaders(identityFromClaims(claims))).toEqual(first);
    expect(first.map(([name, value]) => `${name}: ${value}`)).toEqual([
      "x-authgear-session-valid: true",
      "x-authgear-user-id: u1",
      "x-authgear-user-anonymous: false",
      "x-authgear-user-verified: false",
      "x-authgear-user-can-reauthenticate: false",
      "x-authgear-user-roles: a,b",
      "x-authgear-session-amr: pwd",
      "x-authgear-session-authenticated-at: 1700000000",
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
      identityFromClaims(payload as JWTPayload);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("ERR_IDENTITY_CLAIM_INVALID");
    expect((error as AuthError).message).toContain(claim);
  });
});

describe("isIdentityHeaderName", () => {
  it.each(["x-authgear-user-id", "X-Authgear-Session-Valid", "x_authgear_user_roles", "x.authgear.user.id", "X_AUTHGEAR-x", "x-authgear-"])(
    "recognizes %s",
    (name) => {
      expect(isIdentityHeaderName(name)).toBe(true);
    },
  );
  it.each(["x-authgearx", "authgear-user-id", "xx-authgear-user-id", "x-auth-gear-user-id", "x-request-id"])("ignores %s", (name) => {
    expect(isIdentityHeaderName(name)).toBe(false);
  });
});
