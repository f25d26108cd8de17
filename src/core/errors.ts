/**
 * The one error model. Every refusal carries a stable `code`; `AUTH_ERRORS` describes each code
 * once (HTTP status, RFC 6750 challenge, JSON body), `AuthErrorCode` is derived from it, and the
 * packagings `switch` on the code (exhaustively) for anything platform-specific. The error table
 * of docs/operations.md is checked against this one (test/docs/errors.test.ts).
 */

/** The RFC 6750 §3.1 error codes (plus RFC 9470's) a challenge may carry. */
export type BearerErrorName =
  "invalid_request" | "invalid_token" | "insufficient_scope" | "insufficient_user_authentication";

export interface ErrorDescription {
  /** HTTP status a gate answers with. A 400, 401 or 403 carries a `WWW-Authenticate` challenge. */
  readonly status: 400 | 401 | 403 | 500 | 503;
  /** The `error` attribute of the challenge; absent when the request had no credentials (RFC 6750 §3.1). */
  readonly bearerError?: BearerErrorName;
  /** Whether the condition is temporary (the gate adds `Retry-After`). */
  readonly retryable: boolean;
  /** The `error` member of the JSON body. */
  readonly bodyError: string;
  /** Sent as `error_description` instead of the error's own message, which is for the operator only. */
  readonly publicMessage?: string;
}

const INVALID_TOKEN = {
  status: 401,
  bearerError: "invalid_token",
  retryable: false,
  bodyError: "invalid_token",
} as const;
const UNAVAILABLE = { status: 503, retryable: true, bodyError: "temporarily_unavailable" } as const;
const SERVER_ERROR = { status: 500, retryable: false, bodyError: "server_error" } as const;

const TABLE = {
  /** The configuration is invalid; nothing is let through. */
  ERR_CONFIG_INVALID: { ...SERVER_ERROR, publicMessage: "The gateway is misconfigured." },
  /**
   * An unforeseen exception (a bug, a failing runtime): refused, never let through; logged as
   * `authenticate_failed`.
   */
  ERR_INTERNAL: { ...SERVER_ERROR, publicMessage: "The gateway failed unexpectedly." },
  /** The Lambda authorizer was sent an event that is not a TOKEN, REQUEST, HTTP API 2.0 or WebSocket $connect event. */
  ERR_UNSUPPORTED_EVENT: SERVER_ERROR,
  /** The request carries no credentials this gate understands. */
  ERR_CREDENTIALS_MISSING: { status: 401, retryable: false, bodyError: "unauthorized" },
  /** Two credentials, a malformed `Authorization` value, a duplicated cookie, an oversize credential. */
  ERR_REQUEST_MALFORMED: {
    status: 400,
    bearerError: "invalid_request",
    retryable: false,
    bodyError: "invalid_request",
  },
  /** Not a strict JWS compact serialization, an unreadable header or payload, or an unknown `crit`. */
  ERR_JWT_MALFORMED: INVALID_TOKEN,
  /** `alg` is not in the allow-list (this includes `none` in any casing). */
  ERR_JWT_ALGORITHM: INVALID_TOKEN,
  /** `typ` is not `at+jwt` (an ID token, for instance). */
  ERR_JWT_TYPE: INVALID_TOKEN,
  /** No published key matches the token's `kid` and `alg`. */
  ERR_JWT_KEY_NOT_FOUND: INVALID_TOKEN,
  /** The signature does not verify. */
  ERR_JWT_SIGNATURE: INVALID_TOKEN,
  /** `exp` has passed. */
  ERR_JWT_EXPIRED: INVALID_TOKEN,
  /** A registered claim is wrong or missing: `iss`, `aud`, `iat`, `nbf`, `sub`, `client_id`. */
  ERR_JWT_CLAIM_INVALID: INVALID_TOKEN,
  /** An identity claim has the wrong type or a value that cannot travel in a header. */
  ERR_IDENTITY_CLAIM_INVALID: INVALID_TOKEN,
  /** The resolver's verdict: the session or token is invalid, expired, revoked, logged out, or the user disabled. */
  ERR_SESSION_INVALID: INVALID_TOKEN,
  /** Authenticated, but a route rule's roles, scopes, verification or non-anonymity are not met. */
  ERR_INSUFFICIENT_SCOPE: {
    status: 403,
    bearerError: "insufficient_scope",
    retryable: false,
    bodyError: "insufficient_scope",
  },
  /** Authenticated, but longer ago than the route's `maxAuthAge` (RFC 9470). */
  ERR_AUTHENTICATION_TOO_OLD: {
    status: 401,
    bearerError: "insufficient_user_authentication",
    retryable: false,
    bodyError: "insufficient_user_authentication",
  },
  /** Authenticated, but with none of the methods (`amr`) the route requires: a second factor, say (RFC 9470). */
  ERR_AUTHENTICATION_METHOD: {
    status: 401,
    bearerError: "insufficient_user_authentication",
    retryable: false,
    bodyError: "insufficient_user_authentication",
  },
  /** The key set cannot be fetched and no usable copy is cached. */
  ERR_KEYSET_UNAVAILABLE: UNAVAILABLE,
  /** The resolver cannot be reached, or its answer is unusable. */
  ERR_RESOLVER_UNAVAILABLE: UNAVAILABLE,
  /**
   * The gate's secrets cannot be fetched (Lambda@Edge: AWS Secrets Manager unreachable, slow, throttling or
   * refusing), and none were fetched before in this container.
   */
  ERR_SECRETS_UNAVAILABLE: UNAVAILABLE,
} as const satisfies Record<string, ErrorDescription>;

/** Every refusal's stable code: the keys of `AUTH_ERRORS`, and nothing else. */
export type AuthErrorCode = keyof typeof TABLE;

/** Each code's status, challenge and body, once. */
export const AUTH_ERRORS: Readonly<Record<AuthErrorCode, ErrorDescription>> = TABLE;

export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: AuthErrorCode;
  /** For `ERR_AUTHENTICATION_TOO_OLD`: the route's maximum authentication age, seconds. */
  readonly maxAge: number | undefined;

  /**
   * `message` is shown to clients as `error_description` (unless the code has a `publicMessage`): it must
   * never contain a credential.
   */
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown; maxAge?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.maxAge = options?.maxAge;
  }
}

export function describeError(code: AuthErrorCode): ErrorDescription {
  return AUTH_ERRORS[code];
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
 * A configuration error or an internal failure is described to the operator in the log, never to
 * the client: its code's fixed `publicMessage` is sent instead.
 */
export function errorResponse(error: AuthError, realm: string, resourceMetadata?: string): ErrorResponse {
  const description = describeError(error.code);
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (description.status === 400 || description.status === 401 || description.status === 403) {
    const metadata = description.status === 400 ? undefined : resourceMetadata;
    headers["www-authenticate"] = bearerChallenge(
      realm,
      description.bearerError,
      error.message,
      error.maxAge,
      metadata,
    );
  }
  if (description.retryable) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  const body = JSON.stringify({
    error: description.bodyError,
    error_description: description.publicMessage ?? error.message,
    code: error.code,
  });
  return { status: description.status, headers, body };
}

/**
 * `Bearer realm="...", error="...", error_description="..."` with RFC 9110 quoted strings, and
 * RFC 9470's `max_age` when a route asks for a more recent login, and RFC 9728's
 * `resource_metadata` (the URL of the protected-resource metadata) when given.
 */
export function bearerChallenge(
  realm: string,
  error?: BearerErrorName,
  description?: string,
  maxAge?: number,
  resourceMetadata?: string,
): string {
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
