/**
 * `authgear()`: the gate as Hono middleware, for an app that already runs on Hono (on Workers,
 * Node or elsewhere). The same decision as the Worker's — ambiguous paths refused, public paths,
 * authentication (JWT, resolver or hybrid), route rules — on the request as the app receives it;
 * a refusal is answered here (401/403/400/503 with its challenge), and an allowed request goes on
 * with the identity at `c.get("authgear")` (`undefined` on a public path without credentials).
 * With `CLAIM_HEADERS`, the app's `c.req` carries the identity's claim headers, and never a
 * client's copy of one.
 */
import type { MiddlewareHandler } from "hono";
import {
  AuthError,
  canonicalHeaderName,
  createGate,
  fromEnv,
  overlaySettings,
  logOmittedClaimHeaders,
  type ClaimHeaders,
  describeError,
  errorResponse,
  jsonLogger,
  withFields,
  type AuthenticatorDeps,
  type AuthErrorCode,
  type AuthorizeCallback,
  type CoreSettings,
  type Gate,
  type Logger,
  type OnInvalidConfig,
  oncePerSettings,
  type Identity,
  isWebSocketUpgrade,
} from "../core/index.ts";

export interface AuthgearOptions extends Pick<
  AuthenticatorDeps,
  | "fetcher"
  | "clock"
  | "logger"
  | "keySetStore"
  | "keySetTiming"
  | "tokenCache"
  | "verdictStore"
  | "resolverCacheEntries"
> {
  /**
   * Settings given in code, by the names of docs/configuration.md, typed from their
   * schemas; a variable of `env` of the same name wins over one unless blank.
   */
  readonly settings?: CoreSettings;
  /**
   * An environment the settings are read from by name, checked at run time only (`process.env` on
   * Node). With neither `settings` nor `env`: the app's `c.env` (a Worker's vars and secrets), read
   * at the first request.
   */
  readonly env?: Readonly<Record<string, unknown>>;
  /**
   * `throw`: a bad configuration throws its `ConfigError` (naming every bad key) instead of
   * answering every request with a 500: from `authgear()` itself when `settings` or `env` is
   * given, else at the first request (to the app's error handler). Default `respond`.
   */
  readonly onInvalidConfig?: OnInvalidConfig;
  /** The application's own check after the route rules (core `AuthorizeCallback`); default none. */
  readonly authorize?: AuthorizeCallback;
}

/** What the middleware puts on the context. */
export interface AuthgearVariables {
  authgear: Identity | undefined;
  /** With `REPORT_ONLY=true`: the code this request would have been refused with (it goes on, without an identity). */
  authgearReport: AuthErrorCode | undefined;
}

/** The settings of an app with neither `settings` nor an env: one object, so the gate (a 500) is built once. */
const NO_SETTINGS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * `raw` as the app reads it under `CLAIM_HEADERS`: every client copy of a configured header
 * removed, in any spelling, and the identity's values added; `raw` itself when neither applies.
 */
function withClaimHeaders(
  raw: Request,
  claimHeaders: ClaimHeaders,
  identity: Identity | undefined,
  log: Logger,
): Request {
  const copies: string[] = [];
  raw.headers.forEach((_, name) => {
    if (claimHeaders.canonicalNames.has(canonicalHeaderName(name))) copies.push(name);
  });
  const values = identity === undefined ? undefined : claimHeaders.valuesOf(identity);
  if (values !== undefined) logOmittedClaimHeaders(values, log);
  if (copies.length === 0 && (values === undefined || values.headers.length === 0)) return raw;
  const headers = new Headers(raw.headers);
  for (const name of copies) headers.delete(name);
  for (const [name, value] of values?.headers ?? []) headers.set(name, value);
  return new Request(raw, { headers });
}

