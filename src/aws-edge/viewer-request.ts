/**
 * The deployed Lambda@Edge viewer-request function (dist/edge/viewer-request.mjs): `createEdgeHandler`
 * over the settings `npm run build:edge` baked in (dev/build-edge.ts checked them first), built once
 * per container.
 */
import { createEdgeHandler, EDGE_INIT_PREFETCH_BUDGET_MS } from "./create-edge-handler.ts";
import type { EdgeSettings } from "./config.ts";

/** Replaced at build time by the settings, as a JSON object (esbuild `define`). */
declare const AUTHGEAR_EDGE_SETTINGS: EdgeSettings;

export const handler = createEdgeHandler({ settings: AUTHGEAR_EDGE_SETTINGS });

// Awaited at init, as the authorizer's is (src/aws/authorizer.ts says why); never rejects.
await handler.prefetchKeys(EDGE_INIT_PREFETCH_BUDGET_MS);
