/**
 * The decision table (test/fixtures/decision-table.ts) through the API Gateway authorizer (`createHandler`),
 * as REST API REQUEST events (test/aws/fixtures.ts) whose `methodArn` names the row's method and path as sent,
 * with the row's header lines (`headers` holding the last value of a repeated name, `multiValueHeaders` all)
 * and query. API Gateway's answer is read as docs/authorizer.md says: an Allow or Deny policy evaluated on
 * the request's own ARN (test/aws/iam-evaluator.ts), a thrown `Unauthorized` (401) or another thrown error
 * (an authorizer failure: 503 through the gateway responses).
 *
 * Two lanes: the cache off (`AUTHORIZER_CACHE_SECONDS=0`: an answer for this request alone), and the cache on
 * (300 s, a policy for every route of the stage) for the configurations the authorizer accepts with it
 * (authorizer.md, "Refused at start-up": no cookie credentials, no resolver). The Worker-only settings
 * (`GATE_ONLY_SETTINGS`) are left out of the authorizer's environment. What the authorizer cannot do is
 * not checked here: it cannot change the request (strip headers, withhold the token) nor add response
 * headers; the rows' `withheld`, `rewritten` and `headers` are the Worker's and the edge handler's.
 */
import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createHandler, type AuthorizerHandler } from "../../src/aws/create-handler.ts";
import {
  authorizerAnswer,
  CONFIGURATIONS,
  DECISION_TABLE,
  GATE_ONLY_SETTINGS,
  outcomeFor,
  type AuthorizerAnswer,
  type ConfigurationName,
  type CredentialName,
  type Row,
} from "../fixtures/decision-table.ts";
import { headerLines, identityHeadersOf, useTableIssuers } from "../fixtures/decision-credentials.ts";
import { requestEvent } from "./fixtures.ts";
import { evaluatePolicy, type PolicyDocument } from "./iam-evaluator.ts";

/** A REST authorizer's policy answer. */
interface Policy {
  readonly principalId: string;
  readonly policyDocument: PolicyDocument;
  readonly context?: Readonly<Record<string, unknown>>;
}

const { up, down, minted } = useTableIssuers();

const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";

/** The two lanes: the cache off, and on where the configuration allows it. */
const LANES = {
  "cache off": { AUTHORIZER_CACHE_SECONDS: "0" },
  "cache on": { AUTHORIZER_CACHE_SECONDS: "300", HTTP_API_RESPONSE: "iam" },
} as const;
type Lane = keyof typeof LANES;

/** authorizer.md, "Refused at start-up": cookie credentials and resolver modes need the cache off. */
function cacheRefused(name: ConfigurationName): boolean {
  const settings: Readonly<Record<string, string>> = CONFIGURATIONS[name].settings;
  return settings.JWT_COOKIE_NAME !== undefined || settings.AUTH_MODE !== undefined;
}

/** One container per configuration and lane, built at its first row (its key set and caches its own). */
const containers = new Map<string, { handler: AuthorizerHandler; logs: Array<{ event: string; code?: unknown }> }>();

function containerFor(name: ConfigurationName, lane: Lane) {
  const key = `${name} / ${lane}`;
  let container = containers.get(key);
  if (container === undefined) {
    const { issuer, settings } = CONFIGURATIONS[name];
    const env: Record<string, string> = {
      AUTHGEAR_ENDPOINT: issuer === "up" ? up.origin : down.origin,
      ...LANES[lane],
    };
    for (const [setting, value] of Object.entries(settings)) {
      if (!GATE_ONLY_SETTINGS.includes(setting)) env[setting] = value;
    }
    const logs: Array<{ event: string; code?: unknown }> = [];
    const handler = createHandler({
      env,
      onInvalidConfig: "throw",
      logger: { log: (event, fields) => logs.push({ event, ...fields }) },
    });
    container = { handler, logs };
    containers.set(key, container);
  }
  return container;
}

