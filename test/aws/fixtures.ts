/**
 * Authorizer events shaped like the examples in API Gateway's documentation ("Input to an API
 * Gateway Lambda authorizer" for REST TOKEN and REQUEST, "Working with AWS Lambda authorizers for
 * HTTP APIs" for payload 2.0), with the credentials and path of each test.
 */
import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";

export const METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request";
export const STAGE_WILDCARD = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*";

export function tokenEvent(authorizationToken: string): APIGatewayTokenAuthorizerEvent {
  return { type: "TOKEN", authorizationToken, methodArn: METHOD_ARN };
}

export function requestEvent(
  options: { headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; path?: string } = {},
): APIGatewayRequestAuthorizerEvent {
  const path = options.path ?? "/request";
  const headers = {
    "X-AMZ-Date": "20170718T062915Z",
    Accept: "*/*",
    "CloudFront-Viewer-Country": "US",
    "CloudFront-Forwarded-Proto": "https",
    Host: "abcdef123.execute-api.us-east-1.amazonaws.com",
    "User-Agent": "curl/7.88.1",
    ...options.headers,
  };
  const multiValueHeaders = options.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  return {
    type: "REQUEST",
    methodArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET${path}`,
    resource: path,
    path,
    httpMethod: "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: { QueryString1: "queryValue1" },
    multiValueQueryStringParameters: { QueryString1: ["queryValue1"] },
    pathParameters: {},
    stageVariables: { StageVar1: "stageValue1" },
    requestContext: {
      path: `/test${path}`,
      accountId: "123456789012",
      resourceId: "05c7jb",
      stage: "test",
      requestId: "...",
      identity: { apiKey: "...", sourceIp: "127.0.0.1" },
      resourcePath: path,
      httpMethod: "GET",
      apiId: "abcdef123",
    } as unknown as APIGatewayRequestAuthorizerEvent["requestContext"],
  };
}

export function httpApiEvent(
  options: { headers?: Record<string, string>; cookies?: string[]; rawPath?: string; stage?: string } = {},
): APIGatewayRequestAuthorizerEventV2 {
  const stage = options.stage ?? "$default";
  const rawPath = options.rawPath ?? "/my/path";
  // The route ARN names the stage on its own; a named stage's prefix is in rawPath only.
  const routePath = stage !== "$default" && rawPath.startsWith(`/${stage}/`) ? rawPath.slice(stage.length + 1) : rawPath;
  const event = {
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/${stage}/GET${routePath}`,
    identitySource: ["user1", "123"],
    routeKey: "$default",
    rawPath,
    rawQueryString: "parameter1=value1&parameter1=value2&parameter2=value",
    headers: { header1: "value1", header2: "value2", ...options.headers },
    queryStringParameters: { parameter1: "value1,value2", parameter2: "value" },
    requestContext: {
      accountId: "123456789012",
      apiId: "abcdef123",
      domainName: "abcdef123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abcdef123",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "agent" },
      requestId: "id",
      routeKey: "$default",
      stage,
      time: "12/Mar/2020:19:03:58 +0000",
      timeEpoch: 1583348638390,
    },
    pathParameters: { parameter1: "value1" },
    stageVariables: { stageVariable1: "value1" },
    ...(options.cookies && { cookies: options.cookies }),
  };
  return event as unknown as APIGatewayRequestAuthorizerEventV2;
}
