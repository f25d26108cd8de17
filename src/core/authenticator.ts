/**
 * The verification core: from request headers to an identity or a refusal. A packaging builds
 * one authenticator per isolate or container (the key set and the verified-token cache live in
 * it) and calls `authenticate` per request.
 */
import type { ObjectEntries } from "valibot";
import { CORE_SETTINGS, type Config } from "./config.ts";
import {
  extractCredentials,
  type CredentialSource,
  type Credentials,
  type HeaderReader,
  type WebSocketCredentials,
} from "./credentials.ts";
import { AuthError } from "./errors.ts";
import { base64url } from "jose";
import type { Identity } from "./identity.ts";
import type { IssuerConfig } from "./issuers.ts";
import { assertCompactJws, createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import {
  createKeySet,
  createMemoryKeySetStore,
  DEFAULT_KEY_SET_TIMING,
  KID_MISS_COOLDOWN_SECONDS,
  type KeySet,
  type KeySetStore,
  type KeySetTiming,
} from "./key-set.ts";
import { lookalikeSettings } from "./lookalike.ts";
import {
  defaultFetcher,
  floatingDefer,
  jsonLogger,
  noMeter,
  systemClock,
  type Call,
  type Clock,
  type Defer,
  type Digest,
  type Fetcher,
  type Logger,
  type LogFields,
  type Meter,
} from "./ports.ts";
import {
  createResolver,
  resolverCredentials,
  type Resolver,
  type ResolverCredentials,
  type VerdictStore,
} from "./resolver.ts";
import { ConfigError, type Settings } from "./settings.ts";
import { createTokenCache, DEFAULT_TOKEN_CACHE, type TokenCacheOptions } from "./token-cache.ts";

export interface AuthenticatorDeps {
  /** Default: the global `fetch`. */
  readonly fetcher?: Fetcher;
  /** Default: `Date.now`. */
  readonly clock?: Clock;
  /** Default: one JSON line per event on the console. */
  readonly logger?: Logger;
  /** Keeps background key-set refreshes alive when a call passes none; default: let them run. */
  readonly defer?: Defer;
  /**
   * Where each issuer's key set is kept between requests (a Worker's Cache API); default in
   * memory, per isolate or container. One store serves one issuer: with several, give a function.
   */
  readonly keySetStore?: KeySetStore | ((issuer: string) => KeySetStore);
  readonly keySetTiming?: Partial<KeySetTiming>;
  readonly tokenCache?: Partial<TokenCacheOptions>;
  /** Resolver verdicts kept at most; default `DEFAULT_RESOLVER_CACHE_ENTRIES`. */
  readonly resolverCacheEntries?: number;
  /** Shares resolver verdicts beyond this isolate (a Worker's Cache API); default none. */
  readonly verdictStore?: VerdictStore;
  /** How resolver verdicts are keyed; default WebCrypto's SHA-256 (ports.ts `Digest`). */
  readonly digest?: Digest;
}

/** Default bound of the resolver verdict cache: 10,000 entries of a few hundred bytes each. */
export const DEFAULT_RESOLVER_CACHE_ENTRIES = 10_000;

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity; readonly source: CredentialSource | "resolver" }
  | { readonly ok: false; readonly error: AuthError };

export interface CallOptions {
  /** Keeps a background key-set refresh started by this call alive: a Worker passes `ctx.waitUntil`. */
  readonly defer?: Defer;
  /** The request's logger (with its request id): what this call starts logs there. */
  readonly logger?: Logger;
  /** The request's meter: what this call fetches or asks is counted there. */
  readonly meter?: Meter;
}

export interface Authenticator {
  /**
   * Never throws: every failure is a result with a stable code (`ERR_INTERNAL` for an unforeseen
   * exception). `webSocket`: set for a WebSocket upgrade (credentials.ts `extractCredentials`).
   */
  authenticate(headers: HeaderReader, options?: CallOptions, webSocket?: WebSocketCredentials): Promise<AuthResult>;
  /** Verifies one access token (cached); throws `AuthError`. */
  verifyToken(token: string, options?: CallOptions): Promise<Identity>;
  /**
   * Fetches each trusted issuer's key set before a token needs it (`KeySet.prefetch`), in jwt and
   * hybrid modes; resolver mode fetches nothing. Never rejects; whether every set is loaded.
   */
  prefetchKeys(options?: CallOptions): Promise<boolean>;
}

