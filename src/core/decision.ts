/**
 * The one decision both packagings make about a request: refused, or allowed with or without an
 * identity. The Worker and the authorizer translate their request into a `DecisionRequest` and the
 * `Decision` into their answer; neither sequences a check of its own.
 *
 * In order: an ambiguous path (refused, or never public), a CORS preflight (let through,
 * unauthenticated), public paths (credentials optional), authentication, then the route rules — for the
 * request's path and every other one a path-override header could make the origin serve, and for its
 * method or, under `METHOD_OVERRIDE=any`, every method it could be served as (overrides.ts) — checked
 * at the clock's `now` and, when the answer is reused, as API Gateway caches it, for every moment
 * until it expires.
 */
import { internalError, type Authenticator, type CallOptions } from "./authenticator.ts";
import type { Config } from "./config.ts";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";
import { ambiguousPathError, canonicalPath, createPublicPathMatcher, isMalformedPath, ruleReadings } from "./paths.ts";
import { hasMethodOverrideHeader, overridePaths, type HeaderList } from "./overrides.ts";
import { jsonLogger, systemClock, type Clock, type Logger } from "./ports.ts";
import { webSocketQueryToken, type QueryReader } from "./websocket.ts";
import { compileRoutes, governsKind, meetsRule, refusalOnReadings, type RouteRule } from "./routes.ts";

export interface DecisionRequest {
  readonly method: string;
  /** The path the answer is about; `undefined` when the platform names none. */
  readonly path: string | undefined;
  /** Every header, by name: the path-override headers come in several spellings. */
  readonly headers: HeaderList;
  /** Whether the request carries a body (a preflight never does). */
  readonly hasBody?: boolean;
  /**
   * Set for a WebSocket upgrade (the Worker's `isWebSocketUpgrade`, API Gateway's `$connect`),
   * and only then: its `Sec-WebSocket-Protocol` token entry is read (credentials.ts), and its
   * query, where `WEBSOCKET_QUERY_TOKEN` lets a token travel (websocket.ts). Another request's
   * query and protocol list are never read.
   */
  readonly webSocket?: { readonly query: QueryReader };
}

export type Decision =
  | {
      readonly allowed: true;
      /** `undefined`: a public path without valid credentials. */
      readonly identity: Identity | undefined;
      readonly isPublic: boolean;
      /** A CORS preflight, let through unauthenticated: forward it without body, cookies or identity. */
      readonly isPreflight?: boolean;
      /** The moment of the decision, milliseconds since the epoch. */
      readonly at: number;
    }
  | {
      readonly allowed: false;
      readonly error: AuthError;
      /** Set when the credentials were valid and a route rule refused the request. */
      readonly identity: Identity | undefined;
      readonly at: number;
    };

/** What an `authorize` callback is shown of the request: as decided, read-only. */
export interface AuthorizeRequest {
  readonly method: string;
  /** The request's path; `undefined` when the platform names none. */
  readonly path: string | undefined;
  readonly headers: HeaderList;
}

/**
 * An application's own check, run after the route rules for every authenticated request that is
 * not public: `true` lets it through, `false` refuses it like an unmet rule (403
 * `insufficient_scope`, or the authorizer's Deny). A throw (or a rejection) refuses it with
 * `ERR_INTERNAL`: a failing check never lets a request through.
 */
export type AuthorizeCallback = (identity: Identity, request: AuthorizeRequest) => boolean | Promise<boolean>;

export interface DeciderOptions {
  /**
   * `refuse`: an ambiguous path is a 400 (the Worker forwards the path exactly as received).
   * `protect`: it is never public and rules match it literally (API Gateway may hand the
   * authorizer a decoded path, `/my file`, which an authenticated caller must still reach).
   */
  readonly ambiguousPaths: "refuse" | "protect";
  /** Whether a CORS preflight (which browsers send without credentials) passes like a public path. */
  readonly preflightsArePublic: boolean;
  /**
   * `stripped`: path-override headers never reach the origin (the Worker removes them), so they
   * change nothing. `reach-origin`: they do (API Gateway passes every header on), so a request is
   * also decided as each path they name, and is never public with one. (Methods: overrides.ts.)
   */
  readonly overrideHeaders: "stripped" | "reach-origin";
  /** How long, in seconds, the answer will be reused; 0 = this request only. */
  readonly validForSeconds: number;
  /** Default: `Date.now`. */
  readonly clock?: Clock;
  /** Where an unforeseen exception is logged when the call names no logger; default `jsonLogger`. */
  readonly logger?: Logger;
  /** The application's own check (`AuthorizeCallback`); default none. */
  readonly authorize?: AuthorizeCallback;
}

export interface Decider {
  /** Never throws for a request: every outcome is a `Decision`. */
  decide(request: DecisionRequest, options?: CallOptions): Promise<Decision>;
  /** The rules `identity` fails at some moment of the validity window starting at `at`. */
  failedRules(identity: Identity, at: number): RouteRule[];
  /**
   * For a machine client, which reaches only what a rule admits it to: the rules that admit
   * clients and that `identity` meets throughout the validity window. Empty for a user.
   */
  admittingRules(identity: Identity, at: number): RouteRule[];
}

