/**
 * The three authorizer event kinds API Gateway sends, recognised and read into one view:
 * - REST API TOKEN (`type: "TOKEN"`): only the configured header's value arrives, as `authorizationToken`;
 * - REST API REQUEST (`type: "REQUEST"`, payload 1.0; HTTP APIs with payload 1.0 send the same):
 *   headers, multi-value headers (so a duplicated `Authorization` shows as two credentials), path, method;
 * - HTTP API payload 2.0 (`version: "2.0"`): headers with duplicates already joined by commas,
 *   cookies as a separate array, the route ARN.
 */
import type {
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import type { HeaderList } from "../core/index.ts";

export type AuthorizerEvent = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2;

export interface RequestView {
  readonly kind: "token" | "request" | "http-v2";
  /** The ARN the policy is about: `methodArn` or, for payload 2.0, `routeArn`. */
  readonly arn: string;
  readonly headers: HeaderList;
  /** The request path without the stage, for PUBLIC_PATHS; `undefined` for TOKEN events, which carry none. */
  readonly path: string | undefined;
  /** The request method; `undefined` for TOKEN events (their `methodArn` still names it). */
  readonly method: string | undefined;
}

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
  if (candidate.type === "TOKEN" && typeof candidate.authorizationToken === "string" && typeof candidate.methodArn === "string") {
    const headers = new EventHeaders();
    headers.append("authorization", candidate.authorizationToken);
    return { kind: "token", arn: candidate.methodArn, headers, path: undefined, method: undefined };
  }
  if (candidate.type === "REQUEST" && candidate.version === "2.0" && typeof candidate.routeArn === "string") {
    return fromV2(event as APIGatewayRequestAuthorizerEventV2);
  }
  if (candidate.type === "REQUEST" && typeof candidate.methodArn === "string") {
    return fromV1(event as APIGatewayRequestAuthorizerEvent);
  }
  throw new UnsupportedEvent("The authorizer event is not a TOKEN, REQUEST or HTTP API 2.0 event.");
}

function fromV1(event: APIGatewayRequestAuthorizerEvent): RequestView {
  const headers = new EventHeaders();
  const multi = event.multiValueHeaders ?? {};
  for (const name of Object.keys(multi)) {
    const values = multi[name];
    if (Array.isArray(values)) for (const value of values) if (typeof value === "string") headers.append(name, value);
  }
  const single = event.headers ?? {};
  for (const name of Object.keys(single)) {
    const value = single[name];
    // API Gateway lists every header in both; one spelled the same way was read above.
    if (typeof value === "string" && !Object.hasOwn(multi, name) && !headers.has(name)) headers.append(name, value);
  }
  return {
    kind: "request",
    arn: event.methodArn,
    headers,
    path: typeof event.path === "string" ? event.path : undefined,
    method: typeof event.httpMethod === "string" ? event.httpMethod : undefined,
  };
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
  if (hasCookieArray && cookies.length > 0) headers.append("cookie", cookies.filter((c) => typeof c === "string").join("; "));
  const stage = event.requestContext.stage;
  const prefix = `/${stage}`;
  const raw = event.rawPath;
  const path = stage !== "$default" && (raw === prefix || raw.startsWith(`${prefix}/`)) ? raw.slice(prefix.length) || "/" : raw;
  return { kind: "http-v2", arn: event.routeArn, headers, path, method: event.requestContext.http.method };
}