/** What the authenticator keeps per trusted issuer. */
interface Trusted {
  readonly keySet: KeySet;
  readonly verify: JwtVerifier;
}

export function createAuthenticator(config: Config, deps: AuthenticatorDeps = {}): Authenticator {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? jsonLogger;
  const storeFor = keySetStores(deps.keySetStore, config.issuers.length);
  const trusted = new Map<string, Trusted>();
  for (const issuer of config.issuers) {
    const verify = createJwtVerifier({ ...issuer, clockToleranceSeconds: config.clockToleranceSeconds });
    trusted.set(issuer.issuer, { keySet: keySetOf(issuer, storeFor(issuer.issuer)), verify });
  }
  function keySetOf(issuer: IssuerConfig, store: KeySetStore): KeySet {
    return createKeySet({
      issuer: issuer.issuer,
      discoveryUrl: issuer.discoveryUrl,
      jwksUri: issuer.jwksUri,
      fetcher: deps.fetcher ?? defaultFetcher,
      clock,
      store,
      timing: {
        ...DEFAULT_KEY_SET_TIMING,
        maxAgeSeconds: config.jwksMaxAgeSeconds,
        staleWindowSeconds: config.jwksStaleSeconds,
        cooldownSeconds: Math.min(KID_MISS_COOLDOWN_SECONDS, config.jwksMaxAgeSeconds),
        ...deps.keySetTiming,
      },
    });
  }
  const cache = createTokenCache({ ...DEFAULT_TOKEN_CACHE, ...deps.tokenCache });
  const isCached = (token: string): boolean => cache.has(token);
  const defaultCall: Call = { defer: deps.defer ?? floatingDefer, logger, meter: noMeter };
  const callOf = (options: CallOptions | undefined): Call =>
    options === undefined
      ? defaultCall
      : {
          defer: options.defer ?? defaultCall.defer,
          logger: options.logger ?? logger,
          meter: options.meter ?? noMeter,
        };

  /**
   * A token is verified by the issuer its `iss` names, found by exact match in a `Map` before
   * anything is fetched: an unknown issuer is refused without a network call, so a token cannot
   * make the gate fetch from a URL of its choosing. The signature then proves the `iss` (each
   * issuer's verifier requires its own), and only that issuer's keys can verify it.
   */
  async function verifyToken(token: string, options?: CallOptions): Promise<Identity> {
    const call = callOf(options);
    const now = clock();
    const generation = (issuer: string) => trusted.get(issuer)?.keySet.generation(call);
    const cached = cache.get(token, now, generation, config.clockToleranceSeconds);
    if (cached !== undefined) return cached;
    assertCompactJws(token);
    const issuer = trusted.get(unverifiedIssuer(token));
    if (issuer === undefined) throw new AuthError("ERR_JWT_CLAIM_INVALID", "The access token's issuer is not trusted.");
    let keyGeneration = 0;
    const { identity, expiresAt } = await issuer.verify(
      token,
      async (header, input) => {
        const resolved = await issuer.keySet.resolveKey(call, header, input);
        keyGeneration = resolved.generation;
        return resolved.key;
      },
      now,
    );
    cache.set(token, { identity, expiresAt, keyGeneration }, now);
    return identity;
  }

  const resolver =
    config.authMode === "jwt"
      ? undefined
      : createResolver({
          resolverUrl: config.resolverUrl,
          fetcher: deps.fetcher ?? defaultFetcher,
          clock,
          logger,
          cacheSeconds: config.resolverCacheSeconds,
          timeoutMs: config.resolverTimeoutMs,
          maxEntries: deps.resolverCacheEntries ?? DEFAULT_RESOLVER_CACHE_ENTRIES,
          issuer: config.issuer,
          ...(deps.verdictStore !== undefined && { store: deps.verdictStore }),
          ...(deps.digest !== undefined && { digest: deps.digest }),
        });

  /**
   * What a credential only the resolver can judge (an opaque token, Authgear's cookies) cannot
   * meet: it shows no `client_id`, and it is for the endpoint's own project, so its audience is
   * the endpoint origin. A setting it cannot meet refuses it (docs/configuration.md, "Every setting in every mode").
   */
  const opaqueRefusal =
    config.allowedClientIds !== undefined
      ? new AuthError("ERR_JWT_CLAIM_INVALID", "ALLOWED_CLIENT_IDS is set; an opaque token or cookie has no client_id.")
      : audienceRefusal(config);

  async function viaResolver(
    credentials: ResolverCredentials | undefined,
    active: Resolver,
    options: CallOptions | undefined,
  ): Promise<AuthResult> {
    if (credentials === undefined) return missing();
    const call = callOf(options);
    const verdict = await active.resolve(credentials, call);
    switch (verdict.kind) {
      case "valid":
        return { ok: true, identity: verdict.identity, source: "resolver" };
      case "invalid":
        return { ok: false, error: new AuthError("ERR_SESSION_INVALID", "The session or access token is not valid.") };
      case "none":
        return missing();
    }
  }

  /**
   * The rule of each mode (docs/resolver.md). In every
   * mode the request checks come first (two credentials, a malformed or oversize Bearer value, a
   * cookie that is read appearing twice or after a comma: 400), and nothing is let through without
   * a positive verdict: a local verification that succeeded, or the resolver's
   * `X-Authgear-Session-Valid: true` about exactly the credentials it was sent.
   *
   * One credential decides, in every mode (credentials.ts): a Bearer header, when present, is
   * the only one; the cookies are never a fallback for a refused bearer, and are then not sent
   * to the resolver (whose own precedence would take the first valid one, and let the refused
   * bearer through to the origin beside a cookie's identity).
   *
   * - jwt: the Bearer token, else the `JWT_COOKIE_NAME` cookie, verified locally; Authgear's
   *   cookies are never read. No network call per request.
   * - hybrid: a JWT (the Bearer token, else the JWT cookie) verified locally, and that verdict
   *   stands: valid → allowed with no network call, refused → its precise code. An opaque Bearer
   *   token goes to the resolver alone; with no bearer, Authgear's cookies (`resolverCookies`)
   *   go, and the resolver's verdict decides.
   * - resolver: as hybrid, except that a user's JWT bearer verified locally is then sent to the
   *   resolver (alone), whose verdict decides and whose identity is used: every JWT setting binds
   *   it, and Authgear sees a logout or a revocation. A machine client's JWT stands on its local
   *   verification (the resolver cannot judge one). No JWT cookie is read (refused at start-up).
   *
   * What only the resolver judges cannot show a client or another audience: `opaqueRefusal`.
   */
  async function decide(
    headers: HeaderReader,
    options: CallOptions | undefined,
    webSocket: WebSocketCredentials | undefined,
  ): Promise<AuthResult> {
    const jwtCookieName = config.authMode === "resolver" ? undefined : config.jwtCookieName;
    const credentials = extractCredentials(headers, jwtCookieName, isCached, webSocket);
    if (resolver === undefined) {
      if (credentials.kind === "none") return missing();
      return { ok: true, identity: await verifyToken(credentials.token, options), source: credentials.source };
    }
    const jwt = credentials.kind === "bearer" && looksLikeJwt(credentials.token) ? credentials : undefined;
    if (jwt !== undefined) {
      const identity = await verifyToken(jwt.token, options);
      // The resolver judges users' sessions only (it checks `aud` against its own origin): a
      // machine client's token stands on its local verification in resolver mode too.
      if (config.authMode === "hybrid" || identity.kind === "client") return { ok: true, identity, source: jwt.source };
    }
    const sent = offered(credentials) ?? resolverCredentials(headers, config.resolverCookies);
    if (sent !== undefined && jwt === undefined && opaqueRefusal !== undefined) throw opaqueRefusal;
    return viaResolver(sent, resolver, options);
  }

  /**
   * Resolver mode is left out: its cookies and opaque tokens need no keys, and its JWT bearers
   * wait for a resolver call anyway; their first one fetches the keys as before.
   */
  async function prefetchKeys(options?: CallOptions): Promise<boolean> {
    if (config.authMode === "resolver") return true;
    const call = callOf(options);
    const loaded = await Promise.all([...trusted.values()].map(({ keySet }) => keySet.prefetch(call)));
    return loaded.every(Boolean);
  }

  return {
    verifyToken,
    prefetchKeys,
    async authenticate(headers, options, webSocket) {
      try {
        return await decide(headers, options, webSocket);
      } catch (error) {
        if (error instanceof AuthError) return { ok: false, error };
        return { ok: false, error: internalError(error, options?.logger ?? logger) };
      }
    },
  };
}

