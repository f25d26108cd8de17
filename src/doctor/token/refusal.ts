/**
 * Why the gate refuses a token, by the refusal's code, and what to change.
 */
import { SUPPORTED_ALGORITHMS } from "../../core/config.ts";
import type { Config } from "../../core/config.ts";
import type { AuthError } from "../../core/errors.ts";
import type { IssuerConfig } from "../../core/issuers.ts";
import type { PublishedKey } from "../checks/keys.ts";
import { duration, time } from "../format.ts";
import type { Trusted } from "../issuers.ts";
import { explainClaim } from "./claims.ts";
import { idTokenEvidence, malformedReason } from "./form.ts";
import { explainUnknownKey } from "./unknown-key.ts";
import { joseCause, type TokenView } from "./view.ts";

const PORTAL_FIX =
  "JWT mode verifies JWT access tokens only: in the Authgear Portal, enable *Issue JWT as access token* " +
  "for the client (Applications → your client), then sign in again to get a JWT; " +
  "or set AUTH_MODE=hybrid to have opaque tokens checked by Authgear's resolver";

export interface RefusalContext {
  readonly trusted: Trusted;
  /** The trusted issuer the token's `iss` names, if any. */
  readonly issuer: IssuerConfig | undefined;
  readonly config: Config;
  readonly opaque: boolean;
  readonly viaResolver: boolean;
  readonly published: readonly PublishedKey[] | undefined;
  readonly nowMs: number;
}

export function explainRefusal(
  error: AuthError,
  token: TokenView,
  context: RefusalContext,
): { detail: string; fix: string } {
  const { config } = context;
  const { header, payload } = token;
  const nowSeconds = Math.floor(context.nowMs / 1000);
  const tolerance = `CLOCK_TOLERANCE_SECONDS=${config.clockToleranceSeconds}`;
  const cause = joseCause(error);
  switch (error.code) {
    case "ERR_JWT_MALFORMED":
    case "ERR_REQUEST_MALFORMED": {
      if (context.opaque && !context.viaResolver) {
        if (token.segments === 5) {
          return {
            detail: "an encrypted token (JWE: five dot-separated segments), not a signed JWT",
            fix:
              "the gate verifies signed JWT access tokens (JWS) only: configure the issuer to sign " +
              "its access tokens, not encrypt them",
          };
        }
        return {
          detail: `an opaque token, not a JWT (${token.segments === 1 ? "no dots" : `${token.segments} dot-separated segments`}, ${token.length} characters)`,
          fix: PORTAL_FIX,
        };
      }
      if (error.code === "ERR_REQUEST_MALFORMED") {
        return {
          detail: error.message,
          fix:
            "pass the token alone (at most 8192 characters of base64url), exactly as the client " +
            "sends it after `Bearer `",
        };
      }
      return {
        detail: `not a well-formed JWT: ${malformedReason(error, token)}`,
        fix:
          "send the token exactly as the issuer issued it: three segments of unpadded base64url, " +
          "nothing added or cut",
      };
    }
    case "ERR_JWT_ALGORITHM": {
      const alg = typeof header?.alg === "string" ? header.alg : "(none)";
      const supported = (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg);
      return {
        detail: `alg ${JSON.stringify(alg)} is not in ALGORITHMS (${config.algorithms.join(",")})`,
        fix: supported
          ? `if the issuer signs with ${alg}, accept it: ALGORITHMS=${[...config.algorithms, alg].join(",")}`
          : `${alg} is never accepted (symmetric or none): this token was not signed with an issuer's published key`,
      };
    }
    case "ERR_JWT_TYPE": {
      const evidence = idTokenEvidence(header, payload, config);
      if (evidence.idToken) {
        return {
          detail: `an ID token, not an access token: ${evidence.reasons.join(", ")}`,
          fix:
            "send the access_token of the token response, not the id_token (with *Issue JWT as " +
            "access token* on, Authgear's access tokens are JWTs with typ at+jwt)",
        };
      }
      return {
        detail:
          `typ ${header?.typ === undefined ? "is missing" : JSON.stringify(header.typ)}; access ` +
          "tokens carry typ at+jwt (RFC 9068)",
        fix: "send an access token of AUTHGEAR_ENDPOINT's project: the gate accepts RFC 9068 JWT access tokens only",
      };
    }
    case "ERR_JWT_KEY_NOT_FOUND":
      return explainUnknownKey(token, context);
    case "ERR_JWT_SIGNATURE": {
      const kid = typeof header?.kid === "string" ? ` kid ${JSON.stringify(header.kid)}` : "";
      return {
        detail: `the signature does not verify with the published key${kid}`,
        fix:
          "the token was altered or cut short (copy it whole), or signed by another issuer " +
          "under the same kid: get a new token from AUTHGEAR_ENDPOINT's project",
      };
    }
    case "ERR_JWT_EXPIRED": {
      const exp = payload?.exp;
      const ago = typeof exp === "number" ? `, ${duration(nowSeconds - exp)} ago` : "";
      return {
        detail:
          `expired: exp ${typeof exp === "number" ? time(exp) : "?"}, now ${time(nowSeconds)}${ago} ` +
          `(${tolerance})`,
        fix:
          "get a fresh access token (a client refreshes it before exp); if it was just issued, " +
          "the clock here or the issuer's is wrong",
      };
    }
    case "ERR_JWT_CLAIM_INVALID":
      return explainClaim(error, cause, token, context);
    case "ERR_IDENTITY_CLAIM_INVALID":
      return {
        detail: `it verifies, but ${error.message.replace(/^The token's /, "its ").replace(/\.$/, "")}: a claim that cannot become an identity header`,
        fix:
          "sub must be printable ASCII, the user claims booleans, roles an array of strings " +
          "without spaces or commas: correct the claim at the issuer (Authgear: the role keys)",
      };
    case "ERR_KEYSET_UNAVAILABLE":
      return {
        detail: "it cannot be verified: the key set cannot be fetched (see the checks above)",
        fix: "fix the failing discovery, issuer or jwks check",
      };
    case "ERR_SESSION_INVALID":
      return {
        detail:
          `${context.opaque ? "an opaque token" : "a JWT"}, sent to Authgear's resolver (AUTH_MODE=${config.authMode}), ` +
          "which says it is not valid: expired, revoked or logged out, a token of another project, " +
          "or the user is disabled",
        fix: "sign in again for a fresh token or session",
      };
    case "ERR_RESOLVER_UNAVAILABLE":
      return {
        detail:
          `${context.opaque ? "an opaque token" : "a JWT"}, sent to Authgear's resolver (AUTH_MODE=${config.authMode}), ` +
          "which cannot be asked (see the resolver check)",
        fix: "fix the failing resolver check",
      };
    case "ERR_CREDENTIALS_MISSING":
      return {
        detail: "the resolver found no credential in it (no verdict)",
        fix: "pass the access token the client sends after `Bearer `",
      };
    default:
      return { detail: error.message, fix: "an unforeseen failure: report it, with this output" };
  }
}
