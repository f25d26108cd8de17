/**
 * The issuer's signing keys: OIDC discovery, and the JWKS at the discovery document's
 * `jwks_uri`. Key selection is jose's `createLocalJWKSet`; this module decides when to fetch.
 *
 * One round trip, not two: the JWKS is fetched at the URI discovery is expected to name (the one it
 * named last time, else Authgear's `<issuer>/oauth2/jwks`) while discovery is under way. Discovery
 * stays authoritative: that answer is used only when discovery, its `issuer` checked, names the
 * same URI; otherwise it is dropped and the named URI fetched. An issuer whose JWKS lives elsewhere
 * pays one request in vain on its first fetch per isolate or container, none after.
 *
 * Timing (all in seconds, defaults in `DEFAULT_KEY_SET_TIMING`):
 * - younger than `maxAge`: used as is, no network;
 * - older than `maxAge` but within `maxAge + staleWindow`: still used; one background refresh
 *   starts (through `defer`), so no request waits for it. When the refresh fails the copy keeps
 *   serving until the stale window closes;
 * - older than that, or never fetched: the request waits for a fetch; when it fails the outcome
 *   is `ERR_KEYSET_UNAVAILABLE` (503), never an allow, and for the next `RETRY_AFTER_SECONDS`
 *   requests get that answer at once, without another fetch;
 * - a token whose `kid` is not in the set triggers one refetch, at most once per `cooldown`,
 *   shared by every concurrent request (single flight). Within the cooldown it is refused at once.
 */
import { createLocalJWKSet, base64url, type JWK, type JWTVerifyGetKey } from "jose";
import * as v from "valibot";
import { AuthError, RETRY_AFTER_SECONDS } from "./errors.ts";
import { fetchJson, FetchFailure, type FetchLimits } from "./http.ts";
import { createSingleFlight } from "./single-flight.ts";
import type { Call, Clock, Fetcher } from "./ports.ts";

/** What a store keeps: the filtered public keys and when they were fetched. */
export interface KeySetSnapshot {
  readonly keys: readonly JWK[];
  /** Milliseconds since the Unix epoch. */
  readonly fetchedAt: number;
}

/** Where the last good key set lives between requests (and, on Workers, between isolates). */
export interface KeySetStore {
  get(): Promise<KeySetSnapshot | undefined>;
  put(snapshot: KeySetSnapshot): Promise<void>;
}

export function createMemoryKeySetStore(): KeySetStore {
  let saved: KeySetSnapshot | undefined;
  return {
    get: () => Promise.resolve(saved),
    put: (snapshot) => {
      saved = snapshot;
      return Promise.resolve();
    },
  };
}

export interface KeySetTiming {
  readonly maxAgeSeconds: number;
  readonly staleWindowSeconds: number;
  readonly cooldownSeconds: number;
  readonly fetch: FetchLimits;
}

/** Cooldown between refetches for an unseen `kid`; never longer than the max age. */
export const KID_MISS_COOLDOWN_SECONDS = 30;

export const DEFAULT_KEY_SET_TIMING: KeySetTiming = {
  maxAgeSeconds: 300,
  staleWindowSeconds: 3600,
  cooldownSeconds: KID_MISS_COOLDOWN_SECONDS,
  fetch: { timeoutMs: 5000, maxBytes: 64 * 1024 },
};

export interface KeySetOptions {
  readonly issuer: string;
  readonly discoveryUrl: string;
  /** When set, the JWKS is fetched from here directly and discovery is skipped (`ISSUERS`' `jwksUri`). */
  readonly jwksUri?: string | undefined;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly store: KeySetStore;
  readonly timing: KeySetTiming;
}

export type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/**
 * Both methods may start a background refresh; the call's `defer` keeps it alive (a Worker passes
 * the current request's `ctx.waitUntil`), and its logger reports it.
 */
