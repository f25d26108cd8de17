/**
 * The comparison authorizer of bench/lambda.bench.ts: an API Gateway Lambda authorizer built the
 * way AWS documents it — aws-jwt-verify's README ("API Gateway Lambda Authorizer - REST") and the
 * API Gateway authorizer blueprint: the verifier created outside the handler (during the cold
 * start) so a warm container reuses its JWKS cache, the bearer token verified, an Allow policy for
 * the event's `methodArn`, the caller's claims as flat `context` values, and
 * `throw new Error("Unauthorized")` for anything else (API Gateway's 401).
 *
 * It checks what the core checks of a token: the RS256 signature against the JWKS at `JWT_JWKS_URI`,
 * `iss` equal to `JWT_ISSUER`, `aud` containing `JWT_AUDIENCE`, `exp` (and `nbf`), and — in
 * `customJwtCheck` — `typ: at+jwt`. It answers REST TOKEN events (`authorizationToken`) and REST
 * REQUEST events (the `Authorization` header, in any case).
 *
 * Configuration, from the Lambda environment, read once per container:
 * - `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_JWKS_URI` (aws-jwt-verify fetches over https only);
 * - `JWT_JWKS_FILE`, optional: a JWKS file loaded with `cacheJwks` at start (aws-jwt-verify's README,
 *   "Loading the JWKS from file"), so the first verification needs no fetch. The benchmark's warm
 *   rows use it; its cold starts do not, and fetch the JWKS over https instead.
 *
 * The benchmark bundles this file with esbuild exactly as `npm run build` bundles the project's
 * authorizer (minified ESM for node20), and uses only that bundle.
 */
import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";
import type { Jwks } from "aws-jwt-verify/jwk";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, APIGatewayTokenAuthorizerEvent } from "aws-lambda";

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

const USER_CLAIM = "https://authgear.com/claims/user/";

function authorizationHeader(event: APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent): string | undefined {
  if (event.type === "TOKEN") return event.authorizationToken;
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === "authorization") return value;
  }
  return undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

export async function handler(event: APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
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
  const amr = strings(payload.amr);
  const authTime = payload.auth_time;
  return {
    principalId: payload.sub ?? "",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: event.methodArn }],
    },
    // API Gateway accepts flat string, number and boolean values only.
    context: {
      sessionValid: "true",
      userId: payload.sub ?? "",
      userAnonymous: String(payload[`${USER_CLAIM}is_anonymous`] === true),
      userVerified: String(payload[`${USER_CLAIM}is_verified`] === true),
      userCanReauthenticate: String(payload[`${USER_CLAIM}can_reauthenticate`] === true),
      ...(roles.length > 0 && { userRoles: roles.join(",") }),
      sessionAmr: amr.join(" "),
      ...(typeof authTime === "number" && { sessionAuthenticatedAt: String(authTime) }),
    },
  };
}
