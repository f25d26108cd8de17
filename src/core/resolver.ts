/**
 * Forward authentication: the request's credentials go to Authgear's resolver endpoint, whose
 * verdict is trusted (docs/authgear-contract.md §3). The resolver always answers 200 and puts its
 * verdict in headers, so the verdict is read from `X-Authgear-Session-Valid` alone, and a 2xx is
 * never taken as an allow by itself.
 *
 * - Only what the resolver reads is sent: `Authorization` and the cookies `session`,
 *   `app_session`, `app_access_token` (each behind `RESOLVER_COOKIE_PREFIX`, as Authgear names
 *   them: prefix + name) — never the client's other cookies or headers
 *   (`X-Forwarded-Host` / `X-Original-Host` in particular). The `Host` it receives is the host of
 *   `RESOLVER_URL`, which selects the Authgear project: for a custom domain, use that domain.
 * - `true` → the identity, from the answer's headers, each validated: a header that is missing,
 *   duplicated (joined with ", " by fetch) or malformed makes the whole answer unusable (503), not
 *   trusted. `false` → invalid credentials (401). No verdict header → no credentials (401).
 * - Any status but 200, a redirect (never followed), a timeout, a network error → 503; nothing is
 *   let through.
 * - Verdicts are cached by a SHA-256 of exactly the credentials sent (never the raw values), so
 *   two users can never share an entry: valid ones for `cacheSeconds`, negative ones for at most
 *   `NEGATIVE_CACHE_SECONDS`; concurrent identical requests share one resolver call. A
 *   `VerdictStore` (a Worker's Cache API) shares them beyond this isolate, each with the expiry it
 *   was given when the resolver answered, so a logout is seen as soon as without it.
 */
import { base64url } from "jose";
import { AuthError } from "./errors.ts";
import type { HeaderReader } from "./credentials.ts";
import { findCookie } from "./credentials.ts";
import { RESOLVER_SOURCE, type Identity } from "./identity.ts";
import {
  noMeter,
  webCryptoDigest,
  type Call,
  type Clock,
  type Digest,
  type Fetcher,
  type FetchResponse,
  type Logger,
} from "./ports.ts";
import { createSingleFlight } from "./single-flight.ts";

/**
 * The cookies the resolver reads, in its order of precedence after a bearer token, without the
 * project's cookie prefix (`Config.resolverCookies` has the names with it).
 */
export const RESOLVER_COOKIES = ["app_session", "app_access_token", "session"] as const;

/** Longest a negative verdict (invalid, or no credentials) is reused, in seconds. */
export const NEGATIVE_CACHE_SECONDS = 5;

export interface ResolverCredentials {
  readonly authorization: string | undefined;
  /** The resolver cookies present, as `name=value` (the name with its prefix), in `Config.resolverCookies` order. */
  readonly cookies: readonly string[];
}

/**
 * What of the request goes to the resolver; `undefined` when it carries none of it. A Bearer
 * `Authorization` header, when present, goes alone: it is the request's one credential, and the
 * cookies are no fallback for it (credentials.ts), so a verdict is always about the bearer.
 * Another scheme's secret (Basic, say) is never sent. `cookieNames` are the resolver's cookie
 * names with the project's prefix (`Config.resolverCookies`). A cookie that is read appearing
 * twice, or after a comma, is refused (400) as soon as it is read.
 */
export function resolverCredentials(
  headers: HeaderReader,
  cookieNames: readonly string[],
): ResolverCredentials | undefined {
  const header = headers.get("authorization");
  if (header !== null && /^bearer /i.test(header)) return { authorization: header, cookies: [] };
  const cookieHeader = headers.get("cookie");
  const cookies: string[] = [];
  if (cookieHeader !== null) {
    for (const name of cookieNames) {
      const value = findCookie(cookieHeader, name);
      if (value !== undefined && value !== "") cookies.push(`${name}=${value}`);
    }
  }
  return cookies.length === 0 ? undefined : { authorization: undefined, cookies };
}

export type Verdict =
  { readonly kind: "valid"; readonly identity: Identity } | { readonly kind: "invalid" } | { readonly kind: "none" };

export interface ResolverOptions {
  readonly resolverUrl: string;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a valid verdict is reused; 0 disables the cache (every request asks the resolver). */
  readonly cacheSeconds: number;
  /** Deadline of one resolver call, milliseconds. */
  readonly timeoutMs: number;
  /** Cached verdicts kept at most (least recently used evicted first). */
  readonly maxEntries: number;
  /** Shares verdicts beyond this isolate; default none. */
  readonly store?: VerdictStore;
  /** The issuer whose project the resolver answers for (the identities' `issuer`). */
  readonly issuer: string;
  /** How verdicts are keyed; default `webCryptoDigest`. */
  readonly digest?: Digest;
}

/** A verdict and the moment (milliseconds since the epoch) it stops being usable. */
export interface StoredVerdict {
  readonly verdict: Verdict;
  readonly until: number;
}

/**
 * Verdicts shared between isolates or containers, keyed by the SHA-256 (hex) of the credentials:
 * a store never sees a credential. `get` may return anything it was given or nothing; failures
 * count as a miss.
 */