/**
 * An unforeseen exception, not a verdict on the request but a bug or a failing runtime: refused
 * (500, the authorizer's "Service Unavailable"), never let through, never reported as a bad
 * token, and logged as `authenticate_failed`.
 */
export function internalError(error: unknown, logger: Logger): AuthError {
  try {
    logger.log("authenticate_failed", failureFields(error));
  } catch {
    // A failing logger must not turn a refusal into an exception.
  }
  return new AuthError("ERR_INTERNAL", "The gateway failed unexpectedly.", { cause: error });
}

/**
 * What the log may say of an unforeseen exception: its class and where it was thrown, not its
 * message, which may quote the input (a token, a cookie).
 */
function failureFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: typeof error };
  const frames = (error.stack ?? "").split("\n").filter((line) => line.startsWith("    at "));
  return {
    error: error.name,
    at:
      frames
        .slice(0, 3)
        .map((line) => line.trim().slice(3))
        .join(" < ") || undefined,
  };
}

/** An opaque token or a cookie is for the endpoint's own project: refused when `AUDIENCE` leaves that out. */
function audienceRefusal(config: Config): AuthError | undefined {
  if (config.audiences.includes(config.issuer)) return undefined;
  const message = "AUDIENCE leaves out the endpoint origin, the one audience of an opaque token or a cookie.";
  return new AuthError("ERR_JWT_CLAIM_INVALID", message);
}

