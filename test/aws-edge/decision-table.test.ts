/**
 * The decision table (test/fixtures/decision-table.ts) through the Lambda@Edge viewer-request handler
 * (`createEdgeHandler`), one container per configuration. Each row becomes a viewer-request event of
 * test/aws-edge/events.ts (shaped after the CloudFront developer guide's "Lambda@Edge event structure"): `uri`
 * the path as sent, `querystring` without its `?`, the row's header lines as entries in the viewer's spelling,
 * no `body` (the association's default: a body's `Content-Length` is there, the body never is). The answer is
 * checked as CloudFront uses it: the request it goes on with, compared with what the row says reaches the
 * origin, or the response it generates.
 */
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResultResponse,
} from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createEdgeHandler, type EdgeHandler } from "../../src/aws-edge/create-edge-handler.ts";
import {
  CONFIGURATIONS,
  DECISION_TABLE,
  DOCUMENTED_ERRORS,
  outcomeFor,
  type ConfigurationName,
  type ExpectedHeaders,
  type Outcome,
  type Row,
} from "../fixtures/decision-table.ts";
import { headerItems, headerLines, headersAtOrigin, useTableIssuers } from "../fixtures/decision-credentials.ts";
import { DISTRIBUTION_DOMAIN, viewerRequest } from "./events.ts";

const { up, down, minted } = useTableIssuers();

const handlers = new Map<ConfigurationName, EdgeHandler>();

function handlerFor(name: ConfigurationName): EdgeHandler {
  let handler = handlers.get(name);
  if (handler === undefined) {
    const { issuer, settings } = CONFIGURATIONS[name];
    const endpoint = issuer === "up" ? up.origin : down.origin;
    handler = createEdgeHandler({
      settings: { AUTHGEAR_ENDPOINT: endpoint, ...settings },
      onInvalidConfig: "throw",
      logger: { log: () => undefined },
    });
    handlers.set(name, handler);
  }
  return handler;
}

/**
 * The row's request as a viewer-request event (events.ts): its header lines over the builder's Host, User-Agent
 * and Accept, one entry per line; for a body, its Content-Length.
 */
function eventOf(row: Row, lines: ReadonlyArray<readonly [string, string]>): CloudFrontRequestEvent {
  const { method, target, body } = row.request;
  const queryAt = target.indexOf("?");
  const headers: Record<string, string[]> = {};
  const all = body === undefined ? lines : [...lines, ["Content-Length", String(Buffer.byteLength(body))] as const];
  for (const [name, value] of all) (headers[name] ??= []).push(value);
  return viewerRequest({
    method,
    uri: queryAt === -1 ? target : target.slice(0, queryAt),
    querystring: queryAt === -1 ? "" : target.slice(queryAt + 1),
    headers,
  });
}

/** What the builder sends besides the row's header lines, as the origin gets it. */
const BUILDER_HEADERS = { host: DISTRIBUTION_DOMAIN, "user-agent": "curl/8.5.0", accept: "*/*" };

/** CloudFront's headers as name → value (or the values, for a name listed more than once). */
function flat(headers: CloudFrontHeaders | undefined): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, entries]) => {
      const values = entries.map(({ value }) => value);
      return [name, values.length === 1 ? values[0]! : values];
    }),
  );
}

function checkHeaders(headers: Record<string, string | string[]>, expected: ExpectedHeaders | undefined): void {
  for (const [name, value] of Object.entries(expected ?? {})) {
    if (value === null) expect(headers[name], name).toBeUndefined();
    else expect(headerItems(headers[name]), name).toEqual(expect.arrayContaining(headerItems(value)));
  }
}

async function check(row: Row, outcome: Outcome): Promise<void> {
  const sent = headerLines(row, minted(row));
  const result = await handlerFor(row.config)(eventOf(row, sent));
  if (outcome.kind === "forwarded") {
    // The function never sees the origin's answer: response headers cannot be checked here.
    expect(outcome.headers, "a forwarded row's response headers (mark the row for the edge)").toBeUndefined();
    const forwarded = result as CloudFrontRequest;
    const { issuer } = CONFIGURATIONS[row.config];
    const headers: Record<string, string> = {
      ...BUILDER_HEADERS,
      ...headersAtOrigin(outcome, sent, minted(row), issuer === "up" ? up.origin : down.origin),
    };
    if (row.request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(row.request.body));
    expect({
      status: (result as CloudFrontResultResponse).status,
      method: forwarded.method,
      target: `${forwarded.uri}${forwarded.querystring === "" ? "" : "?"}${forwarded.querystring}`,
      headers: flat(forwarded.headers),
    }).toEqual({
      status: undefined,
      method: row.request.method,
      target: outcome.target ?? row.request.target,
      headers,
    });
    return;
  }
  const response = result as CloudFrontResultResponse;
  const headers = flat(response.headers);
  switch (outcome.kind) {
    case "refused": {
      const head = row.request.method === "HEAD";
      const { code } = head ? { code: outcome.code } : (JSON.parse(response.body ?? "{}") as { code?: string });
      expect({ status: response.status, code, body: response.body === undefined }).toEqual({
        status: String(outcome.status),
        code: outcome.code,
        body: head,
      });
      const { challenge } = DOCUMENTED_ERRORS[outcome.code];
      const header = headers["www-authenticate"];
      if (challenge === undefined) expect(header).toBeUndefined();
      else expect(/error="([^"]+)"/.exec(String(header))?.[1] ?? null).toBe(challenge);
      checkHeaders(headers, outcome.headers);
      return;
    }
    case "redirected": {
      expect(response.status).toBe(String(outcome.status));
      const location = new URL(String(headers.location));
      expect(`${location.origin}${location.pathname}`).toBe(outcome.location);
      expect(location.searchParams.get("return_to")).toBe(`https://${DISTRIBUTION_DOMAIN}${row.request.target}`);
      return;
    }
    case "answered":
      expect(response.status).toBe(String(outcome.status));
      checkHeaders(headers, outcome.headers);
  }
}

describe("the decision table through the Lambda@Edge viewer-request handler", () => {
  for (const row of DECISION_TABLE) {
    const outcome = outcomeFor(row, "edge");
    if (outcome.kind === "not-applicable") continue;
    const name = `${row.group}: ${row.name} (${row.config})`;
    const gap = row.knownGap?.edge;
    if (gap === undefined) it(name, () => check(row, outcome));
    else it(`${name}: a known gap, what it does instead`, () => check(row, gap.observed));
  }
});
