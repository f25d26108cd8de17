/**
 * The Lambda authorizer end to end: `dist/lambda/authorizer.mjs` (built by the global setup) under
 * serverless-offline with serverless.yml's example API, against dev issuers on loopback, over HTTP.
 *
 * serverless-offline 13.10.1 is not API Gateway in three ways that shape these tests:
 * - it has no authorizer result cache: the authorizer runs on every request. What makes API
 *   Gateway's cache safe is the policy, so the cached-result test fetches the policy a real event
 *   gets (through serverless-offline's Lambda invoke API, the same warm container) and checks that
 *   it allows the second route, besides calling both routes over HTTP;
 * - it has no gateway responses: an authorizer failure comes back as 401, not the 503 that
 *   serverless.yml maps AUTHORIZER_FAILURE to. The 503 tests check the authorizer's failure (never
 *   an allow); serverless-package.test.ts checks the packaged CloudFormation template's mapping;
 * - it builds method ARNs with a fake account and API id, and adds `claims`/`scopes` to
 *   `requestContext.authorizer`.
 *
 * The example API runs with serverless.yml's defaults for AUTH_MODE=jwt: AUTHORIZER_CACHE_SECONDS
 * 300 (every authorizer's identity source is Authorization) and HTTP_API_RESPONSE=iam, which is
 * what lets ROUTES apply to the HTTP API under caching too. A third instance runs a configuration
 * the authorizer refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer } from "../../dev/issuer.ts";
import type { DevIssuer } from "../../dev/issuer.ts";
import { invoke, startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";
import { userAuthorizerContext } from "../fixtures/identities.ts";
import { offlineHttpApiEvent, offlineRestEvent } from "./fixtures.ts";

/** The route rules: the admin role for /hello/admin, and /hello/second only for tokens of `dev-client`. */
const ROUTES = JSON.stringify([
  { path: "/hello/admin", roles: ["admin"] },
  { path: "/hello/second", clientIds: ["dev-client"] },
]);

/** The example API's settings: route rules, so a caller who fails one meets a Deny. */
function offlineEnv(issuer: DevIssuer): Record<string, string> {
  return { AUTHGEAR_ENDPOINT: issuer.origin, ROUTES };
}

/**
 * Settings the authorizer refuses to start with: under caching (AUTHORIZER_CACHE_SECONDS > 0), a
 * simple HTTP API answer is one verdict for every route, which cannot carry ROUTES.
 */
function refusedEnv(issuer: DevIssuer): Record<string, string> {
  return { AUTHGEAR_ENDPOINT: issuer.origin, ROUTES, HTTP_API_RESPONSE: "simple", AUTHORIZER_CACHE_SECONDS: "300" };
}

/** The `config_invalid` log lines in serverless-offline's output, parsed. */
function configInvalidLines(output: string): Array<Record<string, unknown>> {
  return [...output.matchAll(/\{[^\n]*"event":"config_invalid"[^\n]*\}/g)].map(
    ([line]) => JSON.parse(line) as Record<string, unknown>,
  );
}

const ROLES_CLAIM = "https://authgear.com/claims/user/roles";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { authorizer?: Record<string, unknown> } & Record<string, unknown>;
}

async function get(url: string, token?: string): Promise<Answer> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer["body"] };
}

/** A REST REQUEST authorizer event of serverless offline's API with a bearer token. */
function restRequestEvent(method: string, path: string, token: string): Record<string, unknown> {
  return offlineRestEvent(method, path, { Authorization: `Bearer ${token}` });
}

/** An HTTP API payload 2.0 authorizer event for `GET <path>` on the `$default` stage, with a bearer token. */
function httpApiEvent(path: string, token: string): Record<string, unknown> {
  const authorization = `Bearer ${token}`;
  return offlineHttpApiEvent(path, { headers: { authorization }, identitySource: [authorization] });
}

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

/** What the authorizer answers with a policy. */
interface PolicyAnswer {
  principalId: string;
  policyDocument: { Statement: PolicyStatement[] };
  context: Record<string, unknown>;
}

/** Invokes the authorizer of `offline` (the suite's) with `event`: its answer, which must not be an error. */
async function policyAnswer(event: Record<string, unknown>): Promise<PolicyAnswer> {
  const { result, error } = await invoke(offline, "authorizer", event);
  expect(error).toBeUndefined();
  return result as PolicyAnswer;
}

