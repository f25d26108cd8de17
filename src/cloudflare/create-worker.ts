/**
 * `createWorker`: the Cloudflare Worker as a factory. Every request is authenticated before it
 * reaches the origin, and the origin receives Authgear's identity headers. The configuration
 * (vars and secrets, by the names of docs/configuration.md) is parsed once per isolate; src/cloudflare/worker.ts
 * is `createWorker()`.
 */
import {
  createGate,
  fromEnv,
  overlaySettings,
  jsonLogger,
  oncePerSettings,
  type AuthorizeCallback,
  type Clock,
  type SecretBinding,
  type Gate,
  type Logger,
  type Meter,
  type OnInvalidConfig,
  CountingMeter,
  withFields,
} from "../core/index.ts";
import { allowedOrigin, withCors } from "../front/cors.ts";
import { originUrl } from "../front/forwarding.ts";
import { gatedOf, respond, type FrontRequest, type Gated } from "../front/respond.ts";
import { analyticsOf, writeRequestPoint } from "./analytics.ts";
import {
  WORKER_FOREIGN_SETTINGS,
  WORKER_SETTINGS,
  type WorkerConfig,
  type WorkerSettingName,
  type WorkerSettings,
} from "./config.ts";
import { createCacheKeySetStore } from "./cache-key-set-store.ts";
import { createCacheVerdictStore } from "./cache-verdict-store.ts";

/**
 * The Worker's settings, by name: its vars and secrets, or given in code. `ASSERTION_KEY` may also
 * be a Secrets Store binding, read when the first assertion is signed.
 */
export type WorkerVars = { readonly [Name in Exclude<WorkerSettingName, "ASSERTION_KEY">]?: string | undefined } & {
  readonly ASSERTION_KEY?: string | SecretBinding | undefined;
};

/**
 * The Worker's vars and secrets (the settings), and its Analytics Engine binding (analytics.ts).
 * `object`: an Env with bindings of its own is one too, even when it names no setting (a weak
 * type, all optional, would refuse it).
 */
export type Env = WorkerVars & { readonly ANALYTICS?: AnalyticsEngineDataset | undefined } & object;

export interface WorkerOptions<E extends Env = Env> {
  /** Settings given in code, by the same names, typed; a var or secret of the same name wins over one unless blank. */
  readonly settings?: WorkerSettings;
  /**
   * `throw`: a bad configuration makes `fetch` throw its `ConfigError` (naming every bad key) at
   * every request, instead of answering each with a 500; the vars are read at the first request,
   * so that is when it is found. Default `respond`.
   */
  readonly onInvalidConfig?: OnInvalidConfig;
  /** Default: one JSON line per event on the console (Workers Logs). */
  readonly logger?: Logger;
  /**
   * Where key sets and resolver verdicts are shared between the isolates of a location; default
   * `caches.default`. `null`: each isolate keeps its own in memory.
   */
  readonly cache?: Cache | null;
  /**
   * Sends an allowed request on, to `url` (under `ORIGIN_URL` when set, else the request's own);
   * default the global `fetch`. A service binding goes here: `(url, init, env) => env.API.fetch(url, init)`.
   */
  readonly fetchOrigin?: (url: string, init: RequestInit, env: E) => Promise<Response>;
  /** The core's clock (token expiry, key-set age, cached verdicts); default `Date.now`. */
  readonly clock?: Clock;
  /** The application's own check after the route rules (core `AuthorizeCallback`); default none. */
  readonly authorize?: AuthorizeCallback;
}

/**
 * The gate as a Worker: `export default createWorker()` gates every request of the Worker's
 * routes. A bad configuration is not thrown (unless `onInvalidConfig: "throw"`): every request
 * then gets a 500 naming every bad key.
 */
