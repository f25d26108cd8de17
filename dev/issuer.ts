/**
 * A local OpenID Connect issuer that answers like an Authgear project
 * (docs/authgear-contract.md §1-2): discovery at `/.well-known/openid-configuration`, the key set
 * at `/oauth2/jwks`, RS256 `at+jwt` access tokens and `JWT` ID tokens signed with the first
 * published key. It listens on 127.0.0.1 only, and lets tests rotate keys, publish odd keys
 * and break the discovery and key-set endpoints on purpose.
 *
 * It also serves Authgear's resolver endpoint (§3, forward authentication) at
 * `/_resolver/resolve`, over users and sessions that tests create, log out, disable and change
 * (see resolver.ts), and can break it in every way a gate must survive. For `npm start` and curl,
 * `POST /_dev/token`, `/_dev/session`, `/_dev/logout` and `/_dev/user` mint tokens, create and log
 * out sessions and change users.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import type { CompactJWSHeaderParameters, JWK, JWTVerifyGetKey } from "jose";
import { listenOnLoopback } from "./loopback-server.ts";
import {
  DEFAULT_MAX_SESSIONS,
  RESOLVER_PATH,
  createSessionStore,
  distortedHeaders,
  readCredentials,
  validVerdictHeaders,
} from "./resolver.ts";
import { rememberCredential } from "./remember.ts";
import {
  CLIENT_ACCESS_TOKEN_LIFETIME,
  clientAccessTokenClaims,
  createClientCredentialsGrant,
} from "./client-credentials.ts";
import type { MachineClient } from "./client-credentials.ts";
import type { DevSession, ResolverFailureMode, SessionOptions, UserOptions, UserRecord } from "./resolver.ts";

export type { DevSession, ResolverFailureMode, SessionOptions, UserOptions } from "./resolver.ts";
export type { MachineClient } from "./client-credentials.ts";

export interface AccessTokenOptions {
  /** Default: a random UUID. */
  sub?: string;
  /** Merged over the default claims; a value of `undefined` removes that claim. */
  claims?: Record<string, unknown>;
  /** Merged over the protected header (`alg`, `typ`, `kid`); `undefined` removes a member. */
  header?: Record<string, unknown>;
  /** Lifetime in seconds; negative mints an already expired token. Default 1800 (ID tokens 300). */
  expiresIn?: number;
  /** `iat` and `auth_time`, in unix seconds. Default now. */
  issuedAt?: number;
  /** The published key that signs. Default the signing key (first in the key set). */
  kid?: string;
  /**
   * The `amr` claim; default `["pwd"]` (the session's with `sessionId`). Empty: no `amr` claim, as
   * Authgear leaves out an empty one (authgear-server `token_encoding.go` lines 115-118).
   */
  amr?: readonly string[];
  /**
   * Ties the token to a session (from `createSession`): adds `sid: <session id>`, and `sub`,
   * `auth_time` and `amr` default to the session's. The resolver then refuses the token once the
   * session is logged out, while a local JWT verifier accepts it until `exp`. Throws for an unknown
   * session or a different `sub`.
   */
  sessionId?: string;
}

export interface ClientAccessTokenOptions {
  clientId: string;
  /** The resource URI: the token's `aud` (as `["<resource>"]`, client-credentials.ts). */
  resource: string;
  /** Space-separated; default empty. */
  scope?: string;
  /** Default 1800 s; negative mints an already expired token. */
  expiresIn?: number;
  /** `iat`, unix seconds; default now. */
  issuedAt?: number;
  /** Merged over the claims; `undefined` removes one. */
  claims?: Record<string, unknown>;
}

export type FailureMode = "none" | "http500" | "hang" | "reset" | "redirect" | "oversize" | "invalid-json";

