/**
 * The one error model. Every refusal carries a stable `code`; `describeOutcome` maps each code
 * once to an HTTP status and an RFC 6750 challenge, and the packagings `switch` on the code
 * (exhaustively) for anything platform-specific.
 */

export type AuthErrorCode =
  /** The configuration is invalid; nothing is let through. */
  | "ERR_CONFIG_INVALID"
  /** The request carries no credentials this gate understands. */
  | "ERR_CREDENTIALS_MISSING"
  /** Two credentials, a malformed `Authorization` value, a duplicated cookie, an oversize credential. */
  | "ERR_REQUEST_MALFORMED"
  /** Not a strict JWS compact serialization, an unreadable header or payload, or an unknown `crit`. */
  | "ERR_JWT_MALFORMED"
  /** `alg` is not in the allow-list (this includes `none` in any casing). */
  | "ERR_JWT_ALGORITHM"
  /** `typ` is not `at+jwt` (an ID token, for instance). */
  | "ERR_JWT_TYPE"
  /** No published key matches the token's `kid` and `alg`. */
  | "ERR_JWT_KEY_NOT_FOUND"
  /** The signature does not verify. */
  | "ERR_JWT_SIGNATURE"
  /** `exp` has passed. */
  | "ERR_JWT_EXPIRED"
  /** A registered claim is wrong or missing: `iss`, `aud`, `iat`, `nbf`, `sub`, `client_id`. */
  | "ERR_JWT_CLAIM_INVALID"
  /** An identity claim has the wrong type or a value that cannot travel in a header. */
  | "ERR_IDENTITY_CLAIM_INVALID"
  /** Authenticated, but a route rule's roles, scopes, verification or non-anonymity are not met. */
  | "ERR_INSUFFICIENT_SCOPE"
  /** Authenticated, but longer ago than the route's `maxAuthAge` (RFC 9470). */
  | "ERR_AUTHENTICATION_TOO_OLD"
  /** The resolver's verdict: the session or token is invalid, expired, revoked, logged out, or the user disabled. */
  | "ERR_SESSION_INVALID"
  /** The key set cannot be fetched and no usable copy is cached. */
  | "ERR_KEYSET_UNAVAILABLE"
  /** The resolver cannot be reached, or its answer is unusable. */
  | "ERR_RESOLVER_UNAVAILABLE";

export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: AuthErrorCode;
  /** For `ERR_AUTHENTICATION_TOO_OLD`: the route's maximum authentication age, seconds. */
  readonly maxAge: number | undefined;

  /** `message` is shown to clients as `error_description`: it must never contain a credential. */
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown; maxAge?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.maxAge = options?.maxAge;
  }
}

/** The RFC 6750 §3.1 error codes (plus RFC 9470's) a challenge may carry. */
export type BearerErrorName = "invalid_request" | "invalid_token" | "insufficient_scope" | "insufficient_user_authentication";

export interface ErrorDescription {
  /** HTTP status a gate answers with. */
  readonly status: 400 | 401 | 403 | 500 | 503;
  /** The `error` attribute of the challenge; absent when the request had no credentials (RFC 6750 §3.1). */
  readonly bearerError?: BearerErrorName;
  /** Whether the condition is temporary (the gate adds `Retry-After`). */
  readonly retryable: boolean;
  /** The `error` member of the JSON body. */
  readonly bodyError: string;
}

export function describeError(code: AuthErrorCode): ErrorDescription {
  switch (code) {
    case "ERR_CREDENTIALS_MISSING":
      return { status: 401, retryable: false, bodyError: "unauthorized" };
    case "ERR_REQUEST_MALFORMED":
      return { status: 400, bearerError: "invalid_request", retryable: false, bodyError: "invalid_request" };
    case "ERR_JWT_MALFORMED":
    case "ERR_JWT_ALGORITHM":
    case "ERR_JWT_TYPE":
    case "ERR_JWT_KEY_NOT_FOUND":
    case "ERR_JWT_SIGNATURE":
    case "ERR_JWT_EXPIRED":
    case "ERR_JWT_CLAIM_INVALID":
    case "ERR_IDENTITY_CLAIM_INVALID":
    case "ERR_SESSION_INVALID":
      return { status: 401, bearerError: "invalid_token", retryable: false, bodyError: "invalid_token" };
    case "ERR_INSUFFICIENT_SCOPE":
      return { status: 403, bearerError: "insufficient_scope", retryable: false, bodyError: "insufficient_scope" };
    case "ERR_AUTHENTICATION_TOO_OLD":
      return { status: 401, bearerError: "insufficient_user_authentication", retryable: false, bodyError: "insufficient_user_authentication" };
    case "ERR_KEYSET_UNAVAILABLE":
    case "ERR_RESOLVER_UNAVAILABLE":
      return { status: 503, retryable: true, bodyError: "temporarily_unavailable" };
    case "ERR_CONFIG_INVALID":
      return { status: 500, retryable: false, bodyError: "server_error" };
  }
}

/** Seconds a client is asked to wait after a 503 (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A small JSON document: `{ "error", "error_description", "code" }`. */
  readonly body: string;
}

/**
 * Builds the response a gate sends for a refusal. The challenge follows RFC 6750 §3: `realm` is
 * always present, `error` and `error_description` only when the request carried credentials.
 * A configuration error is described to the operator in the log, never to the client.
 */
export function errorResponse(error: AuthError, realm: string, resourceMetadata?: string): ErrorResponse {
  const description = describeError(error.code);
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (description.status === 400 || description.status === 401 || description.status === 403) {
    const metadata = description.status === 400 ? undefined : resourceMetadata;
    headers["www-authenticate"] = bearerChallenge(realm, description.bearerError, error.message, error.maxAge, metadata);
  }
  if (description.retryable) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  const body = JSON.stringify({
    error: description.bodyError,
    error_description: error.code === "ERR_CONFIG_INVALID" ? "The gateway is misconfigured." : error.message,
    code: error.code,
  });
  return { status: description.status, headers, body };
}

/**
 * `Bearer realm="...", error="...", error_description="..."` with RFC 9110 quoted strings, and
 * RFC 9470's `max_age` when a route asks for a more recent login, and RFC 9728's
 * `resource_metadata` (the URL of the protected-resource metadata) when given.
 */
export function bearerChallenge(realm: string, error?: BearerErrorName, description?: string, maxAge?: number, resourceMetadata?: string): string {
  let challenge = `Bearer realm=${quote(realm)}`;
  if (resourceMetadata !== undefined) challenge += `, resource_metadata=${quote(resourceMetadata)}`;
  if (error !== undefined) {
    challenge += `, error=${quote(error)}`;
    // RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    const safe = description?.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "");
    if (safe) challenge += `, error_description=${quote(safe)}`;
    if (maxAge !== undefined) challenge += `, max_age=${maxAge}`;
  }
  return challenge;
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&").replace(/[^\t\x20-\x7e\x80-\xff]/g, "")}"`;
}
