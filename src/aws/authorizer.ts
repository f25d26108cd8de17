/**
 * The deployed API Gateway Lambda authorizer (dist/lambda/authorizer.mjs): `createHandler()` over
 * the Lambda environment, built once per container, so a warm container reuses its
 * configuration, key set and verified-token cache.
 */
import { createHandler, INIT_PREFETCH_BUDGET_MS } from "./create-handler.ts";

export type {
  Authorizer,
  AuthorizerContext,
  AuthorizerHandler,
  AuthorizerResult,
  HandlerOptions,
} from "./create-handler.ts";
export type { AuthorizerEvent } from "./events.ts";

export const handler = createHandler();

// Awaited, not left floating: a fetch still in flight when init ends could be frozen with the
// container (provisioned concurrency initialises ahead of any event) and meet the first event as
// a dead socket; and an event that joins a running fetch is resumed by polling, not at once
// (single-flight.ts). On an on-demand cold start the first event is waiting for init either way.
// It never rejects: a failure is logged, and the first event fetches again.
await handler.prefetchKeys(INIT_PREFETCH_BUDGET_MS);