export interface DevIssuer {
  /** `http://127.0.0.1:<port>`, no trailing slash; also the `iss` and the access-token `aud`. */
  readonly origin: string;
  readonly jwksUri: string;
  readonly signingKid: string;
  /**
   * Requests answered (or deliberately not answered) on the discovery and key-set paths;
   * `redirected` counts requests to the redirect targets, i.e. redirects that were followed.
   */
  readonly hits: { readonly discovery: number; readonly jwks: number; readonly redirected: number };
  mintAccessToken(options?: AccessTokenOptions): Promise<string>;
  mintIdToken(options?: AccessTokenOptions): Promise<string>;
  /**
   * A machine client's access token as Authgear's client-credentials grant issues it, without the
   * grant's checks (for those, `POST /oauth2/token`, client-credentials.ts).
   */
  mintClientAccessToken(options: ClientAccessTokenOptions): Promise<string>;
  /** `<origin>/oauth2/token`: the client-credentials grant of the configured machine clients. */
  readonly tokenEndpoint: string;
  /** Generates an RSA-2048 key and publishes it, last, or first as the new signing key. */
  addKey(options?: { sign?: boolean }): Promise<string>;
  /** Unpublishes a key; it can no longer sign. */
  removeKey(kid: string): void;
  /** Publishes a new signing key and removes the previous one; returns the new kid. */
  rotateKey(): Promise<string>;
  /** How the discovery and key-set endpoints answer from now on. */
  setFailure(mode: FailureMode): void;
  /** Overrides `issuer` in the discovery document; `undefined` restores the origin. */
  setDiscoveryIssuer(issuer: string | undefined): void;
  /** Raw JWK objects published after the issuer's own keys, as given. */
  setExtraJwks(keys: Record<string, unknown>[]): void;
  /** `<origin>/_resolver/resolve`: Authgear's resolver endpoint (docs/authgear-contract.md §3). */
  readonly resolverUrl: string;
  /**
   * Requests to `/_resolver/resolve`, whatever their method, Host or answer (a followed redirect
   * counts in `hits.redirected` instead).
   */
  readonly resolverHits: number;
  /**
   * Creates the user, or changes the given fields of an existing one; the resolver reads the record
   * at every request. Minting a token or creating a session for an unknown `sub` creates the user
   * with the defaults (no roles, verified, not anonymous, can reauthenticate, enabled), and the
   * user claims of tokens minted afterwards are taken from the record (then frozen in the token).
   */
  upsertUser(sub: string, options?: UserOptions): void;
  /** Shorthand for `upsertUser(sub, { roles })`. */
  setRoles(sub: string, roles: string[]): void;
  /** Shorthand for `upsertUser(sub, { disabled: true })`: every session and token of the user resolves as invalid. */
  disableUser(sub: string): void;
  /**
   * Deletes the user: its sessions and tokens resolve as invalid, even if the `sub` is created again
   * (JWTs without `sid` excepted). Returns whether the user existed.
   */
  deleteUser(sub: string): boolean;
  /**
   * Creates a session for the user (created if unknown) with four fresh opaque credentials; each is
   * valid only in its own place (the `session`, `app_session`, `app_access_token` cookies, or as a
   * bearer token). Past `maxSessions` the oldest session is dropped.
   */
  createSession(sub: string, options?: SessionOptions): DevSession;
  /**
   * Logs the session out: all its credentials, and JWTs minted with its `sessionId`, resolve as invalid.
   * Returns whether it existed.
   */
  logout(sessionId: string): boolean;
  /** How the resolver endpoint answers from now on (see {@link ResolverFailureMode}). */
  setResolverFailure(mode: ResolverFailureMode): void;
  /** A slow resolver: each request to it waits this long (default 0) before its answer is chosen and sent. */
  setResolverDelay(ms: number): void;
  /**
   * Undoes every `set*` call: the discovery and key-set endpoints and the resolver answer normally and at
   * once, the discovery issuer is the origin, no extra JWKs. Keys, users and sessions stay as they are.
   */
  restoreDefaults(): void;
  /** Stops listening and destroys every open socket, hung requests included. */
  close(): Promise<void>;
}

interface HeldKey {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

type Claims = Record<string, unknown>;

const DISCOVERY_PATH = "/.well-known/openid-configuration";
const JWKS_PATH = "/oauth2/jwks";
const REDIRECT_PREFIX = "/redirected";
const TOKEN_PATH = "/oauth2/token";
const DEV_TOKEN_PATH = "/_dev/token";
const DEV_SESSION_PATH = "/_dev/session";
const DEV_LOGOUT_PATH = "/_dev/logout";
const DEV_USER_PATH = "/_dev/user";
/**
 * A person's way in for `npm start`: a form that creates a session and sets its cookie (GET shows it,
 * POST submits it).
 */
const DEV_LOGIN_PATH = "/_dev/login";
/** `GET /_dev/signout?return_to=...`: ends the cookie's session, clears the cookie, goes back. */
const DEV_SIGNOUT_PATH = "/_dev/signout";

const ACCESS_TOKEN_LIFETIME = 1800;
const ID_TOKEN_LIFETIME = 300;
const ACCESS_TOKEN_SCOPE = "openid offline_access https://authgear.com/scopes/full-access";
const USER_CLAIM = "https://authgear.com/claims/user/";
const OVERSIZE_BYTES = 2 * 1024 * 1024;
const MAX_DEV_TOKEN_BODY = 64 * 1024;
/** `POST /_dev/token`'s `expires_in` bound, either way (seconds). */
const MAX_DEV_TOKEN_LIFETIME = 86_400;
const DEV_TOKEN_FIELDS = {
  kind: "string",
  sub: "string",
  roles: "strings",
  amr: "strings",
  expires_in: "integer",
  nonce: "string",
} as const;
/** What `POST /_dev/token` takes: its 400 answer, and the dev tools' help. */
export const DEV_TOKEN_USAGE =
  '{"kind"?: "access_token" | "id_token", "sub"?: string, "roles"?: string[], "amr"?: string[], ' +
  `"expires_in"?: integer seconds, ${-MAX_DEV_TOKEN_LIFETIME} to ${MAX_DEV_TOKEN_LIFETIME}, negative: already expired, ` +
  '"nonce"?: string (id_token only)}';
const SCOPES_SUPPORTED = [
  "openid",
  "offline_access",
  "https://authgear.com/scopes/full-access",
  "https://authgear.com/scopes/full-userinfo",
  "https://authgear.com/scopes/app-initiated-sso-to-web",
  "device_sso",
];
/** Authgear's list: the JWT registered claims, then the OIDC standard attributes. */
const CLAIMS_SUPPORTED = [
  "iss",
  "aud",
  "iat",
  "exp",
  "sub",
  "email",
  "email_verified",
  "phone_number",
  "phone_number_verified",
  "preferred_username",
  "family_name",
  "given_name",
  "middle_name",
  "name",
  "nickname",
  "picture",
  "profile",
  "website",
  "gender",
  "birthdate",
  "zoneinfo",
  "locale",
  "address",
  "updated_at",
];
const RSA_ALGORITHMS = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]);

