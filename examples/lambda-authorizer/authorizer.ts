/**
 * An existing Lambda authorizer hardened with `createHandler`: authgear-edge decides (the settings
 * are the Lambda's environment, by the names of docs/configuration.md), and this authorizer adds what is its own
 * — here a `tenant` for the backend, from a request header, only on an allowed answer.
 */
import { createHandler, INIT_PREFETCH_BUDGET_MS, type AuthorizerEvent, type AuthorizerResult } from "authgear-edge/aws";

const authgear = createHandler();
// The key sets are fetched during the init phase, not by the first event (never rejects).
await authgear.prefetchKeys(INIT_PREFETCH_BUDGET_MS);

export async function handler(
  event: AuthorizerEvent,
  lambda?: { readonly awsRequestId?: string },
): Promise<AuthorizerResult> {
  // A refusal throws ("Unauthorized": 401; "Service Unavailable": 503 by gateway response) and is passed on as is.
  const result = await authgear(event, lambda);
  // Every kind API Gateway sends (TOKEN, REQUEST, HTTP API 2.0, WebSocket): only a TOKEN event has no headers.
  const tenant = "headers" in event ? event.headers?.["x-tenant"] : undefined;
  if (tenant === undefined || !/^[a-z0-9-]{1,32}$/.test(tenant)) return result;
  return { ...result, context: { ...result.context, tenant } };
}
