/** The authorizer's Lambda container, as the tests start one. */
import { createHandler } from "../../src/aws/create-handler.ts";

/**
 * A fresh container: its configuration, key set and caches built anew from these settings and
 * `AUTHGEAR_ENDPOINT` (nothing else).
 */
export function freshContainer(endpoint: string, env: Record<string, string> = {}): ReturnType<typeof createHandler> {
  return createHandler({ env: { AUTHGEAR_ENDPOINT: endpoint, ...env } });
}
