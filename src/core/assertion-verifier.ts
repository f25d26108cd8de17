/**
 * The origin's side of the signed identity assertion (docs/assertion.md): checks the short-lived
 * JWT the gate signs for every request it lets through. Runtime-free (WebCrypto and `fetch` only)
 * and importing nothing else of the gate, so the `authgear-edge/assertion` entry loads jose and
 * this file alone.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { isCompactJws } from "./compact-jws.ts";

/** The assertion's `typ` (RFC 8725 §3.11): no other JWT, an Authgear access token included, has it. */
export const ASSERTION_TYPE = "authgear-edge+jwt";
/** The header the gate sends the assertion in unless ASSERTION_HEADER says otherwise. */
export const DEFAULT_ASSERTION_HEADER = "x-authgear-edge-assertion";
/** The signing algorithms accepted: asymmetric only, so the published keys cannot sign. */
export const ASSERTION_ALGORITHMS = ["ES256", "ES384", "EdDSA"] as const;
/** The longest lifetime (`exp` - `iat`) the gate signs (ASSERTION_LIFETIME_SECONDS), seconds. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 60;

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** Far above any assertion the gate signs; a longer value is refused before any parsing. */
const MAX_ASSERTION_LENGTH = 8192;
const MALFORMED = "The identity assertion is not a well-formed JWT.";
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** The gate's public keys as a list, or as a JWKS document. */
export type AssertionKeys = readonly JWK[] | { readonly keys: readonly JWK[] };

/** Where the gate's public keys come from: its JWKS URL, or the keys themselves. */
export type AssertionKeySource =
  | { readonly jwksUrl: string | URL; readonly keys?: never }
  | { readonly keys: AssertionKeys; readonly jwksUrl?: never };

/** How a key set fetched from `jwksUrl` is kept (jose's `createRemoteJWKSet`). */
export interface JwksTiming {
  /**
   * Seconds a fetched key set is used before the next verification fetches it again; default 300
   * (the gate serves it with `max-age=300`). A key removed from the set stops verifying within it.
   */
  readonly maxAgeSeconds?: number;
  /** Seconds between two fetches caused by an unknown `kid` (a new key); default 30. */
  readonly cooldownSeconds?: number;
  /** Milliseconds one fetch may take; default 5000. */
  readonly timeoutMs?: number;
}

export type AssertionVerifierOptions = AssertionKeySource & {
  /** The gate's ASSERTION_ISSUER; `iss` must equal it exactly. */
  readonly issuer: string;
  /** The gate's ASSERTION_AUDIENCE; `aud` must be exactly this string. */
  readonly audience: string;
  /** Leeway for `exp`, `iat` and the lifetime, seconds: an integer from 0 to 60, default 5. */
  readonly clockToleranceSeconds?: number;
  /** The longest lifetime (`exp` - `iat`) accepted, seconds: an integer from 1 to 60, default 60. */
  readonly maxLifetimeSeconds?: number;
  /** The header `verifyRequest` reads (the gate's ASSERTION_HEADER); default `x-authgear-edge-assertion`. */
  readonly header?: string;
  /** With `jwksUrl` only. */
  readonly jwks?: JwksTiming;
};

/** Every claim of an assertion, whatever its kind. */
interface AssertionClaims {
  /** The gate (its ASSERTION_ISSUER). */
  readonly iss: string;
  readonly aud: string;
  /** The caller: a user id, or the subject of a machine client's token. */
  readonly sub: string;
  /** The issuer of the access token the gate verified (Authgear's endpoint, say). */
  readonly token_iss: string;
  /** The token's scopes (the claim is space-separated; empty when it is absent). */
  readonly scope: readonly string[];
  /** Unix seconds. */
  readonly iat: number;
  /** Unix seconds. */
  readonly exp: number;
  /** Names one signing: the gate reuses an assertion for several requests of the same token. */
  readonly jti: string;
}

export interface UserAssertion extends AssertionClaims {
  readonly kind: "user";
  /** The application the token was issued to; `undefined` when the gate did not know it (a resolver verdict). */
  readonly client_id: string | undefined;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  /** When the user signed in, Unix seconds; `undefined` when the token does not say. */
  readonly auth_time: number | undefined;
  readonly is_anonymous: boolean;
  readonly is_verified: boolean;
}

