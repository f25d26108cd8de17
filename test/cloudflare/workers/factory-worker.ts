/**
 * A Worker built with `createWorker` and every option, for test/cloudflare/create-worker.test.ts:
 * settings in code, memory-only key sets (no Cache API), an `authorize` check, and an origin fetch
 * of its own that marks what it sends.
 */
import { createWorker } from "../../../src/cloudflare/create-worker.ts";

/** A Worker's own Env, as wrangler types it: a setting beside a binding of its own. */
interface FactoryEnv {
  readonly AUTHGEAR_ENDPOINT: string;
  readonly SESSIONS?: KVNamespace;
}

export default createWorker<FactoryEnv>({
  settings: { PUBLIC_PATHS: "/public/*", ROUTES: '[{"path":"/admin/*","roles":["admin"]}]' },
  cache: null,
  // An application's own check: mallory is refused, a check failing for "crash" fails closed.
  authorize: async (identity) => {
    await Promise.resolve();
    if (identity.subject === "crash") throw new Error("the check's store is down");
    return identity.subject !== "mallory";
  },
  fetchOrigin: (url, init) => {
    const headers = new Headers(init.headers);
    headers.set("x-sent-by", "fetchOrigin");
    return fetch(url, { ...init, headers });
  },
});