export interface KeySet {
  /**
   * The published key for the token's `kid` and `alg` (for jose's `jwtVerify`), with the
   * generation of the set it came from.
   */
  resolveKey(call: Call, ...args: Parameters<JWTVerifyGetKey>): Promise<{ key: VerificationKey; generation: number }>;
  /**
   * Synchronously: the generation of the key set in memory, or `undefined` when it is missing or
   * past its stale window. The generation changes whenever the published keys change, so a cached
   * verification tied to it ends with the key that made it.
   */
  generation(call: Call): number | undefined;
  /**
   * Loads the key set before any token needs it (a Lambda's init phase): fetched unless a usable
   * copy is in memory or in the store, or a fetch is under way (then joined). Never rejects; says
   * whether a usable set is loaded. A failure is logged as any refresh's, but does not start the
   * `RETRY_AFTER_SECONDS` back-off: the next request still makes its own attempt.
   */
  prefetch(call: Call): Promise<boolean>;
}

interface Loaded {
  readonly snapshot: KeySetSnapshot;
  readonly select: JWTVerifyGetKey;
  readonly fingerprint: string;
  readonly generation: number;
}

const discoverySchema = v.looseObject({ issuer: v.string(), jwks_uri: v.string() });
const jwksSchema = v.looseObject({ keys: v.array(v.looseObject({ kty: v.string() })) });
const snapshotSchema = v.object({ keys: jwksSchema.entries.keys, fetchedAt: v.pipe(v.number(), v.finite()) });

/** Where Authgear publishes an issuer's JWKS (authgear-contract.md §1): the guess before discovery has named one. */
const AUTHGEAR_JWKS_PATH = "/oauth2/jwks";

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** `promise`'s outcome as a value: a result that may be dropped unread never becomes an unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