/** A machine client (client-credentials token): never a user, with no roles nor login. */
export interface ClientAssertion extends AssertionClaims {
  readonly kind: "client";
  readonly client_id: string;
}

export type VerifiedAssertion = UserAssertion | ClientAssertion;

export const ASSERTION_ERROR_CODES = [
  /** No assertion: the request did not come through the gate (or the gate signs none). */
  "ERR_ASSERTION_MISSING",
  /** Not a strict JWS compact serialization, oversize, or an unreadable header or payload. */
  "ERR_ASSERTION_MALFORMED",
  /** Signature, algorithm, `typ`, key, `iss`, `aud`, `iat`, lifetime or a claim is wrong or missing. */
  "ERR_ASSERTION_INVALID",
  /** `exp` has passed. */
  "ERR_ASSERTION_EXPIRED",
  /** The key set cannot be fetched or used: the origin cannot tell, so answer 503, not 401. */
  "ERR_ASSERTION_KEYS_UNAVAILABLE",
] as const;

export type AssertionErrorCode = (typeof ASSERTION_ERROR_CODES)[number];

/** Every refusal of an assertion. The message is fixed per reason and never holds the assertion. */
export class AssertionVerificationError extends Error {
  override readonly name = "AssertionVerificationError";
  readonly code: AssertionErrorCode;

  constructor(code: AssertionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** A Fetch `Headers`, or Node's `IncomingMessage.headers` (names in lower case). */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface AssertionVerifier {
  /** Checks one header value; a missing one (`undefined`, `null`, empty) is refused like a bad one. */
  verify(value: string | null | undefined): Promise<VerifiedAssertion>;
  /** Reads `header` from a Fetch `Request`, a Node `IncomingMessage` or an Express `req`, and checks it. */
  verifyRequest(request: { readonly headers: HeaderSource }): Promise<VerifiedAssertion>;
  /** The header name read by `verifyRequest`, in lower case. */
  readonly header: string;
}

/**
 * Builds a verifier for the assertions of one gate. The options are checked here, once: a bad one
 * throws a `TypeError`. Every refusal is an `AssertionVerificationError` with a stable `code`.
 */
export function createAssertionVerifier(options: AssertionVerifierOptions): AssertionVerifier {
  const policy = readPolicy(options);
  const getKey = guardKeyErrors(keySource(options));
  const header = readHeaderName(options.header);

  // `unknown`: a JavaScript caller may hand over whatever its framework gave it.
  async function verify(value: unknown): Promise<VerifiedAssertion> {
    if (value === undefined || value === null || value === "") {
      throw new AssertionVerificationError("ERR_ASSERTION_MISSING", "The request carries no identity assertion.");
    }
    if (typeof value !== "string" || value.length > MAX_ASSERTION_LENGTH || !isCompactJws(value)) {
      throw new AssertionVerificationError("ERR_ASSERTION_MALFORMED", MALFORMED);
    }
    const nowMs = Date.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(value, getKey, {
        algorithms: [...ASSERTION_ALGORITHMS],
        typ: ASSERTION_TYPE,
        issuer: policy.issuer,
        requiredClaims: ["exp", "iat", "jti", "sub", "aud"],
        clockTolerance: policy.toleranceSeconds,
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      throw translate(error);
    }
    return readClaims(payload, policy, Math.floor(nowMs / 1000));
  }

  return {
    verify,
    verifyRequest: (request) => verify(readHeader(request.headers, header)),
    header,
  };
}

function optionError(message: string): TypeError {
  return new TypeError(`createAssertionVerifier: ${message}`);
}

interface Policy {
  readonly issuer: string;
  readonly audience: string;
  readonly toleranceSeconds: number;
  readonly maxLifetimeSeconds: number;
}

function readPolicy(options: AssertionVerifierOptions): Policy {
  // Read loosely: a JavaScript caller can leave them out.
  const { issuer, audience } = options as { issuer?: unknown; audience?: unknown };
  if (typeof issuer !== "string" || issuer === "") throw optionError("`issuer` is required.");
  if (typeof audience !== "string" || audience === "") throw optionError("`audience` is required.");
  const toleranceSeconds = wholeSeconds("clockToleranceSeconds", options.clockToleranceSeconds, {
    fallback: DEFAULT_CLOCK_TOLERANCE_SECONDS,
    min: 0,
    max: MAX_CLOCK_TOLERANCE_SECONDS,
  });
  const maxLifetimeSeconds = wholeSeconds("maxLifetimeSeconds", options.maxLifetimeSeconds, {
    fallback: MAX_ASSERTION_LIFETIME_SECONDS,
    min: 1,
    max: MAX_ASSERTION_LIFETIME_SECONDS,
  });
  return { issuer, audience, toleranceSeconds, maxLifetimeSeconds };
}

type Range = { readonly fallback: number; readonly min: number; readonly max: number };

function wholeSeconds(name: string, value: number | undefined, range: Range): number {
  if (value === undefined) return range.fallback;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw optionError(`\`${name}\` must be an integer from ${range.min} to ${range.max}.`);
  }
  return value;
}

function readHeaderName(name: string | undefined): string {
  if (name === undefined) return DEFAULT_ASSERTION_HEADER;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw optionError("`header` must be a header name.");
  }
  return name.toLowerCase();
}