/** An RFC 9110 token: what a method name is made of. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function createDecider(config: Config, authenticator: Authenticator, options: DeciderOptions): Decider {
  const clock = options.clock ?? systemClock;
  const isPublicPath = createPublicPathMatcher(config.publicPaths);
  const routes = compileRoutes(config.routes, config.methodOverride);
  const { validForSeconds } = options;

  /**
   * A CORS preflight, which browsers send without credentials: `OPTIONS` with `Origin`, a
   * non-empty `Access-Control-Request-Method` that is a method name, no `Authorization` and no
   * body. Anything else sent with `OPTIONS` is an ordinary request.
   */
  function isPreflight(request: DecisionRequest): boolean {
    return (
      options.preflightsArePublic &&
      request.method === "OPTIONS" &&
      request.hasBody !== true &&
      request.headers.get("origin") !== null &&
      METHOD_TOKEN.test(request.headers.get("access-control-request-method") ?? "") &&
      request.headers.get("authorization") === null
    );
  }

  /** Path-override headers the origin will see: each names a path the request is also decided on. */
  function otherPaths(request: DecisionRequest): string[] {
    return options.overrideHeaders === "reach-origin" ? overridePaths(request.headers) : [];
  }

  function ruleRefusal(
    request: DecisionRequest,
    path: string,
    canonical: string | undefined,
    identity: Identity,
    at: number,
  ): AuthError | undefined {
    const { method } = request;
    const every = options.overrideHeaders === "reach-origin" && hasMethodOverrideHeader(request.headers);
    const readings = ruleReadings(path, canonical);
    const refusal = refusalOnReadings(routes, identity, method, readings, at, validForSeconds, every);
    if (refusal !== undefined) return refusal;
    for (const other of otherPaths(request)) {
      const otherRefusal = refusalOnReadings(routes, identity, method, ruleReadings(other), at, validForSeconds, every);
      if (otherRefusal !== undefined) return otherRefusal;
    }
    return undefined;
  }

  return {
    async decide(request, callOptions) {
      try {
        return await decideRequest(request, callOptions);
      } catch (error) {
        const logger = callOptions?.logger ?? options.logger ?? jsonLogger;
        const refusal = error instanceof AuthError ? error : internalError(error, logger);
        return { allowed: false, error: refusal, identity: undefined, at: systemClock() };
      }
    },
    failedRules(identity, at) {
      return config.routes.filter((rule) => !meetsRule(rule, identity, at, validForSeconds));
    },
    admittingRules(identity, at) {
      if (identity.kind === "user") return [];
      const admits = (rule: RouteRule) => governsKind(rule, "client") && meetsRule(rule, identity, at, validForSeconds);
      return config.routes.filter(admits);
    },
  };

  async function decideRequest(request: DecisionRequest, callOptions: CallOptions | undefined): Promise<Decision> {
    const at = clock();
    const { path } = request;
    const canonical = path === undefined ? undefined : canonicalPath(path);
    const ambiguous = path !== undefined && canonical === undefined;
    if (ambiguous && (options.ambiguousPaths === "refuse" || isMalformedPath(path))) {
      return { allowed: false, error: ambiguousPathError(), identity: undefined, at };
    }
    if (isPreflight(request)) return { allowed: true, identity: undefined, isPublic: true, isPreflight: true, at };
    // Public paths match narrowly: exactly, case-sensitively, a path already canonical, and never
    // for a request that asks (through an override header) to be served another path.
    const isPublic =
      canonical === path && canonical !== undefined && isPublicPath(canonical) && otherPaths(request).length === 0;
    // Thrown (refused) even on a public path: a token in the query would reach the origin's logs.
    const { webSocket: upgrade } = request;
    const webSocket = upgrade && { queryToken: webSocketQueryToken(upgrade.query, config.websocketQueryToken) };
    const result = await authenticator.authenticate(request.headers, callOptions, webSocket);
    if (!result.ok) {
      if (isPublic) return { allowed: true, identity: undefined, isPublic, at };
      return { allowed: false, error: result.error, identity: undefined, at };
    }
    const { identity } = result;
    if (isPublic) return { allowed: true, identity, isPublic, at };
    let refusal: AuthError | undefined;
    // A machine client reaches only what a rule admits it to, so it is checked even with no rules.
    const checked = routes.length > 0 || identity.kind === "client";
    if (checked && path === undefined) {
      const message = "The route rules cannot be checked: the request names no path.";
      refusal = new AuthError("ERR_INSUFFICIENT_SCOPE", message);
    } else if (checked && path !== undefined) {
      refusal = ruleRefusal(request, path, canonical, identity, at);
    }
    refusal ??= await callbackRefusal(identity, request);
    if (refusal === undefined) return { allowed: true, identity, isPublic, at };
    return { allowed: false, error: refusal, identity, at };
  }

  /** The `authorize` callback's refusal; anything but `true` or `false` is a failure (`ERR_INTERNAL`). */
  async function callbackRefusal(identity: Identity, request: DecisionRequest): Promise<AuthError | undefined> {
    if (options.authorize === undefined) return undefined;
    const view: AuthorizeRequest = { method: request.method, path: request.path, headers: request.headers };
    const verdict: unknown = await options.authorize(identity, view);
    if (verdict === true) return undefined;
    if (verdict === false)
      return new AuthError("ERR_INSUFFICIENT_SCOPE", "The application's check refused this request.");
    throw new TypeError("authorize returned neither true nor false");
  }
}