export interface VerdictStore {
  get(key: string): Promise<unknown>;
  put(key: string, entry: StoredVerdict): Promise<void>;
}

export interface Resolver {
  /**
   * Throws `ERR_RESOLVER_UNAVAILABLE` when no usable verdict can be had. `defer` keeps the shared
   * store's write alive after the answer (a Worker's `ctx.waitUntil`).
   */
  resolve(credentials: ResolverCredentials, call?: Partial<Call>): Promise<Verdict>;
}

type Entry = StoredVerdict;

export function createResolver(options: ResolverOptions): Resolver {
  const digest = options.digest ?? webCryptoDigest;
  const cache = new Map<string, Entry>();
  // A joining request waits at most one call's deadline (plus a little) for the leader's answer.
  const flights = createSingleFlight<Verdict>(options.timeoutMs + 250, options.clock);

  async function ask(credentials: ResolverCredentials, logger: Logger): Promise<Verdict> {
    const headers: Record<string, string> = {};
    if (credentials.authorization !== undefined) headers.authorization = credentials.authorization;
    if (credentials.cookies.length > 0) headers.cookie = credentials.cookies.join("; ");
    const signal = AbortSignal.timeout(options.timeoutMs);
    let response: FetchResponse;
    try {
      response = await options.fetcher(options.resolverUrl, { method: "GET", headers, redirect: "manual", signal });
    } catch (cause) {
      throw unavailable(logger, signal.aborted ? `timed out after ${options.timeoutMs} ms` : "network error", cause);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status !== 200) throw unavailable(logger, `answered HTTP ${response.status}`);
    return readVerdict(response.headers, logger);
  }

  function unavailable(logger: Logger, reason: string, cause?: unknown): AuthError {
    logger.log("resolver_failed", { reason, url: options.resolverUrl });
    return new AuthError("ERR_RESOLVER_UNAVAILABLE", "The session cannot be checked right now.", { cause });
  }

  function readVerdict(headers: HeaderReader, logger: Logger): Verdict {
    const valid = headers.get("x-authgear-session-valid");
    if (valid === null) return { kind: "none" };
    if (valid === "false") return { kind: "invalid" };
    if (valid !== "true") throw unavailable(logger, "malformed X-Authgear-Session-Valid");
    const identity = identityFromResolver(headers, options.issuer);
    if (identity === undefined) throw unavailable(logger, "missing, duplicated or malformed identity headers");
    return { kind: "valid", identity };
  }

  /**
   * The moment a fresh verdict stops being usable, or `undefined` when it is not to be kept: never
   * later than the `exp` of a JWT among the credentials it is about (`credentialsExpiry`).
   */
  function expiry(verdict: Verdict, credentials: ResolverCredentials): number | undefined {
    const seconds =
      verdict.kind === "valid" ? options.cacheSeconds : Math.min(options.cacheSeconds, NEGATIVE_CACHE_SECONDS);
    if (seconds <= 0) return undefined;
    const now = options.clock();
    const until = Math.min(now + seconds * 1000, credentialsExpiry(credentials));
    return until > now ? until : undefined;
  }

  function remember(key: string, entry: Entry): void {
    if (options.maxEntries <= 0) return;
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > options.maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  }

  async function shared(key: string, logger: Logger): Promise<Entry | undefined> {
    if (options.store === undefined || options.cacheSeconds <= 0) return undefined;
    try {
      const entry = parseStoredVerdict(await options.store.get(key), options.issuer);
      return entry !== undefined && options.clock() < entry.until ? entry : undefined;
    } catch {
      logger.log("verdict_store_failed", { operation: "get" });
      return undefined;
    }
  }

  return {
    async resolve(credentials, call = {}) {
      const log = call.logger ?? options.logger;
      const meter = call.meter ?? noMeter;
      const hashed = fingerprint(credentials, digest);
      const key = typeof hashed === "string" ? hashed : await hashed;
      const entry = cache.get(key);
      if (entry !== undefined) {
        cache.delete(key);
        if (options.clock() < entry.until) {
          cache.set(key, entry);
          meter.count("resolver_cache_hit");
          return entry.verdict;
        }
      }
      return flights.run(key, async () => {
        const found = await shared(key, log);
        if (found !== undefined) {
          remember(key, found);
          meter.count("resolver_cache_hit");
          return found.verdict;
        }
        meter.count("resolver_call");
        const verdict = await ask(credentials, log);
        const until = expiry(verdict, credentials);
        if (until !== undefined) {
          remember(key, { verdict, until });
          const { store } = options;
          if (store !== undefined) {
            const write = store.put(key, { verdict, until }).catch(() => {
              log.log("verdict_store_failed", { operation: "put" });
            });
            if (call.defer === undefined) void write;
            else call.defer(write);
          }
        }
        return verdict;
      });
    },
  };
}

/**
 * A stored verdict, checked as strictly as a resolver answer; `undefined` for anything else.
 * `issuer`: the resolver's, whose verdicts the store holds.
 */
