/**
 * Machine-to-machine tokens and several issuers through the Lambda authorizer (`createHandler`),
 * against Authgear-shaped tokens (test/fixtures/authgear-tokens.ts) from real loopback issuers.
 * API Gateway caches an answer and re-applies it to every route the same token calls, so each
 * policy is judged as IAM would judge it (test/aws/iam-evaluator.ts, both readings of `*`) on
 * every route of the example below: a client's policy allows only the routes of the rules that
 * admit it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type AuthorizerResult } from "../../src/aws/create-handler.ts";
import { startFourProjects, type AuthgearProject, type FourProjects } from "../fixtures/authgear-tokens.ts";
import { httpApiEvent, requestEvent, tokenEvent } from "./fixtures.ts";
import { evaluatePolicy, type PolicyDocument, type WildcardReading } from "./iam-evaluator.ts";

const RESOURCE = "https://api.example.com";
const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
const READINGS: readonly WildcardReading[] = ["any-run", "segment"];

let a: AuthgearProject;
let b: AuthgearProject;
let down: AuthgearProject;
let stranger: AuthgearProject;
let closeProjects: FourProjects["close"];

beforeAll(async () => {
  ({ a, b, down, stranger, close: closeProjects } = await startFourProjects());
});
afterAll(() => closeProjects());

/** Scoped clients on /machine, the inventory client on /clients, B's users on /b-only, admins on /admin. */
function routes(): string {
  return JSON.stringify([
    { path: "/machine/*", subject: "client", scopes: ["read:orders"] },
    { path: "/clients/*", subject: "client", clientIds: ["inventory"] },
    { path: "/b-only/*", issuers: [b.issuer] },
    { path: "/admin/*", roles: ["admin"] },
  ]);
}

/** A container trusting A, B and the one that is down, with API Gateway's default cache TTL. */
function container(extra: Record<string, string> = {}): ReturnType<typeof createHandler> {
  const issuers = [a, b, down].map((project) => ({ issuer: project.issuer, resources: [RESOURCE] }));
  const env = { ISSUERS: JSON.stringify(issuers), ROUTES: routes(), HTTP_API_RESPONSE: "iam", ...extra };
  return createHandler({ env });
}

/** The routes the example API serves, as `METHOD/path` after the stage. */
const ROUTES_OF_API = [
  "GET/machine/orders",
  "POST/machine/orders/1",
  "GET/machine.json",
  "GET/clients/1",
  "DELETE/clients/1/x",
  "GET/b-only/1",
  "GET/admin/1",
  "GET/users/1",
  "GET/",
  "GET/machineroom",
];

/** The routes `result`'s policy lets through, the same under both readings of `*` (else the test fails). */
function allowedRoutes(result: AuthorizerResult, stage = STAGE): string[] {
  const { policyDocument } = result as { policyDocument: PolicyDocument };
  return ROUTES_OF_API.filter((route) => {
    const verdicts = READINGS.map((reading) => evaluatePolicy(policyDocument, `${stage}/${route}`, reading));
    expect(new Set(verdicts).size, route).toBe(1);
    return verdicts[0];
  });
}

function bearer(token: string): { headers: Record<string, string>; path: string } {
  return { headers: { Authorization: `Bearer ${token}` }, path: "/machine/orders" };
}

describe("a machine client through createHandler", () => {
  it("gets a cached policy that allows only the routes of the rules admitting it, with its context", async () => {
    const handler = container();
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    const result = await handler(requestEvent(bearer(token)));
    expect(result).toMatchObject({
      principalId: "client_id_inventory",
      context: { edgeKind: "client", edgeIssuer: a.issuer, edgeClientId: "inventory", edgeScope: "read:orders" },
    });
    expect(Object.keys((result as { context: object }).context).sort()).toEqual([
      "edgeClientId",
      "edgeIssuer",
      "edgeKind",
      "edgeScope",
    ]);
    expect(allowedRoutes(result)).toEqual([
      "GET/machine/orders",
      "POST/machine/orders/1",
      "GET/machine.json",
      "GET/clients/1",
      "DELETE/clients/1/x",
    ]);
    // Not beyond the stage.
    expect(allowedRoutes(result, `${STAGE.slice(0, -"test".length)}prod`)).toEqual([]);
  });

  it("gets a policy as narrow as the rules it meets: another client, or no scope", async () => {
    const handler = container();
    const billing = await b.mintClient({ clientId: "billing", resourceUri: RESOURCE, scope: "read:orders" });
    expect(allowedRoutes(await handler(requestEvent(bearer(billing))))).toEqual([
      "GET/machine/orders",
      "POST/machine/orders/1",
      "GET/machine.json",
    ]);
    const bare = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE });
    const onClients = await handler(requestEvent({ ...bearer(bare), path: "/clients/1" }));
    expect(allowedRoutes(onClients)).toEqual(["GET/clients/1", "DELETE/clients/1/x"]);
    // Refused on its own route (403: a policy allowing nothing there), never a 401 for a valid token.
    const onMachine = await handler(requestEvent(bearer(bare)));
    expect(allowedRoutes(onMachine)).toEqual(["GET/clients/1", "DELETE/clients/1/x"]);
  });

  it("is allowed nowhere without a client rule; a 401 for another resource or without RESOURCES", async () => {
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    const noRules = createHandler({ env: { AUTHGEAR_ENDPOINT: a.issuer, RESOURCES: RESOURCE } });
    expect(allowedRoutes(await noRules(requestEvent(bearer(token))))).toEqual([]);
    const oneRoutes = routes().replaceAll(b.issuer, a.issuer);
    const oneIssuer = { AUTHGEAR_ENDPOINT: a.issuer, ROUTES: oneRoutes, HTTP_API_RESPONSE: "iam" };
    const noResources = createHandler({ env: oneIssuer });
    await expect(noResources(requestEvent(bearer(token)))).rejects.toThrow(/^Unauthorized$/);
    const other = "https://other.example.com";
    const elsewhere = await a.mintClient({ clientId: "inventory", resourceUri: other, scope: "read:orders" });
    await expect(container()(requestEvent(bearer(elsewhere)))).rejects.toThrow(/^Unauthorized$/);
  });

  it("answers TOKEN and HTTP API (iam) events with the same policy", async () => {
    const handler = container();
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    const viaToken = await handler({ ...tokenEvent(`Bearer ${token}`), methodArn: `${STAGE}/GET/machine/orders` });
    expect(allowedRoutes(viaToken)).toEqual(allowedRoutes(await handler(requestEvent(bearer(token)))));
    const event = httpApiEvent({ headers: { authorization: `Bearer ${token}` }, rawPath: "/machine/orders" });
    const viaHttpApi = await handler(event);
    expect(allowedRoutes(viaHttpApi, "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default")).toEqual([
      "GET/machine/orders",
      "POST/machine/orders/1",
      "GET/machine.json",
      "GET/clients/1",
      "DELETE/clients/1/x",
    ]);
  });
});

