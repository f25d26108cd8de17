/**
 * Viewer-request events as CloudFront sends them to a Lambda@Edge function, shaped after the
 * example of "Lambda@Edge event structure", Request events
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html#lambda-event-structure-request):
 * one record; `config` with the distribution and `eventType: "viewer-request"`; the request's
 * `clientIp`, `method`, `uri` (the path), `querystring` (without `?`, as the viewer sent it) and
 * `headers`, keyed by the lower-case name, each a list of `{ key, value }` with the viewer's
 * spelling in `key`. Written from the page, importing nothing from src.
 */
import type { CloudFrontHeaders, CloudFrontRequestEvent } from "aws-lambda";

export const DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net";

export interface ViewerRequestOptions {
  readonly method?: string;
  /** The path, as `uri`: `/` and what follows, no query. */
  readonly uri?: string;
  readonly querystring?: string;
  /** Headers as the viewer spelled them; a list gives one entry per line. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly host?: string;
  readonly eventType?: "viewer-request" | "origin-request";
  readonly requestId?: string;
}

/** CloudFront's header form: keyed by lower-case name, the viewer's spelling in `key`. */
export function cloudFrontHeaders(headers: Readonly<Record<string, string | readonly string[]>>): CloudFrontHeaders {
  const out: CloudFrontHeaders = {};
  for (const [key, values] of Object.entries(headers)) {
    const list = typeof values === "string" ? [values] : values;
    for (const value of list) (out[key.toLowerCase()] ??= []).push({ key, value });
  }
  return out;
}

export function viewerRequest(options: ViewerRequestOptions = {}): CloudFrontRequestEvent {
  const host = options.host ?? DISTRIBUTION_DOMAIN;
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: DISTRIBUTION_DOMAIN,
            distributionId: "EDFDVBD6EXAMPLE",
            eventType: options.eventType ?? "viewer-request",
            requestId: options.requestId ?? "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
          },
          request: {
            clientIp: "203.0.113.178",
            method: options.method ?? "GET",
            uri: options.uri ?? "/",
            querystring: options.querystring ?? "",
            headers: cloudFrontHeaders({
              Host: host,
              "User-Agent": "curl/8.5.0",
              Accept: "*/*",
              ...options.headers,
            }),
          },
        },
      },
    ],
  };
}

/** A header's value in a result's CloudFront headers, its lines joined; `undefined` when absent. */
export function headerOf(headers: CloudFrontHeaders | undefined, name: string): string | undefined {
  const entries = headers?.[name];
  return entries === undefined ? undefined : entries.map(({ value }) => value).join(", ");
}
