import { describe, expect, it } from "vitest";
import {
  AUTH_ERRORS,
  AuthError,
  bearerChallenge,
  describeError,
  errorResponse,
  type AuthErrorCode,
  type ErrorDescription,
} from "../../src/core/errors.ts";

const INVALID_TOKEN: ErrorDescription = {
  status: 401,
  bearerError: "invalid_token",
  retryable: false,
  bodyError: "invalid_token",
};
const UNAVAILABLE: ErrorDescription = { status: 503, retryable: true, bodyError: "temporarily_unavailable" };

/**
 * Written out by hand: a code added to AUTH_ERRORS without an entry here fails the typecheck, a changed entry
 * this test.
 */
const EXPECTED: Record<AuthErrorCode, ErrorDescription> = {
  ERR_CONFIG_INVALID: {
    status: 500,
    retryable: false,
    bodyError: "server_error",
    publicMessage: "The gateway is misconfigured.",
  },
  ERR_INTERNAL: {
    status: 500,
    retryable: false,
    bodyError: "server_error",
    publicMessage: "The gateway failed unexpectedly.",
  },
  ERR_UNSUPPORTED_EVENT: { status: 500, retryable: false, bodyError: "server_error" },
  ERR_CREDENTIALS_MISSING: { status: 401, retryable: false, bodyError: "unauthorized" },
  ERR_REQUEST_MALFORMED: {
    status: 400,
    bearerError: "invalid_request",
    retryable: false,
    bodyError: "invalid_request",
  },
  ERR_JWT_MALFORMED: INVALID_TOKEN,
  ERR_JWT_ALGORITHM: INVALID_TOKEN,
  ERR_JWT_TYPE: INVALID_TOKEN,
  ERR_JWT_KEY_NOT_FOUND: INVALID_TOKEN,
  ERR_JWT_SIGNATURE: INVALID_TOKEN,
  ERR_JWT_EXPIRED: INVALID_TOKEN,
  ERR_JWT_CLAIM_INVALID: INVALID_TOKEN,
  ERR_IDENTITY_CLAIM_INVALID: INVALID_TOKEN,
  ERR_SESSION_INVALID: INVALID_TOKEN,
  ERR_INSUFFICIENT_SCOPE: {
    status: 403,
    bearerError: "insufficient_scope",
    retryable: false,
    bodyError: "insufficient_scope",
  },
  ERR_AUTHENTICATION_TOO_OLD: {
    status: 401,
    bearerError: "insufficient_user_authentication",
    retryable: false,
    bodyError: "insufficient_user_authentication",
  },
  ERR_AUTHENTICATION_METHOD: {
    status: 401,
    bearerError: "insufficient_user_authentication",
    retryable: false,
    bodyError: "insufficient_user_authentication",
  },
  ERR_KEYSET_UNAVAILABLE: UNAVAILABLE,
  ERR_RESOLVER_UNAVAILABLE: UNAVAILABLE,
  ERR_SECRETS_UNAVAILABLE: UNAVAILABLE,
};

const CODES = Object.keys(AUTH_ERRORS) as AuthErrorCode[];

describe("error model", () => {
  it("has exactly the codes written out here", () => {
    expect([...CODES].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(CODES)("maps %s to exactly one status, challenge and body", (code) => {
    expect(describeError(code)).toEqual(EXPECTED[code]);
  });

  it.each(CODES)("builds the response of %s from its description", (code) => {
    const { status, bearerError, retryable, bodyError, publicMessage } = EXPECTED[code];
    const response = errorResponse(new AuthError(code, "the detail"), "r");
    expect(response.status).toBe(status);
    let challenge: string | undefined;
    if (status < 500) {
      challenge =
        bearerError === undefined
          ? 'Bearer realm="r"'
          : `Bearer realm="r", error="${bearerError}", error_description="the detail"`;
    }
    expect(response.headers["www-authenticate"]).toBe(challenge);
    expect(response.headers["retry-after"]).toBe(retryable ? "5" : undefined);
    expect(JSON.parse(response.body)).toEqual({
      error: bodyError,
      error_description: publicMessage ?? "the detail",
      code,
    });
  });

  it("challenges without an error attribute when there were no credentials", () => {
    const response = errorResponse(
      new AuthError("ERR_CREDENTIALS_MISSING", "The request has no access token."),
      "https://api.example.com",
    );
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="https://api.example.com"');
    expect(JSON.parse(response.body)).toEqual({
      error: "unauthorized",
      error_description: "The request has no access token.",
      code: "ERR_CREDENTIALS_MISSING",
    });
  });

  it("points a 401 or 403 challenge at the protected-resource metadata (RFC 9728), never a 400", () => {
    const metadata = "https://api.example.com/.well-known/oauth-protected-resource";
    expect(
      errorResponse(new AuthError("ERR_CREDENTIALS_MISSING", "none"), "r", metadata).headers["www-authenticate"],
    ).toBe(`Bearer realm="r", resource_metadata="${metadata}"`);
    expect(
      errorResponse(new AuthError("ERR_INSUFFICIENT_SCOPE", "no"), "r", metadata).headers["www-authenticate"],
    ).toBe(`Bearer realm="r", resource_metadata="${metadata}", error="insufficient_scope", error_description="no"`);
    expect(
      errorResponse(new AuthError("ERR_REQUEST_MALFORMED", "two"), "r", metadata).headers["www-authenticate"],
    ).toBe('Bearer realm="r", error="invalid_request", error_description="two"');
  });

  it("challenges with invalid_token and a description for a bad token", () => {
    const response = errorResponse(new AuthError("ERR_JWT_EXPIRED", "The access token has expired."), "r");
    expect(response.headers["www-authenticate"]).toBe(
      'Bearer realm="r", error="invalid_token", error_description="The access token has expired."',
    );
    expect(response.headers["cache-control"]).toBe("no-store");
  });

  it("answers 503 with Retry-After and no challenge when the key set is unreachable", () => {
    const response = errorResponse(new AuthError("ERR_KEYSET_UNAVAILABLE", "down"), "r");
    expect(response.status).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.headers["www-authenticate"]).toBeUndefined();
    expect(JSON.parse(response.body)).toMatchObject({ error: "temporarily_unavailable" });
  });

  it("never tells the client what is wrong with the configuration", () => {
    const response = errorResponse(new AuthError("ERR_CONFIG_INVALID", "AUTHGEAR_ENDPOINT: secret detail"), "r");
    expect(response.status).toBe(500);
    expect(response.body).not.toContain("AUTHGEAR_ENDPOINT");
  });

  it("never tells the client what failed internally: a fixed description, no challenge", () => {
    const response = errorResponse(
      new AuthError("ERR_INTERNAL", "Cannot read properties of undefined", { cause: new TypeError("x") }),
      "r",
      "https://m",
    );
    expect(response).toEqual({
      status: 500,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
      body: JSON.stringify({
        error: "server_error",
        error_description: "The gateway failed unexpectedly.",
        code: "ERR_INTERNAL",
      }),
    });
  });

  it("quotes and filters challenge values (RFC 9110 quoted-string, RFC 6750 §3 description charset)", () => {
    expect(bearerChallenge('a"b\\c', "invalid_token", 'say "hi"\\\r\nnow')).toBe(
      'Bearer realm="a\\"b\\\\c", error="invalid_token", error_description="say hinow"',
    );
  });
});
