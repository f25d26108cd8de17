export { createWorker, type Env, type WorkerOptions, type WorkerVars } from "./create-worker.ts";
export {
  WORKER_SETTING_NAMES,
  WORKER_SETTINGS,
  type WorkerConfig,
  type WorkerSettingName,
  type WorkerSettings,
} from "./config.ts";
export { ConfigError, type OnInvalidConfig } from "../core/index.ts";
export { createCacheKeySetStore } from "./cache-key-set-store.ts";
export { createCacheVerdictStore } from "./cache-verdict-store.ts";
