/**
 * The identity handed to the application: exactly the header set of Authgear's resolver
 * (docs/authgear-contract.md §4), whatever checked the credentials. Claims are validated here: a claim
 * of the wrong type or a value that cannot travel in a header makes the token invalid; it never
 * produces a malformed or ambiguous header.
 */
import type { JWTPayload } from "jose";
import { AuthError } from "./errors.ts";

export const CLAIM_IS_ANONYMOUS = "https://authgear.com/claims/user/is_anonymous";
export const CLAIM_IS_VERIFIED = "https://authgear.com/claims/user/is_verified";
export const CLAIM_CAN_REAUTHENTICATE = "https://authgear.com/claims/user/can_reauthenticate";
export const CLAIM_ROLES = "https://authgear.com/claims/user/roles";

export interface Identity {
  readonly userId: string;
  readonly isAnonymous: boolean;
  readonly isVerified: boolean;
  readonly canReauthenticate: boolean;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  /** `auth_time`, Unix seconds; `undefined` when the token does not say. */
  readonly authenticatedAt: number | undefined;
  readonly clientId: string | undefined;
  readonly scopes: readonly string[];
}

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
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string" && LIST_ITEM.test(item))) {
    invalid(name);
  }
  return value;
}

/** Builds the identity from a verified claims set; throws `ERR_IDENTITY_CLAIM_INVALID`. */
export function identityFromClaims(payload: JWTPayload): Identity {
  const { sub, auth_time: authTime, client_id: clientId, scope } = payload;
  if (typeof sub !== "string" || !HEADER_SAFE.test(sub)) invalid("sub");
  if (authTime !== undefined && !(typeof authTime === "number" && Number.isSafeInteger(authTime) && authTime >= 0)) {
    invalid("auth_time");
  }
  if (clientId !== undefined && typeof clientId !== "string") invalid("client_id");
  if (scope !== undefined && typeof scope !== "string") invalid("scope");
  return {
    userId: sub,
    isAnonymous: flag(payload, CLAIM_IS_ANONYMOUS),
    isVerified: flag(payload, CLAIM_IS_VERIFIED),
    canReauthenticate: flag(payload, CLAIM_CAN_REAUTHENTICATE),
    roles: stringList(payload, CLAIM_ROLES, "roles"),
    amr: stringList(payload, "amr", "amr"),
    authenticatedAt: authTime,
    clientId,
    scopes: scope === undefined ? [] : scope.split(" ").filter((item) => item !== ""),
  };
}

/** Identities are immutable and reused (the verified-token and verdict caches hand out the same object). */
const headersOf = new WeakMap<Identity, ReadonlyArray<readonly [string, string]>>();

/**
 * The headers of docs/authgear-contract.md §4, in its order: roles are left out when there are none,
 * `x-authgear-session-authenticated-at` when `auth_time` is unknown; amr is present even when empty.
 * Built once per identity object.
 */
export function identityHeaders(identity: Identity): ReadonlyArray<readonly [string, string]> {
  let headers = headersOf.get(identity);
  if (headers === undefined) {
    headers = buildIdentityHeaders(identity);
    headersOf.set(identity, headers);
  }
  return headers;
}

function buildIdentityHeaders(identity: Identity): Array<[string, string]> {
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
  return headers;
}
