/**
 * The state behind the dev issuer's resolver endpoint (docs/authgear-contract.md §3): users,
 * sessions and their credentials, and the verdict the resolver gives for a request's credentials.
 * The HTTP side (path, Host check, failure modes) lives in issuer.ts.
 *
 * - A user record holds what only the resolver sees: current roles, verification, anonymity and
 *   whether the user is disabled. It is read at every request, never frozen.
 * - A session has four opaque credentials, each valid in its own place only (as Authgear keeps
 *   them apart): the IdP session token in the `session` cookie, the app session token in
 *   `app_session`, an access token in `app_access_token`, and an opaque access token as a bearer
 *   token. Logging out deletes the session and all four.
 * - A bearer JWT access token minted by the issuer is checked as Authgear's resolver checks it
 *   (signature, `typ`, `iss`, `aud`, `exp`), then against the user record, and, when it carries a
 *   `sid`, against that session: after a logout the resolver refuses it, while a local JWT
 *   verifier still accepts it until `exp`.
 * - Memory is bounded: at most `maxSessions` sessions and `MAX_USERS` users; past that the oldest
 *   is dropped (its credentials then resolve as invalid, like a logged-out session or a deleted
 *   user).
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { rememberCredential } from "./remember.ts";

export const RESOLVER_PATH = "/_resolver/resolve";
export const DEFAULT_MAX_SESSIONS = 100_000;
export const MAX_USERS = 100_000;

/**
 * How the resolver endpoint answers from now on. The distorting modes (`malformed` and the ones
 * after it) answer 200 with a valid-looking header set, built from the request's identity when its
 * credentials are valid and from {@link FAILURE_PLACEHOLDER_USER} otherwise, so a client that
 * wrongly trusts the answer lets someone in:
 * - `http500`: 500 with a JSON error body;
 * - `hang`: never answers (until `close()`);
 * - `redirect`: 302 to `<origin>/redirected/_resolver/resolve`, which answers the real verdict (a
 *   client that follows redirects gets it; the issuer counts it in `hits.redirected`);
 * - `no-headers`: 200 with no `X-Authgear-*` header at all, whatever the credentials;
 * - `malformed`: `X-Authgear-Session-Valid: yes`;
 * - `malformed-user-id`: `X-Authgear-Session-Valid: true` and `X-Authgear-User-Id` {@link MALFORMED_USER_ID};
 * - `duplicated`: two `X-Authgear-Session-Valid: true` header lines;
 * - `duplicated-user-id`: two `X-Authgear-User-Id` header lines, the user's then {@link DUPLICATE_USER_ID};
 * - `missing-user-id`: `X-Authgear-Session-Valid: true` without `X-Authgear-User-Id`.
 */
export type ResolverFailureMode =
  | "none"
  | "http500"
  | "hang"
  | "redirect"
  | "no-headers"
  | "malformed"
  | "malformed-user-id"
  | "duplicated"
  | "duplicated-user-id"
  | "missing-user-id";

/** The identity the distorting failure modes answer with when the request's credentials are not valid. */
export const FAILURE_PLACEHOLDER_USER = "dev-resolver-failure";
/** A user id with a space and a comma, which no Authgear user id contains. */
export const MALFORMED_USER_ID = "dev user, id";
/** The second user id sent by `duplicated-user-id`. */
export const DUPLICATE_USER_ID = "admin";

export interface UserOptions {
  /** Default `[]`. */
  roles?: string[];
  /** Default `true`. */
  verified?: boolean;
  /** Default `false`. */
  anonymous?: boolean;
  /** Default: not anonymous. */
  canReauthenticate?: boolean;
  /** A disabled user's sessions and tokens resolve as invalid. Default `false`. */
  disabled?: boolean;
}

export interface UserRecord {
  readonly sub: string;
  roles: readonly string[];
  verified: boolean;
  anonymous: boolean;
  canReauthenticate: boolean | undefined;
  disabled: boolean;
}

