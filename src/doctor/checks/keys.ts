/**
 * The keys check: which published keys the gate can verify with (`rejectKey`), and why it ignores
 * each other one.
 */
import { rejectKey } from "../../core/key-set.ts";
import type { Check } from "../check.ts";

/** A published key as the token check describes it. */
export interface PublishedKey {
  readonly kid: string | undefined;
  readonly kty: string;
  readonly alg: string | undefined;
}

function kidOf(jwk: Readonly<Record<string, unknown>>): string | undefined {
  return typeof jwk.kid === "string" ? jwk.kid : undefined;
}

export function describeKey(jwk: Readonly<Record<string, unknown>>): PublishedKey {
  return { kid: kidOf(jwk), kty: String(jwk.kty), alg: typeof jwk.alg === "string" ? jwk.alg : undefined };
}

/** The key's `alg`, else its curve. */
function algOrCurve(jwk: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof jwk.alg === "string") return jwk.alg;
  return typeof jwk.crv === "string" ? jwk.crv : undefined;
}

/** `kid "k1" (RSA RS256)`, `a key without kid (EC P-256)`. */
export function keyName(jwk: Readonly<Record<string, unknown>>): string {
  const kid = kidOf(jwk);
  const kind = [String(jwk.kty), algOrCurve(jwk)].filter(Boolean).join(" ");
  return `${kid === undefined ? "a key without kid" : `kid ${JSON.stringify(kid)}`} (${kind})`;
}

export function checkKeys(keys: ReadonlyArray<Record<string, unknown>>): {
  check: Check;
  usable: ReadonlyArray<Record<string, unknown>>;
} {
  const usable = keys.filter((jwk) => rejectKey(jwk) === undefined);
  const ignored = keys.flatMap((jwk) => {
    const reason = rejectKey(jwk);
    return reason === undefined ? [] : [`${keyName(jwk)}: ${reason}`];
  });
  const ignoredText = ignored.length === 0 ? "" : `; ignored ${ignored.length}: ${ignored.join("; ")}`;
  if (usable.length === 0) {
    return {
      check: {
        name: "keys",
        ok: false,
        detail: `${keys.length} key${keys.length === 1 ? "" : "s"} published, none usable${ignoredText}`,
        fix:
          "the gate verifies with public signature keys only (RSA of 2048 bits or more, EC " +
          "P-256/384/521, Ed25519; use sig): the issuer must publish one (an Authgear project " +
          "publishes an RSA key)",
      },
      usable,
    };
  }
  return {
    check: {
      name: "keys",
      ok: true,
      detail: `${usable.length} usable: ${usable.map(keyName).join(", ")}${ignoredText}`,
    },
    usable,
  };
}