export function parseStoredVerdict(value: unknown, issuer: string): StoredVerdict | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { verdict, until } = value as { verdict?: unknown; until?: unknown };
  if (typeof until !== "number" || !Number.isFinite(until) || typeof verdict !== "object" || verdict === null)
    return undefined;
  const { kind, identity } = verdict as { kind?: unknown; identity?: unknown };
  if (kind === "invalid" || kind === "none") return { verdict: { kind }, until };
  if (kind !== "valid" || typeof identity !== "object" || identity === null) return undefined;
  const candidate = identity as Record<string, unknown>;
  const strings = (list: unknown): list is string[] =>
    Array.isArray(list) && list.every((item) => typeof item === "string" && LIST_ITEM.test(item));
  const { userId, isAnonymous, isVerified, canReauthenticate, roles, amr, authenticatedAt } = candidate;
  if (typeof userId !== "string" || !ID.test(userId)) return undefined;
  if (typeof isAnonymous !== "boolean" || typeof isVerified !== "boolean" || typeof canReauthenticate !== "boolean")
    return undefined;
  if (!strings(roles) || !strings(amr)) return undefined;
  if (
    authenticatedAt !== undefined &&
    !(typeof authenticatedAt === "number" && Number.isSafeInteger(authenticatedAt) && authenticatedAt >= 0)
  )
    return undefined;
  return {
    verdict: {
      kind: "valid",
      identity: {
        kind: "user",
        issuer,
        subject: userId,
        userId,
        isAnonymous,
        isVerified,
        canReauthenticate,
        roles,
        amr,
        authenticatedAt,
        clientId: undefined,
        scopes: [],
        ...RESOLVER_SOURCE,
      },
    },
    until,
  };
}

/**
 * The earliest `exp` (as milliseconds since the epoch) of the JWTs among `credentials` (the bearer
 * token, a cookie holding one), `Infinity` when none shows one. Read without verifying: it is
 * used only to shorten how long a verdict is kept, never to accept anything.
 */
export function credentialsExpiry(credentials: ResolverCredentials): number {
  const values = credentials.cookies.map((pair) => pair.slice(pair.indexOf("=") + 1));
  if (credentials.authorization !== undefined) values.push(credentials.authorization.replace(/^bearer +/i, ""));
  let earliest = Infinity;
  for (const value of values) {
    const exp = unverifiedExp(value);
    if (exp !== undefined) earliest = Math.min(earliest, exp * 1000);
  }
  return earliest;
}

/** A JWS's payload `exp`, or `undefined` (jose's `decodeJwt` would bring its error classes into the bundle). */
function unverifiedExp(value: string): number | undefined {
  const segments = value.split(".");
  if (segments.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(segments[1] ?? "")));
    const exp = typeof payload === "object" && payload !== null ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** SHA-256 of exactly the credentials sent, unambiguously framed; the cache never holds a raw credential. */
function fingerprint(credentials: ResolverCredentials, digest: Digest): string | Promise<string> {
  return digest(JSON.stringify([credentials.authorization ?? null, credentials.cookies]));
}

const ID = /^[\x21-\x2b\x2d-\x7e]{1,255}$/;
const LIST_ITEM = /^[\x21-\x2b\x2d-\x7e]{1,255}$/;

function flag(headers: HeaderReader, name: string): boolean | undefined {
  const value = headers.get(name);
  if (value === "true") return true;
  return value === "false" ? false : undefined;
}

/** The identity of a valid verdict, or `undefined` when any header is missing, duplicated or malformed. */
function identityFromResolver(headers: HeaderReader, issuer: string): Identity | undefined {
  const userId = headers.get("x-authgear-user-id");
  const isAnonymous = flag(headers, "x-authgear-user-anonymous");
  const isVerified = flag(headers, "x-authgear-user-verified");
  const canReauthenticate = flag(headers, "x-authgear-user-can-reauthenticate");
  const roles = headers.get("x-authgear-user-roles");
  const amr = headers.get("x-authgear-session-amr");
  const authenticatedAt = headers.get("x-authgear-session-authenticated-at");
  if (userId === null || !ID.test(userId)) return undefined;
  if (isAnonymous === undefined || isVerified === undefined || canReauthenticate === undefined) return undefined;
  const roleList = roles === null ? [] : roles.split(",");
  if (!roleList.every((role) => LIST_ITEM.test(role))) return undefined;
  if (amr === null) return undefined;
  const amrList = amr === "" ? [] : amr.split(" ");
  if (!amrList.every((item) => LIST_ITEM.test(item))) return undefined;
  if (authenticatedAt !== null && !/^\d{1,12}$/.test(authenticatedAt)) return undefined;
  return {
    kind: "user",
    issuer,
    subject: userId,
    userId,
    isAnonymous,
    isVerified,
    canReauthenticate,
    roles: roleList,
    amr: amrList,
    authenticatedAt: authenticatedAt === null ? undefined : Number(authenticatedAt),
    clientId: undefined,
    scopes: [],
    ...RESOLVER_SOURCE,
  };
}