export interface SessionOptions {
  /** Authentication methods, e.g. `["pwd", "otp"]`; default `["pwd"]`; `[]` allowed. */
  amr?: string[];
  /** When the user authenticated, unix seconds; default now. */
  authTime?: number;
  /** Lifetime of the session and all its credentials, seconds; negative: already expired. Default: no expiry. */
  expiresIn?: number;
}

/** A session and its credentials (each valid in its own place only). */
export interface DevSession {
  /** Also the `sid` claim of JWT access tokens minted with `sessionId`. */
  readonly id: string;
  readonly sub: string;
  /** The IdP session token: the `session` cookie's value. */
  readonly cookie: string;
  /** The `app_session` cookie's value. */
  readonly appSession: string;
  /** The `app_access_token` cookie's value. */
  readonly appAccessToken: string;
  /** An opaque access token, for `Authorization: Bearer`. */
  readonly opaqueAccessToken: string;
}

export interface SessionRecord {
  readonly id: string;
  readonly user: UserRecord;
  readonly amr: readonly string[];
  readonly authTime: number;
  readonly expiresAt: number | undefined;
  readonly credentials: readonly string[];
}

/** What a valid verdict hands over; `authTime` undefined when unknown. */
export interface ResolvedIdentity {
  readonly sub: string;
  readonly anonymous: boolean;
  readonly verified: boolean;
  readonly canReauthenticate: boolean;
  readonly roles: readonly string[];
  readonly amr: readonly string[];
  readonly authTime: number | undefined;
}

export type ResolverVerdict =
  | { readonly kind: "none" }
  | { readonly kind: "invalid" }
  | { readonly kind: "valid"; readonly identity: ResolvedIdentity };

/** Where a credential was found, in the resolver's order of precedence. */
export type CredentialPlace = "bearer" | "app_session" | "app_access_token" | "session";
export const CREDENTIAL_PLACES: readonly CredentialPlace[] = ["bearer", "app_session", "app_access_token", "session"];

export type Credentials = Partial<Record<CredentialPlace, string>>;

/** The payload of a JWT that verified (signature, typ, iss, aud, exp), or undefined. */
export type JwtVerifier = (token: string) => Promise<Record<string, unknown> | undefined>;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Four 256-bit opaque values (one random draw: a flood of sessions stays cheap). */
function opaqueValues(): [string, string, string, string] {
  const bytes = randomBytes(128);
  const value = (index: number): string => bytes.subarray(index * 32, index * 32 + 32).toString("base64url");
  return [value(0), value(1), value(2), value(3)];
}

/**
 * The credentials of a request as Authgear reads them: `Authorization: Bearer <token>` (scheme in
 * any case, the token being the rest) and the first cookie of each name (`prefix` + name with no
 * separator, as authgear-server's `CookieManager.CookieName` builds it from the project's
 * `http.cookie_prefix`), quotes around a value removed. Empty values count as absent.
 */
export function readCredentials(req: IncomingMessage, cookiePrefix: string): Credentials {
  const credentials: Credentials = {};
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const space = authorization.indexOf(" ");
    const token = authorization.slice(space + 1);
    if (space > 0 && authorization.slice(0, space).toLowerCase() === "bearer" && token !== "")
      credentials.bearer = token;
  }
  const names = new Map<string, CredentialPlace>(
    (["app_session", "app_access_token", "session"] as const).map((name) => [`${cookiePrefix}${name}`, name]),
  );
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const equals = part.indexOf("=");
    if (equals === -1) continue;
    const place = names.get(part.slice(0, equals).trim());
    let value = part.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (place !== undefined && value !== "" && credentials[place] === undefined) credentials[place] = value;
  }
  return credentials;
}

export interface SessionStore {
  /** The user's record, created with the defaults when unknown. */
  ensureUser(sub: string): UserRecord;
  upsertUser(sub: string, options: UserOptions): void;
  deleteUser(sub: string): boolean;
  createSession(sub: string, options: SessionOptions): DevSession;
  /** A session not logged out or dropped (it may have expired). */
  session(id: string): SessionRecord | undefined;
  /** The session a credential (a cookie value, an opaque token) belongs to. */
  sessionIdOf(credential: string): string | undefined;
  logout(id: string): boolean;
  resolve(credentials: Credentials): Promise<ResolverVerdict>;
}

