/**
 * The core's key-set store kept in the Workers Cache API (`caches.default`), so every isolate in
 * a Cloudflare location shares one copy and a busy zone fetches the JWKS about once per max age
 * per location, not once per isolate. The entry lives for max age + stale window; the core decides
 * freshness from the snapshot's own `fetchedAt`.
 */
import type { KeySetSnapshot, KeySetStore } from "../core/index.ts";

export function createCacheKeySetStore(cache: Cache, issuer: string, ttlSeconds: number): KeySetStore {
  // A synthetic URL: Cache API keys must be http(s) URLs; `.invalid` can never be a real host.
  const key = `https://authgear-edge.invalid/key-set?issuer=${encodeURIComponent(issuer)}`;
  return {
    async get() {
      const response = await cache.match(key);
      return response === undefined ? undefined : await response.json<KeySetSnapshot>();
    },
    async put(snapshot) {
      const response = new Response(JSON.stringify(snapshot), {
        headers: { "content-type": "application/json", "cache-control": `max-age=${ttlSeconds}` },
      });
      await cache.put(key, response);
    },
  };
}
