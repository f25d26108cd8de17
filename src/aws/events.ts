/**
 * The authorizer event kinds API Gateway sends, recognised and read into one view:
 * - REST API TOKEN (`type: "TOKEN"`): only the configured header's value arrives, as `authorizationToken`;
 * - REST API REQUEST (`type: "REQUEST"`, payload 1.0; HTTP APIs with payload 1.0 send the same):
 *   headers, multi-value headers (so a duplicated `Authorization` shows as two credentials), path, method;
 * - HTTP API payload 2.0 (`version: "2.0"`): headers with duplicates already joined by commas,
 *   cookies as a separate array, the route ARN;
 * - WebSocket API `$connect` (`type: "REQUEST"` with `requestContext.eventType: "CONNECT"`): the
 *   REST REQUEST shape without a path or method, plus the query, with a `methodArn` that ends in
 *   `/$connect` (API Gateway developer guide, "Control access to WebSocket APIs with AWS Lambda
 *   REQUEST authorizers"). API Gateway runs an authorizer on `$connect` only.
 */
import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import type { HeaderList } from "../core/index.ts";

export type AuthorizerEvent =
  APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2;

/**
 * What a WebSocket `$connect` is decided as. Route rules and PUBLIC_PATHS are about HTTP paths, and
 * the authorizer is never shown the one the client asked for (the stage's URL, or a custom
 * domain's): what it authorizes is the route `$connect`, so that is the path, and the handshake's
 * method (an upgrade is a GET, RFC 6455 §4.1) the method. A rule covering every path (`/*`) binds
 * WebSocket connections too, and a rule or a public path can name them (`/$connect`).
 */
export const WEBSOCKET_CONNECT_PATH = "/$connect";
export const WEBSOCKET_CONNECT_METHOD = "GET";

/** A WebSocket `$connect` ARN: `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`. */
const CONNECT_ARN = /^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[^:/]+:[^:/]+\/[^/]+\/\$connect$/;

/** Query parameters by name (case-sensitive), every value in order, as API Gateway decoded them. */
export type QueryParameters = ReadonlyMap<string, readonly string[]>;

export interface RequestView {
  readonly kind: "token" | "request" | "http-v2" | "websocket";
  /** The ARN the policy is about: `methodArn` or, for payload 2.0, `routeArn`. */
  readonly arn: string;
  readonly headers: HeaderList;
  /** The request path without the stage, for PUBLIC_PATHS; `undefined` for TOKEN events, which carry none. */
  readonly path: string | undefined;
  /** The request method; `undefined` for TOKEN events (their `methodArn` still names it). */
  readonly method: string | undefined;
  /** A WebSocket `$connect`'s query (a token may travel there: `WEBSOCKET_QUERY_TOKEN`); empty for the other kinds. */
  readonly query: QueryParameters;
}

const NO_QUERY: QueryParameters = new Map();

/**
 * Headers by lower-cased name, repeated values joined by ", " as `Headers` would. A plain map, not
 * `Headers`: on Node the first `Headers` loads undici, about 30 ms of every cold start.
 */
class EventHeaders implements HeaderList {
  private readonly values = new Map<string, string>();

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const previous = this.values.get(key);
    this.values.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.values) callback(value, name);
  }
}

export class UnsupportedEvent extends Error {
  override readonly name = "UnsupportedEvent";
}

export function readEvent(event: unknown): RequestView {
  if (typeof event !== "object" || event === null) throw new UnsupportedEvent("The authorizer event is not an object.");
  const candidate = event as Partial<Record<string, unknown>>;
  if (
    candidate.type === "TOKEN" &&
    typeof candidate.authorizationToken === "string" &&
    typeof candidate.methodArn === "string"
  ) {
    const headers = new EventHeaders();
    headers.append("authorization", candidate.authorizationToken);
    return { kind: "token", arn: candidate.methodArn, headers, path: undefined, method: undefined, query: NO_QUERY };
  }
  if (candidate.type === "REQUEST" && isConnect(candidate.requestContext)) return fromConnect(candidate);
  if (candidate.type === "REQUEST" && candidate.version === "2.0" && typeof candidate.routeArn === "string") {
    return fromV2(event as APIGatewayRequestAuthorizerEventV2);
  }
  if (candidate.type === "REQUEST" && typeof candidate.methodArn === "string") {
    return fromV1(event as APIGatewayRequestAuthorizerEvent);
  }
  throw new UnsupportedEvent("The authorizer event is not a TOKEN, REQUEST, HTTP API 2.0 or WebSocket $connect event.");
}

