export {
  createHandler,
  identityContext,
  INIT_PREFETCH_BUDGET_MS,
  REPORT_CONTEXT_KEY,
  type Authorizer,
  type AuthorizerContext,
  type AuthorizerHandler,
  type AuthorizerResult,
  type HandlerOptions,
} from "./create-handler.ts";
export type { AuthorizerEvent } from "./events.ts";
export { ConfigError, type OnInvalidConfig } from "../core/index.ts";
export { nodeFetcher } from "./node-fetcher.ts";
export { cacheSafetyProblems } from "./cache-safety.ts";
export {
  DEFAULT_AUTHORIZER_CACHE_SECONDS,
  LAMBDA_FOREIGN_SETTINGS,
  LAMBDA_SETTING_NAMES,
  LAMBDA_SETTINGS,
  type LambdaConfig,
  type LambdaSettingName,
  type LambdaSettings,
} from "./config.ts";
