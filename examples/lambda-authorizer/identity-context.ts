/**
 * Reading the identity in a Lambda integration behind the authgear-edge authorizer
 * (docs/recipes.md). API Gateway hands the authorizer's context to the integration, which a client
 * cannot set (unlike headers): on a REST API in `requestContext.authorizer`, beside `principalId`;
 * on an HTTP API (payload 2.0, simple or IAM answers) in `requestContext.authorizer.lambda`. The
 * keys are the §4 headers of docs/authgear-contract.md camel-cased without `x-authgear-`, all
 * strings: `sessionValid`, `userId`, `userAnonymous`, `userVerified`, `userCanReauthenticate`,
 * `userRoles` (absent without roles), `sessionAmr`, `sessionAuthenticatedAt` (absent when unknown),
 * `edgeKind`, `edgeIssuer`; a machine client's: `edgeKind`, `edgeIssuer`, `edgeClientId`,
 * `edgeScope`. Also `edgeAssertion` (with ASSERTION_KEY), `claim*` (CLAIM_HEADERS) and
 * `authgearEdgeReport` (REPORT_ONLY: the would-be refusal; no identity then).
 */
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyResult,
} from "aws-lambda";

/** The authorizer's context as API Gateway hands it on: string values, some absent. */
type Context = Readonly<Record<string, unknown>> | null | undefined;

export type CallerIdentity =
  | { readonly kind: "user"; readonly userId: string; readonly roles: readonly string[]; readonly verified: boolean }
  | { readonly kind: "client"; readonly clientId: string; readonly scopes: readonly string[] };

/** The caller from an authorizer context; `undefined` when it names none (a public path, REPORT_ONLY). */
export function callerFrom(context: Context): CallerIdentity | undefined {
  const value = (key: string): string => {
    const entry = context?.[key];
    return typeof entry === "string" ? entry : "";
  };
  const list = (key: string, separator: string): string[] => (value(key) === "" ? [] : value(key).split(separator));
  switch (value("edgeKind")) {
    case "user":
      return {
        kind: "user",
        userId: value("userId"),
        roles: list("userRoles", ","),
        verified: value("userVerified") === "true",
      };
    case "client":
      return { kind: "client", clientId: value("edgeClientId"), scopes: list("edgeScope", " ") };
    default:
      return undefined;
  }
}

/** REST API (Lambda proxy integration): the context is `requestContext.authorizer`. */
export function restCaller(event: APIGatewayProxyEvent): CallerIdentity | undefined {
  return callerFrom(event.requestContext.authorizer);
}

/** HTTP API (payload 2.0): the context is `requestContext.authorizer.lambda`. */
export function httpApiCaller(
  event: APIGatewayProxyEventV2WithLambdaAuthorizer<Readonly<Record<string, unknown>>>,
): CallerIdentity | undefined {
  return callerFrom(event.requestContext.authorizer.lambda);
}

/** A REST API handler that greets the caller, and serves the admin page to admins only. */
export function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const caller = restCaller(event);
  const json = (statusCode: number, body: unknown) => ({ statusCode, body: JSON.stringify(body) });
  if (caller === undefined) return Promise.resolve(json(200, { hello: "anonymous" }));
  if (event.path.startsWith("/admin") && !(caller.kind === "user" && caller.roles.includes("admin"))) {
    return Promise.resolve(json(403, { error: "admins only" }));
  }
  return Promise.resolve(json(200, { hello: caller.kind === "user" ? caller.userId : caller.clientId }));
}
