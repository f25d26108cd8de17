export { createWorker, type Env, type WorkerOptions } from "./create-worker.ts";
export { createCacheKeySetStore } from "./cache-key-set-store.ts";
export { createCacheVerdictStore } from "./cache-verdict-store.ts";
