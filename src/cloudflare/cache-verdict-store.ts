/**
 * The resolver's verdicts kept in the Workers Cache API (`caches.default`), so every isolate in a
 * Cloudflare location shares them: one session costs Authgear about one resolver call per location
 * per `RESOLVER_CACHE_SECONDS`, not one per isolate. Keys are the SHA-256 of the credentials (never
 * a credential); an entry keeps the expiry it was given when the resolver answered.
 */
import type { Clock, StoredVerdict, VerdictStore } from "../core/index.ts";

export function createCacheVerdictStore(
  cache: Cache,
  resolverUrl: string,
  clock: Clock = () => Date.now(),
): VerdictStore {
  // A synthetic URL: Cache API keys must be http(s) URLs; `.invalid` can never be a real host.
  const keyOf = (hash: string) =>
    `https://authgear-edge.invalid/verdict/${hash}?resolver=${encodeURIComponent(resolverUrl)}`;
  return {
    async get(hash) {
      const response = await cache.match(keyOf(hash));
      return response === undefined ? undefined : await response.json<unknown>();
    },
    async put(hash, entry: StoredVerdict) {
      const seconds = Math.ceil((entry.until - clock()) / 1000);
      if (seconds <= 0) return;
      const response = new Response(JSON.stringify(entry), {
        headers: { "content-type": "application/json", "cache-control": `max-age=${seconds}` },
      });
      await cache.put(keyOf(hash), response);
    },
  };
}