/** A WebSocket API event: its `requestContext` names the event type (a REST one never does). */
function isConnect(requestContext: unknown): boolean {
  return typeof requestContext === "object" && requestContext !== null && "eventType" in requestContext;
}

/**
 * A WebSocket `$connect`, checked to be one in every field that says so: an event of another
 * WebSocket type, or whose route or ARN disagree, is not guessed at.
 */
function fromConnect(event: Partial<Record<string, unknown>>): RequestView {
  const context = event.requestContext as Partial<Record<string, unknown>>;
  const { methodArn } = event;
  if (context.eventType !== "CONNECT" || context.routeKey !== "$connect") {
    throw new UnsupportedEvent("The WebSocket authorizer event is not for $connect.");
  }
  if (typeof methodArn !== "string" || !CONNECT_ARN.test(methodArn)) {
    throw new UnsupportedEvent("The WebSocket $connect event's methodArn is not a $connect ARN.");
  }
  return {
    kind: "websocket",
    arn: methodArn,
    headers: v1Headers(event.multiValueHeaders, event.headers),
    path: WEBSOCKET_CONNECT_PATH,
    method: WEBSOCKET_CONNECT_METHOD,
    query: queryOf(event.multiValueQueryStringParameters, event.queryStringParameters),
  };
}

/**
 * Every value of each parameter: from the multi-value map, else the single-value one
 * (serverless-offline leaves both out when the query is empty).
 */
function queryOf(multiValue: unknown, singleValue: unknown): QueryParameters {
  const query = new Map<string, string[]>();
  const multi = isRecord(multiValue) ? multiValue : {};
  for (const [name, values] of Object.entries(multi)) {
    if (Array.isArray(values))
      query.set(
        name,
        values.filter((value): value is string => typeof value === "string"),
      );
  }
  const single = isRecord(singleValue) ? singleValue : {};
  for (const [name, value] of Object.entries(single)) {
    if (typeof value === "string" && !query.has(name)) query.set(name, [value]);
  }
  return query;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function fromV1(event: APIGatewayRequestAuthorizerEvent): RequestView {
  return {
    kind: "request",
    arn: event.methodArn,
    headers: v1Headers(event.multiValueHeaders, event.headers),
    path: typeof event.path === "string" ? event.path : undefined,
    method: typeof event.httpMethod === "string" ? event.httpMethod : undefined,
    query: NO_QUERY,
  };
}

/** Payload 1.0 headers (REST REQUEST, WebSocket): every value of the multi-value map, then the others. */
function v1Headers(multiValue: unknown, singleValue: unknown): EventHeaders {
  const headers = new EventHeaders();
  const multi = isRecord(multiValue) ? multiValue : {};
  for (const name of Object.keys(multi)) {
    const values = multi[name];
    if (Array.isArray(values)) for (const value of values) if (typeof value === "string") headers.append(name, value);
  }
  const single = isRecord(singleValue) ? singleValue : {};
  for (const name of Object.keys(single)) {
    const value = single[name];
    // API Gateway lists every header in both; one spelled the same way was read above.
    if (typeof value === "string" && !Object.hasOwn(multi, name) && !headers.has(name)) headers.append(name, value);
  }
  return headers;
}

function fromV2(event: APIGatewayRequestAuthorizerEventV2): RequestView {
  const headers = new EventHeaders();
  // Payload 2.0 moves cookies into `cookies` (and leaves it out when there are none, whatever the
  // type says); a `cookie` header is read only when that array is absent (serverless-offline).
  const cookies = event.cookies as readonly string[] | undefined;
  const hasCookieArray = Array.isArray(cookies);
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (typeof value === "string" && !(hasCookieArray && name.toLowerCase() === "cookie")) headers.append(name, value);
  }
  if (hasCookieArray && cookies.length > 0)
    headers.append("cookie", cookies.filter((c) => typeof c === "string").join("; "));
  const stage = event.requestContext.stage;
  const prefix = `/${stage}`;
  const raw = event.rawPath;
  const path =
    stage !== "$default" && (raw === prefix || raw.startsWith(`${prefix}/`)) ? raw.slice(prefix.length) || "/" : raw;
  const { method } = event.requestContext.http;
  return { kind: "http-v2", arn: event.routeArn, headers, path, method, query: NO_QUERY };
}
