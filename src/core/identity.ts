/**
 * The identity handed to the application: for a user, exactly the header set of Authgear's
 * resolver (docs/authgear-contract.md §3), whatever checked the credentials, and its kind and
 * issuer; for a machine client, its own headers (`identityHeaders`). Claims are validated here: a claim
 * of the wrong type or a value that cannot travel in a header makes the token invalid; it never
 * produces a malformed or ambiguous header.
 */
import type { JWTPayload } from "jose";
import { AuthError } from "./errors.ts";

export const CLAIM_IS_ANONYMOUS = "https://authgear.com/claims/user/is_anonymous";
export const CLAIM_IS_VERIFIED = "https://authgear.com/claims/user/is_verified";
export const CLAIM_CAN_REAUTHENTICATE = "https://authgear.com/claims/user/can_reauthenticate";
export const CLAIM_ROLES = "https://authgear.com/claims/user/roles";

/** What every identity carries, whatever its kind. */
interface IdentityBase {
  /** The token's `iss` (for a resolver verdict: the issuer whose resolver answered). */
  readonly issuer: string;
  /** The token's `sub`: a user id, or `client_id_<client id>` for a machine client of Authgear's. */
  readonly subject: string;
  readonly scopes: readonly string[];
  /** What vouched for the identity: a JWT verified here, or the issuer's resolver. */
  readonly source: "jwt" | "resolver";
  /**
   * Every claim of the verified JWT (`email`, custom attributes, ...), deeply frozen: the same
   * object is handed to every request of the token. Empty for a resolver verdict, whose only
   * statement is the identity's fields.
   */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The JWT's `exp`, Unix seconds; `undefined` for a resolver verdict. */
  readonly expiresAt: number | undefined;
}

/** A person, signed in at Authgear (or another issuer): what Authgear's resolver headers describe. */
export interface UserIdentity extends IdentityBase {
  readonly kind: "user";
  /** Equal to `subject`. */
  readonly userId: string;
  readonly isAnonymous: boolean;
  readonly isVerified: boolean;
  readonly canReauthenticate: boolean;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  /** `auth_time`, Unix seconds; `undefined` when the token does not say. */
  readonly authenticatedAt: number | undefined;
  /** The application the token was issued to; `undefined` for a resolver verdict, which does not say. */
  readonly clientId: string | undefined;
}

/**
 * A machine client: an access token of the client-credentials grant (RFC 6749 §4.4), issued to
 * the client itself with no user behind it. It has no user id, roles, verification, login time or
 * authentication methods, and is never handed on as a user.
 */
export interface ClientIdentity extends IdentityBase {
  readonly kind: "client";
  readonly clientId: string;
}

export type Identity = UserIdentity | ClientIdentity;

/**
 * How an issuer marks a machine client's token. `authgear`: `sub` is `client_id_` + `client_id`
 * (authgear-server `EncodeClientAccessToken`); `rfc9068`: `sub` equals `client_id` (RFC 9068 §2.2,
 * as panva's oidc-provider issues them). Either way the token carries no user claim.
 */
export const CLIENT_MARKS = ["authgear", "rfc9068"] as const;
export type ClientMarks = (typeof CLIENT_MARKS)[number];

/** The prefix of the `sub` of Authgear's machine-to-machine tokens. */
export const CLIENT_SUBJECT_PREFIX = "client_id_";

const IDENTITY_HEADER_NAME = /^x[-_.]authgear[-_.]/i;

/**
 * True for a header name a client could use to pose as the gate: `x-authgear-*` in any case and
 * in its `_` and `.` spellings (some servers map those to the same variable). Every such incoming
 * header is removed before a request goes on.
 */
export function isIdentityHeaderName(name: string): boolean {
  return IDENTITY_HEADER_NAME.test(name);
}

/** Printable ASCII without leading or trailing space; OIDC caps `sub` at 255 characters. */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;
/** A list item: printable ASCII with no space and no comma (the separators). */
const LIST_ITEM = /^[\x21-\x2b\x2d-\x7e]{1,255}$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,255}$/;

function invalid(claim: string): never {
  throw new AuthError("ERR_IDENTITY_CLAIM_INVALID", `The token's ${claim} claim is invalid.`);
}

function flag(payload: JWTPayload, claim: string): boolean {
  const value = payload[claim];
  if (value === undefined) return false;
  if (typeof value !== "boolean") invalid(claim);
  return value;
}

function stringList(payload: JWTPayload, claim: string, name: string): readonly string[] {
  const value = payload[claim];
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every((item): item is string => typeof item === "string" && LIST_ITEM.test(item))
  ) {
    invalid(name);
  }
  return value;
}

/** The claims only a user's token carries (authgear-server's user-token encoding; OIDC's `auth_time`). */
const USER_CLAIMS = ["auth_time", "amr", CLAIM_IS_ANONYMOUS, CLAIM_IS_VERIFIED, CLAIM_CAN_REAUTHENTICATE, CLAIM_ROLES];

/**
 * Builds the identity from a verified claims set, as `issuer` (its `iss`) marks a client's token
 * (`CLIENT_MARKS`); `payload` becomes the identity's `claims` and is frozen in place. Throws
 * `ERR_IDENTITY_CLAIM_INVALID`, or `ERR_JWT_CLAIM_INVALID` for a token that looks like a client's
 * and is not one exactly (a user's token never passes as a client's, nor a client's as a user's).
 */
