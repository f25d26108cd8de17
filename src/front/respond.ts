/**
 * The gate in front of an origin, once for every packaging that has one (the Worker, the
 * Lambda@Edge function): a request is answered by the gate (metadata, assertion keys, a refusal, a
 * login redirect, a preflight) or handed to `forward` with what the origin may receive. The
 * packaging says how a request is read and where a forwarded one goes.
 */
import {
  ASSERTION_JWKS_PATH,
  AuthError,
  createAssertionKeys,
  createAssertionSigner,
  describeError,
  errorResponse,
  isWebSocketUpgrade,
  protectedResourceMetadata,
  RESOURCE_METADATA_PATH,
  RFC6750_QUERY_PARAMETER,
  type AssertionKeys,
  type AssertionSigner,
  type Clock,
  type Defer,
  type Gate,
  type Logger,
  type Meter,
} from "../core/index.ts";
import type { FrontConfig } from "./config.ts";
import { allowedOrigin, preflightResponse } from "./cors.ts";
import {
  addIdentity,
  forwardedHeaders,
  preflightHeaders,
  removeCookie,
  removeTokenSubprotocol,
  withoutQueryParameter,
} from "./forwarding.ts";

/** With `REPORT_ONLY=true`: the code a forwarded request would have been refused with. */
export const REPORT_HEADER = "x-authgear-edge-report";

/** A request as the gate reads it; `url` parsed once by the packaging. */
export interface FrontRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  /** Whether the request carries a body, as the packaging can tell. */
  readonly hasBody: boolean;
  /** What `forward` sends on as the body; `null` where the platform keeps the body itself. */
  readonly body: BodyInit | null;
}

/** What an allowed request (or one `REPORT_ONLY` lets through) reaches the origin with. */
export interface Forwarded {
  /** The path the gate decided on, and the query (`?` included, or `""`). */
  readonly path: string;
  readonly search: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: BodyInit | null;
  /** Whether it carries an identity: an answer for one user must not be cached for another. */
  readonly identified: boolean;
}

/** Sends the request on; `F` is what the packaging makes of it (the Worker: the origin's response). */
export type Forward<F> = (forwarded: Forwarded) => Promise<F>;

/** The per-request side effects: where background work goes, the request's log, the meter. */
export interface FrontCall {
  readonly defer?: Defer;
  readonly log: Logger;
  readonly meter?: Meter;
}

/** What one isolate or container keeps per configuration: the gate, and with `ASSERTION_KEY` the keys and signer. */
export interface Gated<C extends FrontConfig = FrontConfig> {
  readonly gate: Gate<C>;
  readonly assertions: Assertions | undefined;
}

interface Assertions {
  readonly keys: AssertionKeys;
  readonly signer: AssertionSigner;
  readonly header: string;
}

export function gatedOf<C extends FrontConfig>(gate: Gate<C>, clock: Clock | undefined): Gated<C> {
  const assertion = gate.ok ? gate.config.assertion : undefined;
  if (!gate.ok || assertion === undefined) return { gate, assertions: undefined };
  const keys = createAssertionKeys(assertion.key, gate.config.assertionSecondKey);
  const signer = createAssertionSigner({ keys, ...assertion, ...(clock !== undefined && { clock }) });
  return { gate, assertions: { keys, signer, header: gate.config.assertionHeader } };
}

/**
 * A browser navigation (`GET` asking for HTML) that needs a login goes to `LOGIN_URL`, with the
 * page it wanted as `return_to`, instead of a bare 401. Only 401 outcomes: a 400, 403 or 503 is
 * not cured by logging in.
 */
function loginRedirect(
  error: AuthError,
  config: FrontConfig,
  request: FrontRequest,
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
  location.searchParams.set("return_to", request.url.href);
  log.log("request_redirected_to_login", { code: error.code, path: request.url.pathname });
  return new Response(null, { status: 302, headers: { location: location.href, "cache-control": "no-store" } });
}

