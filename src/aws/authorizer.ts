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
  assertUnambiguousPath,
  createAuthenticatorFromEnv,
  createPublicPathMatcher,
  identityHeaders,
  jsonLogger,
  type Identity,
} from "../core/index.ts";
import { readEvent, UnsupportedEvent, type RequestView } from "./events.ts";
import { buildPolicy, stageWildcard } from "./policy.ts";

/** What the backend finds in `requestContext.authorizer`: the x-authgear-* headers, camel-cased. */
export type AuthorizerContext = Readonly<Record<string, string>>;

export type AuthorizerResult = APIGatewayAuthorizerResult | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

const logger = jsonLogger;
const built = createAuthenticatorFromEnv(process.env, { logger });
const isPublic = createPublicPathMatcher(built.ok ? built.config.publicPaths : []);

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

function allow(view: RequestView, simple: boolean, principalId: string, context: AuthorizerContext, wholeStage: boolean): AuthorizerResult {
  if (simple) return { isAuthorized: true, context };
  const wildcard = wholeStage ? stageWildcard(view.arn) : undefined;
  return buildPolicy({ principalId, effect: "Allow", resources: [wildcard ?? view.arn], context });
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
  if (result.ok) return allow(view, simple, result.identity.userId, identityContext(result.identity), true);
  // A public path goes through without identity, for exactly this method and path.
  if (isPublicPath) return allow(view, simple, "anonymous", {}, false);
  switch (result.error.code) {
    case "ERR_KEYSET_UNAVAILABLE":
    case "ERR_CONFIG_INVALID":
      return fail(result.error.code, view);
    default:
      return refuse(result.error.code, view);
  }
}