export function identityFromClaims(payload: JWTPayload, issuer: string, marks: ClientMarks = "authgear"): Identity {
  const { sub, auth_time: authTime, client_id: clientId, scope } = payload;
  if (typeof sub !== "string" || !HEADER_SAFE.test(sub)) invalid("sub");
  if (clientId !== undefined && typeof clientId !== "string") invalid("client_id");
  if (scope !== undefined && typeof scope !== "string") invalid("scope");
  const scopes = scope === undefined ? [] : scope.split(" ").filter((item) => item !== "");
  const hasUserClaims = USER_CLAIMS.some((claim) => payload[claim] !== undefined);
  const clientSubject = marks === "authgear" ? `${CLIENT_SUBJECT_PREFIX}${clientId ?? ""}` : clientId;
  const claimsClient = marks === "authgear" ? sub.startsWith(CLIENT_SUBJECT_PREFIX) : sub === clientId;
  if (claimsClient) {
    if (clientId === undefined || sub !== clientSubject) {
      throw new AuthError("ERR_JWT_CLAIM_INVALID", "The token's sub names a client, but not its client_id.");
    }
    if (hasUserClaims) {
      throw new AuthError("ERR_JWT_CLAIM_INVALID", "The token names a client as its sub but carries user claims.");
    }
    // Both travel in the origin's headers (`clientHeaders`).
    if (!HEADER_SAFE.test(clientId)) invalid("client_id");
    if (!scopes.every((item) => SCOPE_TOKEN.test(item))) invalid("scope");
    return { kind: "client", issuer, subject: sub, clientId, scopes, ...fromJwt(payload) };
  }
  if (authTime !== undefined && !(typeof authTime === "number" && Number.isSafeInteger(authTime) && authTime >= 0)) {
    invalid("auth_time");
  }
  return {
    kind: "user",
    issuer,
    subject: sub,
    userId: sub,
    isAnonymous: flag(payload, CLAIM_IS_ANONYMOUS),
    isVerified: flag(payload, CLAIM_IS_VERIFIED),
    canReauthenticate: flag(payload, CLAIM_CAN_REAUTHENTICATE),
    roles: stringList(payload, CLAIM_ROLES, "roles"),
    amr: stringList(payload, "amr", "amr"),
    authenticatedAt: authTime,
    clientId,
    scopes,
    ...fromJwt(payload),
  };
}

/** What a resolver verdict's identity carries in place of a token's claims. */
export const RESOLVER_SOURCE = Object.freeze({
  source: "resolver",
  claims: Object.freeze({}),
  expiresAt: undefined,
} as const);

function fromJwt(payload: JWTPayload): Pick<Identity, "source" | "claims" | "expiresAt"> {
  const { exp } = payload;
  return { source: "jwt", claims: deepFreeze(payload), expiresAt: typeof exp === "number" ? exp : undefined };
}

/** A parsed JSON value frozen all the way down: a callback cannot change what later requests see. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** Identities are immutable and reused (the verified-token and verdict caches hand out the same object). */
const headersOf = new WeakMap<Identity, ReadonlyArray<readonly [string, string]>>();

/**
 * What the origin receives. A user: the headers of docs/authgear-contract.md §3, in its order
 * (roles left out when there are none, `x-authgear-session-authenticated-at` when `auth_time` is
 * unknown, amr present even when empty), then `x-authgear-edge-kind: user` and the issuer. A
 * machine client: none of Authgear's headers (no `x-authgear-session-valid`, so an application
 * written for Authgear's resolver sees no signed-in user), only `x-authgear-edge-kind: client`,
 * the issuer, the client id and the scope. Built once per identity object.
 */
export function identityHeaders(identity: Identity): ReadonlyArray<readonly [string, string]> {
  let headers = headersOf.get(identity);
  if (headers === undefined) {
    headers = identity.kind === "user" ? userHeaders(identity) : clientHeaders(identity);
    headersOf.set(identity, headers);
  }
  return headers;
}

/** Every header name `identityHeaders` may send, for either kind. */
export function identityHeaderNames(): readonly string[] {
  const user: UserIdentity = {
    kind: "user",
    issuer: "i",
    subject: "s",
    userId: "s",
    isAnonymous: false,
    isVerified: false,
    canReauthenticate: false,
    roles: ["r"],
    amr: [],
    authenticatedAt: 0,
    clientId: undefined,
    scopes: [],
    ...RESOLVER_SOURCE,
  };
  const client: ClientIdentity = {
    kind: "client",
    issuer: "i",
    subject: "s",
    clientId: "c",
    scopes: ["s"],
    ...RESOLVER_SOURCE,
  };
  return [...new Set([...userHeaders(user), ...clientHeaders(client)].map(([name]) => name))];
}

function userHeaders(identity: UserIdentity): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ["x-authgear-session-valid", "true"],
    ["x-authgear-user-id", identity.userId],
    ["x-authgear-user-anonymous", String(identity.isAnonymous)],
    ["x-authgear-user-verified", String(identity.isVerified)],
    ["x-authgear-user-can-reauthenticate", String(identity.canReauthenticate)],
  ];
  if (identity.roles.length > 0) headers.push(["x-authgear-user-roles", identity.roles.join(",")]);
  headers.push(["x-authgear-session-amr", identity.amr.join(" ")]);
  if (identity.authenticatedAt !== undefined) {
    headers.push(["x-authgear-session-authenticated-at", String(identity.authenticatedAt)]);
  }
  headers.push(["x-authgear-edge-kind", "user"], ["x-authgear-edge-issuer", identity.issuer]);
  return headers;
}

function clientHeaders(identity: ClientIdentity): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ["x-authgear-edge-kind", "client"],
    ["x-authgear-edge-issuer", identity.issuer],
    ["x-authgear-edge-client-id", identity.clientId],
  ];
  if (identity.scopes.length > 0) headers.push(["x-authgear-edge-scope", identity.scopes.join(" ")]);
  return headers;
}
