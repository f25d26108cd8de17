/**
 * Verifies one JWT access token with jose, under the validation profile of
 * docs/authgear-contract.md §1-2 and RFC 9068 / RFC 8725.
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import { isCompactJws } from "./compact-jws.ts";
import { AuthError, type AuthErrorCode } from "./errors.ts";
import { identityFromClaims, type Identity } from "./identity.ts";
import type { IssuerConfig } from "./issuers.ts";

export type JwtPolicy = Omit<IssuerConfig, "discoveryUrl"> & { readonly clockToleranceSeconds: number };

/**
 * Strict JWS compact serialization (compact-jws.ts), with a message that tells an opaque access
 * token apart from a broken JWT.
 */
export function assertCompactJws(token: string): void {
  if (!token.includes(".")) {
    // Most often an opaque access token: Authgear issues JWTs only with "Issue JWT as access token".
    const message = "The access token is not a JWT (an opaque token?); this API accepts JWT access tokens only.";
    throw new AuthError("ERR_JWT_MALFORMED", message);
  }
  if (!isCompactJws(token)) throw new AuthError("ERR_JWT_MALFORMED", "The access token is not a well-formed JWT.");
}

export interface VerifiedJwt {
  readonly identity: Identity;
  /** `exp`, Unix seconds. */
  readonly expiresAt: number;
}

/** `token` has passed `assertCompactJws` (the caller read its issuer from it). */
export type JwtVerifier = (token: string, getKey: JWTVerifyGetKey, nowMs: number) => Promise<VerifiedJwt>;

/**
 * Builds the verifier for one issuer (jose's options are built once, here). It checks signature
 * and claims, and the audience by the token's kind: a user's among `audiences`, a machine
 * client's among `resources`. Every failure is an `AuthError` with a stable code and a fixed
 * message.
 */
export function createJwtVerifier(policy: JwtPolicy): JwtVerifier {
  const options = {
    algorithms: [...policy.algorithms],
    issuer: policy.issuer,
    typ: "at+jwt",
    clockTolerance: policy.clockToleranceSeconds,
    requiredClaims: ["exp", "iat", "sub"],
  } as const satisfies JWTVerifyOptions;
  return async function verifyJwt(token, getKey, nowMs) {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { ...options, currentDate: new Date(nowMs) }));
    } catch (error) {
      throw translate(error);
    }
    return checkClaims(payload, policy, nowMs);
  };
}

function checkClaims(payload: JWTPayload, policy: JwtPolicy, nowMs: number): VerifiedJwt {
  // jose checks that `iat` is a number but not that it lies in the past (unless maxTokenAge is set).
  const nowSeconds = Math.floor(nowMs / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== "number" || iat > nowSeconds + policy.clockToleranceSeconds) {
    throw new AuthError("ERR_JWT_CLAIM_INVALID", "The access token was issued in the future.");
  }
  if (typeof exp !== "number") throw new AuthError("ERR_JWT_CLAIM_INVALID", "The access token has no expiry.");
  if (policy.allowedClientIds !== undefined) {
    const clientId = payload.client_id;
    if (typeof clientId !== "string" || !policy.allowedClientIds.has(clientId)) {
      throw new AuthError("ERR_JWT_CLAIM_INVALID", "The access token was issued to a client that is not allowed.");
    }
  }
  // `aud` is checked here rather than by jose, by the token's kind: a user's among `audiences`, a
  // machine client's among `resources` (RFC 8707), a string or an array of strings (RFC 7519 §4.1.3).
  const identity = identityFromClaims(payload, policy.issuer, policy.clientMarks);
  const accepted = identity.kind === "user" ? policy.audiences : policy.resources;
  const { aud } = payload;
  const audiences: readonly unknown[] = Array.isArray(aud) ? aud : [aud];
  if (!audiences.some((audience) => typeof audience === "string" && accepted.includes(audience))) {
    throw new AuthError("ERR_JWT_CLAIM_INVALID", audienceMessage(identity.kind, accepted.length));
  }
  return { identity, expiresAt: exp };
}

function audienceMessage(kind: Identity["kind"], accepted: number): string {
  if (kind === "user") return "The access token's aud claim is invalid.";
  if (accepted === 0) return "This API accepts no machine-client tokens (aud): no resource is configured.";
  return "The machine client's token is not for a resource of this API (aud).";
}

const MESSAGES: Readonly<Partial<Record<AuthErrorCode, string>>> = {
  ERR_JWT_MALFORMED: "The access token is not a well-formed JWT.",
  ERR_JWT_ALGORITHM: "The access token's algorithm is not accepted.",
  ERR_JWT_TYPE: "The token is not an access token (typ must be at+jwt).",
  ERR_JWT_KEY_NOT_FOUND: "No published key matches the access token.",
  ERR_JWT_SIGNATURE: "The access token's signature is invalid.",
  ERR_JWT_EXPIRED: "The access token has expired.",
};

function translate(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const { code, claim } = joseFailure(error);
  const ours = classify(code, claim);
  const message = MESSAGES[ours] ?? `The access token's ${claim ?? "claims"} claim is invalid.`;
  return new AuthError(ours, message, { cause: error });
}

/**
 * jose's stable `code` (and `claim`, for claim failures); switching on codes keeps jose's error classes out
 * of the bundle.
 */
function joseFailure(error: unknown): { code: string | undefined; claim: string | undefined } {
  if (typeof error !== "object" || error === null) return { code: undefined, claim: undefined };
  const { code, claim } = error as { code?: unknown; claim?: unknown };
  return { code: typeof code === "string" ? code : undefined, claim: typeof claim === "string" ? claim : undefined };
}

function classify(code: string | undefined, claim: string | undefined): AuthErrorCode {
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return claim === "exp" ? "ERR_JWT_EXPIRED" : "ERR_JWT_CLAIM_INVALID";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return claim === "typ" ? "ERR_JWT_TYPE" : "ERR_JWT_CLAIM_INVALID";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "ERR_JWT_ALGORITHM";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "ERR_JWT_SIGNATURE";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
    case "ERR_JWKS_INVALID":
    case "ERR_JWK_INVALID":
      return "ERR_JWT_KEY_NOT_FOUND";
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID (bad header or payload JSON), ERR_JOSE_NOT_SUPPORTED (an
      // unknown `crit` member) and anything unforeseen: refused as malformed, never a 500.
      return "ERR_JWT_MALFORMED";
  }
}
