/**
 * IAM policies for API Gateway Lambda authorizers, built here and nowhere else.
 *
 * API Gateway caches an authorizer's result per identity source (the `Authorization` header, for
 * instance) for `resultTtlInSeconds`, and applies the cached policy to every later request with the
 * same identity source — to whatever method and path it calls. A policy that names only the
 * `methodArn` of the first request therefore answers 403 on the next route the same token calls
 * (the famous bug of the AWS samples). An authenticated principal gets a policy covering every
 * method and path of the API stage the request came through
 * (`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*`): the authorizer's verdict is about
 * who the caller is, not which route. A request let through without authentication (a public path)
 * gets exactly its own `methodArn`, so a cached anonymous allow can never open another route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayAuthorizerResultContext } from "aws-lambda";

export type Effect = "Allow" | "Deny";

/**
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*` for the stage of a method or route
 * ARN (`.../{stage}/{METHOD}/{path}`); `undefined` when the ARN does not have that shape.
 */
export function stageWildcard(methodArn: string): string | undefined {
  const match = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/]+)\/[^/]+\/.*$/.exec(methodArn);
  return match?.[1] === undefined ? undefined : `${match[1]}/*`;
}

export interface PolicyOptions {
  readonly principalId: string;
  readonly effect: Effect;
  /** The ARNs the statement covers. */
  readonly resources: readonly string[];
  readonly context?: APIGatewayAuthorizerResultContext;
}

export function buildPolicy(options: PolicyOptions): APIGatewayAuthorizerResult {
  return {
    principalId: options.principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: options.effect, Resource: [...options.resources] }],
    },
    ...(options.context && { context: options.context }),
  };
}