/**
 * A token found outside `Authorization` (a subprotocol entry, an upgrade's query), as the
 * resolver reads one: alone, in a Bearer header. The others are read from the request itself.
 */
function offered(credentials: Credentials): ResolverCredentials | undefined {
  if (credentials.kind !== "bearer") return undefined;
  if (credentials.source === "header" || credentials.source === "cookie") return undefined;
  return { authorization: `Bearer ${credentials.token}`, cookies: [] };
}

function missing(): AuthResult {
  return { ok: false, error: new AuthError("ERR_CREDENTIALS_MISSING", "The request has no access token.") };
}

/**
 * The `iss` of a well-formed JWS's payload, unverified: it only picks the issuer whose keys and
 * rules then verify the token. `""` when the payload holds none (no issuer is named `""`).
 */
function unverifiedIssuer(token: string): string {
  const payload = token.slice(token.indexOf(".") + 1, token.lastIndexOf("."));
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
  } catch {
    throw new AuthError("ERR_JWT_MALFORMED", "The access token is not a well-formed JWT.");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new AuthError("ERR_JWT_MALFORMED", "The access token is not a well-formed JWT.");
  }
  const { iss } = claims as { iss?: unknown };
  return typeof iss === "string" ? iss : "";
}

/** Each issuer's key-set store: the one given (a function of the issuer, or a store for the only one), or memory. */
function keySetStores(given: AuthenticatorDeps["keySetStore"], issuers: number): (issuer: string) => KeySetStore {
  if (typeof given === "function") return given;
  if (given === undefined) return () => createMemoryKeySetStore();
  if (issuers > 1) throw new TypeError("keySetStore: one store keeps one issuer's keys; give a function of the issuer");
  return () => given;
}

/** Three dot-separated segments: a JWS compact serialization, as opposed to an opaque token. */
export function looksLikeJwt(token: string): boolean {
  return /^[^.]+\.[^.]+\.[^.]*$/.test(token);
}

