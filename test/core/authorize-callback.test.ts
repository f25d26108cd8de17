/**
 * The application's own check (`authorize`), after the route rules, through the Hono middleware (a
 * real Hono app) and the Lambda authorizer (`createHandler`, its policy as IAM evaluates it):
 * allowed, refused like a rule (403 / Deny), failing closed when it throws or answers anything but
 * a boolean, awaited when async, never run on a public path, and refused with API Gateway's cache.
 */
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/aws/create-handler.ts";
import type { AuthorizeCallback } from "../../src/core/index.ts";
import { authgear, type AuthgearVariables } from "../../src/hono/index.ts";
import { requestEvent } from "../aws/fixtures.ts";
import { evaluatePolicy, type PolicyDocument } from "../aws/iam-evaluator.ts";
import { useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer();
let token: string;
const quiet = { log: () => undefined };

beforeAll(async () => {
  token = await issuer.mintAccessToken({ sub: "alice" });
});

/** Allows Alice on /orders/alice only: what no rule of ROUTES can say. */
const ownOrders: AuthorizeCallback = (identity, request) =>
  identity.kind === "user" && request.path === `/orders/${identity.userId}`;

function hono(authorize: AuthorizeCallback): Hono<{ Variables: AuthgearVariables }> {
  const app = new Hono<{ Variables: AuthgearVariables }>();
  const settings = { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/public/*" };
  app.use("*", authgear({ settings, logger: quiet, authorize }));
  app.all("*", (c) => c.text(`served ${c.get("authgear")?.subject ?? "anonymous"}`));
  return app;
}

async function status(app: Hono<{ Variables: AuthgearVariables }>, path: string): Promise<[number, string]> {
  const response = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return [response.status, response.status === 200 ? text : (response.headers.get("www-authenticate") ?? "")];
}

describe("authorize through the Hono middleware", () => {
  it("lets through what the callback allows and refuses the rest with 403 insufficient_scope", async () => {
    const app = hono(ownOrders);
    expect(await status(app, "/orders/alice")).toEqual([200, "served alice"]);
    const [code, challenge] = await status(app, "/orders/bob");
    expect(code).toBe(403);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain("The application's check refused this request.");
  });

  it("awaits an async callback", async () => {
    const app = hono(async (identity, request) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return ownOrders(identity, request);
    });
    expect((await status(app, "/orders/alice"))[0]).toBe(200);
    expect((await status(app, "/orders/bob"))[0]).toBe(403);
  });

  it("fails closed (500, ERR_INTERNAL) when the callback throws, rejects or answers something else", async () => {
    const failing: AuthorizeCallback[] = [
      () => {
        throw new Error("database down");
      },
      () => Promise.reject(new Error("database down")),
      () => "yes" as unknown as boolean,
      () => undefined as unknown as boolean,
    ];
    for (const callback of failing) {
      const response = await hono(callback).request("/orders/alice", { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { code: string }).code).toBe("ERR_INTERNAL");
    }
  });

  it("is not run on a public path, nor for a request the gate already refused", async () => {
    let calls = 0;
    const app = hono(() => {
      calls += 1;
      return true;
    });
    expect((await app.request("/public/page")).status).toBe(200);
    expect((await app.request("/orders/alice")).status).toBe(401);
    expect(calls).toBe(0);
  });
});

describe("authorize through the Lambda authorizer", () => {
  const stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";

  it("allows the request's own ARN only when the callback does, and denies it otherwise (cache off)", async () => {
    const env = { AUTHGEAR_ENDPOINT: issuer.origin, AUTHORIZER_CACHE_SECONDS: "0" };
    const handler = createHandler({ env, logger: quiet, authorize: ownOrders });
    const headers = { Authorization: `Bearer ${token}` };
    const mine = await handler(requestEvent({ path: "/orders/alice", headers }));
    const other = await handler(requestEvent({ path: "/orders/bob", headers }));
    if (!("policyDocument" in mine) || !("policyDocument" in other)) throw new Error("expected IAM policies");
    const allows = (policy: unknown, arn: string) =>
      (["any-run", "segment"] as const).every((reading) => evaluatePolicy(policy as PolicyDocument, arn, reading));
    expect(allows(mine.policyDocument, `${stage}/GET/orders/alice`)).toBe(true);
    expect(allows(mine.policyDocument, `${stage}/GET/orders/bob`)).toBe(false);
    expect(allows(other.policyDocument, `${stage}/GET/orders/bob`)).toBe(false);
    expect(other.policyDocument.Statement.some((statement) => statement.Effect === "Deny")).toBe(true);
  });

  it("refuses to start with API Gateway's cache on: no policy carries a callback's answer elsewhere", async () => {
    const handler = createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin }, logger: quiet, authorize: ownOrders });
    const event = requestEvent({ path: "/orders/alice", headers: { Authorization: `Bearer ${token}` } });
    await expect(handler(event)).rejects.toThrow(/^Service Unavailable$/);
    const lines: string[] = [];
    const logged = createHandler({
      env: { AUTHGEAR_ENDPOINT: issuer.origin },
      logger: { log: (name, fields) => lines.push(`${name} ${String(fields.message)}`) },
      authorize: ownOrders,
    });
    await expect(logged(event)).rejects.toThrow(/^Service Unavailable$/);
    const expected = /config_invalid .*AUTHORIZER_CACHE_SECONDS: an authorize callback decides one request/;
    expect(lines.join("\n")).toMatch(expected);
  });
});