function keySource(options: AssertionVerifierOptions): JWTVerifyGetKey {
  // Read loosely: a JavaScript caller can pass both, or neither.
  const { jwksUrl, keys } = options as { jwksUrl?: string | URL; keys?: AssertionKeys };
  if (jwksUrl !== undefined && keys !== undefined) {
    throw optionError("give `jwksUrl` or `keys`, not both.");
  }
  if (jwksUrl !== undefined) return remoteKeys(jwksUrl, options.jwks ?? {});
  if (keys !== undefined) return localKeys(keys);
  throw optionError("`jwksUrl` or `keys` is required.");
}

function remoteKeys(jwksUrl: string | URL, timing: JwksTiming): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw optionError("`jwksUrl` is not a URL.");
  }
  // The key set is what the origin trusts: fetched over TLS, or over plain HTTP on this machine only.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname))) {
    throw optionError("`jwksUrl` must be https (or http on a loopback host).");
  }
  const amount = (name: keyof JwksTiming, fallback: number) => {
    const value = timing[name];
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < 0) throw optionError(`\`jwks.${name}\` must be a number >= 0.`);
    return value;
  };
  return createRemoteJWKSet(url, {
    cacheMaxAge: amount("maxAgeSeconds", 300) * 1000,
    cooldownDuration: amount("cooldownSeconds", 30) * 1000,
    timeoutDuration: Math.round(amount("timeoutMs", 5000)),
  });
}

function localKeys(keys: AssertionKeys): JWTVerifyGetKey {
  const list: unknown = Array.isArray(keys) ? keys : (keys as { keys?: unknown }).keys;
  if (!Array.isArray(list) || list.length === 0) {
    throw optionError("`keys` must be a non-empty list of JWKs or a JWKS.");
  }
  for (const key of list as unknown[]) {
    if (typeof key !== "object" || key === null) throw optionError("every key must be a JWK.");
    // A private or symmetric key here is a leak waiting to happen: the origin needs public keys only.
    if ("d" in key || ("kty" in key && key.kty === "oct")) {
      throw optionError("`keys` must hold public keys only (no `d`, no `oct`).");
    }
  }
  return createLocalJWKSet({ keys: [...(list as JWK[])] });
}

/** A key set that cannot be fetched or used is the origin's problem, not the caller's: its own code. */
function guardKeyErrors(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (protectedHeader, token) => {
    try {
      return await getKey(protectedHeader, token);
    } catch (error) {
      const code = joseCode(error);
      if (code === "ERR_JWKS_NO_MATCHING_KEY" || code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") throw error;
      const message = "The gate's key set could not be fetched or used.";
      throw new AssertionVerificationError("ERR_ASSERTION_KEYS_UNAVAILABLE", message, { cause: error });
    }
  };
}

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Partial<Headers>).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  // Node joins repeated custom headers with ", "; an array is two copies, refused as malformed.
  return Array.isArray(value) ? value.join(", ") : (value as string | undefined);
}

/** jose's stable `code`; switching on codes keeps jose's error classes out of the bundle. */
function joseCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code } = error as { code?: unknown };
  return typeof code === "string" ? code : undefined;
}

