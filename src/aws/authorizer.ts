/**
 * The deployed API Gateway Lambda authorizer (dist/lambda/authorizer.mjs): `createHandler()` over
 * the Lambda environment, built once per container, so a warm container reuses its
 * configuration, key set and verified-token cache.
 */
import { createHandler } from "./create-handler.ts";

export type { AuthorizerContext, AuthorizerHandler, AuthorizerResult, HandlerOptions } from "./create-handler.ts";

export const handler = createHandler();
