/**
 * `createWorker`: the Cloudflare Worker as a factory. Every request is authenticated before it
 * reaches the origin, and the origin receives Authgear's identity headers. The configuration
 * (vars and secrets, by the names of docs/configuration.md) is parsed once per isolate; src/cloudflare/worker.ts
 * is `createWorker()`.
 */
import {
  ASSERTION_JWKS_PATH,
  AuthError,
  createAssertionKeys,
  createAssertionSigner,
  createGate,
  describeError,
  errorResponse,
  fromEnv,
  overlaySettings,
  jsonLogger,
  protectedResourceMetadata,
  RESOURCE_METADATA_PATH,
  oncePerSettings,
  type AssertionKeys,
  type AssertionSigner,
  type AuthorizeCallback,
  type Clock,
  type SecretBinding,
  type Gate,
  type Logger,
  type Meter,
  type OnInvalidConfig,
  CountingMeter,
  withFields,
  isWebSocketUpgrade,
  RFC6750_QUERY_PARAMETER,
} from "../core/index.ts";
import { analyticsOf, writeRequestPoint } from "./analytics.ts";
import {
  WORKER_FOREIGN_SETTINGS,
  WORKER_SETTINGS,
  type WorkerConfig,
  type WorkerSettingName,
  type WorkerSettings,
} from "./config.ts";
import { allowedOrigin, preflightResponse, withCors } from "./cors.ts";
import { createCacheKeySetStore } from "./cache-key-set-store.ts";
import { createCacheVerdictStore } from "./cache-verdict-store.ts";
import {
  addIdentity,
  forwardedHeaders,
  originUrl,
  preflightHeaders,
  removeCookie,
  removeTokenSubprotocol,
  withoutQueryParameter,
} from "./forwarding.ts";

/** With `REPORT_ONLY=true`: the code a forwarded request would have been refused with. */
const REPORT_HEADER = "x-authgear-edge-report";

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
  const gateFor = oncePerSettings((env: E): Gated => {
    const gate = gateOf(env);
    return { gate, assertions: gate.ok ? assertionsOf(gate.config, options.clock) : undefined };
  });
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

/** What one isolate keeps per settings object: the gate, and with `ASSERTION_KEY` the keys and the signer. */
interface Gated {
  readonly gate: Gate<WorkerConfig>;
  readonly assertions: Assertions | undefined;
}

interface Assertions {
  readonly keys: AssertionKeys;
  readonly signer: AssertionSigner;
  readonly header: string;
}