export function createWorker<E extends Env = Env>(options: WorkerOptions<E> = {}): ExportedHandler<E> {
  const logger = options.logger ?? jsonLogger;
  const fetchOrigin = options.fetchOrigin ?? ((url, init) => fetch(url, init));
  const gateFor = oncePerSettings((env: E): Gated<WorkerConfig> => gatedOf(gateOf(env), options.clock));
  const gateOf = (env: E): Gate<WorkerConfig> => {
    const cache = options.cache === undefined ? caches.default : options.cache;
    const settings = options.settings === undefined ? env : overlaySettings(options.settings, env);
    return createGate(
      fromEnv(settings),
      { logger, ...(options.clock !== undefined && { clock: options.clock }) },
      {
        settings: WORKER_SETTINGS,
        foreignSettings: WORKER_FOREIGN_SETTINGS,
        configure: (config) =>
          cache === null
            ? {}
            : {
                keySetStore: (issuer: string) =>
                  createCacheKeySetStore(cache, issuer, config.jwksMaxAgeSeconds + config.jwksStaleSeconds),
                ...(config.authMode !== "jwt" && { verdictStore: createCacheVerdictStore(cache, config.resolverUrl) }),
              },
        // The Worker forwards exactly the path it decided on, so an ambiguous one is refused.
        decide: {
          ambiguousPaths: "refuse",
          preflightsArePublic: true,
          overrideHeaders: "stripped",
          validForSeconds: 0,
          ...(options.authorize !== undefined && { authorize: options.authorize }),
        },
      },
    );
  };

  return {
    fetch: (request, env, ctx) => {
      const gated = gateFor(env);
      if (!gated.gate.ok && options.onInvalidConfig === "throw") throw gated.gate.error;
      return handle(request, gated, env, ctx, gated.gate.logger, (url, init) => fetchOrigin(url, init, env));
    },
  };
}

/** `SERVER_TIMING=true`: the gate's outcome and duration, appended to every response. */
function withTiming(response: Response, config: WorkerConfig | undefined, started: number, outcome: string): Response {
  if (config?.serverTiming !== true) return response;
  const timed = new Response(response.body, response);
  timed.headers.append(
    "server-timing",
    `authgear-edge;desc="${outcome}";dur=${(performance.now() - started).toFixed(1)}`,
  );
  return timed;
}

type OriginFetch = (url: string, init: RequestInit) => Promise<Response>;

async function handle(
  request: Request,
  gated: Gated<WorkerConfig>,
  env: Env,
  ctx: ExecutionContext,
  logger: Logger,
  fetchOrigin: OriginFetch,
): Promise<Response> {
  const started = performance.now();
  const { gate } = gated;
  const config = gate.ok ? gate.config : undefined;
  const analytics = analyticsOf(env);
  const meter = analytics === undefined ? undefined : new CountingMeter();
  const [gatedResponse, outcome] = await respondTo(request, gated, ctx, meter, logger, fetchOrigin);
  if (analytics !== undefined && meter !== undefined)
    writeRequestPoint(analytics, outcome, meter, performance.now() - started);
  const cors = config !== undefined && config.corsAllowedOrigins.size > 0;
  const response = cors
    ? withCors(gatedResponse, allowedOrigin(request.headers, config.corsAllowedOrigins))
    : gatedResponse;
  return response.status === 101 ? response : withTiming(response, config, started, outcome);
}

/** Reads the request for the gate, and sends an allowed one to the origin with `fetchOrigin`. */
function respondTo(
  request: Request,
  gated: Gated<WorkerConfig>,
  ctx: ExecutionContext,
  meter: Meter | undefined,
  logger: Logger,
  fetchOrigin: OriginFetch,
): Promise<[Response, string]> {
  const url = new URL(request.url);
  // Every line names its request: Cloudflare's ray id, also in Cloudflare's own logs (read only
  // when a line is written: most requests write none).
  const log: Logger = {
    log(event, fields) {
      withFields(logger, { request_id: request.headers.get("cf-ray") ?? undefined }).log(event, fields);
    },
  };
  // Each of these getters crosses into the runtime and makes a new string: read once.
  const { method, headers, body } = request;
  // workerd gives a request with `Content-Length: 0` a (empty) body stream: that is no body.
  const hasBody = body !== null && headers.get("content-length") !== "0";
  const front: FrontRequest = { method, url, headers, hasBody, body };
  const base = gated.gate.ok ? gated.gate.config.originUrl : undefined;
  return respond(
    front,
    gated,
    {
      defer: (promise) => {
        ctx.waitUntil(promise);
      },
      log,
      ...(meter !== undefined && { meter }),
    },
    (forwarded) =>
      fetchOrigin(originUrl(url, base, forwarded.path, forwarded.search), {
        method: forwarded.method,
        headers: forwarded.headers,
        body: forwarded.body,
        redirect: "manual",
        // An answer for one user must never be served to another from Cloudflare's cache.
        ...(forwarded.identified && { cache: "no-store" as const }),
      }),
  );
}
