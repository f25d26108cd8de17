/**
 * The Lambda authorizer in resolver mode end to end: `dist/lambda/authorizer.mjs` (built by the
 * global setup) under serverless-offline with serverless.yml's example API, AUTH_MODE=resolver and
 * RESOLVER_CACHE_SECONDS=0, against the dev issuer's resolver endpoint on loopback; with
 * HTTP_API_RESPONSE=simple (serverless.yml's default is iam, which offline.test.ts covers) and one
 * public path.
 *
 * What reaches the authorizer over HTTP: in resolver mode serverless.yml turns the authorizer cache
 * off (AUTHORIZER_CACHE_SECONDS=0; given here explicitly, as a string from the environment, as a
 * user would) and with it the identity sources of the REST REQUEST and HTTP API authorizers, so
 * every request reaches them: with a session cookie alone, with a bearer token, or with nothing on
 * a public path. The TOKEN authorizer keeps its one identity source, `Authorization`: without that
 * header the gateway (and serverless-offline) answers 401 before it runs. Most tests present the
 * session as an opaque bearer token (`session.opaqueAccessToken`), which the resolver judges like a
 * cookie, so that all three authorizers see it; the cookies themselves are tested over HTTP and by
 * invoking the authorizer with API Gateway-shaped events (REST REQUEST `headers`, HTTP API 2.0
 * `cookies`) through serverless-offline's Lambda API.
 *
 * serverless-offline answers every authorizer error with 401 (it has no gateway responses), so a
 * resolver failure shows as "never 200" plus the authorizer's `authorizer_failed` log line and its
 * thrown "Service Unavailable" (which API Gateway turns into AUTHORIZER_FAILURE, 503 here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolverFailureMode } from "../../dev/issuer.ts";
import { invoke, startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";
import { FAILING_RESOLVER_MODES, useDevIssuer } from "../helpers.ts";
import { userAuthorizerContext } from "../fixtures/identities.ts";
import { offlineHttpApiEvent, offlineRestEvent } from "./fixtures.ts";

interface Answer {
  readonly status: number;
  readonly body: { authorizer?: Record<string, unknown> } & Record<string, unknown>;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A route of the example API served without authentication. */
const PUBLIC_PATH = "/hello/second";

/** A REST REQUEST authorizer event of serverless offline's API for `GET <path>`. */
function restRequestEvent(path: string, headers: Record<string, string>): Record<string, unknown> {
  return offlineRestEvent("GET", path, headers);
}

/** An HTTP API payload 2.0 authorizer event: cookies arrive as an array, not in `headers`. */
function httpApiEvent(path: string, cookies: string[], headers: Record<string, string> = {}): Record<string, unknown> {
  return offlineHttpApiEvent(path, { cookies, headers });
}

/** The log lines printed since `from` (an offset into the output). */
async function logsSince(from: number, contains: string): Promise<string> {
  await expect.poll(() => offline.output().slice(from), { timeout: 5000 }).toContain(contains);
  return offline.output().slice(from);
}

const issuer = useDevIssuer(undefined, { restoreEachTest: true });
let offline: Offline;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  offline = await startOffline({
    AUTHGEAR_ENDPOINT: issuer.origin,
    AUTH_MODE: "resolver",
    RESOLVER_CACHE_SECONDS: "0",
    AUTHORIZER_CACHE_SECONDS: "0",
    HTTP_API_RESPONSE: "simple",
    PUBLIC_PATHS: PUBLIC_PATH,
  });
  stops.push(() => offline.stop());
}, STARTUP_MS + 10_000);

afterAll(async () => {
  // serverless-offline first, then the issuer it talks to.
  for (const stop of stops.reverse()) await stop();
});