/** A REST REQUEST event for the row: its method and path in the ARN, its header lines and its query. */
function eventOf(row: Row): APIGatewayRequestAuthorizerEvent {
  const { method, target } = row.request;
  const queryAt = target.indexOf("?");
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? "" : target.slice(queryAt + 1));
  const lines = headerLines(row, minted(row));
  // The body never reaches an authorizer; its Content-Length header does.
  const { body } = row.request;
  if (body !== undefined) lines.push(["Content-Length", String(Buffer.byteLength(body))]);
  const base = requestEvent({ path });
  // The row's header lines replace the fixture's of the same name. API Gateway keeps one spelling of a
  // name (the first seen), its last value in `headers` and every value in `multiValueHeaders`.
  const named = new Set(lines.map(([name]) => name.toLowerCase()));
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(base.headers ?? {})) {
    if (value === undefined || named.has(name.toLowerCase())) continue;
    headers[name] = value;
    multiValueHeaders[name] = [value];
  }
  for (const [name, value] of lines) {
    const spelling = Object.keys(headers).find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
    (multiValueHeaders[spelling] ??= []).push(value);
    headers[spelling] = value;
  }
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of query) (multiQuery[name] ??= []).push(value);
  return {
    ...base,
    httpMethod: method,
    methodArn: `${STAGE}/${method}${path}`,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.fromEntries(
      Object.entries(multiQuery).map(([name, values]) => [name, values.at(-1)!]),
    ),
    multiValueQueryStringParameters: multiQuery,
    requestContext: { ...base.requestContext, httpMethod: method },
  };
}

/** The context the backend gets for a credential (identity.md: each header without `x-authgear-`, camel-cased). */
function contextOf(row: Row, credential: CredentialName): Record<string, string> {
  const { issuer } = CONFIGURATIONS[row.config];
  const headers = identityHeadersOf(credential, minted(row), issuer === "up" ? up.origin : down.origin);
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name.slice("x-authgear-".length).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()),
      value,
    ]),
  );
}

async function check(row: Row, answer: AuthorizerAnswer, lane: Lane): Promise<void> {
  const { handler, logs } = containerFor(row.config, lane);
  const event = eventOf(row);
  const before = logs.length;
  const result = handler(event);
  switch (answer.kind) {
    case "unauthorized":
    case "unavailable": {
      const error = await result.then(
        () => undefined,
        (thrown: unknown) => thrown as Error & { code?: unknown },
      );
      expect({ message: error?.message, code: error?.code }).toEqual({
        message: answer.kind === "unauthorized" ? "Unauthorized" : "Service Unavailable",
        code: answer.code,
      });
      return;
    }
    case "allow":
    case "deny": {
      const policy = (await result) as unknown as Policy;
      for (const reading of ["any-run", "segment"] as const) {
        expect(
          evaluatePolicy(policy.policyDocument, event.methodArn, reading),
          `the policy on its ARN (${reading})`,
        ).toBe(answer.kind === "allow");
      }
      if (answer.kind === "deny") {
        expect(logs.slice(before).find((line) => line.event === "request_forbidden")?.code).toBe(answer.code);
        return;
      }
      const { as } = answer;
      expect({ principalId: policy.principalId, context: policy.context }).toEqual(
        as === undefined
          ? { principalId: "anonymous", context: {} }
          : { principalId: as.split(".")[0], context: contextOf(row, as) },
      );
    }
  }
}

for (const lane of Object.keys(LANES) as Lane[]) {
  describe(`the decision table through the authorizer, ${lane}`, () => {
    for (const row of DECISION_TABLE) {
      const outcome = outcomeFor(row, "authorizer");
      if (outcome.kind === "not-applicable") continue;
      if (lane === "cache on" && cacheRefused(row.config)) continue;
      const gap = row.knownGap?.authorizer;
      const name = `${row.group}: ${row.name} (${row.config})`;
      if (gap === undefined) it(name, () => check(row, authorizerAnswer(outcome), lane));
      else it(`${name}: a known gap, what it does instead`, () => check(row, authorizerAnswer(gap.observed), lane));
    }
  });
}

describe("rows the authorizer does not run", () => {
  it("say why", () => {
    const skipped = DECISION_TABLE.flatMap((row) => {
      const outcome = outcomeFor(row, "authorizer");
      return outcome.kind === "not-applicable" ? [[row.name, outcome.reason] as const] : [];
    });
    for (const [name, reason] of skipped) expect(reason.length, name).toBeGreaterThan(20);
    expect(skipped.length).toBeLessThan(DECISION_TABLE.length / 4);
  });
});