describe("several issuers through createHandler", () => {
  it("gives each issuer's user a stage-wide policy naming its issuer; the issuers rule denies A's", async () => {
    const handler = container();
    const userA = await handler(requestEvent(bearer(await a.mintUser({ userId: "alice" }))));
    const userB = await handler(requestEvent(bearer(await b.mintUser({ userId: "bob" }))));
    const context = (userId: string, issuer: string) => ({ userId, edgeKind: "user", edgeIssuer: issuer });
    expect(userA).toMatchObject({ principalId: "alice", context: context("alice", a.issuer) });
    expect(userB).toMatchObject({ principalId: "bob", context: context("bob", b.issuer) });
    // The rules for clients say nothing about users; the issuers rule and the admin rule deny.
    const clientRoutes = [
      "GET/machine/orders",
      "POST/machine/orders/1",
      "GET/machine.json",
      "GET/clients/1",
      "DELETE/clients/1/x",
    ];
    expect(allowedRoutes(userA)).toEqual([...clientRoutes, "GET/users/1", "GET/", "GET/machineroom"]);
    expect(allowedRoutes(userB)).toEqual([...clientRoutes, "GET/b-only/1", "GET/users/1", "GET/", "GET/machineroom"]);
  });

  it("refuses an untrusted issuer's token with 401 and no request to any issuer", async () => {
    const handler = container();
    const before = [a, b, stranger].map((project) => ({ ...project.dev.hits }));
    const tokens = [await stranger.mintUser(), await stranger.mintClient({ clientId: "x", resourceUri: RESOURCE })];
    for (const token of tokens) await expect(handler(requestEvent(bearer(token)))).rejects.toThrow(/^Unauthorized$/);
    expect([a, b, stranger].map((project) => ({ ...project.dev.hits }))).toEqual(before);
  });

  it("fails (503) for the issuer that is down and keeps answering for the others", async () => {
    const handler = container();
    await expect(handler(requestEvent(bearer(await down.mintUser())))).rejects.toThrow(/^Service Unavailable$/);
    expect(allowedRoutes(await handler(requestEvent(bearer(await a.mintUser()))))).toContain("GET/users/1");
    const client = await b.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    expect(allowedRoutes(await handler(requestEvent(bearer(client))))).toContain("GET/machine/orders");
  });
});

describe("a machine client on public paths under the authorizer cache", () => {
  // Was a known gap (an `it.fails` case): the Worker, and the authorizer deciding each request,
  // let a client's token through on every public path, while a client's cached policy allowed only
  // the public path it was decided on. Its policy now allows the public paths, as written.
  it("allows every public path in the policy cached for a client's token", async () => {
    const settings = {
      AUTHGEAR_ENDPOINT: a.issuer,
      RESOURCES: RESOURCE,
      PUBLIC_PATHS: "/public/*,/healthz",
      ROUTES: JSON.stringify([{ path: "/machine/*", subject: "client" }]),
      HTTP_API_RESPONSE: "iam",
    };
    const handler = createHandler({ env: settings });
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE });
    const result = await handler(requestEvent({ ...bearer(token), path: "/public/a" }));
    const { policyDocument } = result as { policyDocument: PolicyDocument };
    for (const route of ["GET/public/a", "GET/public/b", "GET/healthz"]) {
      expect(evaluatePolicy(policyDocument, `${STAGE}/${route}`, "segment"), route).toBe(true);
    }
  });
});