/** The settings `settings` and `env` give together, or `undefined` when neither is given (`c.env` is read). */
function givenSettings(
  settings: CoreSettings | undefined,
  env: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> | undefined {
  return env === undefined ? settings : overlaySettings(settings, env);
}

export function authgear(options: AuthgearOptions = {}): MiddlewareHandler<{ Variables: AuthgearVariables }> {
  const { settings, env: givenEnv, onInvalidConfig, authorize, ...deps } = options;
  const logger = deps.logger ?? jsonLogger;
  const given = givenSettings(settings, givenEnv);
  const gateFor = oncePerSettings((source: Readonly<Record<string, unknown>>) =>
    createGate(
      fromEnv(source),
      { ...deps, logger },
      {
        // The app routes on the path it received, so an ambiguous one is refused; override headers
        // stay on the request (Hono's methodOverride reads them), so the rules decide each method
        // and path they could make the app serve.
        decide: {
          ambiguousPaths: "refuse",
          preflightsArePublic: true,
          overrideHeaders: "reach-origin",
          validForSeconds: 0,
          ...(authorize !== undefined && { authorize }),
        },
        ...(onInvalidConfig !== undefined && { onInvalidConfig }),
      },
    ),
  );
  // Settings given here are read now: a bad one throws from `authgear()` under `onInvalidConfig: "throw"`.
  const built: Gate | undefined = given === undefined ? undefined : gateFor(given);

  return async (c, next) => {
    const env: unknown = c.env;
    const gate =
      built ??
      gateFor(typeof env === "object" && env !== null ? (env as Readonly<Record<string, unknown>>) : NO_SETTINGS);
    const url = new URL(c.req.url);
    // Every line names its request (Cloudflare's ray id), read only when a line is written.
    const log: Logger = {
      log(event, fields) {
        withFields(gate.logger, { request_id: c.req.header("cf-ray") }).log(event, fields);
      },
    };
    const refuse = (error: AuthError, realm: string, userId?: string): Response => {
      const response = errorResponse(error, realm);
      log.log("request_refused", {
        code: error.code,
        status: response.status,
        method: c.req.method,
        path: url.pathname,
        user_id: userId,
      });
      return new Response(c.req.method === "HEAD" ? null : response.body, response);
    };
    if (!gate.ok) return refuse(gate.error, "authgear-edge");
    let defer: ((promise: Promise<unknown>) => void) | undefined;
    try {
      const ctx = c.executionCtx;
      defer = (promise) => {
        ctx.waitUntil(promise);
      };
    } catch {
      // Not on Workers: background refreshes just run.
    }
    const { headers } = c.req.raw;
    // An upgrade's query may carry its token (WEBSOCKET_QUERY_TOKEN); the app still sees it (docs/websockets.md).
    const webSocket = isWebSocketUpgrade(c.req.method, headers) ? { webSocket: { query: url.searchParams } } : {};
    const decision = await gate.decider.decide(
      { method: c.req.method, path: url.pathname, headers, hasBody: c.req.raw.body !== null, ...webSocket },
      { logger: log, ...(defer !== undefined && { defer }) },
    );
    const { config } = gate;
    const userId = config.logDecisions ? decision.identity?.subject : undefined;
    if (!decision.allowed) {
      const { code } = decision.error;
      if (!config.reportOnly) return refuse(decision.error, config.realm, userId);
      // As the Worker does: the request goes on with its would-be code and never an identity.
      log.log("would_refuse", {
        code,
        status: describeError(code).status,
        method: c.req.method,
        path: url.pathname,
        user_id: userId,
      });
      c.set("authgear", undefined);
      c.set("authgearReport", code);
    } else {
      if (config.logDecisions)
        log.log("request_allowed", {
          method: c.req.method,
          path: url.pathname,
          user_id: userId,
          public: decision.isPublic,
        });
      c.set("authgear", decision.identity);
      c.set("authgearReport", undefined);
    }
    if (config.claimHeaders.entries.length > 0) {
      const identity = decision.allowed ? decision.identity : undefined;
      c.req.raw = withClaimHeaders(c.req.raw, config.claimHeaders, identity, log);
    }
    await next();
    return undefined;
  };
}