async function generateKey(): Promise<HeldKey> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { kid, publicJwk, privateJwk: await exportJWK(privateKey) };
}

/** Authgear sets `amr` only when non-empty (token_encoding.go lines 115-118). */
function nonEmpty(list: readonly string[]): string[] | undefined {
  return list.length > 0 ? [...list] : undefined;
}

function merge(defaults: Claims, overrides: Claims | undefined): Claims {
  return Object.fromEntries(Object.entries({ ...defaults, ...overrides }).filter(([, value]) => value !== undefined));
}

/** The user claims of a token, from the user's record at minting time. */
function userClaims(user: UserRecord): Claims {
  return {
    [`${USER_CLAIM}is_anonymous`]: user.anonymous,
    [`${USER_CLAIM}is_verified`]: user.verified,
    [`${USER_CLAIM}can_reauthenticate`]: user.canReauthenticate ?? !user.anonymous,
    [`${USER_CLAIM}roles`]: [...user.roles],
  };
}

/**
 * Signs exactly the header and claims given. Any RSA algorithm works with the issuer's keys;
 * `crit` names are marked understood so tokens carrying them can be minted.
 */
async function sign(header: Claims, claims: Claims, key: HeldKey): Promise<string> {
  const { alg, crit } = header;
  if (typeof alg !== "string" || !RSA_ALGORITHMS.has(alg)) {
    throw new Error(
      `dev issuer: cannot sign with alg ${JSON.stringify(alg)}: its RSA keys sign RS256/384/512 and PS256/384/512 only; build such a token by hand`,
    );
  }
  const recognized = Array.isArray(crit)
    ? Object.fromEntries(crit.filter((name): name is string => typeof name === "string").map((name) => [name, true]))
    : undefined;
  const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as CompactJWSHeaderParameters)
    .sign(key.privateJwk, recognized && { crit: recognized });
  rememberCredential(token.slice(token.lastIndexOf(".") + 1));
  return token;
}

function sendJson(res: ServerResponse, status: number, body: string, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendJson(res, 405, JSON.stringify({ error: "method_not_allowed" }), { allow });
}

/** Pads a document past {@link OVERSIZE_BYTES} with entries that look like the real ones. */
function oversize(path: string, document: Claims): string {
  const junkModulus = randomBytes(256).toString("base64url");
  const entries: unknown[] = [];
  let size = 0;
  while (size < OVERSIZE_BYTES) {
    const entry =
      path === JWKS_PATH
        ? { kty: "RSA", kid: randomUUID(), alg: "RS256", use: "sig", n: junkModulus, e: "AQAB" }
        : `https://example.com/claims/${randomUUID()}`;
    entries.push(entry);
    size += JSON.stringify(entry).length + 1;
  }
  const field = path === JWKS_PATH ? "keys" : "claims_supported";
  const existing: unknown[] = Array.isArray(document[field]) ? document[field] : [];
  return JSON.stringify({ ...document, [field]: [...existing, ...entries] });
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DEV_TOKEN_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

type FieldType = "string" | "strings" | "boolean" | "integer";

const FIELD_CHECKS: Record<FieldType, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  integer: (value) => Number.isSafeInteger(value),
  strings: (value) => Array.isArray(value) && value.every((item) => typeof item === "string"),
  boolean: (value) => typeof value === "boolean",
};

/**
 * A JSON object body (empty: `{}`) holding the given fields, each absent or of its type; other
 * fields are ignored. `undefined` when the body is not such an object.
 */
