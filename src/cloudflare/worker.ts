/**
 * The Cloudflare Worker: every request is authenticated before it reaches the origin, and the
 * origin receives Authgear's identity headers. Configuration is parsed once per isolate.
 */
import {
  AuthError,
  assertAllowedOn,
  assertUnambiguousPath,
  compileRoutes,
  createAuthenticatorFromEnv,
  createPublicPathMatcher,
  describeError,
  errorResponse,
  jsonLogger,
  type Authenticator,
  type Config,
  type Logger,
  type RouteRequirement,
} from "../core/index.ts";
import { createCacheKeySetStore } from "./cache-key-set-store.ts";
import { addIdentity, originUrl, sanitizeHeaders } from "./forwarding.ts";

/** Worker `[vars]` and secrets: the names of the README's configuration table. */
export type Env = Readonly<Record<string, unknown>>;

type Gate =
  | {
      readonly ok: true;
      readonly config: Config;
      readonly authenticator: Authenticator;
      readonly isPublic: (pathname: string) => boolean;
      readonly routes: readonly RouteRequirement[];
    }
  | { readonly ok: false; readonly error: AuthError };

const logger: Logger = jsonLogger;
let current: { readonly env: Env; readonly gate: Gate } | undefined;

function gateFor(env: Env): Gate {
  if (current?.env !== env) {
    const built = createAuthenticatorFromEnv(env, { logger }, (config) => ({
      keySetStore: createCacheKeySetStore(caches.default, config.issuer, config.jwksMaxAgeSeconds + config.jwksStaleSeconds),
    }));
    current = {
      env,
      gate: built.ok
        ? { ...built, isPublic: createPublicPathMatcher(built.config.publicPaths), routes: compileRoutes(built.config.routes) }
        : built,
    };
  }
  return current.gate;
}

/** A CORS preflight: browsers send it without credentials, so it cannot be authenticated. */
function isPreflight(request: Request): boolean {
  return (
    request.method === "OPTIONS" &&
    request.headers.has("origin") &&
    request.headers.has("access-control-request-method") &&
    !request.headers.has("authorization")
  );
}

function timing(started: number, outcome: string): string {
  return `authgear-edge;desc="${outcome}";dur=${(performance.now() - started).toFixed(1)}`;
}

/**
 * A browser navigation (`GET` asking for HTML) that needs a login goes to `LOGIN_URL`, with the
 * page it wanted as `return_to`, instead of a bare 401. Only 401 outcomes: a 400, 403 or 503 is
 * not cured by logging in.
 */
function loginRedirect(error: AuthError, config: Config, request: Request, url: URL, started: number): Response | undefined {
  if (config.loginUrl === undefined || request.method !== "GET" || !(request.headers.get("accept") ?? "").includes("text/html")) return undefined;
  if (describeError(error.code).status !== 401) return undefined;
  const location = new URL(config.loginUrl);
  location.searchParams.set("return_to", url.href);
  logger.log("request_redirected_to_login", { code: error.code, path: url.pathname });
  return new Response(null, {
    status: 302,
    headers: { location: location.href, "cache-control": "no-store", "server-timing": timing(started, error.code) },
  });
}

function refuse(error: AuthError, realm: string, request: Request, url: URL, started: number): Response {
  const response = errorResponse(error, realm);
  logger.log("request_refused", { code: error.code, status: response.status, method: request.method, path: url.pathname });
  const headers = new Headers(response.headers);
  headers.set("server-timing", timing(started, error.code));
  return new Response(request.method === "HEAD" ? null : response.body, { status: response.status, headers });
}

async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const started = performance.now();
  const url = new URL(request.url);
  const headers = sanitizeHeaders(request.headers);
  const gate = gateFor(env);
  if (!gate.ok) return refuse(gate.error, "authgear-edge", request, url, started);
  const { config, authenticator, isPublic, routes } = gate;
  try {
    assertUnambiguousPath(url.pathname);
  } catch (error) {
    if (error instanceof AuthError) return refuse(error, config.realm, request, url, started);
    throw error;
  }
  // Public paths (and CORS preflights, which carry no credentials) pass without authentication;
  // a valid token there still attaches the identity, an invalid one is ignored.
  const isPublicPath = isPublic(url.pathname) || isPreflight(request);
  const result = await authenticator.authenticate(request.headers, { defer: (promise) => { ctx.waitUntil(promise); } });
  if (result.ok) {
    if (!isPublicPath) {
      try {
        assertAllowedOn(routes, result.identity, request.method, url.pathname, Date.now());
      } catch (error) {
        if (error instanceof AuthError) return refuse(error, config.realm, request, url, started);
        throw error;
      }
    }
    addIdentity(headers, result.identity);
  } else if (!isPublicPath) {
    return loginRedirect(result.error, config, request, url, started) ?? refuse(result.error, config.realm, request, url, started);
  }
  if (!config.forwardAuthorization) headers.delete("authorization");
  let response: Response;
  try {
    response = await fetch(originUrl(url, config.originUrl), {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
  } catch {
    logger.log("origin_unreachable", { method: request.method, path: url.pathname });
    return new Response(JSON.stringify({ error: "bad_gateway", error_description: "The origin could not be reached." }), {
      status: 502,
      headers: { "content-type": "application/json; charset=utf-8", "server-timing": timing(started, "origin_unreachable") },
    });
  }
  if (response.status === 101) return response;
  const forwarded = new Response(response.body, response);
  forwarded.headers.append("server-timing", timing(started, result.ok ? "authenticated" : "public"));
  return forwarded;
}

export default {
  fetch: handle,
} satisfies ExportedHandler<Env>;
