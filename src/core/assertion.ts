/**
 * The signed identity assertion: a short-lived JWT the gate signs for the origin, which can verify
 * who sent a request without trusting the network (docs/assertion.md). One is signed per identity
 * object (the verified-token cache hands out the same object for every request of a token) and
 * reused while it has at least half its life left, so a repeated token costs no signature.
 */
import { base64url, SignJWT } from "jose";
import type { AssertionKeys } from "./assertion-keys.ts";
import { ASSERTION_TYPE } from "./assertion-verifier.ts";
import type { Identity } from "./identity.ts";
import { systemClock, type Clock } from "./ports.ts";

// One definition of the format's constants, on the verifier's side (whose entry imports nothing of the gate).
export { ASSERTION_TYPE };

/** Where the Worker publishes the assertion's keys. */
export const ASSERTION_JWKS_PATH = "/.well-known/authgear-edge/jwks.json";

export interface AssertionSignerOptions {
  readonly keys: AssertionKeys;
  /** The assertion's `iss`. */
  readonly issuer: string;
  /** The assertion's `aud`. */
  readonly audience: string;
  /** The longest an assertion lives, seconds. */
  readonly lifetimeSeconds: number;
  /**
   * Seconds a reused assertion must still have: the authorizer's cache TTL, since API Gateway hands
   * a cached context (and its assertion) to requests for that long. Default 0.
   */
  readonly minRemainingSeconds?: number;
  /** Default: `Date.now`. */
  readonly clock?: Clock;
}

export interface AssertionSigner {
  /** The assertion for `identity`: a reused one, or a new signature. Rejects when the key cannot be had or used. */
  assertion(identity: Identity): Promise<string>;
  /** The assertion `assertion` would reuse now, without waiting; `undefined` when a new one is due. */
  reusable(identity: Identity): string | undefined;
}

interface Signed {
  readonly jwt: string;
  readonly iat: number;
  readonly exp: number;
}

export function createAssertionSigner(options: AssertionSignerOptions): AssertionSigner {
  const { keys, issuer, audience, lifetimeSeconds, minRemainingSeconds = 0 } = options;
  const clock = options.clock ?? systemClock;
  const signed = new WeakMap<Identity, Signed>();

  function reusable(entry: Signed | undefined, nowMs: number): entry is Signed {
    if (entry === undefined) return false;
    const leftMs = entry.exp * 1000 - nowMs;
    return leftMs > 0 && leftMs * 2 >= (entry.exp - entry.iat) * 1000 && leftMs >= minRemainingSeconds * 1000;
  }

  return {
    reusable(identity) {
      const entry = signed.get(identity);
      return reusable(entry, clock()) ? entry.jwt : undefined;
    },
    async assertion(identity) {
      const nowMs = clock();
      const entry = signed.get(identity);
      if (reusable(entry, nowMs)) return entry.jwt;
      const { key, alg, kid } = await keys.signingKey();
      const iat = Math.floor(nowMs / 1000);
      const exp = Math.min(iat + lifetimeSeconds, identity.expiresAt ?? Number.POSITIVE_INFINITY);
      const jwt = await new SignJWT(claimsOf(identity))
        .setProtectedHeader({ alg, kid, typ: ASSERTION_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(identity.subject)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(base64url.encode(crypto.getRandomValues(new Uint8Array(16))))
        .sign(key);
      signed.set(identity, { jwt, iat, exp });
      return jwt;
    },
  };
}

/** The claims that describe the identity (docs/assertion.md); the registered ones are set by the signer. */
function claimsOf(identity: Identity): Record<string, unknown> {
  const claims: Record<string, unknown> = { kind: identity.kind, token_iss: identity.issuer };
  if (identity.scopes.length > 0) claims.scope = identity.scopes.join(" ");
  if (identity.clientId !== undefined) claims.client_id = identity.clientId;
  if (identity.kind === "user") {
    claims.roles = [...identity.roles];
    claims.amr = [...identity.amr];
    if (identity.authenticatedAt !== undefined) claims.auth_time = identity.authenticatedAt;
    claims.is_anonymous = identity.isAnonymous;
    claims.is_verified = identity.isVerified;
  }
  return claims;
}
