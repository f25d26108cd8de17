/**
 * A local OpenID Connect issuer that answers like an Authgear project (shared
 * authgear-contract.md §1-2): discovery at `/.well-known/openid-configuration`, the key set
 * at `/oauth2/jwks`, RS256 `at+jwt` access tokens and `JWT` ID tokens signed with the first
 * published key. It listens on 127.0.0.1 only, and lets tests rotate keys, publish odd keys
 * and break the discovery and key-set endpoints on purpose.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CompactSign, exportJWK, generateKeyPair } from "jose";
import type { CompactJWSHeaderParameters, JWK } from "jose";
import { listenOnLoopback } from "./loopback-server.ts";

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
const DEV_TOKEN_PATH = "/_dev/token";

const ACCESS_TOKEN_LIFETIME = 1800;
const ID_TOKEN_LIFETIME = 300;
const ACCESS_TOKEN_SCOPE = "openid offline_access https://authgear.com/scopes/full-access";
const USER_CLAIM = "https://authgear.com/claims/user/";
const OVERSIZE_BYTES = 2 * 1024 * 1024;
const MAX_DEV_TOKEN_BODY = 64 * 1024;
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

function merge(defaults: Claims, overrides: Claims | undefined): Claims {
  return Object.fromEntries(Object.entries({ ...defaults, ...overrides }).filter(([, value]) => value !== undefined));
}

function userClaims(roles: unknown[] = []): Claims {
  return {
    [`${USER_CLAIM}is_anonymous`]: false,
    [`${USER_CLAIM}is_verified`]: true,
    [`${USER_CLAIM}can_reauthenticate`]: true,
    [`${USER_CLAIM}roles`]: roles,
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
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as CompactJWSHeaderParameters)
    .sign(key.privateJwk, recognized && { crit: recognized });
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

function parseDevTokenRequest(body: string): { sub?: string; roles?: string[] } | undefined {
  if (body.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { sub, roles } = parsed as Claims;
  if (sub !== undefined && typeof sub !== "string") return undefined;
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((role) => typeof role === "string"))) {
    return undefined;
  }
  return { ...(sub !== undefined && { sub }), ...(roles !== undefined && { roles }) };
}

/**
 * Starts the issuer on 127.0.0.1. `port` defaults to 0 (a free port); `clientId` (default
 * `dev-client`) is the access tokens' `client_id` and the ID tokens' audience.
 */
export async function startDevIssuer(options: { port?: number; clientId?: string } = {}): Promise<DevIssuer> {
  const clientId = options.clientId ?? "dev-client";
  const keys: HeldKey[] = [await generateKey()];
  const hits = { discovery: 0, jwks: 0, redirected: 0 };
  let failure: FailureMode = "none";
  let discoveryIssuer: string | undefined;
  let extraJwks: Record<string, unknown>[] = [];
  let origin = "";

  const discoveryDocument = (): Claims => ({
    issuer: discoveryIssuer ?? origin,
    authorization_endpoint: `${origin}/oauth2/authorize`,
    token_endpoint: `${origin}/oauth2/token`,
    userinfo_endpoint: `${origin}/oauth2/userinfo`,
    end_session_endpoint: `${origin}/oauth2/end_session`,
    revocation_endpoint: `${origin}/oauth2/revoke`,
    jwks_uri: `${origin}${JWKS_PATH}`,
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ["code", "urn:authgear:params:oauth:response-type:settings-action", "none"],
    response_modes_supported: ["query", "fragment", "form_post"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_post"],
    claims_supported: CLAIMS_SUPPORTED,
  });

  const keySet = (): Claims => ({ keys: [...keys.map((key) => key.publicJwk), ...extraJwks] });

  const documentFor = (path: string): Claims => (path === JWKS_PATH ? keySet() : discoveryDocument());

  const signingKey = (kid?: string): HeldKey => {
    const key = kid === undefined ? keys[0] : keys.find((held) => held.kid === kid);
    if (!key) throw new Error(kid === undefined ? "dev issuer: no key is published" : `dev issuer: no published key ${kid}`);
    return key;
  };

  const mint = async (
    typ: string,
    lifetime: number,
    extraClaims: Claims,
    tokenOptions: AccessTokenOptions,
  ): Promise<string> => {
    const key = signingKey(tokenOptions.kid);
    const iat = tokenOptions.issuedAt ?? Math.floor(Date.now() / 1000);
    const header = merge({ alg: "RS256", typ, kid: key.kid }, tokenOptions.header);
    const claims = merge(
      {
        iss: origin,
        sub: tokenOptions.sub ?? randomUUID(),
        iat,
        exp: iat + (tokenOptions.expiresIn ?? lifetime),
        auth_time: iat,
        amr: ["pwd"],
        ...extraClaims,
      },
      tokenOptions.claims,
    );
    return sign(header, claims, key);
  };

  const mintAccessToken = (tokenOptions: AccessTokenOptions = {}): Promise<string> =>
    mint(
      "at+jwt",
      ACCESS_TOKEN_LIFETIME,
      { aud: [origin], client_id: clientId, scope: ACCESS_TOKEN_SCOPE, jti: randomUUID(), ...userClaims() },
      tokenOptions,
    );

  const mintIdToken = (tokenOptions: AccessTokenOptions = {}): Promise<string> =>
    mint(
      "JWT",
      ID_TOKEN_LIFETIME,
      {
        aud: [clientId],
        sid: Buffer.from(`offline_grant:${randomUUID()}`).toString("base64url"),
        ...userClaims(),
      },
      tokenOptions,
    );

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

  const serveDevToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const request = body === undefined ? undefined : parseDevTokenRequest(body);
    if (!request) {
      sendJson(res, 400, JSON.stringify({ error: "invalid_request", error_description: 'expected {"sub"?: string, "roles"?: string[]}' }));
      return;
    }
    const accessToken = await mintAccessToken({
      ...(request.sub !== undefined && { sub: request.sub }),
      ...(request.roles !== undefined && { claims: userClaims(request.roles) }),
    });
    sendJson(res, 200, JSON.stringify({ access_token: accessToken, token_type: "Bearer", expires_in: ACCESS_TOKEN_LIFETIME }), {
      "cache-control": "no-store",
    });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", origin).pathname;
    if (path === DEV_TOKEN_PATH) {
      if (req.method === "POST") await serveDevToken(req, res);
      else methodNotAllowed(res, "POST");
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

  const addKey = async ({ sign: makeSigning = false }: { sign?: boolean } = {}): Promise<string> => {
    const key = await generateKey();
    if (makeSigning) keys.unshift(key);
    else keys.push(key);
    return key.kid;
  };

  const removeKey = (kid: string): void => {
    const index = keys.findIndex((key) => key.kid === kid);
    if (index === -1) throw new Error(`dev issuer: no published key ${kid}`);
    keys.splice(index, 1);
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
    close: () => server.close(),
  };
}