export function createKeySet(options: KeySetOptions): KeySet {
  const { clock, timing, store } = options;
  const maxAgeMs = timing.maxAgeSeconds * 1000;
  const usableMs = maxAgeMs + timing.staleWindowSeconds * 1000;
  let loaded: Loaded | undefined;
  let generationCounter = 0;
  // A joining request waits at most two fetch deadlines (discovery, JWKS) for the leader's fetch.
  const flights = createSingleFlight<Loaded>(2 * timing.fetch.timeoutMs + 500, clock);
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  /** The `jwks_uri` the last good discovery named (memory only): the next refresh fetches it beside discovery. */
  let discoveredJwksUri: string | undefined;
  const authgearJwksUri = predictableJwksUri(options.issuer);

  function adopt(snapshot: KeySetSnapshot): Loaded {
    const fingerprint = JSON.stringify(snapshot.keys);
    if (loaded?.fingerprint === fingerprint) {
      loaded = { ...loaded, snapshot };
    } else {
      generationCounter += 1;
      loaded = {
        snapshot,
        fingerprint,
        select: createLocalJWKSet({ keys: [...snapshot.keys] }),
        generation: generationCounter,
      };
    }
    return loaded;
  }

  /** The discovery document's `jwks_uri`, once its `issuer` is checked. */
  async function discoverJwksUri(): Promise<string> {
    const discovery = v.safeParse(
      discoverySchema,
      await fetchJson(options.fetcher, options.discoveryUrl, timing.fetch),
    );
    if (!discovery.success) throw new FetchFailure("discovery document lacks issuer or jwks_uri");
    if (discovery.output.issuer !== options.issuer) {
      const found = JSON.stringify(discovery.output.issuer.slice(0, 200));
      const failure = new FetchFailure(
        `discovery issuer ${found} does not equal ${options.issuer} (AUTHGEAR_ENDPOINT, or its ISSUERS entry); ` +
          "check the configuration",
      );
      failure.url = options.discoveryUrl;
      throw failure;
    }
    return checkJwksUri(discovery.output.jwks_uri);
  }

  /**
   * The JWKS document: from `jwksUri` when it is set (no discovery); else discovery and the
   * predicted URI's fetch start together, and the predicted answer is used only if discovery
   * names that URI. Its failure then fails the refresh as a failed JWKS fetch would; when
   * discovery names another URI, the predicted answer, good or bad, is never read.
   */
  async function fetchJwks(): Promise<unknown> {
    if (options.jwksUri !== undefined) return fetchJson(options.fetcher, options.jwksUri, timing.fetch);
    const discovering = discoverJwksUri();
    const predicted = discoveredJwksUri ?? authgearJwksUri;
    const speculative =
      predicted === undefined ? undefined : settle(fetchJson(options.fetcher, predicted, timing.fetch));
    const named = await discovering;
    discoveredJwksUri = named;
    if (speculative === undefined || named !== predicted) return fetchJson(options.fetcher, named, timing.fetch);
    const answer = await speculative;
    if (!answer.ok) throw answer.error;
    return answer.value;
  }

  async function fetchKeys({ logger }: Call): Promise<KeySetSnapshot> {
    const started = clock();
    const jwks = v.safeParse(jwksSchema, await fetchJwks());
    if (!jwks.success) throw new FetchFailure("JWKS is not a key set");
    const keys = jwks.output.keys.filter((jwk) => {
      const problem = rejectKey(jwk);
      if (problem !== undefined)
        logger.log("keyset_key_ignored", { kid: typeof jwk.kid === "string" ? jwk.kid : undefined, reason: problem });
      return problem === undefined;
    }) as JWK[];
    if (keys.length === 0) throw new FetchFailure("JWKS holds no usable public signature key");
    logger.log("keyset_refreshed", { keys: keys.length, ms: clock() - started });
    return { keys, fetchedAt: clock() };
  }

  /** The store's copy, if it is well formed and still holds usable keys; a store failure is logged and ignored. */
  async function readStore({ logger }: Call): Promise<KeySetSnapshot | undefined> {
    try {
      const parsed = v.safeParse(snapshotSchema, await store.get());
      if (!parsed.success) return undefined;
      const keys = parsed.output.keys.filter((jwk) => rejectKey(jwk) === undefined) as JWK[];
      return keys.length === 0 ? undefined : { keys, fetchedAt: parsed.output.fetchedAt };
    } catch (error) {
      logger.log("keyset_store_failed", { reason: error instanceof Error ? error.message : "unknown" });
      return undefined;
    }
  }

  /**
   * Single flight: concurrent callers share one fetch. A fresher copy in the store wins over a fetch.
   * `prefetching`: a failure does not start the back-off (`lastFailureAt`).
   */
  function refresh(call: Call, prefetching = false): Promise<Loaded> {
    const { logger } = call;
    return flights.run("refresh", async () => {
      try {
        const shared = await readStore(call);
        if (
          shared !== undefined &&
          clock() - shared.fetchedAt < maxAgeMs &&
          shared.fetchedAt > (loaded?.snapshot.fetchedAt ?? -1)
        ) {
          return adopt(shared);
        }
        lastFetchAt = clock();
        call.meter.count("keyset_fetch");
        const snapshot = await fetchKeys(call);
        await store.put(snapshot).catch((error: unknown) => {
          logger.log("keyset_store_failed", { reason: error instanceof Error ? error.message : "unknown" });
        });
        return adopt(snapshot);
      } catch (error) {
        if (!prefetching) lastFailureAt = clock();
        call.meter.count("keyset_fetch_failed");
        const reason = error instanceof FetchFailure ? error.message : "unexpected error";
        const url = error instanceof FetchFailure ? error.url : undefined;
        logger.log("keyset_refresh_failed", { reason, url, serving_stale: loaded !== undefined && isUsable(loaded) });
        throw new AuthError("ERR_KEYSET_UNAVAILABLE", "The signing keys cannot be fetched right now.", {
          cause: error,
        });
      }
    });
  }

  function isUsable(state: Loaded): boolean {
    return clock() - state.snapshot.fetchedAt < usableMs;
  }

  function refreshInBackgroundIfDue(state: Loaded, call: Call): void {
    const now = clock();
    if (
      now - state.snapshot.fetchedAt >= maxAgeMs &&
      !flights.running("refresh") &&
      now - lastFetchAt >= timing.cooldownSeconds * 1000
    ) {
      call.defer(refresh(call));
    }
  }

  async function usable(call: Call, prefetching = false): Promise<Loaded> {
    if (loaded !== undefined && isUsable(loaded)) {
      refreshInBackgroundIfDue(loaded, call);
      return loaded;
    }
    if (loaded === undefined) {
      const shared = await readStore(call);
      if (shared !== undefined && clock() - shared.fetchedAt < usableMs) {
        const state = adopt(shared);
        refreshInBackgroundIfDue(state, call);
        return state;
      }
    }
    // With no usable copy, a failed fetch is not retried for RETRY_AFTER_SECONDS: requests fail
    // fast with 503 instead of each waiting for a timeout, and a down issuer is not hammered.
    if (!flights.running("refresh") && clock() - lastFailureAt < RETRY_AFTER_SECONDS * 1000) {
      throw new AuthError("ERR_KEYSET_UNAVAILABLE", "The signing keys cannot be fetched right now.");
    }
    return refresh(call, prefetching);
  }

  return {
    async resolveKey(call, header, token) {
      const state = await usable(call);
      try {
        return { key: await state.select(header, token), generation: state.generation };
      } catch (error) {
        if (!isNoMatch(error)) throw error;
        // An unseen kid: join the fetch already running, or start one if the cooldown allows; then retry.
        if (!flights.running("refresh") && clock() - lastFetchAt < timing.cooldownSeconds * 1000) throw error;
        const next = await refresh(call);
        return { key: await next.select(header, token), generation: next.generation };
      }
    },
    generation(call) {
      if (loaded === undefined || !isUsable(loaded)) return undefined;
      refreshInBackgroundIfDue(loaded, call);
      return loaded.generation;
    },
    async prefetch(call) {
      try {
        await usable(call, true);
        return true;
      } catch {
        // Logged by `refresh`, or the back-off of an earlier request's failure, which a request would meet too.
        return false;
      }
    },
  };
}

