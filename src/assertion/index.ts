/**
 * `authgear-edge/assertion`: what an origin behind the gate uses to check the signed identity
 * assertion (docs/assertion.md). Any runtime with WebCrypto and `fetch`; it loads jose and nothing
 * of the gate itself.
 */
export {
  ASSERTION_ALGORITHMS,
  ASSERTION_ERROR_CODES,
  ASSERTION_TYPE,
  AssertionVerificationError,
  createAssertionVerifier,
  DEFAULT_ASSERTION_HEADER,
  MAX_ASSERTION_LIFETIME_SECONDS,
  type AssertionErrorCode,
  type AssertionKeySource,
  type AssertionVerifier,
  type AssertionVerifierOptions,
  type ClientAssertion,
  type HeaderSource,
  type JwksTiming,
  type UserAssertion,
  type VerifiedAssertion,
} from "../core/assertion-verifier.ts";