/** `userId`: with `LOG_DECISIONS=true`, the caller a route rule refused. */
export function refuse(error: AuthError, realm: string, request: FrontRequest, log: Logger, userId?: string): Response {
  const { url } = request;
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
function metadataResponse(config: FrontConfig, request: FrontRequest): Response {
  const body = JSON.stringify(protectedResourceMetadata(config, request.url.origin));
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
async function jwksResponse(keys: AssertionKeys, request: FrontRequest, log: Logger): Promise<[Response, string]> {
  let body: string;
  try {
    body = JSON.stringify(await keys.jwks());
  } catch (error) {
    const failure = assertionFailure(error, log);
    return [refuse(failure, "authgear-edge", request, log), failure.code];
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
function forwardedSearch(url: URL, narrowPreflight: boolean, webSocket: boolean, config: FrontConfig): string {
  if (narrowPreflight) return "";
  if (!webSocket) return url.search;
  return withoutQueryParameter(url.search, config.websocketQueryToken ?? RFC6750_QUERY_PARAMETER);
}

/**
 * The gate's answer, or what `forward` made of the request, with the outcome `Server-Timing` and
 * the metrics name: an error code, `authenticated`, `public`, `report-only <code>`, ...
 */
export async function respond<F>(
  request: FrontRequest,
  gated: Gated,
  call: FrontCall,
  forward: Forward<F>,
): Promise<[Response | F, string]> {
  const { gate, assertions } = gated;
  const { log } = call;
  if (!gate.ok) return [refuse(gate.error, "authgear-edge", request, log), gate.error.code];
  const { config, decider } = gate;
  const { method, headers: incoming, url, hasBody } = request;
  const path = url.pathname;
  const isRead = method === "GET" || method === "HEAD";
  if (path === RESOURCE_METADATA_PATH && isRead) return [metadataResponse(config, request), "metadata"];
  if (assertions !== undefined && path === ASSERTION_JWKS_PATH && isRead) {
    return jwksResponse(assertions.keys, request, log);
  }
  // fetch() cannot send a GET or HEAD with a body: a clear 400 rather than a 502.
  if (hasBody && isRead) {
    const error = new AuthError("ERR_REQUEST_MALFORMED", "A GET or HEAD request cannot carry a body.");
    return [refuse(error, config.realm, request, log), error.code];
  }
  const webSocket = isWebSocketUpgrade(method, incoming);
  const decision = await decider.decide(
    { method, path, headers: incoming, hasBody, ...(webSocket && { webSocket: { query: url.searchParams } }) },
    {
      ...(call.defer !== undefined && { defer: call.defer }),
      logger: log,
      ...(call.meter !== undefined && { meter: call.meter }),
    },
  );
  const userId = config.logDecisions ? decision.identity?.subject : undefined;
  if (!decision.allowed && !config.reportOnly) {
    const { error } = decision;
    return [
      (decision.identity === undefined ? loginRedirect(error, config, request, log) : undefined) ??
        refuse(error, config.realm, request, log, userId),
      error.code,
    ];
  }
  // With CORS_ALLOWED_ORIGINS, a preflight is the gate's to answer (cors.ts); without, the origin's.
  if (decision.allowed && decision.isPreflight === true && config.corsAllowedOrigins.size > 0) {
    const preflightOrigin = allowedOrigin(incoming, config.corsAllowedOrigins);
    return [preflightResponse(incoming, preflightOrigin, config.gateHeaders), "preflight"];
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
      return [refuse(failure, config.realm, request, log), failure.code];
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
      return [refuse(error, config.realm, request, log), error.code];
    }
  }
  let forwarded: F;
  try {
    forwarded = await forward({
      path,
      search: forwardedSearch(url, narrowPreflight, webSocket, config),
      method,
      headers,
      body: isPreflight || !hasBody ? null : request.body,
      identified: identity !== undefined,
    });
  } catch {
    log.log("origin_unreachable", { method, path });
    const body = JSON.stringify({ error: "bad_gateway", error_description: "The origin could not be reached." });
    return [
      new Response(body, { status: 502, headers: { "content-type": "application/json; charset=utf-8" } }),
      "origin_unreachable",
    ];
  }
  if (!decision.allowed) return [forwarded, `report-only ${decision.error.code}`];
  return [forwarded, identity === undefined ? "public" : "authenticated"];
}
