/** The JWS algorithms the core can verify, shared by `ALGORITHMS` and each issuer of `ISSUERS`. */
import * as v from "valibot";

/** Asymmetric JWS algorithms the core can verify. `HS*` and `none` are not in this list, ever. */
export const SUPPORTED_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const MESSAGE = `must be a subset of ${SUPPORTED_ALGORITHMS.join(", ")} (symmetric algorithms and none are never accepted)`;

/** A non-empty list of supported algorithms, without repeats. */
export function algorithmList() {
  return v.pipe(
    v.array(v.string()),
    v.minLength(1, "must name at least one algorithm"),
    v.check((algs) => algs.every((alg) => (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)), MESSAGE),
    v.transform((algs): readonly Algorithm[] => [...new Set(algs)] as Algorithm[]),
  );
}