export function createSessionStore(options: { maxSessions: number; verifyJwt: JwtVerifier }): SessionStore {
  const users = new Map<string, UserRecord>();
  const sessions = new Map<string, SessionRecord>();
  const credentials = new Map<string, { readonly place: CredentialPlace; readonly sessionId: string }>();

  const ensureUser = (sub: string): UserRecord => {
    const existing = users.get(sub);
    if (existing) return existing;
    const user: UserRecord = {
      sub,
      roles: [],
      verified: true,
      anonymous: false,
      canReauthenticate: undefined,
      disabled: false,
    };
    users.set(sub, user);
    while (users.size > MAX_USERS) {
      const oldest = users.keys().next();
      if (oldest.done === true) break;
      users.delete(oldest.value);
    }
    return user;
  };

  const logout = (id: string): boolean => {
    const session = sessions.get(id);
    if (!session) return false;
    sessions.delete(id);
    for (const credential of session.credentials) credentials.delete(credential);
    return true;
  };

  /** The user, when it still exists (not deleted or dropped, then maybe re-created) and is enabled. */
  const activeUser = (user: UserRecord): UserRecord | undefined =>
    users.get(user.sub) === user && !user.disabled ? user : undefined;

  const liveSession = (id: string): SessionRecord | undefined => {
    const session = sessions.get(id);
    if (!session) return undefined;
    return session.expiresAt === undefined || nowSeconds() < session.expiresAt ? session : undefined;
  };

  const identity = (user: UserRecord, amr: readonly string[], authTime: number | undefined): ResolvedIdentity => ({
    sub: user.sub,
    anonymous: user.anonymous,
    verified: user.verified,
    canReauthenticate: user.canReauthenticate ?? !user.anonymous,
    roles: [...user.roles],
    amr: [...amr],
    authTime,
  });

  const fromSession = (session: SessionRecord | undefined): ResolvedIdentity | undefined => {
    if (!session) return undefined;
    const user = activeUser(session.user);
    return user && identity(user, session.amr, session.authTime);
  };

  const fromJwt = async (token: string): Promise<ResolvedIdentity | undefined> => {
    const payload = await options.verifyJwt(token);
    if (!payload || typeof payload.sub !== "string") return undefined;
    const { sub, sid, amr, auth_time: authTime } = payload;
    if (sid !== undefined) {
      const session = typeof sid === "string" ? liveSession(sid) : undefined;
      return session?.user.sub === sub ? fromSession(session) : undefined;
    }
    const record = users.get(sub);
    const user = record && activeUser(record);
    if (!user) return undefined;
    const methods = Array.isArray(amr) ? amr.filter((method): method is string => typeof method === "string") : [];
    return identity(user, methods, typeof authTime === "number" && Number.isInteger(authTime) ? authTime : undefined);
  };

  const resolveOne = async (place: CredentialPlace, value: string): Promise<ResolvedIdentity | undefined> => {
    const entry = credentials.get(value);
    if (entry) return entry.place === place ? fromSession(liveSession(entry.sessionId)) : undefined;
    return place === "bearer" ? fromJwt(value) : undefined;
  };

  return {
    ensureUser,
    upsertUser(sub, userOptions) {
      const user = ensureUser(sub);
      if (userOptions.roles !== undefined) user.roles = [...userOptions.roles];
      if (userOptions.verified !== undefined) user.verified = userOptions.verified;
      if (userOptions.anonymous !== undefined) user.anonymous = userOptions.anonymous;
      if (userOptions.canReauthenticate !== undefined) user.canReauthenticate = userOptions.canReauthenticate;
      if (userOptions.disabled !== undefined) user.disabled = userOptions.disabled;
    },
    deleteUser: (sub) => users.delete(sub),
    createSession(sub, sessionOptions) {
      const user = ensureUser(sub);
      const id = randomUUID();
      const [cookie, appSession, appAccessToken, opaqueAccessToken] = opaqueValues();
      const values = { cookie, appSession, appAccessToken, opaqueAccessToken };
      for (const value of Object.values(values)) rememberCredential(value);
      const authTime = sessionOptions.authTime ?? nowSeconds();
      sessions.set(id, {
        id,
        user,
        amr: [...(sessionOptions.amr ?? ["pwd"])],
        authTime,
        expiresAt: sessionOptions.expiresIn === undefined ? undefined : nowSeconds() + sessionOptions.expiresIn,
        credentials: Object.values(values),
      });
      credentials.set(values.cookie, { place: "session", sessionId: id });
      credentials.set(values.appSession, { place: "app_session", sessionId: id });
      credentials.set(values.appAccessToken, { place: "app_access_token", sessionId: id });
      credentials.set(values.opaqueAccessToken, { place: "bearer", sessionId: id });
      while (sessions.size > options.maxSessions) {
        const oldest = sessions.keys().next();
        if (oldest.done === true) break;
        logout(oldest.value);
      }
      return { id, sub, ...values };
    },
    session: (id) => sessions.get(id),
    sessionIdOf: (credential) => credentials.get(credential)?.sessionId,
    logout,
    /** The first valid credential wins, in `CREDENTIAL_PLACES` order; any present and none valid: invalid. */
    async resolve(sent) {
      let present = false;
      for (const place of CREDENTIAL_PLACES) {
        const value = sent[place];
        if (value === undefined) continue;
        present = true;
        const resolved = await resolveOne(place, value);
        if (resolved) return { kind: "valid", identity: resolved };
      }
      return present ? { kind: "invalid" } : { kind: "none" };
    },
  };
}

