/**
 * The algorithms check: `ALGORITHMS` meets at least one usable published key; when none, the
 * algorithms to set.
 */
import { SUPPORTED_ALGORITHMS, type Algorithm } from "../../core/config.ts";
import type { Check } from "../check.ts";
import type { Discovery } from "./discovery.ts";
import { keyName } from "./keys.ts";

/** The algorithm of each EC curve the gate accepts (RFC 7518 §3.4). */
const EC_ALGORITHMS: ReadonlyMap<string, Algorithm> = new Map([
  ["P-256", "ES256"],
  ["P-384", "ES384"],
  ["P-521", "ES512"],
]);

/** The algorithms a usable key can verify, as jose selects keys (an `alg` on the key narrows it to that one). */
function keyAlgorithms(jwk: Readonly<Record<string, unknown>>): Algorithm[] {
  const supported = SUPPORTED_ALGORITHMS as readonly string[];
  if (typeof jwk.alg === "string") return supported.includes(jwk.alg) ? [jwk.alg as Algorithm] : [];
  switch (jwk.kty) {
    case "RSA":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "EC": {
      const alg = typeof jwk.crv === "string" ? EC_ALGORITHMS.get(jwk.crv) : undefined;
      return alg === undefined ? [] : [alg];
    }
    case "OKP":
      return jwk.crv === "Ed25519" ? ["EdDSA", "Ed25519"] : [];
    default:
      return [];
  }
}

export function checkAlgorithms(
  algorithms: readonly Algorithm[],
  usable: ReadonlyArray<Record<string, unknown>>,
  discovery: Discovery,
): Check {
  const offered = new Set(usable.flatMap(keyAlgorithms));
  const accepted = algorithms.filter((alg) => offered.has(alg));
  const unmatched = algorithms.filter((alg) => !offered.has(alg));
  if (accepted.length > 0) {
    const note =
      unmatched.length === 0
        ? ""
        : `; ${unmatched.join(", ")} ha${unmatched.length === 1 ? "s" : "ve"} no published key`;
    return {
      name: "algorithms",
      ok: true,
      detail:
        `ALGORITHMS=${algorithms.join(",")}: ${accepted.join(", ")} verif${accepted.length === 1 ? "ies" : "y"} ` +
        `with the published keys${note}`,
    };
  }
  // What the issuer signs with: the keys' own alg, else what discovery says it signs ID tokens
  // with, else the usual one per key type.
  const explicit = usable.flatMap((jwk) =>
    typeof jwk.alg === "string" && offered.has(jwk.alg as Algorithm) ? [jwk.alg as Algorithm] : [],
  );
  const advertised = Array.isArray(discovery.id_token_signing_alg_values_supported)
    ? discovery.id_token_signing_alg_values_supported.filter(
        (alg): alg is Algorithm => typeof alg === "string" && offered.has(alg as Algorithm),
      )
    : [];
  const usual = usable.flatMap((jwk) => keyAlgorithms(jwk).slice(0, 1));
  const suggestion = [...new Set([explicit, advertised].find((each) => each.length > 0) ?? usual)];
  const keys = usable.map(keyName).join(", ");
  return {
    name: "algorithms",
    ok: false,
    detail:
      `ALGORITHMS=${algorithms.join(",")}, but the published key${usable.length === 1 ? "" : "s"} ` +
      `(${keys}) verif${usable.length === 1 ? "ies" : "y"} only ${[...offered].join(", ")}: ` +
      "no token of this issuer can verify",
    fix: `set ALGORITHMS=${suggestion.join(",")} (what the issuer signs with${suggestion.includes("RS256") ? "; Authgear signs with RS256" : ""})`,
  };
}
