/**
 * The requests bench/edge.bench.ts sends to the Lambda@Edge function and to the authorizer, and the
 * answer each must give. The same request for both: `GET /api/items` with a bearer token, without
 * one, and `GET /public/logo.png` (a public path) without one; as a CloudFront viewer-request event
 * (test/aws-edge/events.ts) and as an API Gateway REST REQUEST event (test/aws/fixtures.ts). Shared
 * with the benchmark's children (bench/edge-cpu.ts, bench/edge-memory.ts), bundled on their own:
 * nothing here may import esbuild or the benchmark's other helpers.
 */
import type { CloudFrontRequestResult } from "aws-lambda";
import { requestEvent } from "../test/aws/fixtures.ts";
import { headerOf, viewerRequest } from "../test/aws-edge/events.ts";
import { KINDS, checkAllowed } from "./lambda-events.ts";

export type Packaging = "edge" | "authorizer";
/** A token seen before (the verified-token cache), a new token (one signature verification), a public path, none. */
export type Scenario = "repeated" | "new" | "public" | "refused";

export const SCENARIOS: readonly Scenario[] = ["repeated", "new", "public", "refused"];
export const SCENARIO_NAMES: Readonly<Record<Scenario, string>> = {
  repeated: "repeated token",
  new: "new token per request",
  public: "public path, no token",
  refused: "refused: no token (401)",
};
export const PACKAGING_NAMES: Readonly<Record<Packaging, string>> = {
  edge: "Lambda@Edge function",
  authorizer: "authorizer (REST REQUEST)",
};

/** The one setting both are built with besides the issuer's endpoint. */
export const PUBLIC_PATHS = "/public/*";
const PROTECTED_PATH = "/api/items";
const PUBLIC_PATH = "/public/logo.png";

/** The event of `scenario` for `packaging`; `token` for the two token scenarios. */
export function eventOf(packaging: Packaging, scenario: Scenario, token = ""): unknown {
  const path = scenario === "public" ? PUBLIC_PATH : PROTECTED_PATH;
  const headers = scenario === "repeated" || scenario === "new" ? { Authorization: `Bearer ${token}` } : {};
  if (packaging === "edge")
    return viewerRequest({ uri: path, querystring: scenario === "public" ? "" : "id=42", headers });
  return requestEvent({ path, headers });
}

type Handler = (event: unknown) => Promise<unknown>;

function refusedAs(error: unknown, who: string): void {
  // API Gateway's 401: the authorizer throws exactly this.
  if (!(error instanceof Error) || error.message !== "Unauthorized") {
    throw new Error(`bench: ${who}: threw ${String(error)}, expected Unauthorized`);
  }
}

function checkEdge(answer: CloudFrontRequestResult, scenario: Scenario, sub: string, who: string): void {
  if (answer === undefined || answer === null) throw new Error(`bench: ${who}: no answer`);
  const userId = "status" in answer ? undefined : headerOf(answer.headers, "x-authgear-user-id");
  // What tells the answers apart, and never the request's token.
  const got = "status" in answer ? `status ${answer.status}` : `${answer.uri} for ${userId ?? "no user"}`;
  const right =
    scenario === "refused"
      ? "status" in answer && answer.status === "401" && headerOf(answer.headers, "www-authenticate") !== undefined
      : !("status" in answer) &&
        "uri" in answer &&
        answer.uri === (scenario === "public" ? PUBLIC_PATH : PROTECTED_PATH) &&
        userId === (scenario === "public" ? undefined : sub);
  if (!right) throw new Error(`bench: ${who}: answered ${got}, expected the ${SCENARIO_NAMES[scenario]} answer`);
}

interface PolicyAnswer {
  principalId?: unknown;
  context?: Record<string, unknown>;
  policyDocument?: { Statement?: Array<{ Effect?: unknown }> };
}

/**
 * Calls `handler` with `event` and throws unless it answers as `scenario` wants: forwarded with `sub`'s identity,
 * forwarded without one (public), refused with a 401; `who` names the caller in the error.
 */
export async function answerChecked(
  handler: Handler,
  packaging: Packaging,
  scenario: Scenario,
  event: unknown,
  sub: string,
  who: string,
): Promise<void> {
  if (packaging === "edge") {
    checkEdge((await handler(event)) as CloudFrontRequestResult, scenario, sub, who);
    return;
  }
  if (scenario === "refused") {
    let answer: unknown;
    try {
      answer = await handler(event);
    } catch (error) {
      refusedAs(error, who);
      return;
    }
    throw new Error(`bench: ${who}: answered ${JSON.stringify(answer)}, expected Unauthorized`);
  }
  const answer = await handler(event);
  if (scenario !== "public") {
    checkAllowed(answer, sub, KINDS[1], who);
    return;
  }
  // A public path without credentials: this method and path alone, no identity.
  const policy = answer as PolicyAnswer;
  if (policy.principalId !== "anonymous" || policy.policyDocument?.Statement?.[0]?.Effect !== "Allow") {
    throw new Error(`bench: ${who}: answered ${JSON.stringify(answer)}, expected an anonymous Allow`);
  }
}
