/**
 * CloudFront's viewer-request event, read as the gate reads a request, and the two answers a
 * function may give: the request, changed, for CloudFront to carry on with, or a response CloudFront
 * sends in its place. The shapes are "Lambda@Edge event structure" and "Work with requests and
 * responses" of the CloudFront developer guide
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html,
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-generating-http-responses.html):
 * headers keyed by their lower-case name, each a list of `{ key, value }` in the spelling the viewer
 * sent; `uri` the path; `querystring` without its `?`.
 */
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResultResponse,
} from "aws-lambda";
import { AuthError } from "../core/index.ts";
import type { Forwarded, FrontRequest } from "../front/respond.ts";

/** Not a CloudFront event at all: the function is wired to something else. */
export class UnsupportedEvent extends Error {}

/** A CloudFront event of another kind than viewer-request. */
export class NotViewerRequest extends Error {}

/**
 * Headers CloudFront lets a viewer-request function read but not change (its request fails with a
 * 502 when one is added, changed or removed): "Restrictions on all edge functions", read-only
 * headers (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-function-restrictions-all.html).
 * Whatever the gate would do to them, they go back as the viewer sent them.
 */
export const READ_ONLY_HEADERS: readonly string[] = [
  "content-length",
  "host",
  "transfer-encoding",
  "via",
  "upgrade",
  "connection",
  "warning",
  "retry-after",
];

/** The event's request and its id (CloudFront's `x-amz-cf-id`, also in the distribution's logs). */
export interface ViewerRequest {
  readonly request: CloudFrontRequest;
  readonly requestId: string;
}

/** Throws `UnsupportedEvent` or `NotViewerRequest`. */
export function viewerRequestOf(event: unknown): ViewerRequest {
  const record = (event as Partial<CloudFrontRequestEvent> | null)?.Records?.[0];
  const cf = record?.cf as Partial<CloudFrontRequestEvent["Records"][number]["cf"]> | undefined;
  const { request, config } = cf ?? {};
  if (
    typeof request?.uri !== "string" ||
    typeof request.method !== "string" ||
    typeof request.querystring !== "string" ||
    typeof request.headers !== "object"
  ) {
    throw new UnsupportedEvent("not a CloudFront request event");
  }
  // An origin-request function runs only on a cache miss: a cached answer would be served ungated.
  if (config?.eventType !== "viewer-request") throw new NotViewerRequest(String(config?.eventType));
  return { request, requestId: config.requestId };
}

/**
 * The request as the gate reads it. Throws `ERR_REQUEST_MALFORMED` for what no HTTP request can be
 * (a header value `Headers` refuses, a path that is not absolute, a host that is not one).
 * Cookie lines are joined with `; ` (RFC 9113 §8.2.3: how HTTP/2 cookie crumbs are put back together).
 */
export function frontRequestOf(request: CloudFrontRequest): FrontRequest {
  const headers = new Headers();
  try {
    for (const [name, entries] of Object.entries(request.headers)) {
      if (name === "cookie") headers.set(name, entries.map(({ value }) => value).join("; "));
      else for (const { value } of entries) headers.append(name, value);
    }
  } catch (cause) {
    throw new AuthError("ERR_REQUEST_MALFORMED", "A header of the request is not valid HTTP.", { cause });
  }
  const host = headers.get("host") ?? "";
  if (!request.uri.startsWith("/") || !isHost(host)) {
    throw new AuthError("ERR_REQUEST_MALFORMED", "The request's host or path cannot be read.");
  }
  // The string is put together, never resolved against a base: a `//x` path stays a path.
  const url = new URL(`https://${host}${request.uri}${request.querystring === "" ? "" : "?"}${request.querystring}`);
  const { body } = request;
  const length = headers.get("content-length");
  // The body is in the event only when the association includes it; the headers tell otherwise.
  const hasBody =
    (body !== undefined && body.data !== "") || (length !== null && length !== "0") || headers.has("transfer-encoding");
  return { method: request.method, url, headers, hasBody, body: null };
}

/** Whether `host` is a host (and port) alone: nothing of it spills into a path, query or user. */
function isHost(host: string): boolean {
  if (host === "" || !URL.canParse(`https://${host}`)) return false;
  const url = new URL(`https://${host}`);
  return url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
}

/** Values as `Headers` joins them, to tell a header the gate left alone from one it changed. */
function joined(name: string, entries: CloudFrontHeaders[string]): string {
  return entries.map(({ value }) => value.trim()).join(name === "cookie" ? "; " : ", ");
}

/**
 * `headers` in CloudFront's form. A header the gate left as it was keeps its entries (the viewer's
 * spelling and lines); a read-only one goes back exactly as it came, whatever the gate did.
 */
export function cloudFrontHeadersOf(headers: Headers, original: CloudFrontHeaders): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  for (const [name, value] of headers) {
    if (READ_ONLY_HEADERS.includes(name)) continue;
    const before = original[name];
    out[name] = before !== undefined && joined(name, before) === value ? before : [{ key: name, value }];
  }
  for (const name of READ_ONLY_HEADERS) {
    const before = original[name];
    if (before !== undefined) out[name] = before;
  }
  return out;
}

/** The request CloudFront carries on with: the decided path, the query and headers the gate left. */
export function forwardedRequest(request: CloudFrontRequest, url: URL, forwarded: Forwarded): CloudFrontRequest {
  // The viewer's own bytes when the query went through untouched (URL re-encodes a few characters).
  const querystring = forwarded.search === url.search ? request.querystring : forwarded.search.slice(1);
  return {
    ...request,
    uri: forwarded.path,
    querystring,
    headers: cloudFrontHeadersOf(forwarded.headers, request.headers),
  };
}

/** The gate's own answer as a generated response (its body as text: the gate writes JSON or nothing). */
export async function generatedResponse(response: Response): Promise<CloudFrontResultResponse> {
  const headers: CloudFrontHeaders = {};
  for (const [name, value] of response.headers) (headers[name] ??= []).push({ key: name, value });
  const body = await response.text();
  return {
    status: String(response.status),
    headers,
    ...(body !== "" && { body, bodyEncoding: "text" as const }),
  };
}