function assertionsOf(config: WorkerConfig, clock: Clock | undefined): Assertions | undefined {
  const { assertion } = config;
  if (assertion === undefined) return undefined;
  const keys = createAssertionKeys(assertion.key, config.assertionSecondKey);
  const signer = createAssertionSigner({ keys, ...assertion, ...(clock !== undefined && { clock }) });
  return { keys, signer, header: config.assertionHeader };
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

/**
 * A browser navigation (`GET` asking for HTML) that needs a login goes to `LOGIN_URL`, with the
 * page it wanted as `return_to`, instead of a bare 401. Only 401 outcomes: a 400, 403 or 503 is
 * not cured by logging in.
 */
function loginRedirect(
  error: AuthError,
  config: WorkerConfig,
  request: Request,
  url: URL,
  log: Logger,
): Response | undefined {
  if (
    config.loginUrl === undefined ||
    request.method !== "GET" ||
    !(request.headers.get("accept") ?? "").includes("text/html")
  )
    return undefined;
  if (describeError(error.code).status !== 401) return undefined;
  const location = new URL(config.loginUrl);
  location.searchParams.set("return_to", url.href);
  log.log("request_redirected_to_login", { code: error.code, path: url.pathname });
  return new Response(null, { status: 302, headers: { location: location.href, "cache-control": "no-store" } });
}

/** `userId`: with `LOG_DECISIONS=true`, the caller a route rule refused. */
function refuse(error: AuthError, realm: string, request: Request, url: URL, log: Logger, userId?: string): Response {
  const response = errorResponse(error, realm, `${url.origin}${RESOURCE_METADATA_PATH}`);
  log.log("request_refused", {
    code: error.code,
    status: response.status,
    method: request.method,
    path: url.pathname,
    user_id: userId,
  });
  return new Response(request.method === "HEAD" ? null : response.body, response);
}

/** RFC 9728: who issues tokens for this resource, served by the gate without authentication. */
function metadataResponse(config: WorkerConfig, request: Request, url: URL): Response {
  const body = JSON.stringify(protectedResourceMetadata(config, url.origin));
  return new Response(request.method === "HEAD" ? null : body, {
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=3600" },
  });
}

/**
 * The key could not be had (a Secrets Store read, an import) or used: `ERR_INTERNAL`, logged with
 * the reason (messages here name settings and rules, never a key's value).
 */
function assertionFailure(error: unknown, log: Logger): AuthError {
  log.log("assertion_failed", { reason: error instanceof Error ? `${error.name}: ${error.message}` : "unknown" });
  return new AuthError("ERR_INTERNAL", "The gateway failed unexpectedly.", { cause: error });
}

/** The assertion's public keys, served before any authentication (the origin fetches them unauthenticated). */
async function jwksResponse(keys: AssertionKeys, request: Request, url: URL, log: Logger): Promise<[Response, string]> {
  let body: string;
  try {
    body = JSON.stringify(await keys.jwks());
  } catch (error) {
    const failure = assertionFailure(error, log);
    return [refuse(failure, "authgear-edge", request, url, log), failure.code];
  }
  const headers = { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=300" };
  return [new Response(request.method === "HEAD" ? null : body, { headers }), "jwks"];
}

/**
 * The query the origin gets: none for a preflight under `METHOD_OVERRIDE=any` (forwarding.ts),
 * and an upgrade's without its `WEBSOCKET_QUERY_TOKEN` parameter (the token stays out of the
 * origin's logs, whether or not it was valid); unset, without `access_token`, which an upgrade
 * reaches the origin with only when `REPORT_ONLY` lets its refusal through.
 */
function forwardedSearch(url: URL, narrowPreflight: boolean, webSocket: boolean, config: WorkerConfig): string {
  if (narrowPreflight) return "";
  if (!webSocket) return url.search;
  return withoutQueryParameter(url.search, config.websocketQueryToken ?? RFC6750_QUERY_PARAMETER);
}

type OriginFetch = (url: string, init: RequestInit) => Promise<Response>;

async function handle(
  request: Request,
  gated: Gated,
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
  const [gatedResponse, outcome] = await respond(request, gated, ctx, meter, logger, fetchOrigin);
  if (analytics !== undefined && meter !== undefined)
    writeRequestPoint(analytics, outcome, meter, performance.now() - started);
  const cors = config !== undefined && config.corsAllowedOrigins.size > 0;
  const response = cors ? withCors(gatedResponse, allowedOrigin(request, config.corsAllowedOrigins)) : gatedResponse;
  return response.status === 101 ? response : withTiming(response, config, started, outcome);
}

/** The response and the outcome `Server-Timing` names: an error code, `authenticated` or `public`. */
async function respond(
  request: Request,
  gated: Gated,
  ctx: ExecutionContext,
  meter: Meter | undefined,
  logger: Logger,
  fetchOrigin: OriginFetch,
): Promise<[Response, string]> {
  const { gate, assertions } = gated;
  const url = new URL(request.url);
  // Every line names its request: Cloudflare's ray id, also in Cloudflare's own logs (read only
  // when a line is written: most requests write none).
  const log: Logger = {
    log(event, fields) {
      withFields(logger, { request_id: request.headers.get("cf-ray") ?? undefined }).log(event, fields);
    },
  };
  if (!gate.ok) return [refuse(gate.error, "authgear-edge", request, url, log), gate.error.code];
  const { config, decider } = gate;
  // Each of these getters crosses into the runtime and makes a new string: read once.
  const { method, headers: incoming } = request;
  const path = url.pathname;
  const isRead = method === "GET" || method === "HEAD";
  if (path === RESOURCE_METADATA_PATH && isRead) return [metadataResponse(config, request, url), "metadata"];
  if (assertions !== undefined && path === ASSERTION_JWKS_PATH && isRead) {
    return jwksResponse(assertions.keys, request, url, log);
  }
  // workerd gives a request with `Content-Length: 0` a (empty) body stream: that is no body.
  const hasBody = request.body !== null && incoming.get("content-length") !== "0";
  // fetch() cannot send a GET or HEAD with a body: a clear 400 rather than a 502.
  if (hasBody && isRead) {
    const error = new AuthError("ERR_REQUEST_MALFORMED", "A GET or HEAD request cannot carry a body.");
    return [refuse(error, config.realm, request, url, log), error.code];
  }
  const webSocket = isWebSocketUpgrade(method, incoming);
  const decision = await decider.decide(
    {
      method,
      path,
      headers: incoming,
      hasBody,
      ...(webSocket && { webSocket: { query: url.searchParams } }),
    },
    {
      defer: (promise) => {
        ctx.waitUntil(promise);
      },
      logger: log,
      ...(meter !== undefined && { meter }),
    },
  );
  const userId = config.logDecisions ? decision.identity?.subject : undefined;
  if (!decision.allowed && !config.reportOnly) {
    const { error } = decision;
    return [
      (decision.identity === undefined ? loginRedirect(error, config, request, url, log) : undefined) ??
        refuse(error, config.realm, request, url, log, userId),
      error.code,
    ];
  }
  // With CORS_ALLOWED_ORIGINS, a preflight is the gate's to answer (cors.ts); without, the origin's.
  if (decision.allowed && decision.isPreflight === true && config.corsAllowedOrigins.size > 0) {
    const preflightOrigin = allowedOrigin(request, config.corsAllowedOrigins);
    return [preflightResponse(request, preflightOrigin, config.gateHeaders), "preflight"];
  }
  const isPreflight = decision.allowed && decision.isPreflight === true;
  // A preflight is forwarded unauthenticated: under METHOD_OVERRIDE=any, as a browser sends it and no more.
  const narrowPreflight = isPreflight && config.methodOverride === "any";
  const { gateHeaders } = config;
  const headers = narrowPreflight ? preflightHeaders(incoming, gateHeaders) : forwardedHeaders(incoming, gateHeaders);
  // Only an allowed request carries an identity; a refusal let through by REPORT_ONLY carries its code.
  const identity = decision.allowed ? decision.identity : undefined;
  if (identity !== undefined) addIdentity(headers, identity, config.claimHeaders, log);
  if (identity !== undefined && assertions !== undefined) {
    try {
      headers.append(assertions.header, await assertions.signer.assertion(identity));
    } catch (error) {
      // Never forwarded without it: the origin may rely on it alone.
      const failure = assertionFailure(error, log);
      return [refuse(failure, config.realm, request, url, log), failure.code];
    }
  }
  if (!decision.allowed) {
    const status = describeError(decision.error.code).status;
    const fields = { code: decision.error.code, status, method, path, user_id: userId };
    log.log("would_refuse", fields);
    headers.append(REPORT_HEADER, decision.error.code);
  } else if (config.logDecisions) {
    log.log("request_allowed", { method, path, user_id: userId, public: decision.isPublic });
  }
  if (config.originSecret !== undefined) headers.append(config.originSecret.header, config.originSecret.value);
  // A preflight reaches the origin as browsers send it: no body, no cookies, no identity.
  if (isPreflight) headers.delete("cookie");
  removeTokenSubprotocol(headers);
  if (!config.forwardAuthorization) {
    headers.delete("authorization");
    // The JWT cookie is the token itself; Authgear's session cookies are left for the origin.
    try {
      if (config.jwtCookieName !== undefined) removeCookie(headers, config.jwtCookieName);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return [refuse(error, config.realm, request, url, log), error.code];
    }
  }
  let response: Response;
  try {
    const search = forwardedSearch(url, narrowPreflight, webSocket, config);
    response = await fetchOrigin(originUrl(url, config.originUrl, path, search), {
      method,
      headers,
      body: isPreflight || !hasBody ? null : request.body,
      redirect: "manual",
      // An answer for one user must never be served to another from Cloudflare's cache.
      ...(identity !== undefined && { cache: "no-store" as const }),
    });
  } catch {
    log.log("origin_unreachable", { method, path });
    const body = JSON.stringify({ error: "bad_gateway", error_description: "The origin could not be reached." });
    return [
      new Response(body, { status: 502, headers: { "content-type": "application/json; charset=utf-8" } }),
      "origin_unreachable",
    ];
  }
  if (!decision.allowed) return [response, `report-only ${decision.error.code}`];
  return [response, identity === undefined ? "public" : "authenticated"];
}
