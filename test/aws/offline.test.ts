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
 *   serverless.yml maps AUTHORIZER_FAILURE to. The 503 test checks the authorizer's failure (never
 *   an allow) and the packaged CloudFormation template's mapping;
 * - it builds method ARNs with a fake account and API id, and adds `claims`/`scopes` to
 *   `requestContext.authorizer`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer } from "../../dev/issuer.ts";
import type { DevIssuer } from "../../dev/issuer.ts";
import { invoke, PROJECT_ROOT, SERVERLESS, serverlessEnv, startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";

/** The example API's settings: one route rule, so a caller without the admin role meets a Deny. */
function offlineEnv(issuer: DevIssuer): Record<string, string> {
  return { AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: JSON.stringify([{ path: "/hello/admin", roles: ["admin"] }]) };
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


/** A REST REQUEST authorizer event shaped like API Gateway's documented example, with a real-looking ARN. */
function restRequestEvent(method: string, path: string, token: string): Record<string, unknown> {
  const authorization = `Bearer ${token}`;
  return {
    type: "REQUEST",
    methodArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/${method}${path}`,
    resource: path,
    path,
    httpMethod: method,
    headers: { Authorization: authorization, Host: "abcdef1234.execute-api.us-east-1.amazonaws.com" },
    multiValueHeaders: { Authorization: [authorization], Host: ["abcdef1234.execute-api.us-east-1.amazonaws.com"] },
    queryStringParameters: {},
    multiValueQueryStringParameters: {},
    pathParameters: {},
    stageVariables: {},
    requestContext: {
      path: `/dev${path}`,
      accountId: "123456789012",
      resourceId: "abc123",
      stage: "dev",
      requestId: "00000000-0000-4000-8000-000000000000",
      identity: { sourceIp: "203.0.113.7", userAgent: "vitest" },
      resourcePath: path,
      httpMethod: method,
      apiId: "abcdef1234",
    },
  };
}

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

/** IAM evaluation as API Gateway applies a (cached) policy: an explicit Deny wins, else an Allow must match. */
function policyAllows(policy: { Statement: PolicyStatement[] }, methodArn: string): boolean {
  const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
  const glob = (pattern: string): RegExp =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`);
  const matching = policy.Statement.filter(
    (statement) =>
      list(statement.Action).some((action) => glob(action).test("execute-api:Invoke")) &&
      list(statement.Resource).some((resource) => glob(resource).test(methodArn)),
  );
  return !matching.some((statement) => statement.Effect === "Deny") && matching.some((statement) => statement.Effect === "Allow");
}

let issuer: DevIssuer;
let offline: Offline;
let downIssuer: DevIssuer;
let downOffline: Offline;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const started = async <T,>(start: Promise<T>, stop: (value: T) => Promise<void>): Promise<T> => {
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
  [offline, downOffline] = await Promise.all([
    started(startOffline(offlineEnv(issuer)), (o) => o.stop()),
    started(startOffline(offlineEnv(downIssuer)), (o) => o.stop()),
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
    });
  });

  it("answers 401 without a token, without calling the authorizer", async () => {
    const before = offline.output().length;
    const { status, body } = await get(`${offline.url}/hello`);
    expect(status).toBe(401);
    expect(body.authorizer).toBeUndefined();
    // API Gateway's own check: the identity source (Authorization) is missing.
    await expect.poll(() => offline.output().slice(before), { timeout: 5000 }).toContain("Identity Source is null for header authorization");
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
      await expect.poll(() => offline.output(), { timeout: 5000 }).toContain(`"event":"request_refused","code":"${code}"`);
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
    const { result, error } = await invoke(offline, "authorizer", restRequestEvent("GET", "/hello", token));
    expect(error).toBeUndefined();
    const cached = result as { principalId: string; policyDocument: { Statement: PolicyStatement[] }; context: Record<string, unknown> };
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

describe("serverless offline: HTTP API, payload 2.0 authorizer with simple responses", () => {
  it("lets a valid token through with the identity under requestContext.authorizer.lambda", async () => {
    const token = await issuer.mintAccessToken({ sub: "user-http-api" });
    const { status, body } = await get(`${offline.url}/api/hello`, token);
    expect(status).toBe(200);
    expect(body.authorizer?.lambda).toEqual({
      sessionValid: "true",
      userId: "user-http-api",
      userAnonymous: "false",
      userVerified: "true",
      userCanReauthenticate: "true",
      sessionAmr: "pwd",
      sessionAuthenticatedAt: expect.stringMatching(/^\d+$/) as unknown,
    });
  });

  it("answers 401 without a token and with a bad one", async () => {
    expect((await get(`${offline.url}/api/hello`)).status).toBe(401);
    expect((await get(`${offline.url}/api/hello`, "not-a-jwt")).status).toBe(401);
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
    await expect.poll(() => downOffline.output(), { timeout: 5000 }).toContain('"event":"authorizer_failed","code":"ERR_KEYSET_UNAVAILABLE"');
    expect(await invoke(downOffline, "authorizer", restRequestEvent("GET", "/hello", token))).toEqual({ error: "Service Unavailable" });
  });
});

describe("serverless package", () => {
  const run = promisify(execFile);
  let dir: string;
  let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "authgear-edge-sls-"));
    await run(process.execPath, [SERVERLESS, "package", "--package", dir], {
      cwd: PROJECT_ROOT,
      env: serverlessEnv({ AUTHGEAR_ENDPOINT: "https://example.authgear.cloud" }),
      timeout: 30_000,
    });
    resources = (JSON.parse(await readFile(join(dir, "cloudformation-template-update-stack.json"), "utf8")) as { Resources: typeof resources })
      .Resources;
  }, 35_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function gatewayResponse(type: string): Record<string, unknown> | undefined {
    return Object.values(resources).find((r) => r.Type === "AWS::ApiGateway::GatewayResponse" && r.Properties.ResponseType === type)?.Properties;
  }

  it("maps authorizer failures to 503 with Retry-After, and 401 to a Bearer challenge", () => {
    for (const type of ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"]) {
      expect(gatewayResponse(type), type).toMatchObject({ StatusCode: "503", ResponseParameters: { "gatewayresponse.header.Retry-After": "'5'" } });
    }
    expect(gatewayResponse("UNAUTHORIZED")).toMatchObject({
      StatusCode: "401",
      ResponseParameters: { "gatewayresponse.header.WWW-Authenticate": `'Bearer realm="https://example.authgear.cloud"'` },
    });
    expect(gatewayResponse("ACCESS_DENIED")).toMatchObject({ StatusCode: "403" });
  });

  it("deploys the bundle on nodejs22.x with the configuration, and caches results per Authorization header", () => {
    const fn = resources.AuthorizerLambdaFunction?.Properties;
    expect(fn).toMatchObject({
      Handler: "dist/lambda/authorizer.handler",
      Runtime: "nodejs22.x",
      Environment: { Variables: { AUTHGEAR_ENDPOINT: "https://example.authgear.cloud", HTTP_API_RESPONSE: "simple" } },
    });
    expect(resources.AuthorizerApiGatewayAuthorizer?.Properties).toMatchObject({
      Type: "REQUEST",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(resources.TokenAuthorizerApiGatewayAuthorizer?.Properties).toMatchObject({ Type: "TOKEN", AuthorizerResultTtlInSeconds: 300 });
    expect(resources.HttpApiAuthorizerAuthgearHttpApi?.Properties).toMatchObject({
      AuthorizerType: "REQUEST",
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: "2.0",
      IdentitySource: ["$request.header.Authorization"],
    });
  });

  it("packages only the bundle for the authorizer", async () => {
    // The entry names, from the zip's end-of-central-directory record and central directory.
    const zip = await readFile(join(dir, "authorizer.zip"));
    const end = zip.lastIndexOf("PK\x05\x06");
    const names: string[] = [];
    for (let entry = 0, at = zip.readUInt32LE(end + 16); entry < zip.readUInt16LE(end + 10); entry++) {
      const [nameLength, extraLength, commentLength] = [zip.readUInt16LE(at + 28), zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32)];
      names.push(zip.subarray(at + 46, at + 46 + nameLength).toString("utf8"));
      at += 46 + nameLength + extraLength + commentLength;
    }
    expect(names).toEqual(["dist/lambda/authorizer.mjs"]);
  });
});