const CLAIM_NAMES = new Set(["iss", "aud", "sub", "iat", "exp", "nbf", "jti", "typ"]);

function translate(error: unknown): AssertionVerificationError {
  if (error instanceof AssertionVerificationError) return error;
  const invalid = (message: string) => new AssertionVerificationError("ERR_ASSERTION_INVALID", message);
  switch (joseCode(error)) {
    case "ERR_JWT_EXPIRED":
      return new AssertionVerificationError("ERR_ASSERTION_EXPIRED", "The identity assertion has expired.");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const { claim } = error as { claim?: unknown };
      const name = typeof claim === "string" && CLAIM_NAMES.has(claim) ? claim : "a";
      return invalid(`The identity assertion's ${name} claim is missing or not accepted.`);
    }
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return invalid("The identity assertion's algorithm is not accepted.");
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return invalid("The identity assertion's signature is invalid.");
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return invalid("No key of the gate's key set matches the identity assertion.");
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JOSE_NOT_SUPPORTED":
      return new AssertionVerificationError("ERR_ASSERTION_MALFORMED", MALFORMED);
    default:
      // Anything unforeseen refuses; its message is not passed on, in case it quotes the input.
      return invalid("The identity assertion could not be verified.");
  }
}

/** The checks jose has no option for, and the claims read into their types; a wrong type refuses. */
function readClaims(payload: JWTPayload, policy: Policy, nowSeconds: number): VerifiedAssertion {
  const claims = new ClaimReader(payload);
  const iat = claims.number("iat");
  const exp = claims.number("exp");
  if (iat > nowSeconds + policy.toleranceSeconds) {
    throw claims.refuse("The identity assertion was issued in the future.");
  }
  if (exp - iat > policy.maxLifetimeSeconds + policy.toleranceSeconds) {
    throw claims.refuse("The identity assertion's lifetime (exp - iat) is longer than accepted.");
  }
  if (payload.aud !== policy.audience) throw claims.refuse("The identity assertion's aud claim is not accepted.");
  const common = {
    iss: claims.string("iss"),
    aud: policy.audience,
    sub: claims.string("sub"),
    token_iss: claims.string("token_iss"),
    scope: claims.scope(),
    iat,
    exp,
    jti: claims.string("jti"),
  };
  const kind = payload.kind;
  if (kind === "client") return Object.freeze({ ...common, kind, client_id: claims.string("client_id") });
  if (kind !== "user") throw claims.refuse("The identity assertion's kind claim is not accepted.");
  return Object.freeze({
    ...common,
    kind,
    client_id: claims.optionalString("client_id"),
    roles: claims.strings("roles"),
    amr: claims.strings("amr"),
    auth_time: claims.optionalNumber("auth_time"),
    is_anonymous: claims.flag("is_anonymous"),
    is_verified: claims.flag("is_verified"),
  });
}

class ClaimReader {
  readonly #payload: JWTPayload;

  constructor(payload: JWTPayload) {
    this.#payload = payload;
  }

  refuse(message: string): AssertionVerificationError {
    return new AssertionVerificationError("ERR_ASSERTION_INVALID", message);
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw this.#wrong(name);
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.#payload[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") throw this.#wrong(name);
    return value;
  }

  number(name: string): number {
    const value = this.optionalNumber(name);
    if (value === undefined) throw this.#wrong(name);
    return value;
  }

  optionalNumber(name: string): number | undefined {
    const value = this.#payload[name];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isFinite(value)) throw this.#wrong(name);
    return value;
  }

  /** An absent list is empty. */
  strings(name: string): readonly string[] {
    const value = this.#payload[name];
    if (value === undefined) return Object.freeze([]);
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw this.#wrong(name);
    return Object.freeze([...value]);
  }

  /** An absent flag is false. */
  flag(name: string): boolean {
    const value = this.#payload[name];
    if (value === undefined) return false;
    if (typeof value !== "boolean") throw this.#wrong(name);
    return value;
  }

  scope(): readonly string[] {
    const value = this.optionalString("scope");
    return Object.freeze(value === undefined ? [] : value.split(" ").filter((scope) => scope !== ""));
  }

  #wrong(name: string): AssertionVerificationError {
    return this.refuse(`The identity assertion's ${name} claim is missing or of the wrong type.`);
  }
}
