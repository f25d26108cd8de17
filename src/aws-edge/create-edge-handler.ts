/**
 * `createEdgeHandler`: the gate as a Lambda@Edge viewer-request function in front of any CloudFront
 * origin. Each request is decided as the Worker decides it (src/front/respond.ts) before CloudFront
 * looks in its cache or at the origin; an allowed one goes on with the identity headers set and
 * everything that could speak for the gate removed, anything else is answered here. Built once per
 * container: the configuration, the key sets and the verified-token cache live as long as it.
 */
import type { CloudFrontRequestResult, CloudFrontResultResponse } from "aws-lambda";
import {
  AuthError,
  createGate,
  errorResponse,
  jsonLogger,
  withFields,
  type AuthorizeCallback,
  type Clock,
  type Fetcher,
  type Logger,
  type OnInvalidConfig,
} from "../core/index.ts";
import { DEFAULT_KEY_SET_TIMING } from "../core/key-set.ts";
import { allowedOrigin, withCors } from "../front/cors.ts";
import { gatedOf, respond, type FrontRequest, type Gated } from "../front/respond.ts";
import { nodeDigest } from "../aws/node-digest.ts";
import { nodeFetcher } from "../aws/node-fetcher.ts";
import { prefetchKeys } from "../aws/prefetch-keys.ts";
import { EDGE_FOREIGN_SETTINGS, EDGE_SETTINGS, type EdgeConfig, type EdgeSettings } from "./config.ts";
import {
  forwardedRequest,
  frontRequestOf,
  generatedResponse,
  NotViewerRequest,
  viewerRequestOf,
  type ViewerRequest,
} from "./events.ts";

/**
 * One key-set fetch's deadline, in milliseconds: a viewer-request function has 5 s in all, and a
 * first request may need two fetches (discovery, then the JWKS).
 */
export const EDGE_FETCH_TIMEOUT_MS = 2000;

/**
 * How long the init phase waits for the key sets, in milliseconds: shorter than one fetch deadline,
 * for the reason `INIT_PREFETCH_BUDGET_MS` gives (src/aws/create-handler.ts).
 */
export const EDGE_INIT_PREFETCH_BUDGET_MS = 1500;

export interface EdgeHandlerOptions {
  /** The settings, by the names of docs/configuration.md: baked in at build time (viewer-request.ts). */
  readonly settings?: EdgeSettings;
  /** `throw`: a bad configuration throws its `ConfigError` here; default `respond` (500 to every request). */
  readonly onInvalidConfig?: OnInvalidConfig;
  /** Default: one JSON line per event on the console (CloudWatch, in the region that ran the function). */
  readonly logger?: Logger;
  /** Key sets and resolver calls; default node:https. */
  readonly fetcher?: Fetcher;
  /** The core's clock (token expiry, key-set age, cached verdicts); default `Date.now`. */
  readonly clock?: Clock;
  /** The application's own check after the route rules (core `AuthorizeCallback`); default none. */
  readonly authorize?: AuthorizeCallback;
}

/** `lambda`: the Lambda context (its request id is not CloudFront's; CloudFront's names the log lines). */
export type EdgeHandler = ((event: unknown, lambda?: unknown) => Promise<CloudFrontRequestResult>) & {
  /**
   * Starts fetching each issuer's key set and waits for it at most `budgetMs` milliseconds (init,
   * before the first request); never rejects; whether every key set is loaded.
   */
  readonly prefetchKeys: (budgetMs: number) => Promise<boolean>;
};

export function createEdgeHandler(options: EdgeHandlerOptions = {}): EdgeHandler {
  const { settings = {}, onInvalidConfig, authorize, clock } = options;
  const gate = createGate(
    settings,
    {
      fetcher: options.fetcher ?? nodeFetcher,
      digest: nodeDigest,
      logger: options.logger ?? jsonLogger,
      keySetTiming: { fetch: { ...DEFAULT_KEY_SET_TIMING.fetch, timeoutMs: EDGE_FETCH_TIMEOUT_MS } },
      ...(clock !== undefined && { clock }),
    },
    {
      settings: EDGE_SETTINGS,
      foreignSettings: EDGE_FOREIGN_SETTINGS,
      ...(onInvalidConfig !== undefined && { onInvalidConfig }),
      decide: (config: EdgeConfig) => ({
        // CloudFront goes on with exactly the path decided on, so an ambiguous one is refused.
        ambiguousPaths: "refuse",
        // A forwarded preflight goes unauthenticated with a body the function may not see, and
        // cannot remove: preflights are public only where the gate answers them itself.
        preflightsArePublic: config.corsAllowedOrigins.size > 0,
        overrideHeaders: "stripped",
        validForSeconds: 0,
        ...(authorize !== undefined && { authorize }),
      }),
    },
  );
  const gated: Gated<EdgeConfig> = gatedOf(gate, clock);

  const handler = async (event: unknown): Promise<CloudFrontRequestResult> => {
    let viewer: ViewerRequest;
    try {
      viewer = viewerRequestOf(event);
    } catch (error) {
      if (!(error instanceof NotViewerRequest)) throw error;
      // Wired to another event: nothing goes on, whatever the request.
      gate.logger.log("unsupported_event", { event_type: error.message });
      const failure = new AuthError("ERR_UNSUPPORTED_EVENT", "The function is associated with the wrong event.");
      return unreadable(failure, "authgear-edge", gate.logger);
    }
    const log = withFields(gate.logger, { request_id: viewer.requestId });
    let request: FrontRequest;
    try {
      request = frontRequestOf(viewer.request);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return unreadable(error, gate.ok ? gate.config.realm : "authgear-edge", log);
    }
    const [answer] = await respond(request, gated, { log }, (forwarded) =>
      Promise.resolve(forwardedRequest(viewer.request, request.url, forwarded)),
    );
    if (!(answer instanceof Response)) return answer;
    const cors = gate.ok && gate.config.corsAllowedOrigins.size > 0;
    // Only the gate's own answers: the origin's go to the viewer without the function seeing them.
    const origin = cors ? allowedOrigin(request.headers, gate.config.corsAllowedOrigins) : undefined;
    return generatedResponse(cors ? withCors(answer, origin) : answer);
  };

  return Object.assign(handler, { prefetchKeys: (budgetMs: number) => prefetchKeys(gate, budgetMs) });
}

/** The answer to a request the gate cannot read, or to the wrong event: nothing of it is known to log. */
function unreadable(error: AuthError, realm: string, log: Logger): Promise<CloudFrontResultResponse> {
  const response = errorResponse(error, realm);
  log.log("request_refused", { code: error.code, status: response.status });
  return generatedResponse(new Response(response.body, response));
}