/** The headers of a valid verdict, docs/authgear-contract.md §4, with Go's canonical names. */
export function validVerdictHeaders(identity: ResolvedIdentity): Record<string, string> {
  return {
    "X-Authgear-Session-Valid": "true",
    "X-Authgear-User-Id": identity.sub,
    "X-Authgear-User-Anonymous": String(identity.anonymous),
    "X-Authgear-User-Verified": String(identity.verified),
    "X-Authgear-User-Can-Reauthenticate": String(identity.canReauthenticate),
    ...(identity.roles.length > 0 && { "X-Authgear-User-Roles": identity.roles.join(",") }),
    "X-Authgear-Session-Amr": identity.amr.join(" "),
    ...(identity.authTime !== undefined && { "X-Authgear-Session-Authenticated-At": String(identity.authTime) }),
  };
}

/** The headers a distorting failure mode answers with, or undefined for the other modes. */
export function distortedHeaders(
  mode: ResolverFailureMode,
  identity: ResolvedIdentity | undefined,
): Record<string, string | string[]> | undefined {
  const base = validVerdictHeaders(
    identity ?? {
      sub: FAILURE_PLACEHOLDER_USER,
      anonymous: false,
      verified: true,
      canReauthenticate: true,
      roles: [],
      amr: ["pwd"],
      authTime: nowSeconds(),
    },
  );
  switch (mode) {
    case "malformed":
      return { ...base, "X-Authgear-Session-Valid": "yes" };
    case "malformed-user-id":
      return { ...base, "X-Authgear-User-Id": MALFORMED_USER_ID };
    case "duplicated":
      return { ...base, "X-Authgear-Session-Valid": ["true", "true"] };
    case "duplicated-user-id":
      return {
        ...base,
        "X-Authgear-User-Id": [base["X-Authgear-User-Id"] ?? FAILURE_PLACEHOLDER_USER, DUPLICATE_USER_ID],
      };
    case "missing-user-id": {
      const { "X-Authgear-User-Id": _omitted, ...rest } = base;
      return rest;
    }
    default:
      return undefined;
  }
}