export interface FromEnvOptions<C extends Config> {
  /**
   * The settings read: a packaging's extension of the core's (`extendSettings`), whose
   * configuration the callbacks below get and the result holds; default the core's alone.
   */
  readonly settings?: Pick<Settings<ObjectEntries, C>, "names" | "parse">;
  /** Dependencies that depend on the parsed configuration (a Worker's Cache API store, say). */
  readonly configure?: (config: C) => AuthenticatorDeps;
  /**
   * A packaging's own checks of the parsed configuration (combinations its platform cannot
   * carry out safely): each bad key with its message; empty when all is well.
   */
  readonly validate?: (config: C) => ReadonlyMap<string, string>;
  /**
   * Another packaging's settings, each with what to do instead: this packaging cannot carry them
   * out, so one that is set is refused rather than silently ignored.
   */
  readonly foreignSettings?: ReadonlyMap<string, string>;
}

export type FromEnvResult<C extends Config> =
  | { readonly ok: true; readonly config: C; readonly authenticator: Authenticator }
  | { readonly ok: false; readonly error: ConfigError };

/** `settings.parse(env)`, a failure also naming the `foreign` settings set. */
function parseWith<C>(
  settings: Pick<Settings<ObjectEntries, C>, "parse">,
  env: Readonly<Record<string, unknown>>,
  foreign: ReadonlyMap<string, string>,
): C {
  try {
    return settings.parse(env);
  } catch (error) {
    if (!(error instanceof ConfigError) || foreign.size === 0) throw error;
    throw new ConfigError(new Map([...error.problems, ...foreign]));
  }
}

/**
 * What a packaging calls once per isolate or container: parses the configuration and builds the
 * authenticator. A name that looks like one of the settings read is warned about
 * (`config_unknown_setting`). A bad configuration is logged once (`config_invalid`, naming every
 * bad key) and returned as an error the packaging answers every request with
 * (`ERR_CONFIG_INVALID`, 500): it never fails open, and the process does not crash.
 */
export function createAuthenticatorFromEnv<C extends Config>(
  env: Readonly<Record<string, unknown>>,
  deps: AuthenticatorDeps,
  options: FromEnvOptions<C> & Required<Pick<FromEnvOptions<C>, "settings">>,
): FromEnvResult<C>;
export function createAuthenticatorFromEnv(
  env: Readonly<Record<string, unknown>>,
  deps?: AuthenticatorDeps,
  options?: FromEnvOptions<Config>,
): FromEnvResult<Config>;
export function createAuthenticatorFromEnv(
  env: Readonly<Record<string, unknown>>,
  deps: AuthenticatorDeps = {},
  options: FromEnvOptions<Config> = {},
): FromEnvResult<Config> {
  const logger = deps.logger ?? jsonLogger;
  const settings = options.settings ?? CORE_SETTINGS;
  for (const [name, setting] of lookalikeSettings(env, settings.names))
    logger.log("config_unknown_setting", { name, did_you_mean: setting });
  // Another packaging's setting is named beside bad values too: one message names every bad key.
  const foreign = new Map<string, string>();
  for (const [name, instead] of options.foreignSettings ?? []) {
    const value = env[name];
    if (typeof value === "string" && value.trim() !== "") {
      foreign.set(name, `is not a setting of this packaging, which would ignore it: ${instead}`);
    }
  }
  try {
    const config = parseWith(settings, env, foreign);
    const problems = new Map([...(options.validate?.(config) ?? []), ...foreign]);
    const allDeps = { ...deps, ...options.configure?.(config) };
    if (typeof allDeps.keySetStore === "object" && config.issuers.length > 1) {
      const message = "the keySetStore given in code keeps one issuer's keys: give a function (issuer) => store";
      problems.set("ISSUERS", message);
    }
    if (problems.size > 0) throw new ConfigError(problems);
    return { ok: true, config, authenticator: createAuthenticator(config, allDeps) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.log("config_invalid", { keys: error.keys.join(","), message: error.message });
    return { ok: false, error };
  }
}
