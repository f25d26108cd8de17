export {
  createEdgeHandler,
  EDGE_FETCH_TIMEOUT_MS,
  EDGE_INIT_PREFETCH_BUDGET_MS,
  type EdgeHandler,
  type EdgeHandlerOptions,
} from "./create-edge-handler.ts";
export {
  EDGE_FOREIGN_SETTINGS,
  EDGE_SETTINGS,
  isCloudFrontReserved,
  type EdgeConfig,
  type EdgeSettingName,
  type EdgeSettings,
} from "./config.ts";
export { SECRET_SOURCE_SETTINGS, type AwsCredentials, type SecretSettingsDeps } from "./secret-settings.ts";
export { ConfigError, type OnInvalidConfig } from "../core/index.ts";
