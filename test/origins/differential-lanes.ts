/**
 * The two ways a request reaches a framework behind the gate, each answering with what the
 * framework served (`undefined`: the gate, or API Gateway, refused it):
 * - the Worker lane: the request, byte for byte, to the built Worker in workerd;
 * - the authorizer lane: the REST REQUEST event API Gateway would build (headers, decoded query,
 *   no body) to `createHandler`, the answer's policy evaluated for the request's ARN as IAM does,
 *   and, when it allows, the request itself to the framework with the identity the backend gets.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import type { AuthorizerHandler } from "../../src/aws/create-handler.ts";
import { evaluatePolicy, type PolicyDocument } from "../aws/iam-evaluator.ts";
import { targetOf, type AttackRequest } from "./differential-requests.ts";
import type { Who } from "./differential-oracle.ts";

/** Each request's budget, connection to last byte. */
export const REQUEST_TIMEOUT_MS = 5_000;

export type Tokens = Readonly<Record<Exclude<Who, "anonymous">, string>>;

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/** Sends a raw request-target with exactly these header lines (names as spelled) to `base` (`http://127.0.0.1:N`). */
export function sendRaw(base: string, method: string, target: string, headers: HeaderLines, body?: string) {
  const { hostname, port } = new URL(base);
  const lines: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const previous = lines[name];
    lines[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  if (body !== undefined) lines["Content-Length"] = String(Buffer.byteLength(body));
  return new Promise<RawAnswer>((resolve, reject) => {
    const options = { host: hostname, port, method, path: target, headers: lines, agent: false };
    const req = httpRequest(options, (res) => {
      // The record is in the headers. The body is drained, not read: a framework that served another
      // method than the wire's (a HEAD for a POST) sends a body Node does not expect, or none it does.
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.on("error", () => undefined);
      res.resume();
    });
    req.on("error", (error: Error & { code?: string }) => {
      // An answer Node cannot parse (WEBrick's own 400 to a HEAD, with a body) is no app's record.
      if (error.code?.startsWith("HPE_") === true) resolve({ status: 0, headers: {} });
      else reject(error);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${method} ${target}`));
    });
    req.end(body);
  });
}

function withCredentials(request: AttackRequest, tokens: Tokens): Array<readonly [string, string]> {
  const headers = [...request.headers];
  if (request.who !== "anonymous") headers.push(["Authorization", `Bearer ${tokens[request.who]}`]);
  return headers;
}

/** The framework's record of what it served, or `undefined`. */
export type ReadServed<S> = (headers: IncomingHttpHeaders) => S | undefined;

/** What the framework behind the Worker at `gate` served for `request`. */
export async function throughWorker<S>(
  gate: string,
  request: AttackRequest,
  tokens: Tokens,
  readServed: ReadServed<S>,
): Promise<S | undefined> {
  const { method, body } = request;
  const answer = await sendRaw(gate, method, targetOf(request), withCredentials(request, tokens), body);
  return readServed(answer.headers);
}

export const STAGE_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/prod";
/** The methods a REST API routes; API Gateway answers any other itself, with no authorizer or backend. */
const REST_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** `%xx` decoded where it forms UTF-8, the rest left as sent (`+` stays `+`). */
function decodeParameter(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The REST REQUEST event for `request`: every header (`Content-Type` and `Content-Length` included),
 * the query's keys and values decoded (`queryStringParameters` holds the last value of a repeated
 * key, `multiValueQueryStringParameters` all of them), no body.
 */
export function restEvent(request: AttackRequest, tokens: Tokens): APIGatewayRequestAuthorizerEvent {
  const headerLines: Array<readonly [string, string]> = [["Host", "abc.execute-api.us-east-1.amazonaws.com"]];
  headerLines.push(...withCredentials(request, tokens));
  if (request.body !== undefined) headerLines.push(["Content-Length", String(Buffer.byteLength(request.body))]);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of headerLines) {
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const pair of request.query === "" ? [] : request.query.split("&")) {
    const at = pair.indexOf("=");
    const name = decodeParameter(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? "" : decodeParameter(pair.slice(at + 1));
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(single).length > 0;
  return {
    type: "REQUEST",
    methodArn: `${STAGE_ARN}/${request.method}${request.path}`,
    resource: "/{proxy+}",
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? single : null,
    multiValueQueryStringParameters: hasQuery ? multi : null,
    pathParameters: { proxy: request.path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      httpMethod: request.method,
      path: `/prod${request.path}`,
      resourcePath: "/{proxy+}",
      stage: "prod",
      requestId: "differential",
      identity: { sourceIp: "127.0.0.1" },
    },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

type Answer = APIGatewayAuthorizerResult | undefined;

/** The authorizer's answer, or `undefined` for a thrown one (a 401 or a failure: nothing reaches the backend). */
async function authorize(handler: AuthorizerHandler, event: APIGatewayRequestAuthorizerEvent): Promise<Answer> {
  try {
    return (await handler(event)) as APIGatewayAuthorizerResult;
  } catch {
    return undefined;
  }
}

/** Whether IAM lets `arn` through under either reading of a non-final `*` (the one that lets more through). */
function lets(answer: APIGatewayAuthorizerResult, arn: string): boolean {
  const policy = answer.policyDocument as unknown as PolicyDocument;
  return evaluatePolicy(policy, arn, "any-run") || evaluatePolicy(policy, arn, "segment");
}

export interface AuthorizerLane {
  /** What the framework at `origin` served for `request` behind API Gateway with this authorizer. */
  serve<S>(origin: string, request: AttackRequest, readServed: ReadServed<S>): Promise<S | undefined>;
}

/**
 * The authorizer lane. `cached`: API Gateway reuses the answer to a first request with the same
 * token (`GET /orders/1`) for every later one, and answers 401 itself to a request without a token.
 */
export function createAuthorizerLane(handler: AuthorizerHandler, tokens: Tokens, cached: boolean): AuthorizerLane {
  const primed = new Map<Who, Promise<Answer>>();
  const first = (who: Who) => {
    let answer = primed.get(who);
    if (answer === undefined) {
      const request: AttackRequest = { method: "GET", path: "/orders/1", query: "", headers: [], body: undefined, who };
      answer = authorize(handler, restEvent(request, tokens));
      primed.set(who, answer);
    }
    return answer;
  };
  return {
    async serve(origin, request, readServed) {
      if (!REST_METHODS.has(request.method)) return undefined;
      if (cached && request.who === "anonymous") return undefined;
      const event = restEvent(request, tokens);
      const answer = cached ? await first(request.who) : await authorize(handler, event);
      if (answer === undefined || !lets(answer, event.methodArn)) return undefined;
      const userId = answer.context?.userId;
      // What the backend's integration maps from `requestContext.authorizer`.
      const identity: HeaderLines = typeof userId === "string" ? [["x-authgear-user-id", userId]] : [];
      const headers = [...withCredentials(request, tokens), ...identity];
      const sent = await sendRaw(origin, request.method, targetOf(request), headers, request.body);
      return readServed(sent.headers);
    },
  };
}
