/**
 * `createEdgeHandler`: the gate as a Lambda@Edge viewer-request function in front of any CloudFront
 * origin. Each request is decided as the Worker decides it (src/front/respond.ts) before CloudFront
 * looks in its cache or at the origin; an allowed one goes on with the identity headers set and
 * everything that could speak for the gate removed, anything else is answered here. Built once per
 * container: the configuration, the key sets and the verified-token cache live as long as it.
 */
import type { CloudFrontRequestResult, CloudFrontResultResponse } from "aws-lambda";
import {
  atLevel,
  AuthError,
  ConfigError,
  createGate,
  DEFAULT_KEY_SET_TIMING,
  errorResponse,
  settingsRecord,
  jsonLogger,
  logLevelOf,
  withFields,
  type AuthorizeCallback,
  type Clock,
  type ConfigOf,
  type Fetcher,
  type Logger,
  type OnInvalidConfig,
} from "../core/index.ts";
import { allowedOrigin, withCors } from "../front/cors.ts";
import { gatedOf, refuse, respond, type FrontRequest, type Gated } from "../front/respond.ts";
import { nodeDigest } from "../aws/node-digest.ts";
import { nodeFetcher } from "../aws/node-fetcher.ts";
import { prefetchKeys, withinBudget } from "../aws/prefetch-keys.ts";
import {
  EDGE_FOREIGN_SETTINGS,
  EDGE_SECRET_SOURCE,
  EDGE_SETTINGS,
  type EdgeConfig,
  type EdgeSettings,
} from "./config.ts";
import {
  createSecretSettings,
  SECRET_SOURCE_SETTINGS,
  withLoadedSecrets,
  type SecretSettingsDeps,
} from "./secret-settings.ts";
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
  /** How the `SECRET_ARN` secret is fetched (a stand-in's `endpoint` in tests); default AWS's, with the role's keys. */
  readonly secrets?: SecretSettingsDeps;
}

type SecretSourceConfig = ConfigOf<typeof SECRET_SOURCE_SETTINGS>;

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
  // LOG_LEVEL governs the function's own lines too (an unreadable request, a secret that cannot be had).
  const logger = atLevel(options.logger ?? jsonLogger, logLevelOf(settingsRecord(settings)));
  const build = (source: object): Gated<EdgeConfig> =>
    gatedOf(
      createGate(
        source,
        {
          fetcher: options.fetcher ?? nodeFetcher,
          digest: nodeDigest,
          logger,
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
      ),
      clock,
    );
  const gatedNow = gateSource(settingsRecord(settings), build, logger, options);

  const handler = async (event: unknown): Promise<CloudFrontRequestResult> => {
    let viewer: ViewerRequest;
    try {
      viewer = viewerRequestOf(event);
    } catch (error) {
      if (!(error instanceof NotViewerRequest)) throw error;
      // Wired to another event: nothing goes on, whatever the request.
      logger.log("unsupported_event", { event_type: error.message });
      const failure = new AuthError("ERR_UNSUPPORTED_EVENT", "The function is associated with the wrong event.");
      return unreadable(failure, "authgear-edge", logger);
    }
    const log = withFields(logger, { request_id: viewer.requestId });
    let request: FrontRequest;
    try {
      request = frontRequestOf(viewer.request);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return unreadable(error, "authgear-edge", log);
    }
    let gated: Gated<EdgeConfig>;
    try {
      gated = await gatedNow();
    } catch (error) {
      // The secrets could not be had: nothing goes on.
      if (!(error instanceof AuthError)) throw error;
      return generatedResponse(refuse(error, "authgear-edge", request, log));
    }
    const { gate } = gated;
    // `log` filters as the gate's own logger does (both at LOG_LEVEL): one wrapper per request.
    const [answer] = await respond(request, gated, { log }, (forwarded) =>
      Promise.resolve(forwardedRequest(viewer.request, request.url, forwarded)),
    );
    if (!(answer instanceof Response)) return answer;
    const cors = gate.ok && gate.config.corsAllowedOrigins.size > 0;
    // Only the gate's own answers: the origin's go to the viewer without the function seeing them.
    const origin = cors ? allowedOrigin(request.headers, gate.config.corsAllowedOrigins) : undefined;
    return generatedResponse(cors ? withCors(answer, origin) : answer);
  };

  /** With a secret to fetch, it comes first; then the key sets. */
  async function prefetch(budgetMs: number): Promise<boolean> {
    const started = Date.now();
    const gated = await withinBudget(
      Promise.resolve()
        .then(gatedNow)
        .catch(() => undefined),
      budgetMs,
      undefined,
    );
    if (gated === undefined) return false;
    return prefetchKeys(gated.gate, Math.max(0, budgetMs - (Date.now() - started)));
  }

  return Object.assign(handler, { prefetchKeys: prefetch });
}

/**
 * Where each request gets the gate: built now from the baked settings; or, with `SECRET_ARN`, built
 * once from the baked settings and the secret's, fetched at the first call (rejecting with
 * `ERR_SECRETS_UNAVAILABLE` while it cannot be had; secret-settings.ts says when it is asked again).
 */
function gateSource(
  settings: Readonly<Record<string, unknown>>,
  build: (source: object) => Gated<EdgeConfig>,
  logger: Logger,
  options: EdgeHandlerOptions,
): () => Gated<EdgeConfig> | Promise<Gated<EdgeConfig>> {
  let source: SecretSourceConfig["secretSource"];
  try {
    source = EDGE_SECRET_SOURCE.parse(settings).secretSource;
  } catch (error) {
    if (!(error instanceof ConfigError) || options.onInvalidConfig === "throw") throw error;
    logger.log("config_invalid", { keys: error.keys.join(","), message: error.message });
    const failed: Gated<EdgeConfig> = { gate: { ok: false, error, logger }, assertions: undefined };
    return () => failed;
  }
  if (source === undefined) {
    const gated = build(settings);
    return () => gated;
  }
  const secrets = createSecretSettings(source.arn, source.names, {
    logger,
    ...(options.clock !== undefined && { clock: options.clock }),
    ...options.secrets,
  });
  let built: Gated<EdgeConfig> | undefined;
  return async () => {
    if (built !== undefined) return built;
    let loaded: Readonly<Record<string, string>>;
    try {
      loaded = await secrets.load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // The secret holds the wrong keys: a configuration error, answered as one (500).
      logger.log("config_invalid", { keys: error.keys.join(","), message: error.message });
      return { gate: { ok: false, error, logger }, assertions: undefined };
    }
    built ??= build(withLoadedSecrets(settings, loaded));
    return built;
  };
}

/** The answer to a request the gate cannot read, or to the wrong event: nothing of it is known to log. */
function unreadable(error: AuthError, realm: string, log: Logger): Promise<CloudFrontResultResponse> {
  const response = errorResponse(error, realm);
  log.log("request_refused", { code: error.code, status: response.status });
  return generatedResponse(new Response(response.body, response));
}
