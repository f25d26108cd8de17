/**
 * The API Gateway events the Lambda benchmark sends and the Allow it expects, shared by
 * bench/lambda.bench.ts and its pinned child bench/lambda-cpu.ts (bundled on its own: nothing here
 * may import esbuild or the benchmark's other helpers).
 */
import { httpApiEvent, requestEvent, tokenEvent } from "../test/aws/fixtures.ts";

export interface Kind {
  readonly name: string;
  /** HTTP_API_RESPONSE while the container loads. */
  readonly response: "iam" | "simple";
  readonly event: (token: string) => unknown;
}

const bearer = (token: string): string => `Bearer ${token}`;

export const KINDS: readonly Kind[] = [
  { name: "REST TOKEN", response: "iam", event: (token) => tokenEvent(bearer(token)) },
  {
    name: "REST REQUEST (v1)",
    response: "iam",
    event: (token) => requestEvent({ headers: { Authorization: bearer(token) } }),
  },
  {
    name: "HTTP API 2.0, IAM policy",
    response: "iam",
    event: (token) => httpApiEvent({ headers: { authorization: bearer(token) } }),
  },
  {
    name: "HTTP API 2.0, simple response",
    response: "simple",
    event: (token) => httpApiEvent({ headers: { authorization: bearer(token) } }),
  },
];

interface Answer {
  principalId?: unknown;
  isAuthorized?: unknown;
  context?: { userId?: unknown; edgeAssertion?: unknown };
  policyDocument?: { Statement?: Array<{ Effect?: unknown }> };
}

/** Throws unless `answer` is an Allow for `sub`, in the shape the event kind asks for. */
export function checkAllowed(
  answer: unknown,
  sub: string,
  kind: Kind | undefined,
  who: string,
  asserted = false,
): void {
  const got = answer as Answer | undefined;
  const policyAllows = got?.principalId === sub && got.policyDocument?.Statement?.[0]?.Effect === "Allow";
  const allowed = kind?.response === "simple" ? got?.isAuthorized === true : policyAllows;
  if (!allowed || got?.context?.userId !== sub) {
    throw new Error(`bench: ${who}: answered ${JSON.stringify(answer)}, expected an Allow for ${sub}`);
  }
  if ((typeof got.context.edgeAssertion === "string") !== asserted) {
    throw new Error(`bench: ${who}: the assertion is ${asserted ? "missing" : "there"}`);
  }
}
