import { describe, expect, it } from "vitest";
import { AuthError, bearerChallenge, describeError, errorResponse, type AuthErrorCode } from "../../src/core/errors.ts";

const CODES: AuthErrorCode[] = [
  "ERR_CONFIG_INVALID",
  "ERR_CREDENTIALS_MISSING",
  "ERR_REQUEST_MALFORMED",
  "ERR_JWT_MALFORMED",
  "ERR_JWT_ALGORITHM",
  "ERR_JWT_TYPE",
  "ERR_JWT_KEY_NOT_FOUND",
  "ERR_JWT_SIGNATURE",
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_INVALID",
  "ERR_IDENTITY_CLAIM_INVALID",
  "ERR_KEYSET_UNAVAILABLE",
];

describe("error model", () => {
  it.each(CODES)("maps %s to exactly one status and challenge", (code) => {
    const { status, bearerError } = describeError(code);
    const expected: Record<string, [number, string | undefined]> = {
      ERR_CONFIG_INVALID: [500, undefined],
      ERR_CREDENTIALS_MISSING: [401, undefined],
      ERR_REQUEST_MALFORMED: [400, "invalid_request"],
      ERR_KEYSET_UNAVAILABLE: [503, undefined],
    };
    expect([status, bearerError]).toEqual(expected[code] ?? [401, "invalid_token"]);
  });

  it("challenges without an error attribute when there were no credentials", () => {
    const response = errorResponse(new AuthError("ERR_CREDENTIALS_MISSING", "The request has no access token."), "https://api.example.com");
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="https://api.example.com"');
    expect(JSON.parse(response.body)).toEqual({ error: "unauthorized", error_description: "The request has no access token.", code: "ERR_CREDENTIALS_MISSING" });
  });

  it("points a 401 or 403 challenge at the protected-resource metadata (RFC 9728), never a 400", () => {
    const metadata = "https://api.example.com/.well-known/oauth-protected-resource";
    expect(errorResponse(new AuthError("ERR_CREDENTIALS_MISSING", "none"), "r", metadata).headers["www-authenticate"]).toBe(`Bearer realm="r", resource_metadata="${metadata}"`);
    expect(errorResponse(new AuthError("ERR_INSUFFICIENT_SCOPE", "no"), "r", metadata).headers["www-authenticate"]).toBe(
      `Bearer realm="r", resource_metadata="${metadata}", error="insufficient_scope", error_description="no"`,
    );
    expect(errorResponse(new AuthError("ERR_REQUEST_MALFORMED", "two"), "r", metadata).headers["www-authenticate"]).toBe('Bearer realm="r", error="invalid_request", error_description="two"');
  });

  it("challenges with invalid_token and a description for a bad token", () => {
    const response = errorResponse(new AuthError("ERR_JWT_EXPIRED", "The access token has expired."), "r");
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="r", error="invalid_token", error_description="The access token has expired."');
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

  it("quotes and filters challenge values (RFC 9110 quoted-string, RFC 6750 §3 description charset)", () => {
    expect(bearerChallenge('a"b\\c', "invalid_token", 'say "hi"\\\r\nnow')).toBe(
      'Bearer realm="a\\"b\\\\c", error="invalid_token", error_description="say hinow"',
    );
  });
});
