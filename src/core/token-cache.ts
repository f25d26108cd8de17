/**
 * Recent successful verifications, so a client that sends the same token on every request pays
 * the signature check once. Bounded: at most `maxEntries` (least recently used evicted first), each
 * credential at most `MAX_CREDENTIAL_LENGTH` characters. Failures are never cached.
 *
 * An entry is served only while all of these hold: the token has not expired (`exp`, with the
 * configured clock tolerance), the entry is younger than `maxAgeSeconds`, and the key set still
 * has the generation that verified it (any change to the published keys drops every entry).
 */
import type { Identity } from "./identity.ts";

export interface CachedVerification {
  readonly identity: Identity;
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
  get(token: string, nowMs: number, keyGeneration: number | undefined, clockToleranceSeconds: number): Identity | undefined;
  set(token: string, entry: Omit<CachedVerification, "staleAt">, nowMs: number): void;
  readonly size: number;
}

export function createTokenCache(options: TokenCacheOptions): TokenCache {
  const entries = new Map<string, CachedVerification>();
  return {
    get(token, nowMs, keyGeneration, clockToleranceSeconds) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      const live =
        entry.keyGeneration === keyGeneration &&
        nowMs < entry.staleAt &&
        Math.floor(nowMs / 1000) - clockToleranceSeconds < entry.expiresAt;
      entries.delete(token);
      if (!live) return undefined;
      entries.set(token, entry);
      return entry.identity;
    },
    set(token, entry, nowMs) {
      if (options.maxEntries <= 0) return;
      entries.delete(token);
      entries.set(token, { ...entry, staleAt: nowMs + options.maxAgeSeconds * 1000 });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    get size() {
      return entries.size;
    },
  };
}
