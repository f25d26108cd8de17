/**
 * IAM policies for API Gateway Lambda authorizers, built here and nowhere else.
 *
 * API Gateway caches an authorizer's result per identity source (the `Authorization` header, for
 * instance) for `resultTtlInSeconds`, and applies the cached policy to every later request with the
 * same identity source — to whatever method and path it calls. A policy that names only the
 * `methodArn` of the first request therefore answers 403 on the next route the same token calls
 * (the famous bug of the AWS samples). So the policy of an authenticated principal holds for every
 * route at once: Allow on every method and path of the API stage the request came through
 * (`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*`), plus one explicit Deny (which IAM
 * evaluation puts above any Allow) for the routes of each `ROUTES` rule the principal does not
 * meet. A request let through without authentication (a public path) gets exactly its own
 * `methodArn`, so a cached anonymous allow can never open another route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayAuthorizerResultContext, Statement } from "aws-lambda";
import { methodsCovered, type RouteRule } from "../core/index.ts";

export interface MethodArn {
  /** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}` */
  readonly stage: string;
  readonly method: string;
  /** The request path, with its leading `/`. */
  readonly path: string;
}

/** Splits `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`; `undefined` for any other shape. */
export function parseMethodArn(arn: string): MethodArn | undefined {
  const match = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[^:/]+:[^:/]+\/[^/]+)\/([^/]+)\/(.*)$/.exec(arn);
  if (match === null) return undefined;
  const [, stage = "", method = "", path = ""] = match;
  return { stage, method, path: `/${path}` };
}

/** The ARNs a rule governs within a stage: its methods (or all) on its path pattern. */
export function ruleResources(stage: string, rule: RouteRule): string[] {
  const methods = rule.methods === undefined ? ["*"] : methodsCovered(rule.methods);
  const base = rule.path.replace(/^\//, "");
  const paths = rule.path === "/*" ? ["*"] : rule.path.endsWith("/*") ? [base.slice(0, -2), base] : [base];
  return methods.flatMap((method) => paths.map((path) => `${stage}/${method}/${path}`));
}

export interface PolicyOptions {
  readonly principalId: string;
  readonly allow: readonly string[];
  readonly deny?: readonly string[];
  readonly context?: APIGatewayAuthorizerResultContext;
}

export function buildPolicy(options: PolicyOptions): APIGatewayAuthorizerResult {
  const statements: Statement[] = [];
  if (options.allow.length > 0) statements.push({ Action: "execute-api:Invoke", Effect: "Allow", Resource: [...options.allow] });
  if (options.deny !== undefined && options.deny.length > 0) {
    statements.push({ Action: "execute-api:Invoke", Effect: "Deny", Resource: [...options.deny] });
  }
  return {
    principalId: options.principalId,
    policyDocument: { Version: "2012-10-17", Statement: statements },
    ...(options.context && { context: options.context }),
  };
}