describe("serverless offline, AUTH_MODE=resolver: the resolver's verdicts", () => {
  it("lets a valid session through on every route, with the resolver's identity in requestContext.authorizer", async () => {
    issuer.upsertUser("rest-user", { roles: ["admin", "editor"] });
    const session = issuer.createSession("rest-user", { amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    const hits = issuer.resolverHits;
    const identity = userAuthorizerContext("rest-user", {
      userRoles: "admin,editor",
      sessionAmr: "pwd otp",
      sessionAuthenticatedAt: "1700000000",
      edgeKind: "user",
      edgeIssuer: issuer.origin,
    });
    for (const path of ["/hello", "/hello/token"]) {
      const { status, body } = await get(`${offline.url}${path}`, bearer(session.opaqueAccessToken));
      expect(status, path).toBe(200);
      expect(body.authorizer, path).toMatchObject({ principalId: "rest-user", ...identity });
    }
    const { status, body } = await get(`${offline.url}/api/hello`, bearer(session.opaqueAccessToken));
    expect(status).toBe(200);
    expect(body.authorizer?.lambda).toEqual(identity);
    // RESOLVER_CACHE_SECONDS=0: one resolver call per request.
    expect(issuer.resolverHits - hits).toBe(3);
  });

  it("refuses an invalid token with 401 on every route, and logs why without the token", async () => {
    const before = offline.output().length;
    for (const path of ["/hello", "/hello/token", "/api/hello"]) {
      const { status, body } = await get(`${offline.url}${path}`, bearer("bogus-opaque-token"));
      expect(status, path).toBe(401);
      expect(body.authorizer).toBeUndefined();
    }
    const output = await logsSince(before, '"event":"request_refused","code":"ERR_SESSION_INVALID"');
    expect(output).not.toContain("bogus-opaque-token");
  });

  it("sends a JWT to the resolver too: refused with 401 once its session is logged out", async () => {
    const session = issuer.createSession("jwt-user");
    const jwt = await issuer.mintAccessToken({ sessionId: session.id });
    expect((await get(`${offline.url}/hello`, bearer(jwt))).status).toBe(200);
    expect((await get(`${offline.url}/hello`, bearer(session.opaqueAccessToken))).status).toBe(200);
    issuer.logout(session.id);
    // The next request, on every route (no authorizer cache offline, RESOLVER_CACHE_SECONDS=0).
    for (const path of ["/hello", "/hello/token", "/api/hello"]) {
      expect((await get(`${offline.url}${path}`, bearer(jwt))).status, path).toBe(401);
      expect((await get(`${offline.url}${path}`, bearer(session.opaqueAccessToken))).status, path).toBe(401);
    }
  });

  it("refuses a disabled user's session on the next request", async () => {
    const session = issuer.createSession("disabled-user");
    expect((await get(`${offline.url}/hello`, bearer(session.opaqueAccessToken))).status).toBe(200);
    issuer.disableUser("disabled-user");
    expect((await get(`${offline.url}/hello`, bearer(session.opaqueAccessToken))).status).toBe(401);
  });

  it("answers 401 when the resolver gives no verdict header", async () => {
    const session = issuer.createSession("no-verdict");
    issuer.setResolverFailure("no-headers");
    const before = offline.output().length;
    expect((await get(`${offline.url}/hello`, bearer(session.opaqueAccessToken))).status).toBe(401);
    await logsSince(before, '"event":"request_refused","code":"ERR_CREDENTIALS_MISSING"');
  });
});

describe("serverless offline, AUTH_MODE=resolver: session cookies", () => {
  it("reaches the REQUEST and HTTP API authorizers with a cookie alone: caching off, no identity source", async () => {
    issuer.upsertUser("cookie-only", { roles: ["staff"] });
    const session = issuer.createSession("cookie-only");
    const cookie = { cookie: `theme=dark; session=${session.cookie}` };
    const hits = issuer.resolverHits;
    const rest = await get(`${offline.url}/hello`, cookie);
    expect(rest.status).toBe(200);
    expect(rest.body.authorizer).toMatchObject({
      principalId: "cookie-only",
      userId: "cookie-only",
      userRoles: "staff",
      sessionValid: "true",
    });
    const v2 = await get(`${offline.url}/api/hello`, cookie);
    expect(v2.status).toBe(200);
    expect(v2.body.authorizer?.lambda).toMatchObject({
      userId: "cookie-only",
      userRoles: "staff",
      sessionValid: "true",
    });
    expect(issuer.resolverHits - hits).toBe(2);
    // Logged out: refused on the next request, on both.
    issuer.logout(session.id);
    expect((await get(`${offline.url}/hello`, cookie)).status).toBe(401);
    expect((await get(`${offline.url}/api/hello`, cookie)).status).toBe(401);
  });

  it("cannot reach the TOKEN authorizer with a cookie alone: its identity source is Authorization", async () => {
    const session = issuer.createSession("cookie-token-route");
    const hits = issuer.resolverHits;
    const before = offline.output().length;
    const { status, body } = await get(`${offline.url}/hello/token`, { cookie: `session=${session.cookie}` });
    expect(status).toBe(401);
    expect(body.authorizer).toBeUndefined();
    await logsSince(before, "Identity Source is null for header authorization (λ: tokenAuthorizer)");
    // Refused by the gateway: the resolver was never asked.
    expect(issuer.resolverHits).toBe(hits);
  });

  it("answers each request on its own: a cookie's policy allows exactly its methodArn", async () => {
    const session = issuer.createSession("cookie-policy");
    const { result, error } = await invoke(
      offline,
      "authorizer",
      restRequestEvent("/hello", { Cookie: `session=${session.cookie}` }),
    );
    expect(error).toBeUndefined();
    const { policyDocument } = result as {
      policyDocument: { Statement: Array<{ Effect: string; Resource: string | string[] }> };
    };
    // Not the stage (`dev/*`): with caching off nothing reuses the answer, so it names this request alone.
    expect(policyDocument.Statement.map((statement) => statement.Effect)).toEqual(["Allow"]);
    expect(policyDocument.Statement.flatMap((statement) => statement.Resource)).toEqual([
      "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/hello",
    ]);
  });

  it("reads the session cookie from a REST REQUEST event and from an HTTP API 2.0 event's cookies", async () => {
    issuer.upsertUser("cookie-user", { roles: ["staff"] });
    const session = issuer.createSession("cookie-user");
    const rest = await invoke(
      offline,
      "authorizer",
      restRequestEvent("/hello", { Cookie: `theme=dark; session=${session.cookie}` }),
    );
    expect(rest.error).toBeUndefined();
    expect(rest.result).toMatchObject({
      principalId: "cookie-user",
      context: { userId: "cookie-user", userRoles: "staff", sessionValid: "true" },
    });
    const v2 = await invoke(
      offline,
      "authorizer",
      httpApiEvent("/api/hello", ["theme=dark", `app_session=${session.appSession}`]),
    );
    expect(v2).toEqual({
      result: {
        isAuthorized: true,
        context: expect.objectContaining({ userId: "cookie-user", userRoles: "staff" }) as unknown,
      },
    });
    // An invalid cookie, and the same cookies after a logout: Unauthorized (401).
    expect(await invoke(offline, "authorizer", restRequestEvent("/hello", { Cookie: "session=bogus" }))).toEqual({
      error: "Unauthorized",
    });
    issuer.logout(session.id);
    expect(
      await invoke(offline, "authorizer", restRequestEvent("/hello", { Cookie: `session=${session.cookie}` })),
    ).toEqual({ error: "Unauthorized" });
    expect(
      await invoke(offline, "authorizer", httpApiEvent("/api/hello", [`app_session=${session.appSession}`])),
    ).toEqual({ error: "Unauthorized" });
  });
});

describe("serverless offline, AUTH_MODE=resolver: a public path", () => {
  it("reaches the authorizer without any credentials, which lets it through anonymously", async () => {
    const hits = issuer.resolverHits;
    const { status, body } = await get(`${offline.url}${PUBLIC_PATH}`);
    expect(status).toBe(200);
    expect(body.authorizer).toMatchObject({ principalId: "anonymous" });
    expect(body.authorizer).not.toHaveProperty("userId");
    // Nothing to resolve.
    expect(issuer.resolverHits).toBe(hits);
    // The protected routes still want a credential.
    expect((await get(`${offline.url}/hello`)).status).toBe(401);
    expect((await get(`${offline.url}/api/hello`)).status).toBe(401);
  });
});

describe("serverless offline, AUTH_MODE=resolver: the resolver failing", () => {
  // `hang` waits out RESOLVER_TIMEOUT_MS, which serverless.yml does not pass to the Lambda: the
  // default 3000 ms applies.
  const FAILURES: readonly ResolverFailureMode[] = FAILING_RESOLVER_MODES;

  it.each(FAILURES)(
    "never lets a request through when the resolver gives %s: the authorizer fails (API Gateway: 503)",
    async (mode) => {
      const session = issuer.createSession(`failing-${mode}`);
      issuer.setResolverFailure(mode);
      const [hits, redirected] = [issuer.resolverHits, issuer.hits.redirected];
      const before = offline.output().length;
      const { status, body } = await get(`${offline.url}/hello`, bearer(session.opaqueAccessToken));
      expect(status).not.toBe(200);
      // serverless-offline's answer to any authorizer error.
      expect(status).toBe(401);
      expect(body.authorizer).toBeUndefined();
      expect(issuer.resolverHits - hits).toBe(1);
      expect(issuer.hits.redirected).toBe(redirected);
      const output = await logsSince(before, "ERR_RESOLVER_UNAVAILABLE");
      // A resolver outage is the authorizer failing (AUTHORIZER_FAILURE, 503 + Retry-After in API
      // Gateway), not the caller being unauthenticated (401, which tells a client to log in again).
      expect(output).toContain('"event":"authorizer_failed","code":"ERR_RESOLVER_UNAVAILABLE"');
      expect(output).not.toContain(session.opaqueAccessToken);
    },
    10_000,
  );

  it("throws Service Unavailable, never Unauthorized or an Allow, for every event kind", async () => {
    const session = issuer.createSession("failing-invoke");
    issuer.setResolverFailure("http500");
    const token = `Bearer ${session.opaqueAccessToken}`;
    const events: Array<[string, unknown]> = [
      ["authorizer", restRequestEvent("/hello", { Authorization: token })],
      ["authorizer", restRequestEvent("/hello", { Cookie: `session=${session.cookie}` })],
      ["authorizer", httpApiEvent("/api/hello", [`session=${session.cookie}`])],
      ["authorizer", httpApiEvent("/api/hello", [], { authorization: token })],
      [
        "tokenAuthorizer",
        {
          type: "TOKEN",
          authorizationToken: token,
          methodArn: "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/GET/hello/token",
        },
      ],
    ];
    const answers = [];
    for (const [fn, event] of events) answers.push(await invoke(offline, fn, event));
    expect(answers).toEqual(events.map(() => ({ error: "Service Unavailable" })));
  });
});
