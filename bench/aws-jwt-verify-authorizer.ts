/**
 * The peer of bench/lambda.bench.ts: an API Gateway Lambda authorizer built the way AWS documents
 * it (aws-jwt-verify's README, "API Gateway Lambda Authorizer - REST" and "HTTP API Lambda
 * Authorizer"; the API Gateway authorizer blueprint): the verifier created outside the handler so a
 * warm container reuses its JWKS cache, the bearer token verified, `throw new Error("Unauthorized")`
 * for anything else (API Gateway's 401).
 *
 * It checks what the core checks of a token (RS256 signature against `JWT_JWKS_URI`, `iss`, `aud`,
 * `exp`, `nbf`, `typ: at+jwt`) and answers exactly what dist/lambda/authorizer.mjs answers with its
 * defaults, so both do the same work: for REST TOKEN, REST REQUEST and HTTP API payload 2.0 events
 * with `HTTP_API_RESPONSE=iam`, an Allow policy on the whole stage with the caller's claims as flat
 * `context` values under the same keys; for HTTP API events with `HTTP_API_RESPONSE=simple` (the
 * default, as `enableSimpleResponses`), `{ isAuthorized: true, context }`.
 *
 * Configuration, read once per container: `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_JWKS_URI` (https only),
 * `HTTP_API_RESPONSE`, and optionally `JWT_JWKS_FILE`, a JWKS loaded with `cacheJwks` at start
 * (aws-jwt-verify's README, "Loading the JWKS from file") so that no fetch is needed.
 */
import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";
import type { Jwks } from "aws-jwt-verify/jwk";
import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";

type Event = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2;
type Context = Record<string, string>;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const verifier = JwtVerifier.create({
  issuer: required("JWT_ISSUER"),
  audience: required("JWT_AUDIENCE"),
  jwksUri: required("JWT_JWKS_URI"),
  customJwtCheck: ({ header }) => {
    // RFC 9068 access tokens; ID tokens share the issuer and key and must not pass.
    if (header.typ !== "at+jwt") throw new Error("not an access token");
  },
});

const jwksFile = process.env.JWT_JWKS_FILE;
if (jwksFile !== undefined && jwksFile !== "") verifier.cacheJwks(JSON.parse(readFileSync(jwksFile, "utf8")) as Jwks);
const simpleResponses = process.env.HTTP_API_RESPONSE !== "iam";

const USER_CLAIM = "https://authgear.com/claims/user/";

function authorizationHeader(event: Event): string | undefined {
  if (event.type === "TOKEN") return event.authorizationToken;
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === "authorization") return value;
  }
  return undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

export async function handler(
  event: Event,
): Promise<APIGatewayAuthorizerResult | APIGatewaySimpleAuthorizerWithContextResult<Context>> {
  const token = /^Bearer +(\S+)$/i.exec(authorizationHeader(event) ?? "")?.[1];
  if (token === undefined) throw new Error("Unauthorized");
  let payload;
  try {
    payload = await verifier.verify(token);
  } catch {
    // API Gateway wants this exact message for a 401; anything else is a 500.
    throw new Error("Unauthorized");
  }
  const roles = strings(payload[`${USER_CLAIM}roles`]);
  const authTime = payload.auth_time;
  // API Gateway accepts flat string, number and boolean values only.
  const context: Context = {
    sessionValid: "true",
    userId: payload.sub ?? "",
    userAnonymous: String(payload[`${USER_CLAIM}is_anonymous`] === true),
    userVerified: String(payload[`${USER_CLAIM}is_verified`] === true),
    userCanReauthenticate: String(payload[`${USER_CLAIM}can_reauthenticate`] === true),
    ...(roles.length > 0 && { userRoles: roles.join(",") }),
    sessionAmr: strings(payload.amr).join(" "),
    ...(typeof authTime === "number" && { sessionAuthenticatedAt: String(authTime) }),
    // The identity's kind and issuer, as this project's authorizer adds them.
    edgeKind: "user",
    edgeIssuer: payload.iss ?? "",
  };
  if ("routeArn" in event && simpleResponses) return { isAuthorized: true, context };
  // API Gateway caches the answer per token for every route: allow the whole stage.
  const stage = ("routeArn" in event ? event.routeArn : event.methodArn).split("/").slice(0, 2).join("/");
  return {
    principalId: payload.sub ?? "",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: [`${stage}/*`] }],
    },
    context,
  };
}
