/**
 * Recent successful verifications, so a client that sends the same token on every request pays
 * the signature check once. Bounded: at most `maxEntries` (least recently used evicted first), each
 * credential at most `MAX_CREDENTIAL_LENGTH` characters. Failures are never cached.
 *
 * An entry is served only while all of these hold: the token has not expired (`exp`, with the
 * configured clock tolerance), the entry is younger than `maxAgeSeconds`, and the key set still
 * of its issuer has the generation that verified it (any change to an issuer's published keys
 * drops every entry of that issuer).
 *
 * Entries are keyed by the token's last `KEY_LENGTH` characters (the end of its signature) and
 * served only when the whole token is equal. A `Map` hashes its key in full, and a request's
 * token is a new string every time: hashing a 1 KB token costs about 2 µs, more than the rest of
 * a cache hit. Two tokens that share an ending (an attacker can copy a signature's end) are told
 * apart by the comparison; the newer simply takes the slot.
 */
import type { Identity } from "./identity.ts";

export interface CachedVerification {
  readonly identity: Identity;
  /** The whole token the entry is for. */
  readonly token: string;
  /** `exp` of the token, Unix seconds. */
  readonly expiresAt: number;
  /** Milliseconds since the epoch after which the entry is no longer served. */
  readonly staleAt: number;
  readonly keyGeneration: number;
}

export interface TokenCacheOptions {
  /** Default 1000 entries (about 2 MB with 1 KB tokens). 0 disables the cache. */
  readonly maxEntries: number;
  /** Default 300 seconds. */
  readonly maxAgeSeconds: number;
}

export const DEFAULT_TOKEN_CACHE: TokenCacheOptions = { maxEntries: 1000, maxAgeSeconds: 300 };

export interface TokenCache {
  /**
   * `keyGeneration`: the current generation of an issuer's key set (`undefined` when it has none
   * usable); an entry is served only while its issuer's keys are those that verified it.
   */
  get(
    token: string,
    nowMs: number,
    keyGeneration: (issuer: string) => number | undefined,
    clockToleranceSeconds: number,
  ): Identity | undefined;
  set(token: string, entry: Omit<CachedVerification, "staleAt" | "token">, nowMs: number): void;
  /** Whether `token` has an entry, served or not. */
  has(token: string): boolean;
  readonly size: number;
}

/** 32 base64url characters: 192 bits of a signature. */
const KEY_LENGTH = 32;
const keyOf = (token: string): string => token.slice(-KEY_LENGTH);

export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const entries = new Map<string, CachedVerification>();
  return {
    get(token, nowMs, keyGeneration, clockToleranceSeconds) {
      const key = keyOf(token);
      const entry = entries.get(key);
      if (entry === undefined || entry.token !== token) return undefined;
      const live =
        entry.keyGeneration === keyGeneration(entry.identity.issuer) &&
        nowMs < entry.staleAt &&
        Math.floor(nowMs / 1000) - clockToleranceSeconds < entry.expiresAt;
      entries.delete(key);
      if (!live) return undefined;
      entries.set(key, entry);
      return entry.identity;
    },
    set(token, entry, nowMs) {
      if (options.maxEntries <= 0) return;
      const key = keyOf(token);
      entries.delete(key);
      entries.set(key, { ...entry, token, staleAt: nowMs + options.maxAgeSeconds * 1000 });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    has(token) {
      return entries.get(keyOf(token))?.token === token;
    },
    get size() {
      return entries.size;
    },
  };
}
