/**
 * The keys of the signed identity assertion: the rules a JWK setting must meet (checked without
 * importing it, so a bad key is named at start-up), the public JWKS the gate publishes, and the
 * signing key, imported once with jose (WebCrypto) and kept.
 */
import { importJWK, type CryptoKey } from "jose";
import { ASSERTION_ALGORITHMS } from "./assertion-verifier.ts";

// The algorithms the gate signs with, defined once on the verifier's side: asymmetric only.
export { ASSERTION_ALGORITHMS };
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];

/** Each algorithm's key type and curve (RFC 7518 §3.4, RFC 8037 §3.1). */
const CURVES: Readonly<Record<AssertionAlgorithm, { readonly kty: "EC" | "OKP"; readonly crv: string }>> = {
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  EdDSA: { kty: "OKP", crv: "Ed25519" },
};

/** A public key as published: only the members a verifier needs. */
export interface PublicAssertionJwk {
  readonly kty: "EC" | "OKP";
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: AssertionAlgorithm;
  readonly use: "sig";
}

/** A private key: its public part, and `d`. */
export interface PrivateAssertionJwk extends PublicAssertionJwk {
  readonly d: string;
}

export type ParsedJwk = { readonly jwk: PublicAssertionJwk | PrivateAssertionJwk } | { readonly problem: string };

const B64URL = /^[A-Za-z0-9_-]+$/;
/** A `kid`: printable ASCII, as it travels in the JWS header and the JWKS. */
const KID = /^[\x21-\x7e]{1,128}$/;

/**
 * Reads one JWK (JSON text) by the assertion's rules: an EC (P-256, P-384) or OKP (Ed25519) key
 * with a `kid`, `alg` (when given) in `ASSERTION_ALGORITHMS` and matching the curve (when absent:
 * the curve's), `use` (when given) `sig`; with `needPrivate`, its `d`. Problems never quote the key.
 */
export function parseAssertionJwk(text: string, needPrivate: boolean): ParsedJwk {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: "is not JSON (a JWK, e.g. from `npm run assertion-key`)" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { problem: "must be one JWK (a JSON object)" };
  }
  const jwk = value as Record<string, unknown>;
  if (jwk.kty === "oct") {
    return { problem: "is a symmetric key: the gate signs with a private EC or OKP key (origins cannot sign with it)" };
  }
  const alg = algorithmOf(jwk);
  if (typeof alg !== "string" || !(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
    return { problem: `must be an EC (P-256, P-384) or OKP (Ed25519) key for ${ASSERTION_ALGORITHMS.join(", ")}` };
  }
  const curve = CURVES[alg as AssertionAlgorithm];
  if (jwk.kty !== curve.kty || jwk.crv !== curve.crv) {
    return { problem: `alg ${alg} needs a ${curve.kty} ${curve.crv} key` };
  }
  if (typeof jwk.kid !== "string" || !KID.test(jwk.kid)) {
    return { problem: "must have a kid (1 to 128 printable ASCII characters)" };
  }
  if (jwk.use !== undefined && jwk.use !== "sig") return { problem: 'must have use "sig" or none' };
  const members = curve.kty === "EC" ? ["x", "y"] : ["x"];
  if (members.some((name) => typeof jwk[name] !== "string" || !B64URL.test(jwk[name]))) {
    return { problem: `must have its public part (${members.join(", ")}), base64url` };
  }
  const isPrivate = typeof jwk.d === "string" && B64URL.test(jwk.d);
  if (needPrivate && !isPrivate) return { problem: "must be a private key (with d): the gate signs with it" };
  const published: PublicAssertionJwk = {
    kty: curve.kty,
    crv: curve.crv,
    x: jwk.x as string,
    ...(curve.kty === "EC" && { y: jwk.y as string }),
    kid: jwk.kid,
    alg: alg as AssertionAlgorithm,
    use: "sig",
  };
  return { jwk: isPrivate ? { ...published, d: jwk.d as string } : published };
}

/** The JWK's `alg`, or its curve's when it names none (P-256: ES256, the default). */
function algorithmOf(jwk: Record<string, unknown>): unknown {
  if (jwk.alg !== undefined) return jwk.alg;
  const entry = Object.entries(CURVES).find(([, curve]) => curve.kty === jwk.kty && curve.crv === jwk.crv);
  return entry?.[0];
}

/** The public members of a key (a private one's `d` left out). */
export function publicJwk(jwk: PublicAssertionJwk): PublicAssertionJwk {
  const { kty, crv, x, y, kid, alg, use } = jwk;
  return { kty, crv, x, ...(y !== undefined && { y }), kid, alg, use };
}

/** A Secrets Store secret (a Worker binding): its value is read with `get()`. */
export interface SecretBinding {
  get(): Promise<string>;
}

/** Where the signing key comes from: the setting's JWK, or a Secrets Store binding read once, when first needed. */
export type SigningKeySource = { readonly jwk: PrivateAssertionJwk } | { readonly binding: SecretBinding };

export interface SigningKey {
  readonly key: CryptoKey;
  readonly alg: AssertionAlgorithm;
  readonly kid: string;
}

export interface AssertionKeys {
  /** The key to sign with, imported on first use and then kept; a failure is retried at the next call. */
  signingKey(): Promise<SigningKey>;
  /** The published key set: the signing key's public part, then the second key's. */
  jwks(): Promise<{ readonly keys: readonly PublicAssertionJwk[] }>;
}

/**
 * The keys for one configuration (one per isolate or container). A binding's value is checked by
 * `parseAssertionJwk` when read (a problem is thrown, naming `ASSERTION_KEY`), and its kid must
 * differ from the second key's.
 */
export function createAssertionKeys(source: SigningKeySource, second: PublicAssertionJwk | undefined): AssertionKeys {
  let loading: Promise<{ readonly signing: SigningKey; readonly jwk: PrivateAssertionJwk }> | undefined;

  async function load(): Promise<{ readonly signing: SigningKey; readonly jwk: PrivateAssertionJwk }> {
    const jwk = "jwk" in source ? source.jwk : await fromBinding(source.binding, second);
    const key = await importJWK({ ...jwk }, jwk.alg);
    // importJWK answers a Uint8Array only for `oct` keys, which parseAssertionJwk refuses.
    if (key instanceof Uint8Array) throw new TypeError("ASSERTION_KEY imported as a symmetric key");
    return { signing: { key, alg: jwk.alg, kid: jwk.kid }, jwk };
  }

  function loaded() {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  }

  return {
    async signingKey() {
      return (await loaded()).signing;
    },
    async jwks() {
      const { jwk } = await loaded();
      return { keys: [publicJwk(jwk), ...(second === undefined ? [] : [publicJwk(second)])] };
    },
  };
}

async function fromBinding(
  binding: SecretBinding,
  second: PublicAssertionJwk | undefined,
): Promise<PrivateAssertionJwk> {
  const parsed = parseAssertionJwk(await binding.get(), true);
  if ("problem" in parsed) throw new TypeError(`ASSERTION_KEY (Secrets Store) ${parsed.problem}`);
  if (second !== undefined && second.kid === parsed.jwk.kid) {
    throw new TypeError("ASSERTION_KEY (Secrets Store) has the kid of ASSERTION_SECOND_KEY");
  }
  return parsed.jwk as PrivateAssertionJwk;
}
