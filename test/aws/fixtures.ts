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
  const multiValueHeaders =
    options.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
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
  const routePath =
    stage !== "$default" && rawPath.startsWith(`/${stage}/`) ? rawPath.slice(stage.length + 1) : rawPath;
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

/** A WebSocket API's `$connect` ARN, as `methodArn` carries it (no method, the route key for a path). */
export const CONNECT_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect";

/**
 * A WebSocket API REQUEST authorizer event for `$connect`, shaped like the example of the API Gateway
 * developer guide, "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html):
 * headers and multi-value headers with the handshake's, the query in both forms, and a requestContext
 * with `routeKey: "$connect"` and `eventType: "CONNECT"`; plus the credentials of each test.
 * `query` values are lists, as `multiValueQueryStringParameters`; `queryStringParameters` holds the last.
 */
export function websocketEvent(
  options: {
    headers?: Record<string, string>;
    query?: Record<string, string[]>;
    methodArn?: string;
    routeKey?: string;
  } = {},
): Record<string, unknown> {
  const headers = {
    Connection: "upgrade",
    "content-length": "0",
    Host: "abcdef123.execute-api.us-east-1.amazonaws.com",
    "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    Upgrade: "websocket",
    "X-Amzn-Trace-Id": "Root=1-63c9b9a6-0123456789abcdef01234567",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
    ...options.headers,
  };
  const query = { QueryString1: ["queryValue1"], ...options.query };
  const routeKey = options.routeKey ?? "$connect";
  return {
    type: "REQUEST",
    methodArn: options.methodArn ?? CONNECT_ARN,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: Object.fromEntries(Object.entries(query).map(([name, values]) => [name, values.at(-1)])),
    multiValueQueryStringParameters: query,
    stageVariables: {},
    requestContext: {
      routeKey,
      eventType: routeKey === "$connect" ? "CONNECT" : "MESSAGE",
      extendedRequestId: "eK2gvEr9IAMEZ-w=",
      requestTime: "19/Jan/2023:21:13:26 +0000",
      messageDirection: "IN",
      stage: "default",
      connectedAt: 1674162806344,
      requestTimeEpoch: 1674162806345,
      identity: { sourceIp: "203.0.113.7" },
      requestId: "eK2gvEr9IAMEZ-w=",
      domainName: "abcdef123.execute-api.us-east-1.amazonaws.com",
      connectionId: "eK2gvcXwoAMCLAQ=",
      apiId: "abcdef123",
    },
  };
}

/** The API serverless offline serves (serverless.yml): its id and host; REST on stage `dev`, HTTP API on `$default`. */
const OFFLINE_API = "abcdef1234";
export const OFFLINE_HOST = `${OFFLINE_API}.execute-api.us-east-1.amazonaws.com`;

/**
 * A REST REQUEST authorizer event for serverless offline's API, as API Gateway sends it (identity source
 * satisfied some other way, or caching off), with a real-looking ARN and the request's `headers` beside Host.
 */
export function offlineRestEvent(
  method: string,
  path: string,
  headers: Record<string, string>,
): Record<string, unknown> {
  const all = { Host: OFFLINE_HOST, ...headers };
  return {
    type: "REQUEST",
    methodArn: `arn:aws:execute-api:us-east-1:123456789012:${OFFLINE_API}/dev/${method}${path}`,
    resource: path,
    path,
    httpMethod: method,
    headers: all,
    multiValueHeaders: Object.fromEntries(Object.entries(all).map(([name, value]) => [name, [value]])),
    queryStringParameters: {},
    multiValueQueryStringParameters: {},
    pathParameters: {},
    stageVariables: {},
    requestContext: {
      path: `/dev${path}`,
      accountId: "123456789012",
      resourceId: "abc123",
      stage: "dev",
      requestId: "00000000-0000-4000-8000-000000000000",
      identity: { sourceIp: "203.0.113.7", userAgent: "vitest" },
      resourcePath: path,
      httpMethod: method,
      apiId: OFFLINE_API,
    },
  };
}

/**
 * An HTTP API payload 2.0 authorizer event for `GET <path>` on serverless offline's `$default` stage:
 * cookies arrive as an array (when given), not in `headers`; `identitySource` default none.
 */
export function offlineHttpApiEvent(
  path: string,
  options: { headers?: Record<string, string>; cookies?: string[]; identitySource?: string[] },
): Record<string, unknown> {
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:us-east-1:123456789012:${OFFLINE_API}/$default/GET${path}`,
    identitySource: options.identitySource ?? [],
    routeKey: `GET ${path}`,
    rawPath: path,
    rawQueryString: "",
    ...(options.cookies && { cookies: options.cookies }),
    headers: { host: OFFLINE_HOST, ...options.headers },
    requestContext: {
      accountId: "123456789012",
      apiId: OFFLINE_API,
      domainName: OFFLINE_HOST,
      http: { method: "GET", path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "vitest" },
      requestId: "r-1",
      routeKey: `GET ${path}`,
      stage: "$default",
      time: "01/Jan/2026:00:00:00 +0000",
      timeEpoch: 1_767_225_600_000,
    },
  };
}
