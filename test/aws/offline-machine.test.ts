/**
 * Machine clients and several issuers through the built authorizer under serverless-offline, over
 * HTTP, with serverless.yml's example API: one configuration trusting three issuers (one of them
 * down) with Authgear-shaped tokens (test/fixtures/authgear-tokens.ts). serverless-offline has no
 * authorizer cache, so the policy API Gateway would cache is fetched through its Lambda invoke API
 * and judged by the IAM evaluator; it answers an authorizer failure with 401 (offline.test.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFourProjects, type AuthgearProject, type FourProjects } from "../fixtures/authgear-tokens.ts";
import { requestEvent } from "./fixtures.ts";
import { evaluatePolicy, type PolicyDocument } from "./iam-evaluator.ts";
import { invoke, startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";

const RESOURCE = "https://api.example.com";

let a: AuthgearProject;
let b: AuthgearProject;
let down: AuthgearProject;
let stranger: AuthgearProject;
let closeProjects: FourProjects["close"];
let offline: Offline;

beforeAll(async () => {
  ({ a, b, down, stranger, close: closeProjects } = await startFourProjects());
  offline = await startOffline({
    AUTHGEAR_ENDPOINT: "",
    ISSUERS: JSON.stringify([a, b, down].map((project) => ({ issuer: project.issuer, resources: [RESOURCE] }))),
    // Scoped clients on /hello/second; B's users only on /hello/admin.
    ROUTES: JSON.stringify([
      { path: "/hello/second", subject: "client", scopes: ["read:orders"] },
      { path: "/hello/admin", issuers: [b.issuer] },
    ]),
    // The kid-miss cooldown is min(30 s, this): a rotation shows within the test.
    JWKS_MAX_AGE_SECONDS: "2",
  });
}, STARTUP_MS + 10_000);

afterAll(async () => {
  await offline.stop();
  await closeProjects();
});

interface Answer {
  readonly status: number;
  readonly authorizer: Record<string, unknown> | undefined;
}

async function get(path: string, token: string): Promise<Answer> {
  const response = await fetch(`${offline.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { authorizer?: Record<string, unknown> };
  return { status: response.status, authorizer: body.authorizer };
}

function inventory(project: AuthgearProject, resourceUri = RESOURCE): Promise<string> {
  return project.mintClient({ clientId: "inventory", resourceUri, scope: "read:orders" });
}

describe("serverless offline: a machine client", () => {
  it("reaches only the route a rule admits it to, with its identity in requestContext.authorizer", async () => {
    const token = await inventory(a);
    const allowed = await get("/hello/second", token);
    expect(allowed.status).toBe(200);
    expect(allowed.authorizer).toMatchObject({
      principalId: "client_id_inventory",
      edgeKind: "client",
      edgeIssuer: a.issuer,
      edgeClientId: "inventory",
      edgeScope: "read:orders",
    });
    for (const name of ["userId", "sessionValid", "userRoles"]) {
      expect(allowed.authorizer, name).not.toHaveProperty(name);
    }
    for (const path of ["/hello", "/hello/admin", "/hello/token", "/api/hello"]) {
      expect((await get(path, token)).status, path).toBe(403);
    }
    expect((await get("/hello/second", await inventory(a, "https://other.example.com"))).status).toBe(401);
  });

  it("gets a cached policy that allows its rule's route and nothing else", async () => {
    const { result, error } = await invoke(
      offline,
      "authorizer",
      requestEvent({
        headers: { Authorization: `Bearer ${await inventory(b)}` },
        path: "/hello/second",
      }),
    );
    expect(error).toBeUndefined();
    const { policyDocument } = result as { policyDocument: PolicyDocument };
    const stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
    const allowed = ["GET/hello/second", "GET/hello", "GET/hello/admin", "GET/hello/token", "GET/api/hello"].filter(
      (route) => evaluatePolicy(policyDocument, `${stage}/${route}`, "segment"),
    );
    expect(allowed).toEqual(["GET/hello/second"]);
  });
});

describe("serverless offline: several issuers", () => {
  it("passes each issuer's user on with its issuer; the issuers rule admits only B's on /hello/admin", async () => {
    const userB = await get("/hello/admin", await b.mintUser({ userId: "bob" }));
    expect(userB.status).toBe(200);
    expect(userB.authorizer).toMatchObject({ userId: "bob", edgeKind: "user", edgeIssuer: b.issuer });
    const tokenA = await a.mintUser({ userId: "alice" });
    expect((await get("/hello/admin", tokenA)).status).toBe(403);
    const userA = await get("/hello", tokenA);
    expect(userA.status).toBe(200);
    expect(userA.authorizer).toMatchObject({ userId: "alice", edgeKind: "user", edgeIssuer: a.issuer });
  });

  it("refuses an untrusted issuer's token with no request to any issuer", async () => {
    const before = [a, b, stranger].map((project) => ({ ...project.dev.hits }));
    expect((await get("/hello", await stranger.mintUser())).status).toBe(401);
    expect((await get("/hello/second", await inventory(stranger))).status).toBe(401);
    expect([a, b, stranger].map((project) => ({ ...project.dev.hits }))).toEqual(before);
    await expect.poll(() => offline.output(), { timeout: 5000 }).toContain('"code":"ERR_JWT_CLAIM_INVALID"');
  });

  it("fails for the issuer that is down (API Gateway: 503) and keeps serving the others", async () => {
    expect((await get("/hello", await down.mintUser())).status).toBe(401);
    await expect
      .poll(() => offline.output(), { timeout: 5000 })
      .toContain('"event":"authorizer_failed","code":"ERR_KEYSET_UNAVAILABLE"');
    expect((await get("/hello", await a.mintUser())).status).toBe(200);
    expect((await get("/hello/second", await inventory(b))).status).toBe(200);
  });

  it("refetches only the rotating issuer's key set", async () => {
    expect((await get("/hello", await a.mintUser())).status).toBe(200);
    expect((await get("/hello", await b.mintUser())).status).toBe(200);
    await b.rotate();
    await sleep(2100);
    const before = [a, b].map((project) => project.dev.hits.jwks);
    expect((await get("/hello", await b.mintUser())).status).toBe(200);
    expect([a, b].map((project, index) => project.dev.hits.jwks - (before[index] ?? 0))).toEqual([0, 1]);
  });
});
