/**
 * The API Gateway Lambda authorizer: one `handler` for REST TOKEN, REST REQUEST and HTTP API
 * payload 2.0 events. The configuration (the Worker's names, from the Lambda environment), the key
 * set and the verified-token cache live at module scope: a warm container reuses them.
 *
 * API Gateway's contract, which the answers below follow:
 * - `throw new Error("Unauthorized")` is the only way to get a 401 (no or invalid credentials);
 * - an Allow policy (or `isAuthorized: true`) lets the request through, with `context` handed to
 *   the backend as `requestContext.authorizer` — flat string, number or boolean values only;
 * - a Deny policy (or `isAuthorized: false`) is a 403;
 * - any other error is an authorizer failure (500, which serverless.yml's gateway responses turn
 *   into 503): used when the key set is unreachable or the configuration is invalid, never an Allow.
 */
import type { APIGatewayAuthorizerResult, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";
import {
  assertAllowed,
  assertAllowedOn,
  assertUnambiguousPath,
  AuthError,
  compileRoutes,
  createAuthenticatorFromEnv,
  createPublicPathMatcher,
  describeError,
  identityHeaders,
  jsonLogger,
  type Identity,
  type RouteRule,
} from "../core/index.ts";
import { readEvent, UnsupportedEvent, type RequestView } from "./events.ts";
import { buildPolicy, parseMethodArn, ruleResources } from "./policy.ts";

/** What the backend finds in `requestContext.authorizer`: the x-authgear-* headers, camel-cased. */
export type AuthorizerContext = Readonly<Record<string, string>>;

export type AuthorizerResult = APIGatewayAuthorizerResult | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

const logger = jsonLogger;
const built = createAuthenticatorFromEnv(process.env, { logger });
const isPublic = createPublicPathMatcher(built.ok ? built.config.publicPaths : []);
const routes = compileRoutes(built.ok ? built.config.routes : []);

function isUnambiguousPath(path: string): boolean {
  try {
    assertUnambiguousPath(path);
    return true;
  } catch {
    return false;
  }
}

/** `x-authgear-user-can-reauthenticate` -> `userCanReauthenticate`. */
function contextKey(header: string): string {
  return header.slice("x-authgear-".length).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

export function identityContext(identity: Identity): AuthorizerContext {
  return Object.fromEntries(identityHeaders(identity).map(([name, value]) => [contextKey(name), value]));
}

function anonymous(view: RequestView, simple: boolean): AuthorizerResult {
  return simple ? { isAuthorized: true, context: {} } : buildPolicy({ principalId: "anonymous", allow: [view.arn], context: {} });
}

/**
 * An authenticated caller: the current request is checked against every rule that applies to it
 * (a step-up failure is a 401; a missing role or scope a Deny, 403), and the policy holds for
 * every route: Allow on the whole stage, Deny on each rule's routes that the caller does not meet
 * (also when the current request is on a public path: the same token's next request may not be).
 */
function authenticated(view: RequestView, simple: boolean, identity: Identity, isPublicPath: boolean): AuthorizerResult {
  const now = Date.now();
  const arn = parseMethodArn(view.arn);
  const method = view.method ?? arn?.method;
  const path = view.path ?? arn?.path;
  let allowedHere = true;
  if (isPublicPath) {
    // Route rules do not apply to a public path.
  } else if (method !== undefined && path !== undefined) {
    try {
      assertAllowedOn(routes, identity, method, path, now);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      if (error.code === "ERR_AUTHENTICATION_TOO_OLD") refuse(error.code, view);
      logger.log("request_forbidden", { code: error.code, kind: view.kind, path: view.path });
      allowedHere = false;
    }
  } else if (routes.length > 0) {
    allowedHere = false;
  }
  const context = identityContext(identity);
  if (simple) return { isAuthorized: allowedHere, context };
  if (arn === undefined) {
    // An ARN of another shape: no stage to widen to, no routes to deny; decide for this request alone.
    return buildPolicy(allowedHere ? { principalId: identity.userId, allow: [view.arn], context } : { principalId: identity.userId, allow: [], deny: [view.arn], context });
  }
  const deny = routes.filter((route) => !meets(route.rule, identity, now)).flatMap((route) => ruleResources(arn.stage, route.rule));
  return buildPolicy({ principalId: identity.userId, allow: [`${arn.stage}/*`], deny, context });
}

function meets(rule: RouteRule, identity: Identity, now: number): boolean {
  try {
    assertAllowed(rule, identity, now);
    return true;
  } catch {
    return false;
  }
}

function refuse(code: string, view: RequestView | undefined): never {
  logger.log("request_refused", { code, kind: view?.kind, path: view?.path });
  throw new Error("Unauthorized");
}

function fail(code: string, view: RequestView | undefined): never {
  logger.log("authorizer_failed", { code, kind: view?.kind, path: view?.path });
  throw new Error("Service Unavailable");
}

export async function handler(event: unknown): Promise<AuthorizerResult> {
  let view: RequestView;
  try {
    view = readEvent(event);
  } catch (error) {
    if (error instanceof UnsupportedEvent) fail("ERR_UNSUPPORTED_EVENT", undefined);
    throw error;
  }
  if (!built.ok) fail(built.error.code, view);
  const simple = view.kind === "http-v2" && built.config.httpApiResponse === "simple";
  // An ambiguous path (encoded separators, dot segments, ...) is never public. It is not refused
  // outright as in the Worker: API Gateway may hand over a decoded path ("/my file"), and an
  // authenticated caller must not be turned away for it.
  const isPublicPath = view.path !== undefined && isUnambiguousPath(view.path) && isPublic(view.path);
  const result = await built.authenticator.authenticate(view.headers);
  // A public path goes through, with the identity of a valid token, or anonymously for exactly
  // this method and path. Route rules do not apply to public paths.
  if (result.ok) return authenticated(view, simple, result.identity, isPublicPath);
  if (isPublicPath) return anonymous(view, simple);
  // 5xx outcomes (key set or resolver unavailable, bad configuration) are authorizer failures,
  // which the gateway responses turn into 503; everything else is a 401.
  return describeError(result.error.code).status >= 500 ? fail(result.error.code, view) : refuse(result.error.code, view);

}
