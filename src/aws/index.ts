export { createHandler, identityContext, REPORT_CONTEXT_KEY, type AuthorizerContext, type AuthorizerHandler, type AuthorizerResult, type HandlerOptions } from "./create-handler.ts";
export { nodeFetcher } from "./node-fetcher.ts";