function parseFields(body: string, fields: Record<string, FieldType>): Claims | undefined {
  if (body.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const picked: Claims = {};
  for (const [name, type] of Object.entries(fields)) {
    const value = (parsed as Claims)[name];
    if (value === undefined) continue;
    if (!FIELD_CHECKS[type](value)) return undefined;
    picked[name] = value;
  }
  return picked;
}

/**
 * Starts the issuer on 127.0.0.1. `port` defaults to 0 (a free port); `clientId` (default
 * `dev-client`) is the access tokens' `client_id` and the ID tokens' audience.
 */
export async function startDevIssuer(
  options: {
    port?: number;
    clientId?: string;
    /** Prefix of the resolver's cookie names (Authgear's configurable cookie prefix); default none. */
    cookiePrefix?: string;
    /** Sessions kept at most, the oldest dropped first; default 100,000. */
    maxSessions?: number;
    /**
     * Browser origins whose scripts may call `POST /_dev/token` (the SPA demo), as Authgear's
     * token endpoint answers CORS for a client's allowed origins; default none.
     */
    corsOrigins?: readonly string[];
    /** Confidential clients allowed the client-credentials grant at `/oauth2/token`; default none. */
    machineClients?: readonly MachineClient[];
  } = {},
): Promise<DevIssuer> {
  const clientId = options.clientId ?? "dev-client";
  const cookiePrefix = options.cookiePrefix ?? "";
  const keys: HeldKey[] = [await generateKey()];
  const hits = { discovery: 0, jwks: 0, redirected: 0 };
  let failure: FailureMode = "none";
  let resolverFailure: ResolverFailureMode = "none";
  let resolverHits = 0;
  let resolverDelayMs = 0;
  let discoveryIssuer: string | undefined;
  let extraJwks: Record<string, unknown>[] = [];
  let origin = "";
  let host = "";
  /** The issuer's own published keys (not the extra JWKs), rebuilt when they change. */
  let ownKeySet: JWTVerifyGetKey | undefined;

  /** Authgear's resolver checks of a JWT access token: RS256 with a published key, at+jwt, iss, aud, exp. */
  const verifyJwt = async (token: string): Promise<Claims | undefined> => {
    ownKeySet ??= createLocalJWKSet({ keys: keys.map((key) => key.publicJwk) });
    try {
      const { payload } = await jwtVerify(token, ownKeySet, {
        algorithms: ["RS256"],
        typ: "at+jwt",
        issuer: origin,
        audience: origin,
      });
      return payload;
    } catch {
      return undefined;
    }
  };

  const store = createSessionStore({ maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS, verifyJwt });

  const discoveryDocument = (): Claims => ({
    issuer: discoveryIssuer ?? origin,
    authorization_endpoint: `${origin}/oauth2/authorize`,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    userinfo_endpoint: `${origin}/oauth2/userinfo`,
    end_session_endpoint: `${origin}/oauth2/end_session`,
    revocation_endpoint: `${origin}/oauth2/revoke`,
    jwks_uri: `${origin}${JWKS_PATH}`,
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ["code", "urn:authgear:params:oauth:response-type:settings-action", "none"],
    response_modes_supported: ["query", "fragment", "form_post"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_post", "client_secret_basic"],
    claims_supported: CLAIMS_SUPPORTED,
  });

  const keySet = (): Claims => ({ keys: [...keys.map((key) => key.publicJwk), ...extraJwks] });

  const documentFor = (path: string): Claims => (path === JWKS_PATH ? keySet() : discoveryDocument());

  const signingKey = (kid?: string): HeldKey => {
    const key = kid === undefined ? keys[0] : keys.find((held) => held.kid === kid);
    if (!key)
      throw new Error(kid === undefined ? "dev issuer: no key is published" : `dev issuer: no published key ${kid}`);
    return key;
  };

  const mint = async (
    typ: string,
    lifetime: number,
    extraClaims: Claims,
    tokenOptions: AccessTokenOptions,
  ): Promise<string> => {
    const key = signingKey(tokenOptions.kid);
    const session = tokenOptions.sessionId === undefined ? undefined : store.session(tokenOptions.sessionId);
    if (tokenOptions.sessionId !== undefined && !session) {
      throw new Error(`dev issuer: no session ${tokenOptions.sessionId} (never created, logged out or dropped)`);
    }
    if (session && tokenOptions.sub !== undefined && tokenOptions.sub !== session.user.sub) {
      throw new Error(`dev issuer: session ${session.id} belongs to ${session.user.sub}, not ${tokenOptions.sub}`);
    }
    const sub = tokenOptions.sub ?? session?.user.sub ?? randomUUID();
    // The user whose claims the token carries (created if unknown): the final `sub`, overrides included.
    const finalSub = tokenOptions.claims && "sub" in tokenOptions.claims ? tokenOptions.claims.sub : sub;
    const user = store.ensureUser(typeof finalSub === "string" ? finalSub : sub);
    const iat = tokenOptions.issuedAt ?? Math.floor(Date.now() / 1000);
    const header = merge({ alg: "RS256", typ, kid: key.kid }, tokenOptions.header);
    const claims = merge(
      {
        iss: origin,
        sub,
        iat,
        exp: iat + (tokenOptions.expiresIn ?? lifetime),
        auth_time: session ? session.authTime : iat,
        amr: nonEmpty(tokenOptions.amr ?? (session ? session.amr : ["pwd"])),
        ...extraClaims,
        ...(session && { sid: session.id }),
        ...userClaims(user),
      },
      tokenOptions.claims,
    );
    return sign(header, claims, key);
  };

  const mintAccessToken = (tokenOptions: AccessTokenOptions = {}): Promise<string> =>
    mint(
      "at+jwt",
      ACCESS_TOKEN_LIFETIME,
      { aud: [origin], client_id: clientId, scope: ACCESS_TOKEN_SCOPE, jti: randomUUID() },
      tokenOptions,
    );

  const mintIdToken = (tokenOptions: AccessTokenOptions = {}): Promise<string> =>
    mint(
      "JWT",
      ID_TOKEN_LIFETIME,
      { aud: [clientId], sid: Buffer.from(`offline_grant:${randomUUID()}`).toString("base64url") },
      tokenOptions,
    );

  /** Signs with the header of authgear-server's `EncodeClientAccessToken`: typ at+jwt, RS256, the key's kid. */
  const signClientToken = (claims: Claims): Promise<string> => {
    const key = signingKey();
    return sign({ alg: "RS256", typ: "at+jwt", kid: key.kid }, claims, key);
  };

  const mintClientAccessToken = (tokenOptions: ClientAccessTokenOptions): Promise<string> => {
    const request = {
      clientId: tokenOptions.clientId,
      resource: tokenOptions.resource,
      scope: tokenOptions.scope ?? "",
      issuedAt: tokenOptions.issuedAt ?? Math.floor(Date.now() / 1000),
      expiresIn: tokenOptions.expiresIn ?? CLIENT_ACCESS_TOKEN_LIFETIME,
    };
    return signClientToken(merge(clientAccessTokenClaims(origin, request), tokenOptions.claims));
  };

  const clientCredentials = createClientCredentialsGrant({
    issuer: () => origin,
    clients: options.machineClients ?? [],
    publicClientIds: new Set([clientId]),
    sign: signClientToken,
  });

  /** `POST /oauth2/token`: Authgear's token endpoint, for the client-credentials grant (client-credentials.ts). */
  const serveToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const answer =
      body === undefined
        ? { status: 400, body: { error: "invalid_request", error_description: "request body too large" } }
        : await clientCredentials.answer(new URLSearchParams(body), req.headers.authorization);
    sendJson(res, answer.status, JSON.stringify(answer.body), { "cache-control": "no-store", pragma: "no-cache" });
  };

  const serveWellKnown = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (path === JWKS_PATH) hits.jwks += 1;
    else hits.discovery += 1;
    switch (failure) {
      case "none":
        sendJson(res, 200, JSON.stringify(documentFor(path)));
        return;
      case "http500":
        sendJson(res, 500, JSON.stringify({ error: "unexpected_error" }));
        return;
      case "hang":
        return;
      case "reset":
        req.socket.resetAndDestroy();
        return;
      case "redirect":
        res.writeHead(302, { location: `${origin}${REDIRECT_PREFIX}${path}`, "content-length": 0 });
        res.end();
        return;
      case "oversize":
        sendJson(res, 200, oversize(path, documentFor(path)));
        return;
      case "invalid-json":
        sendJson(res, 200, "{not json");
        return;
    }
  };

  const badRequest = (res: ServerResponse, expected: string): void => {
    sendJson(res, 400, JSON.stringify({ error: "invalid_request", error_description: `expected ${expected}` }));
  };

  /**
   * `POST /_dev/token {"kind"?, "sub"?, "roles"?, "amr"?, "expires_in"?, "nonce"?}` ({@link DEV_TOKEN_USAGE}):
   * an access token `{access_token, token_type: "Bearer", expires_in}`, or with `"kind": "id_token"` an
   * ID token `{id_token, expires_in}` (`typ: JWT`, `aud: [client id]`, `nonce` when given).
   */
  const serveDevToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const request = body === undefined ? undefined : parseFields(body, DEV_TOKEN_FIELDS);
    const kind = (request?.kind as string | undefined) ?? "access_token";
    const idToken = kind === "id_token";
    const lifetime =
      (request?.expires_in as number | undefined) ?? (idToken ? ID_TOKEN_LIFETIME : ACCESS_TOKEN_LIFETIME);
    const nonce = request?.nonce as string | undefined;
    if (
      !request ||
      (kind !== "access_token" && !idToken) ||
      Math.abs(lifetime) > MAX_DEV_TOKEN_LIFETIME ||
      (nonce !== undefined && !idToken)
    ) {
      badRequest(res, DEV_TOKEN_USAGE);
      return;
    }
    // Roles given become the user's (so the resolver agrees with the token); omitted, the user keeps its own.
    const sub = (request.sub as string | undefined) ?? randomUUID();
    const roles = request.roles as string[] | undefined;
    if (roles !== undefined) store.upsertUser(sub, { roles });
    const amr = request.amr as string[] | undefined;
    const tokenOptions: AccessTokenOptions = {
      sub,
      expiresIn: lifetime,
      ...(amr !== undefined && { amr }),
      ...(nonce !== undefined && { claims: { nonce } }),
    };
    const answer = idToken
      ? { id_token: await mintIdToken(tokenOptions), expires_in: lifetime }
      : { access_token: await mintAccessToken(tokenOptions), token_type: "Bearer", expires_in: lifetime };
    sendJson(res, 200, JSON.stringify(answer), { "cache-control": "no-store" });
  };

  const corsOrigins = new Set(options.corsOrigins ?? []);
  /**
   * CORS for `/_dev/token`: a listed origin (exact match) gets its preflight answered and may read
   * the answer; any other gets no CORS header, so its scripts cannot mint tokens. True when the
   * request was a preflight, answered here.
   */
  const tokenCors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const requestOrigin = req.headers.origin;
    res.setHeader("vary", "Origin");
    const allowed = requestOrigin !== undefined && corsOrigins.has(requestOrigin);
    if (allowed) res.setHeader("access-control-allow-origin", requestOrigin);
    if (req.method !== "OPTIONS") return false;
    if (allowed) {
      res.setHeader("access-control-allow-methods", "POST");
      res.setHeader("access-control-allow-headers", "content-type");
      res.setHeader("access-control-max-age", "600");
    }
    res.writeHead(allowed ? 204 : 403);
    res.end();
    return true;
  };

  /** `POST /_dev/session {"sub"?, "roles"?, "amr"?}`: a session, its credentials and a JWT access token tied to it. */
  const serveDevSession = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const request =
      body === undefined ? undefined : parseFields(body, { sub: "string", roles: "strings", amr: "strings" });
    if (!request) {
      badRequest(res, '{"sub"?: string, "roles"?: string[], "amr"?: string[]}');
      return;
    }
    const sub = (request.sub as string | undefined) ?? randomUUID();
    const roles = request.roles as string[] | undefined;
    const amr = request.amr as string[] | undefined;
    if (roles !== undefined) store.upsertUser(sub, { roles });
    const session = store.createSession(sub, amr === undefined ? {} : { amr });
    const jwt = await mintAccessToken({ sessionId: session.id });
    const result = {
      session_id: session.id,
      sub,
      session: session.cookie,
      app_session: session.appSession,
      app_access_token: session.appAccessToken,
      access_token: session.opaqueAccessToken,
      jwt_access_token: jwt,
    };
    sendJson(res, 200, JSON.stringify(result), { "cache-control": "no-store" });
  };

  /** `POST /_dev/logout {"session_id"}`: 204, or 404 for an unknown session. */
  const serveDevLogout = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const request = body === undefined ? undefined : parseFields(body, { session_id: "string" });
    const sessionId = request?.session_id;
    if (typeof sessionId !== "string") {
      badRequest(res, '{"session_id": string}');
      return;
    }
    if (store.logout(sessionId)) {
      res.writeHead(204);
      res.end();
    } else {
      sendJson(res, 404, JSON.stringify({ error: "not_found", error_description: "no such session" }));
    }
  };

  /** `POST /_dev/user {"sub", "roles"?, "verified"?, "anonymous"?, "disabled"?}`: `upsertUser`, 204. */
  const serveDevUser = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const request =
      body === undefined
        ? undefined
        : parseFields(body, {
            sub: "string",
            roles: "strings",
            verified: "boolean",
            anonymous: "boolean",
            disabled: "boolean",
          });
    if (typeof request?.sub !== "string") {
      badRequest(
        res,
        '{"sub": string, "roles"?: string[], "verified"?: boolean, "anonymous"?: boolean, "disabled"?: boolean}',
      );
      return;
    }
    const { roles, verified, anonymous, disabled } = request as {
      roles?: string[];
      verified?: boolean;
      anonymous?: boolean;
      disabled?: boolean;
    };
    store.upsertUser(request.sub, {
      ...(roles !== undefined && { roles }),
      ...(verified !== undefined && { verified }),
      ...(anonymous !== undefined && { anonymous }),
      ...(disabled !== undefined && { disabled }),
    });
    res.writeHead(204);
    res.end();
  };

  /**
   * Where the login page may send a person back to: an http(s) URL on a loopback host (the gate
   * under `npm start`); anything else would make the dev issuer an open redirect.
   */
  const returnTo = (raw: string | null): string | undefined => {
    if (raw === null || !URL.canParse(raw)) return undefined;
    const url = new URL(raw);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/.test(url.hostname)
      ? url.href
      : undefined;
  };
  const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  /**
   * `GET /_dev/login?return_to=...`: the form; `POST` (form-encoded sub, roles, verified, return_to): a
   * session, its cookie, 303 back.
   */
  const serveDevLogin = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === "GET") {
      const back = returnTo(url.searchParams.get("return_to"));
      if (back === undefined) {
        badRequest(res, "return_to: an http(s) URL on a loopback host");
        return;
      }
      const page = `<!doctype html><meta charset="utf-8"><title>authgear-edge: dev login</title>
<h1>Dev issuer: sign in</h1>
<form method="post" action="${DEV_LOGIN_PATH}">
<input type="hidden" name="return_to" value="${escapeHtml(back)}">
<p><label>User id <input name="sub" value="dev-user" required></label></p>
<p><label>Roles (comma-separated) <input name="roles" value="admin"></label></p>
<p><label><input type="checkbox" name="verified" value="true" checked> verified</label></p>
<p><button type="submit">Sign in</button></p>
</form>`;
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-length": Buffer.byteLength(page),
        "cache-control": "no-store",
      });
      res.end(page);
      return;
    }
    if (req.method !== "POST") {
      methodNotAllowed(res, "GET, POST");
      return;
    }
    const form = new URLSearchParams((await readBody(req)) ?? "");
    const sub = form.get("sub")?.trim() ?? "";
    const back = returnTo(form.get("return_to"));
    if (!/^[\x21-\x7e]{1,255}$/.test(sub) || back === undefined) {
      badRequest(res, "sub (printable, no spaces) and return_to (an http(s) URL on a loopback host)");
      return;
    }
    const roles = (form.get("roles") ?? "")
      .split(",")
      .map((role) => role.trim())
      .filter((role) => role !== "");
    store.upsertUser(sub, { roles, verified: form.get("verified") === "true" });
    const session = store.createSession(sub, {});
    res.writeHead(303, {
      location: back,
      "set-cookie": `${cookiePrefix}session=${session.cookie}; Path=/; HttpOnly; SameSite=Lax`,
      "cache-control": "no-store",
    });
    res.end();
  };

  /** `GET /_dev/signout?return_to=...`: the session of the request's cookie ends, the cookie is cleared. */
  const serveDevSignout = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const back = returnTo(url.searchParams.get("return_to"));
    if (back === undefined) {
      badRequest(res, "return_to: an http(s) URL on a loopback host");
      return;
    }
    const cookie = readCredentials(req, cookiePrefix).session;
    const id = cookie === undefined ? undefined : store.sessionIdOf(cookie);
    if (id !== undefined) store.logout(id);
    res.writeHead(303, {
      location: back,
      "set-cookie": `${cookiePrefix}session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
      "cache-control": "no-store",
    });
    res.end();
  };

  const devEndpoints = new Map<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>([
    [DEV_TOKEN_PATH, serveDevToken],
    [DEV_SESSION_PATH, serveDevSession],
    [DEV_LOGOUT_PATH, serveDevLogout],
    [DEV_USER_PATH, serveDevUser],
  ]);

  const answerVerdict = (res: ServerResponse, headers: Record<string, string | string[]>): void => {
    res.writeHead(200, { ...headers, "content-length": 0 });
    res.end();
  };

  /**
   * Authgear's resolver endpoint (docs/authgear-contract.md §3). Authgear selects the project by Host, so a request
   * whose Host is not the issuer's own (`127.0.0.1:<port>`; `localhost:<port>` is another host) gets
   * 404, not a verdict. Behind its ingress Authgear takes the host from `X-Forwarded-Host`, so a
   * request carrying `X-Forwarded-Host` or `X-Original-Host` also gets 404, even when it names this
   * host: a client must never forward them. Then: 405 for a method but GET and HEAD, the failure
   * mode, and a 200 whose headers carry the verdict.
   */
  const serveResolver = async (req: IncomingMessage, res: ServerResponse, redirected: boolean): Promise<void> => {
    if (redirected) hits.redirected += 1;
    else resolverHits += 1;
    if (
      req.headers.host !== host ||
      req.headers["x-forwarded-host"] !== undefined ||
      req.headers["x-original-host"] !== undefined
    ) {
      sendJson(res, 404, JSON.stringify({ error: "not_found", error_description: "unknown host" }));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      methodNotAllowed(res, "GET, HEAD");
      return;
    }
    if (resolverDelayMs > 0) await new Promise((resume) => setTimeout(resume, resolverDelayMs));
    // A followed redirect answers the real verdict, so that following it shows.
    const mode = redirected ? "none" : resolverFailure;
    switch (mode) {
      case "http500":
        sendJson(res, 500, JSON.stringify({ error: "unexpected_error" }));
        return;
      case "hang":
        return;
      case "redirect":
        res.writeHead(302, { location: `${origin}${REDIRECT_PREFIX}${RESOLVER_PATH}`, "content-length": 0 });
        res.end();
        return;
      case "no-headers":
        answerVerdict(res, {});
        return;
      default:
        break;
    }
    const credentials = readCredentials(req, cookiePrefix);
    const verdict = await store.resolve(credentials);
    const distorted = distortedHeaders(mode, verdict.kind === "valid" ? verdict.identity : undefined);
    if (distorted) {
      answerVerdict(res, distorted);
      return;
    }
    switch (verdict.kind) {
      case "none":
        answerVerdict(res, {});
        return;
      case "invalid":
        answerVerdict(res, {
          "X-Authgear-Session-Valid": "false",
          ...(credentials.session !== undefined && {
            "Set-Cookie": `${cookiePrefix}session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
          }),
        });
        return;
      case "valid":
        answerVerdict(res, validVerdictHeaders(verdict.identity));
        return;
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", origin).pathname;
    if (path === DEV_LOGIN_PATH) {
      await serveDevLogin(req, res, new URL(req.url ?? "/", origin));
      return;
    }
    if (path === DEV_SIGNOUT_PATH) {
      serveDevSignout(req, res, new URL(req.url ?? "/", origin));
      return;
    }
    if (path === TOKEN_PATH) {
      if (req.method === "POST") await serveToken(req, res);
      else methodNotAllowed(res, "POST");
      return;
    }
    if (path === DEV_TOKEN_PATH && tokenCors(req, res)) return;
    const devEndpoint = devEndpoints.get(path);
    if (devEndpoint) {
      if (req.method === "POST") await devEndpoint(req, res);
      else methodNotAllowed(res, "POST");
      return;
    }
    if (path === RESOLVER_PATH || path === `${REDIRECT_PREFIX}${RESOLVER_PATH}`) {
      await serveResolver(req, res, path !== RESOLVER_PATH);
      return;
    }
    const target = path.startsWith(REDIRECT_PREFIX) ? path.slice(REDIRECT_PREFIX.length) : path;
    if (target !== DISCOVERY_PATH && target !== JWKS_PATH) {
      sendJson(res, 404, JSON.stringify({ error: "not_found" }));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      methodNotAllowed(res, "GET, HEAD");
      return;
    }
    if (target === path) {
      serveWellKnown(req, res, path);
    } else {
      hits.redirected += 1;
      sendJson(res, 200, JSON.stringify(documentFor(target)));
    }
  };

  const server = await listenOnLoopback("dev issuer", options.port ?? 0, route);
  origin = server.url;
  host = new URL(origin).host;

  const addKey = async ({ sign: makeSigning = false }: { sign?: boolean } = {}): Promise<string> => {
    const key = await generateKey();
    if (makeSigning) keys.unshift(key);
    else keys.push(key);
    ownKeySet = undefined;
    return key.kid;
  };

  const removeKey = (kid: string): void => {
    const index = keys.findIndex((key) => key.kid === kid);
    if (index === -1) throw new Error(`dev issuer: no published key ${kid}`);
    keys.splice(index, 1);
    ownKeySet = undefined;
  };

  return {
    origin,
    jwksUri: `${origin}${JWKS_PATH}`,
    get signingKid() {
      return signingKey().kid;
    },
    hits,
    mintAccessToken,
    mintIdToken,
    mintClientAccessToken,
    tokenEndpoint: `${origin}${TOKEN_PATH}`,
    addKey,
    removeKey,
    async rotateKey() {
      const previous = keys[0];
      const kid = await addKey({ sign: true });
      if (previous) removeKey(previous.kid);
      return kid;
    },
    setFailure(mode) {
      failure = mode;
    },
    setDiscoveryIssuer(issuer) {
      discoveryIssuer = issuer;
    },
    setExtraJwks(extra) {
      extraJwks = extra.map((jwk) => ({ ...jwk }));
    },
    resolverUrl: `${origin}${RESOLVER_PATH}`,
    get resolverHits() {
      return resolverHits;
    },
    upsertUser(sub, userOptions = {}) {
      store.upsertUser(sub, userOptions);
    },
    setRoles(sub, roles) {
      store.upsertUser(sub, { roles });
    },
    disableUser(sub) {
      store.upsertUser(sub, { disabled: true });
    },
    deleteUser: (sub) => store.deleteUser(sub),
    createSession: (sub, sessionOptions = {}) => store.createSession(sub, sessionOptions),
    logout: (sessionId) => store.logout(sessionId),
    setResolverFailure(mode) {
      resolverFailure = mode;
    },
    setResolverDelay(ms) {
      resolverDelayMs = ms;
    },
    restoreDefaults() {
      failure = "none";
      discoveryIssuer = undefined;
      extraJwks = [];
      resolverFailure = "none";
      resolverDelayMs = 0;
    },
    close: () => server.close(),
  };
}