/** `<issuer>/oauth2/jwks` as `checkJwksUri` spells it, or `undefined` when the issuer makes no such URL. */
function predictableJwksUri(issuer: string): string | undefined {
  try {
    return checkJwksUri(`${issuer}${AUTHGEAR_JWKS_PATH}`);
  } catch {
    return undefined;
  }
}

function isNoMatch(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ERR_JWKS_NO_MATCHING_KEY";
}

/** The discovery document's `jwks_uri` as the gate accepts it (https, or http for loopback); throws `FetchFailure`. */
export function checkJwksUri(raw: string): string {
  if (!URL.canParse(raw)) throw new FetchFailure("discovery jwks_uri is not a URL");
  const url = new URL(raw);
  const loopback = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new FetchFailure("discovery jwks_uri must use https");
  }
  return url.href;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;
const CURVES: Readonly<Record<string, readonly string[]>> = { EC: ["P-256", "P-384", "P-521"], OKP: ["Ed25519"] };

/** Why a published key is unusable for verifying signatures, or `undefined` when it is fine. */
export function rejectKey(jwk: Readonly<Record<string, unknown>>): string | undefined {
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return "not a public key";
  if (jwk.use !== undefined && jwk.use !== "sig") return "use is not sig";
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify")))
    return "key_ops lacks verify";
  switch (jwk.kty) {
    case "RSA": {
      if (typeof jwk.n !== "string" || typeof jwk.e !== "string") return "RSA key without n or e";
      const n = decode(jwk.n);
      const e = decode(jwk.e);
      if (n === undefined || e === undefined) return "RSA key with malformed n or e";
      if (bitLength(n) < 2048) return "RSA modulus shorter than 2048 bits";
      if (bitLength(e) < 2 || (e.at(-1) ?? 0) % 2 === 0) return "RSA exponent is not an odd number above 1";
      return undefined;
    }
    case "EC":
    case "OKP":
      return typeof jwk.crv === "string" && CURVES[jwk.kty]?.includes(jwk.crv) ? undefined : "unsupported curve";
    default:
      return "unsupported key type";
  }
}

function decode(value: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  try {
    return base64url.decode(value);
  } catch {
    return undefined;
  }
}

function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i += 1;
  const first = bytes[i];
  return first === undefined ? 0 : (bytes.length - i - 1) * 8 + (32 - Math.clz32(first));
}