/** IAM evaluation as API Gateway applies a (cached) policy: an explicit Deny wins, else an Allow must match. */
function policyAllows(policy: { Statement: PolicyStatement[] }, methodArn: string): boolean {
  const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
  const glob = (pattern: string): RegExp =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replaceAll("*", ".*")
        .replaceAll("?", ".")}$`,
    );
  const matching = policy.Statement.filter(
    (statement) =>
      list(statement.Action).some((action) => glob(action).test("execute-api:Invoke")) &&
      list(statement.Resource).some((resource) => glob(resource).test(methodArn)),
  );
  return (
    !matching.some((statement) => statement.Effect === "Deny") &&
    matching.some((statement) => statement.Effect === "Allow")
  );
}

let issuer: DevIssuer;
let offline: Offline;
let downIssuer: DevIssuer;
let downOffline: Offline;
let refusedOffline: Offline;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const started = async <T>(start: Promise<T>, stop: (value: T) => Promise<void>): Promise<T> => {
    const value = await start;
    stops.push(() => stop(value));
    return value;
  };
  [issuer, downIssuer] = await Promise.all([
    started(startDevIssuer(), (i) => i.close()),
    started(startDevIssuer(), (i) => i.close()),
  ]);
  // A fresh issuer whose discovery and key set fail from the start: its stack never gets a key set.
  downIssuer.setFailure("http500");
  [offline, downOffline, refusedOffline] = await Promise.all([
    started(startOffline(offlineEnv(issuer)), (o) => o.stop()),
    started(startOffline(offlineEnv(downIssuer)), (o) => o.stop()),
    started(startOffline(refusedEnv(issuer)), (o) => o.stop()),
  ]);
}, STARTUP_MS + 10_000);

afterAll(async () => {
  // serverless-offline first, then the issuers it talks to.
  for (const stop of stops.reverse()) await stop();
});

describe("serverless offline: REST API, REQUEST authorizer", () => {
  it("lets a valid token through with the identity in requestContext.authorizer", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-rest", claims: { [ROLES_CLAIM]: ["admin", "editor"] } });
    const { status, body } = await get(`${offline.url}/hello`, token);
    expect(status).toBe(200);
    expect(body.authorizer).toMatchObject({
      principalId: "user-rest",
      sessionValid: "true",
      userId: "user-rest",
      userAnonymous: "false",
      userVerified: "true",
      userCanReauthenticate: "true",
      userRoles: "admin,editor",
      sessionAmr: "pwd",
      sessionAuthenticatedAt: expect.stringMatching(/^\d+$/) as unknown,
      edgeKind: "user",
      edgeIssuer: issuer.origin,
    });
  });

  it("answers 401 without a token, without calling the authorizer", async () => {
    const before = offline.output().length;
    const { status, body } = await get(`${offline.url}/hello`);
    expect(status).toBe(401);
    expect(body.authorizer).toBeUndefined();
    // API Gateway's own check: the identity source (Authorization) is missing.
    await expect
      .poll(() => offline.output().slice(before), { timeout: 5000 })
      .toContain("Identity Source is null for header authorization");
  });

  it("answers 401 with a bad token, and logs the reason without the token", async () => {
    const good = await issuer.mintAccessToken({ sub: "user-bad" });
    const [header, payload, signature] = good.split(".") as [string, string, string];
    const tampered = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    const expired = await issuer.mintAccessToken({ sub: "user-bad", expiresIn: -60 });
    for (const token of ["not-a-jwt", tampered, expired]) {
      const { status, body } = await get(`${offline.url}/hello`, token);
      expect(status, token).toBe(401);
      expect(body.authorizer).toBeUndefined();
    }
    for (const code of ["ERR_JWT_MALFORMED", "ERR_JWT_SIGNATURE", "ERR_JWT_EXPIRED"]) {
      await expect
        .poll(() => offline.output(), { timeout: 5000 })
        .toContain(`"event":"request_refused","code":"${code}"`);
    }
    const output = offline.output();
    expect(output).not.toContain(tampered);
    expect(output).not.toContain(expired);
  });

  it("serves a second route from the cached result: the policy for /hello allows /hello/second", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-cache" });
    const first = await get(`${offline.url}/hello`, token);
    const second = await get(`${offline.url}/hello/second`, token);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.authorizer).toMatchObject({ principalId: "user-cache", userId: "user-cache" });

    // What API Gateway caches for this Authorization header after GET /hello, and then applies,
    // without calling the authorizer, to every route the same header calls within the TTL.
    const cached = await policyAnswer(restRequestEvent("GET", "/hello", token));
    expect(cached.principalId).toBe("user-cache");
    expect(cached.context).toMatchObject({ userId: "user-cache", sessionValid: "true" });
    const arn = (methodAndPath: string, stage = "dev", api = "abcdef1234"): string =>
      `arn:aws:execute-api:us-east-1:123456789012:${api}/${stage}/${methodAndPath}`;
    expect(policyAllows(cached.policyDocument, arn("GET/hello"))).toBe(true);
    expect(policyAllows(cached.policyDocument, arn("GET/hello/second"))).toBe(true);
    expect(policyAllows(cached.policyDocument, arn("GET/hello/token"))).toBe(true);
    // ...except the route whose rule (admin role) this caller does not meet: an explicit Deny.
    expect(policyAllows(cached.policyDocument, arn("GET/hello/admin"))).toBe(false);
    // Not beyond the stage and API the request came through.
    expect(policyAllows(cached.policyDocument, arn("GET/hello/second", "prod"))).toBe(false);
    expect(policyAllows(cached.policyDocument, arn("GET/hello/second", "dev", "otherapi99"))).toBe(false);
  });

  it("keeps the key set in the warm container: one JWKS fetch across many invocations", async () => {
    // Warm (and fetched) by the tests above or this first request.
    expect((await get(`${offline.url}/hello`, await issuer.mintAccessToken())).status).toBe(200);
    const fetched = issuer.hits.jwks;
    for (let round = 0; round < 10; round++) {
      const token = await issuer.mintAccessToken({ sub: `user-warm-${round}` });
      for (const path of ["/hello", "/hello/second", "/api/hello"]) {
        expect((await get(`${offline.url}${path}`, token)).status, path).toBe(200);
      }
    }
    expect(issuer.hits.jwks).toBe(fetched);
    // And the key set keeps serving while the issuer is down (within JWKS_MAX_AGE_SECONDS).
    issuer.setFailure("http500");
    try {
      const token = await issuer.mintAccessToken({ sub: "user-issuer-down" });
      expect((await get(`${offline.url}/hello/second`, token)).status).toBe(200);
    } finally {
      issuer.setFailure("none");
    }
  });

  it("answers 403 where the policy denies: a route rule the caller does not meet", async () => {
    const user = await issuer.mintAccessToken({ sub: "user-plain" });
    const denied = await get(`${offline.url}/hello/admin`, user);
    expect(denied.status).toBe(403);
    expect(denied.body.authorizer).toBeUndefined();
    expect((await get(`${offline.url}/hello`, user)).status).toBe(200);
    const admin = await issuer.mintAccessToken({ sub: "user-admin", claims: { [ROLES_CLAIM]: ["admin"] } });
    const allowed = await get(`${offline.url}/hello/admin`, admin);
    expect(allowed.status).toBe(200);
    expect(allowed.body.authorizer).toMatchObject({ userId: "user-admin", userRoles: "admin" });
  });

  it("answers 403 on a route whose rule lists other clients (clientIds), 200 for a listed one", async () => {
    const listed = await issuer.mintAccessToken({ sub: "user-client", claims: { client_id: "dev-client" } });
    const allowed = await get(`${offline.url}/hello/second`, listed);
    expect(allowed.status).toBe(200);
    expect(allowed.body.authorizer).toMatchObject({ userId: "user-client" });
    const other = await issuer.mintAccessToken({ sub: "user-client", claims: { client_id: "other-client" } });
    const without = await issuer.mintAccessToken({ sub: "user-client", claims: { client_id: undefined } });
    for (const [name, token] of [
      ["other client", other],
      ["no client_id", without],
    ] as const) {
      const denied = await get(`${offline.url}/hello/second`, token);
      expect(denied.status, name).toBe(403);
      expect(denied.body.authorizer, name).toBeUndefined();
      // The token is valid: the routes without that rule let it through.
      expect((await get(`${offline.url}/hello`, token)).status, name).toBe(200);
    }
    // And the policy API Gateway would cache for the other client's token after GET /hello.
    const { result } = await invoke(offline, "authorizer", restRequestEvent("GET", "/hello", other));
    const { policyDocument } = result as { policyDocument: { Statement: PolicyStatement[] } };
    const arn = (methodAndPath: string): string =>
      `arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/${methodAndPath}`;
    expect(policyAllows(policyDocument, arn("GET/hello"))).toBe(true);
    expect(policyAllows(policyDocument, arn("GET/hello/second"))).toBe(false);
  });
});

describe("serverless offline: REST API, TOKEN authorizer", () => {
  it("lets a valid token through with the identity, and refuses a bad or missing one with 401", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-token" });
    const ok = await get(`${offline.url}/hello/token`, token);
    expect(ok.status).toBe(200);
    expect(ok.body.authorizer).toMatchObject({ principalId: "user-token", userId: "user-token", sessionValid: "true" });
    expect((await get(`${offline.url}/hello/token`, `${token}x`)).status).toBe(401);
    expect((await get(`${offline.url}/hello/token`)).status).toBe(401);
  });
});

describe("serverless offline: HTTP API, payload 2.0 authorizer with IAM policy answers", () => {
  it("lets a valid token through with the identity under requestContext.authorizer.lambda", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-http-api" });
    const { status, body } = await get(`${offline.url}/api/hello`, token);
    expect(status).toBe(200);
    expect(body.authorizer?.lambda).toEqual(
      userAuthorizerContext("user-http-api", {
        sessionAmr: "pwd",
        sessionAuthenticatedAt: expect.stringMatching(/^\d+$/) as unknown,
        edgeKind: "user",
        edgeIssuer: issuer.origin,
      }),
    );
  });

  it("answers 401 without a token and with a bad one", async () => {
    expect((await get(`${offline.url}/api/hello`)).status).toBe(401);
    expect((await get(`${offline.url}/api/hello`, "not-a-jwt")).status).toBe(401);
  });

  it("answers with the stage-wide policy, carrying the route rules, that API Gateway caches", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-http-iam" });
    const answer = await policyAnswer(httpApiEvent("/api/hello", token));
    expect(answer.principalId).toBe("user-http-iam");
    expect(answer.context).toMatchObject({ userId: "user-http-iam" });
    const arn = (methodAndPath: string): string =>
      `arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/${methodAndPath}`;
    expect(policyAllows(answer.policyDocument, arn("GET/api/hello"))).toBe(true);
    expect(policyAllows(answer.policyDocument, arn("GET/hello/admin"))).toBe(false);
  });
});

describe("serverless offline: key set unreachable", () => {
  it("never lets a request through; the authorizer fails with Service Unavailable (API Gateway: 503)", async () => {
    const token = await downIssuer.mintAccessToken({ sub: "user-down" });
    for (const path of ["/hello", "/hello/token", "/api/hello"]) {
      const { status, body } = await get(`${downOffline.url}${path}`, token);
      // serverless-offline answers every authorizer error with 401 (it has no gateway responses);
      // API Gateway answers AUTHORIZER_FAILURE, which serverless.yml maps to 503 (checked below).
      expect(status, path).toBe(401);
      expect(body.authorizer).toBeUndefined();
    }
    expect(downIssuer.hits.discovery).toBeGreaterThan(0);
    await expect
      .poll(() => downOffline.output(), { timeout: 5000 })
      .toContain('"event":"authorizer_failed","code":"ERR_KEYSET_UNAVAILABLE"');
    expect(await invoke(downOffline, "authorizer", restRequestEvent("GET", "/hello", token))).toEqual({
      error: "Service Unavailable",
    });
  });
});

describe("serverless offline: a configuration the authorizer refuses", () => {
  it("fails every request, never lets one through, and logs config_invalid once per container, naming HTTP_API_RESPONSE", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-refused", claims: { [ROLES_CLAIM]: ["admin"] } });
    // One after another, so serverless-offline reuses one warm container of the `authorizer` function.
    for (const path of ["/hello", "/hello/second", "/hello/admin", "/api/hello"]) {
      const { status, body } = await get(`${refusedOffline.url}${path}`, token);
      // serverless-offline's answer to any authorizer error; API Gateway: AUTHORIZER_FAILURE, 503.
      expect(status, path).toBe(401);
      expect(body.authorizer, path).toBeUndefined();
    }
    expect(await invoke(refusedOffline, "authorizer", restRequestEvent("GET", "/hello", token))).toEqual({
      error: "Service Unavailable",
    });
    await expect
      .poll(() => refusedOffline.output(), { timeout: 5000 })
      .toContain('"event":"authorizer_failed","code":"ERR_CONFIG_INVALID"');
    expect(configInvalidLines(refusedOffline.output())).toEqual([
      expect.objectContaining({ event: "config_invalid", keys: "HTTP_API_RESPONSE" }),
    ]);

    // The TOKEN authorizer is another function, so another container: its own line, once.
    expect((await get(`${refusedOffline.url}/hello/token`, token)).status).toBe(401);
    await expect.poll(() => configInvalidLines(refusedOffline.output()).length, { timeout: 5000 }).toBe(2);
    expect((await get(`${refusedOffline.url}/hello/token`, token)).status).toBe(401);
    expect(configInvalidLines(refusedOffline.output())).toEqual([
      expect.objectContaining({ keys: "HTTP_API_RESPONSE" }),
      expect.objectContaining({ keys: "HTTP_API_RESPONSE" }),
    ]);
  });
});
