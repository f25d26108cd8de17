/** The Lambda authorizer per event kind and outcome, with the dev issuer on loopback. */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevIssuer } from "../../dev/issuer.ts";
import { createHandler, type AuthorizerResult } from "../../src/aws/create-handler.ts";
import { freshContainer } from "./container.ts";
import { httpApiEvent, METHOD_ARN, requestEvent, STAGE_WILDCARD, tokenEvent } from "./fixtures.ts";
import { evaluatePolicy, type PolicyDocument } from "./iam-evaluator.ts";
import { useDevIssuer } from "../helpers.ts";
import { userAuthorizerContext } from "../fixtures/identities.ts";

type Handler = (event: unknown, lambda?: { awsRequestId?: string }) => Promise<AuthorizerResult>;

const issuer = useDevIssuer();
let token: string;

beforeAll(async () => {
  token = await issuer.mintAccessToken({
    sub: "alice",
    claims: { "https://authgear.com/claims/user/roles": ["admin", "staff"] },
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh container: its configuration, key set and caches built anew from these settings (nothing else). */
function container(env: Record<string, string> = {}): Promise<Handler> {
  return Promise.resolve(freshContainer(issuer.origin, env));
}

function claims(jwt: string): { auth_time: number } {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { auth_time: number };
}

/** An issuer nothing listens for, and a token naming it (signed by the dev issuer, whose keys are never reached). */
const DOWN = "http://127.0.0.1:9";
const downToken = () => issuer.mintAccessToken({ sub: "alice", claims: { iss: DOWN, aud: [DOWN] } });

const ALICE_CONTEXT = () =>
  userAuthorizerContext("alice", {
    userRoles: "admin,staff",
    sessionAmr: "pwd",
    sessionAuthenticatedAt: String(claims(token).auth_time),
    edgeKind: "user",
    edgeIssuer: issuer.origin,
  });

describe("REST API TOKEN authorizer", () => {
  it("allows a valid token with a policy covering every route of the stage, field by field", async () => {
    const handler = await container();
    const result = await handler(tokenEvent(`Bearer ${token}`));
    expect(result).toEqual({
      principalId: "alice",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: [STAGE_WILDCARD] }],
      },
      context: ALICE_CONTEXT(),
    });
    for (const value of Object.values((result as { context: Record<string, unknown> }).context)) {
      expect(["string", "number", "boolean"]).toContain(typeof value);
    }
  });

  it.each([
    ["no scheme", () => token],
    ["another scheme", () => `Basic ${token}`],
    ["an expired token", () => issuer.mintAccessToken({ expiresIn: -5 }).then((t) => `Bearer ${t}`)],
    ["an ID token", () => issuer.mintIdToken().then((t) => `Bearer ${t}`)],
    ["garbage", () => "Bearer not-a-jwt"],
    ["an empty value", () => ""],
  ])("throws Unauthorized (401) for %s", async (_name, value) => {
    const handler = await container();
    await expect(handler(tokenEvent(await value()))).rejects.toThrow(/^Unauthorized$/);
  });
});

describe("the identity context", () => {
  it("is the same for a repeated token (built once) and byte-identical for another token of the same user", async () => {
    const handler = await container();
    const first = (await handler(tokenEvent(`Bearer ${token}`))) as { context: Record<string, string> };
    const again = (await handler(tokenEvent(`Bearer ${token}`))) as { context: Record<string, string> };
    expect(again.context).toBe(first.context);
    expect(JSON.stringify(first.context)).toBe(JSON.stringify(ALICE_CONTEXT()));
    const other = await issuer.mintAccessToken({
      sub: "alice",
      issuedAt: claims(token).auth_time,
      claims: { "https://authgear.com/claims/user/roles": ["admin", "staff"] },
    });
    const fresh = (await handler(tokenEvent(`Bearer ${other}`))) as { context: Record<string, string> };
    expect(fresh.context).not.toBe(first.context);
    expect(JSON.stringify(fresh.context)).toBe(JSON.stringify(first.context));
  });
});

describe("REST API REQUEST authorizer", () => {
  it("allows a valid Authorization header", async () => {
    const handler = await container();
    const result = await handler(requestEvent({ headers: { Authorization: `Bearer ${token}` } }));
    expect(result).toMatchObject({ principalId: "alice", context: ALICE_CONTEXT() });
    expect(
      (result as { policyDocument: { Statement: Array<{ Resource: string[] }> } }).policyDocument.Statement[0]
        ?.Resource,
    ).toEqual([STAGE_WILDCARD]);
  });

  it("reads the JWT cookie (with the authorizer cache off)", async () => {
    const handler = await container({ JWT_COOKIE_NAME: "at", AUTHORIZER_CACHE_SECONDS: "0" });
    const result = await handler(requestEvent({ headers: { Cookie: `theme=dark; at=${token}` } }));
    expect(result).toMatchObject({ principalId: "alice" });
  });

  it("refuses two Authorization headers (multi-value)", async () => {
    const handler = await container();
    const event = requestEvent({
      multiValueHeaders: { Authorization: [`Bearer ${token}`, `Bearer ${token}`] },
      headers: { Authorization: `Bearer ${token}` },
    });
    await expect(handler(event)).rejects.toThrow(/^Unauthorized$/);
  });

  it("refuses an anonymous request whose path holds an IAM wildcard while answers are cached, and allows it uncached", async () => {
    const cached = await container({ PUBLIC_PATHS: "/public/*", HTTP_API_RESPONSE: "iam" });
    for (const path of ["/public/*", "/public/a*b/c"]) {
      // A cached Allow on `.../GET/public/*` would open every path IAM matches with that `*`.
      await expect(
        cached(requestEvent({ path, headers: { Authorization: "Bearer bad.token.here" } })),
        path,
      ).rejects.toThrow(/^Unauthorized$/);
    }
    const uncached = await container({
      PUBLIC_PATHS: "/public/*",
      HTTP_API_RESPONSE: "iam",
      AUTHORIZER_CACHE_SECONDS: "0",
    });
    expect(await uncached(requestEvent({ path: "/public/*" }))).toMatchObject({
      principalId: "anonymous",
      policyDocument: {
        Statement: [
          { Effect: "Allow", Resource: ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/public/*"] },
        ],
      },
    });
  });

  it("refuses an anonymous request whose path holds `?` while answers are cached (it would match others)", async () => {
    // The refusals are logged here, not on the console: a path holding `?` (decoded by API Gateway
    // from `%3F`) reads to the suite's log scan as a query string.
    const refusals: string[] = [];
    const logger = {
      log: (event: string, fields: Record<string, unknown>) => refusals.push(`${event} ${String(fields.code)}`),
    };
    const env = { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/public/*", HTTP_API_RESPONSE: "iam" };
    const cached = createHandler({ env, logger });
    const uncached = createHandler({ env: { ...env, AUTHORIZER_CACHE_SECONDS: "0" }, logger });
    const stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
    for (const path of ["/public/?", "/public/a?c", "/public/??/x"]) {
      await expect(cached(requestEvent({ path })), path).rejects.toThrow(/^Unauthorized$/);
      const invalidToken = requestEvent({ path, headers: { Authorization: "Bearer bad.token.here" } });
      await expect(cached(invalidToken), path).rejects.toThrow(/^Unauthorized$/);
      // Uncached, the Allow is for this request alone, which is the only one it is applied to.
      const answer = (await uncached(requestEvent({ path }))) as unknown as { policyDocument: PolicyDocument };
      const { policyDocument } = answer;
      const allowThis = { Action: "execute-api:Invoke", Effect: "Allow", Resource: [`${stage}/GET${path}`] };
      expect(policyDocument.Statement, path).toEqual([allowThis]);
      // What a cached copy would have opened: IAM reads `?` as any one character.
      expect(evaluatePolicy(policyDocument, `${stage}/GET${path.replace(/\?/g, "z")}`, "segment"), path).toBe(true);
    }
    expect(refusals).toEqual(Array.from({ length: 6 }, () => "request_refused ERR_REQUEST_MALFORMED"));
  });

  it("lets a public path through anonymously, for exactly that method and path", async () => {
    const handler = await container({ PUBLIC_PATHS: "/public/*", HTTP_API_RESPONSE: "iam" });
    for (const headers of [{}, { Authorization: "Bearer bad.token.here" }]) {
      const result = await handler(requestEvent({ path: "/public/docs", headers }));
      expect(result).toEqual({
        principalId: "anonymous",
        policyDocument: {
          Version: "2012-10-17",
          Statement: [
            {
              Action: "execute-api:Invoke",
              Effect: "Allow",
              Resource: ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/public/docs"],
            },
          ],
        },
        context: {},
      });
    }
    const withToken = await handler(
      requestEvent({ path: "/public/docs", headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(withToken).toMatchObject({ principalId: "alice", context: ALICE_CONTEXT() });
    await expect(handler(requestEvent({ path: "/private" }))).rejects.toThrow(/^Unauthorized$/);
    await expect(handler(requestEvent({ path: "/publicity" }))).rejects.toThrow(/^Unauthorized$/);
    for (const path of ["/public/..%2fadmin", "/public/../admin", "/public/%2e%2e/admin", "/public;/x", "//public/x"]) {
      await expect(handler(requestEvent({ path })), path).rejects.toThrow(/^Unauthorized$/);
      expect(await handler(requestEvent({ path, headers: { Authorization: `Bearer ${token}` } }))).toMatchObject({
        principalId: "alice",
      });
    }
  });

  it("never turns an authenticated caller away for a decoded path", async () => {
    const handler = await container({ PUBLIC_PATHS: "/public/*", HTTP_API_RESPONSE: "iam" });
    expect(
      await handler(requestEvent({ path: "/files/my report é.pdf", headers: { Authorization: `Bearer ${token}` } })),
    ).toMatchObject({ principalId: "alice" });
  });
});

describe("HTTP API payload 2.0 authorizer", () => {
  it("answers a simple response by default", async () => {
    const handler = await container();
    expect(await handler(httpApiEvent({ headers: { authorization: `Bearer ${token}` } }))).toEqual({
      isAuthorized: true,
      context: ALICE_CONTEXT(),
    });
    await expect(handler(httpApiEvent())).rejects.toThrow(/^Unauthorized$/);
  });

  it("answers an IAM policy with HTTP_API_RESPONSE=iam", async () => {
    const handler = await container({ HTTP_API_RESPONSE: "iam" });
    const result = await handler(
      httpApiEvent({ headers: { authorization: `Bearer ${token}` }, stage: "prod", rawPath: "/prod/items" }),
    );
    expect(result).toEqual({
      principalId: "alice",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Action: "execute-api:Invoke",
            Effect: "Allow",
            Resource: ["arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*"],
          },
        ],
      },
      context: ALICE_CONTEXT(),
    });
  });

  it("reads cookies from the cookies array, and matches public paths without the stage", async () => {
    const handler = await container({
      JWT_COOKIE_NAME: "at",
      PUBLIC_PATHS: "/public/*",
      AUTHORIZER_CACHE_SECONDS: "0",
    });
    expect(await handler(httpApiEvent({ cookies: ["theme=dark", `at=${token}`] }))).toMatchObject({
      isAuthorized: true,
    });
    expect(await handler(httpApiEvent({ stage: "prod", rawPath: "/prod/public/x" }))).toEqual({
      isAuthorized: true,
      context: {},
    });
    await expect(handler(httpApiEvent({ stage: "prod", rawPath: "/public/x/../../admin" }))).rejects.toThrow(
      /^Unauthorized$/,
    );
  });
});

describe("route rules (ROUTES)", () => {
  const RULES = JSON.stringify([
    { path: "/admin/*", roles: ["admin"] },
    { path: "/reports", methods: ["GET"], scopes: ["reports:read"] },
    { path: "/account/delete", maxAuthAge: 900 },
    { path: "/partners/*", methods: ["POST"], clientIds: ["partner-app"] },
  ]);
  const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
  const every = (path: string) =>
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((method) => `${STAGE}/${method}/${path}`);
  type Policy = { policyDocument: { Statement: Array<{ Effect: string; Resource: string[] }> } };

  it("allows the whole stage and denies, in the same cached policy, every route whose rule the caller fails during the TTL", async () => {
    // Each rule on its own methods (METHOD_OVERRIDE=any's wider denials: test/aws/hardening.test.ts).
    const handler = await container({ ROUTES: RULES, HTTP_API_RESPONSE: "iam", METHOD_OVERRIDE: "none" });
    // Bob logged in 600 s ago: /account/delete (900 s) would outlive his login within the 300 s TTL.
    const bob = await issuer.mintAccessToken({ sub: "bob", issuedAt: Math.floor(Date.now() / 1000) - 600 });
    expect(await handler(tokenEvent(`Bearer ${bob}`))).toEqual({
      principalId: "bob",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [
          { Action: "execute-api:Invoke", Effect: "Allow", Resource: [`${STAGE}/*`] },
          {
            Action: "execute-api:Invoke",
            Effect: "Deny",
            Resource: [
              ...every("admin").flatMap((arn) => [arn, `${arn}/*`, `${arn}.*`]),
              ...["GET", "HEAD"].flatMap((method) => [
                `${STAGE}/${method}/reports`,
                `${STAGE}/${method}/reports/`,
                `${STAGE}/${method}/reports.*`,
              ]),
              ...every("account/delete").flatMap((arn) => [arn, `${arn}/`, `${arn}.*`]),
              `${STAGE}/POST/partners`,
              `${STAGE}/POST/partners/*`,
              `${STAGE}/POST/partners.*`,
            ],
          },
        ],
      },
      context: expect.objectContaining({ userId: "bob" }) as unknown,
    });
    // Alice is an admin who just logged in, without reports:read, from the dev client.
    const fresh = await issuer.mintAccessToken({
      sub: "alice",
      claims: { "https://authgear.com/claims/user/roles": ["admin"] },
    });
    const result = (await handler(
      requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${fresh}` } }),
    )) as Policy;
    expect(result.policyDocument.Statement).toEqual([
      { Action: "execute-api:Invoke", Effect: "Allow", Resource: [`${STAGE}/*`] },
      {
        Action: "execute-api:Invoke",
        Effect: "Deny",
        Resource: [
          ...["GET", "HEAD"].flatMap((method) => [
            `${STAGE}/${method}/reports`,
            `${STAGE}/${method}/reports/`,
            `${STAGE}/${method}/reports.*`,
          ]),
          `${STAGE}/POST/partners`,
          `${STAGE}/POST/partners/*`,
          `${STAGE}/POST/partners.*`,
        ],
      },
    ]);
  });

  it("answers a route the caller fails with a Deny (403), or Unauthorized (401) when the login is too old for the TTL", async () => {
    const handler = await container({ ROUTES: RULES, HTTP_API_RESPONSE: "iam" });
    const bob = await issuer.mintAccessToken({ sub: "bob", issuedAt: Math.floor(Date.now() / 1000) - 600 });
    const denied = (await handler(
      requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${bob}` } }),
    )) as Policy;
    expect(denied.policyDocument.Statement.find((statement) => statement.Effect === "Deny")?.Resource).toContain(
      `${STAGE}/GET/admin/*`,
    );
    // 600 s now, 901 s before a cached policy expires: more than the route's 900 s.
    await expect(
      handler(requestEvent({ path: "/account/delete", headers: { Authorization: `Bearer ${bob}` } })),
    ).rejects.toThrow(/^Unauthorized$/);
  });

  it("with the cache off, answers for the request alone: a login 600 s old still meets maxAuthAge 900", async () => {
    const handler = await container({ ROUTES: RULES, AUTHORIZER_CACHE_SECONDS: "0" });
    const bob = await issuer.mintAccessToken({ sub: "bob", issuedAt: Math.floor(Date.now() / 1000) - 600 });
    const arn = `${STAGE}/GET/account/delete`;
    expect(
      (
        (await handler(
          requestEvent({ path: "/account/delete", headers: { Authorization: `Bearer ${bob}` } }),
        )) as Policy
      ).policyDocument.Statement,
    ).toEqual([{ Action: "execute-api:Invoke", Effect: "Allow", Resource: [arn] }]);
    expect(
      ((await handler(requestEvent({ path: "/admin/x", headers: { Authorization: `Bearer ${bob}` } }))) as Policy)
        .policyDocument.Statement,
    ).toEqual([{ Action: "execute-api:Invoke", Effect: "Deny", Resource: [`${STAGE}/GET/admin/x`] }]);
    // Simple responses are safe without the cache: this route's verdict only.
    expect(
      await handler(httpApiEvent({ rawPath: "/admin/x", headers: { authorization: `Bearer ${bob}` } })),
    ).toMatchObject({ isAuthorized: false });
    expect(
      await handler(httpApiEvent({ rawPath: "/orders", headers: { authorization: `Bearer ${bob}` } })),
    ).toMatchObject({ isAuthorized: true });
  });

  it("decides on the ARN's method: a clientIds rule on POST denies only POST for another client", async () => {
    const handler = await container({ ROUTES: RULES, AUTHORIZER_CACHE_SECONDS: "0" });
    const other = await issuer.mintAccessToken({ sub: "carol" });
    const partner = await issuer.mintAccessToken({ sub: "dave", claims: { client_id: "partner-app" } });
    const post = (jwt: string) => ({
      ...requestEvent({ path: "/partners/orders", headers: { Authorization: `Bearer ${jwt}` } }),
      httpMethod: "POST",
      methodArn: `${STAGE}/POST/partners/orders`,
    });
    expect(((await handler(post(other))) as Policy).policyDocument.Statement[0]).toMatchObject({ Effect: "Deny" });
    expect(((await handler(post(partner))) as Policy).policyDocument.Statement[0]).toMatchObject({ Effect: "Allow" });
    expect(
      (
        (await handler(
          requestEvent({ path: "/partners/orders", headers: { Authorization: `Bearer ${other}` } }),
        )) as Policy
      ).policyDocument.Statement[0],
    ).toMatchObject({ Effect: "Allow" });
  });
});

describe("route rules with several roles and several scopes", () => {
  const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
  const rules = JSON.stringify([
    { path: "/staff/*", roles: ["admin", "staff"] },
    { path: "/orders/*", scopes: ["orders:read", "orders:write"] },
  ]);
  const mint = (sub: string, roles: string[], scope: string) =>
    issuer.mintAccessToken({ sub, claims: { "https://authgear.com/claims/user/roles": roles, scope } });

  it.each(["0", "300"])("allow any one of a rule's roles, and only all of its scopes (cache %s s)", async (ttl) => {
    const handler = await container({ ROUTES: rules, HTTP_API_RESPONSE: "iam", AUTHORIZER_CACHE_SECONDS: ttl });
    const allowed = async (path: string, jwt: string): Promise<boolean> => {
      const result = await handler(requestEvent({ path, headers: { Authorization: `Bearer ${jwt}` } }));
      const { policyDocument } = result as unknown as { policyDocument: PolicyDocument };
      return evaluatePolicy(policyDocument, `${STAGE}/GET${path}`, "segment");
    };
    expect(await allowed("/staff/1", await mint("ann", ["admin"], "openid"))).toBe(true);
    expect(await allowed("/staff/1", await mint("sam", ["staff"], "openid"))).toBe(true);
    expect(await allowed("/staff/1", await mint("nel", ["other"], "openid"))).toBe(false);
    expect(await allowed("/orders/1", await mint("rob", [], "openid orders:read orders:write"))).toBe(true);
    expect(await allowed("/orders/1", await mint("rea", [], "openid orders:read"))).toBe(false);
    expect(await allowed("/orders/1", await mint("wri", [], "orders:write"))).toBe(false);
  });
});

describe("hybrid mode (with the authorizer cache off)", () => {
  it("refuses a locally refused JWT beside a valid session cookie, in REQUEST and HTTP API events; the cookie alone is its user", async () => {
    const session = issuer.createSession("sara");
    const expired = await issuer.mintAccessToken({ sub: "mallory", expiresIn: -5 });
    const handler = await container({ AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "0" });
    const cookie = `theme=dark; session=${session.cookie}`;
    await expect(
      handler(requestEvent({ headers: { Authorization: `Bearer ${expired}`, Cookie: cookie } })),
    ).rejects.toThrow(/^Unauthorized$/);
    const cookies = ["theme=dark", `session=${session.cookie}`];
    await expect(handler(httpApiEvent({ headers: { authorization: `Bearer ${expired}` }, cookies }))).rejects.toThrow(
      /^Unauthorized$/,
    );
    const rest = await handler(requestEvent({ headers: { Cookie: cookie } }));
    expect(rest).toMatchObject({ principalId: "sara", context: { userId: "sara", sessionValid: "true" } });
    expect(await handler(httpApiEvent({ cookies }))).toMatchObject({ isAuthorized: true, context: { userId: "sara" } });
    await expect(handler(requestEvent({ headers: { Authorization: `Bearer ${expired}` } }))).rejects.toThrow(
      /^Unauthorized$/,
    );
    await expect(
      handler(requestEvent({ headers: { Authorization: `Bearer ${expired}`, Cookie: "session=bogus" } })),
    ).rejects.toThrow(/^Unauthorized$/);
  });

  it("keys its verdict cache with node:crypto's synchronous SHA-256, not WebCrypto's digest", async () => {
    const digest = vi.spyOn(crypto.subtle, "digest");
    const session = issuer.createSession("hana");
    const handler = await container({ AUTH_MODE: "resolver", AUTHORIZER_CACHE_SECONDS: "0" });
    const event = requestEvent({ headers: { Cookie: `session=${session.cookie}` } });
    const hits = issuer.resolverHits;
    expect(await handler(event)).toMatchObject({ principalId: "hana" });
    expect(await handler(event)).toMatchObject({ principalId: "hana" });
    expect(issuer.resolverHits - hits, "the second answer came from the verdict cache").toBe(1);
    expect(digest).not.toHaveBeenCalled();
  });

  it("reads the session cookie under RESOLVER_COOKIE_PREFIX, and not under its plain name", async () => {
    const prefixed = await startDevIssuer({ cookiePrefix: "myapp_" });
    try {
      const session = prefixed.createSession("tara");
      const expired = await prefixed.mintAccessToken({ sub: "mallory", expiresIn: -5 });
      const handler = await container({
        AUTHGEAR_ENDPOINT: prefixed.origin,
        AUTH_MODE: "hybrid",
        AUTHORIZER_CACHE_SECONDS: "0",
        RESOLVER_COOKIE_PREFIX: "myapp_",
      });
      expect(await handler(httpApiEvent({ cookies: [`myapp_session=${session.cookie}`] }))).toMatchObject({
        isAuthorized: true,
        context: { userId: "tara" },
      });
      expect(await handler(requestEvent({ headers: { Cookie: `myapp_session=${session.cookie}` } }))).toMatchObject({
        principalId: "tara",
      });
      const hits = prefixed.resolverHits;
      await expect(handler(httpApiEvent({ cookies: [`session=${session.cookie}`] }))).rejects.toThrow(/^Unauthorized$/);
      await expect(
        handler(requestEvent({ headers: { Authorization: `Bearer ${expired}`, Cookie: `session=${session.cookie}` } })),
      ).rejects.toThrow(/^Unauthorized$/);
      expect(prefixed.resolverHits).toBe(hits);
    } finally {
      await prefixed.close();
    }
  });
});

describe("settings API Gateway's cache cannot carry out are refused at start-up", () => {
  it.each([
    [
      "ROUTES with simple responses",
      "HTTP_API_RESPONSE",
      { ROUTES: JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]) },
    ],
    ["PUBLIC_PATHS with simple responses", "HTTP_API_RESPONSE", { PUBLIC_PATHS: "/public/*" }],
    ["a JWT cookie", "AUTHORIZER_CACHE_SECONDS", { JWT_COOKIE_NAME: "at" }],
    ["resolver mode (session cookies)", "AUTHORIZER_CACHE_SECONDS", { AUTH_MODE: "resolver" }],
    ["hybrid mode (session cookies)", "AUTHORIZER_CACHE_SECONDS", { AUTH_MODE: "hybrid" }],
    [
      "a public path inside a rule",
      "PUBLIC_PATHS",
      { HTTP_API_RESPONSE: "iam", PUBLIC_PATHS: "/healthz", ROUTES: JSON.stringify([{ path: "/*", verified: true }]) },
    ],
    [
      "a rule inside a public path",
      "PUBLIC_PATHS",
      {
        HTTP_API_RESPONSE: "iam",
        PUBLIC_PATHS: "/docs/*",
        ROUTES: JSON.stringify([{ path: "/docs/internal", roles: ["staff"] }]),
      },
    ],
    [
      "a maxAuthAge shorter than the TTL",
      "ROUTES",
      { HTTP_API_RESPONSE: "iam", ROUTES: JSON.stringify([{ path: "/account/*", maxAuthAge: 300 }]) },
    ],
    ["report-only", "REPORT_ONLY", { HTTP_API_RESPONSE: "iam", REPORT_ONLY: "true" }],
  ])("%s, with AUTHORIZER_CACHE_SECONDS=300: every event fails, the log names %s once", async (_name, key, env) => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const handler = await container(env);
    await expect(handler(tokenEvent(`Bearer ${token}`))).rejects.toThrow(/^Service Unavailable$/);
    await expect(handler(httpApiEvent({ headers: { authorization: `Bearer ${token}` } }))).rejects.toThrow(
      /^Service Unavailable$/,
    );
    const lines = log.mock.calls.map(
      ([line]) => JSON.parse(String(line)) as { event: string; keys?: string; message?: string },
    );
    const invalid = lines.filter((line) => line.event === "config_invalid");
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.keys).toBe(key);
    expect(invalid[0]?.message).toMatch(/AUTHORIZER_CACHE_SECONDS=0|lower AUTHORIZER_CACHE_SECONDS/);
  });

  it.each([
    ["ROUTES with simple responses", { ROUTES: JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]) }],
    ["a JWT cookie", { JWT_COOKIE_NAME: "at" }],
    [
      "a public path inside a rule",
      { PUBLIC_PATHS: "/healthz", ROUTES: JSON.stringify([{ path: "/*", verified: true }]) },
    ],
    ["a maxAuthAge of 60 s", { ROUTES: JSON.stringify([{ path: "/account/*", maxAuthAge: 60 }]) }],
  ])("%s is fine with the cache off", async (_name, env) => {
    const handler = await container({ ...env, AUTHORIZER_CACHE_SECONDS: "0" });
    expect(await handler(tokenEvent(`Bearer ${token}`))).toMatchObject({ principalId: "alice" });
  });

  it("accepts a maxAuthAge of exactly the TTL plus one second", async () => {
    const handler = await container({
      HTTP_API_RESPONSE: "iam",
      ROUTES: JSON.stringify([{ path: "/account/*", maxAuthAge: 301 }]),
    });
    expect(await handler(tokenEvent(`Bearer ${token}`))).toMatchObject({ principalId: "alice" });
  });
});

describe("REPORT_ONLY=true (with the cache off): decided as when enforcing, logged, and allowed", () => {
  const ROUTES = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);
  const reportOnly = (code: string, arn = METHOD_ARN) => ({
    principalId: "report-only",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: [arn] }],
    },
    context: { authgearEdgeReport: code },
  });

  it("allows exactly the request's ARN with the would-be code and no identity, and logs would_refuse", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const handler = await container({ REPORT_ONLY: "true", AUTHORIZER_CACHE_SECONDS: "0", ROUTES });
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    const staff = await issuer.mintAccessToken({
      sub: "bob",
      claims: { "https://authgear.com/claims/user/roles": ["staff"] },
    });
    expect(await handler(tokenEvent("Basic dXNlcjpwYXNz"))).toEqual(reportOnly("ERR_CREDENTIALS_MISSING"));
    expect(await handler(tokenEvent(`Bearer ${expired}`))).toEqual(reportOnly("ERR_JWT_EXPIRED"));
    const admin = requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${staff}` } });
    expect(await handler(admin)).toEqual(reportOnly("ERR_INSUFFICIENT_SCOPE", admin.methodArn));
    const allowed = await handler(
      requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(allowed).toMatchObject({ principalId: "alice", context: ALICE_CONTEXT() });
    expect(JSON.stringify(allowed)).not.toContain("authgearEdgeReport");
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as { event: string; code?: string });
    expect(lines.filter((line) => line.event === "would_refuse").map((line) => line.code)).toEqual([
      "ERR_CREDENTIALS_MISSING",
      "ERR_JWT_EXPIRED",
      "ERR_INSUFFICIENT_SCOPE",
    ]);
    expect(JSON.stringify(lines)).not.toContain(expired.split(".")[2]!.slice(0, 16));
  });

  it("answers a simple response with isAuthorized true and the code", async () => {
    const handler = await container({
      REPORT_ONLY: "true",
      AUTHORIZER_CACHE_SECONDS: "0",
      HTTP_API_RESPONSE: "simple",
    });
    expect(await handler(httpApiEvent())).toEqual({
      isAuthorized: true,
      context: { authgearEdgeReport: "ERR_CREDENTIALS_MISSING" },
    });
  });

  it("lets a request through while the key set is unreachable, and still fails closed on a bad configuration", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const down = await container({ REPORT_ONLY: "true", AUTHORIZER_CACHE_SECONDS: "0", AUTHGEAR_ENDPOINT: DOWN });
    expect(await down(tokenEvent(`Bearer ${await downToken()}`))).toEqual(reportOnly("ERR_KEYSET_UNAVAILABLE"));
    const bad = await container({
      REPORT_ONLY: "true",
      AUTHORIZER_CACHE_SECONDS: "0",
      AUTHGEAR_ENDPOINT: "http://example.com",
    });
    await expect(bad(tokenEvent(`Bearer ${token}`))).rejects.toThrow(/^Service Unavailable$/);
  });
});

describe("failures never allow", () => {
  it("throws an authorizer failure (503 by gateway response) when the key set is unreachable", async () => {
    const down = await startDevIssuer();
    down.setFailure("http500");
    try {
      const handler = createHandler({ env: { AUTHGEAR_ENDPOINT: down.origin } });
      const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
      await expect(handler(tokenEvent(`Bearer ${await down.mintAccessToken()}`))).rejects.toThrow(
        /^Service Unavailable$/,
      );
      expect(log.mock.calls.map(([line]) => String(line)).join("\n")).toContain("ERR_KEYSET_UNAVAILABLE");
    } finally {
      await down.close();
    }
  });

  it("refuses every event under a bad configuration, naming the bad keys once in the log", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const handler = await container({ ALGORITHMS: "HS256" });
    await expect(handler(tokenEvent(`Bearer ${token}`))).rejects.toThrow(/^Service Unavailable$/);
    await expect(handler(requestEvent({ headers: { Authorization: `Bearer ${token}` } }))).rejects.toThrow(
      /^Service Unavailable$/,
    );
    const lines = log.mock.calls.map(([line]) => String(line));
    expect(lines.filter((line) => line.includes("config_invalid"))).toHaveLength(1);
    expect(lines.find((line) => line.includes("config_invalid"))).toContain("ALGORITHMS");
  });

  it("ignores header values that are not strings in a malformed event", async () => {
    const handler = await container();
    const event = { ...requestEvent(), headers: { Authorization: 42 }, multiValueHeaders: { Authorization: [null] } };
    await expect(handler(event)).rejects.toThrow(/^Unauthorized$/);
  });

  it("fails on an event it does not recognise", async () => {
    const handler = await container();
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    await expect(handler({ type: "SOMETHING", methodArn: METHOD_ARN })).rejects.toThrow(/^Service Unavailable$/);
    await expect(handler(null)).rejects.toThrow(/^Service Unavailable$/);
  });

  it("fails (Service Unavailable), never Unauthorized, on an unforeseen exception: ERR_INTERNAL, logged once", async () => {
    // A failing dependency stands for any bug: the clock throws whenever it is read.
    const brokenClock = (): number => {
      throw new TypeError("clock broke");
    };
    const handler = createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin }, clock: brokenClock });
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    await expect(handler(tokenEvent(`Bearer ${token}`))).rejects.toThrow(/^Service Unavailable$/);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        level: "error",
        event: "authenticate_failed",
        error: "TypeError",
        at: expect.stringMatching(/\bbrokenClock \(.*authorizer\.test\.ts:\d+:\d+\)/) as unknown,
      },
      { level: "error", event: "authorizer_failed", code: "ERR_INTERNAL", kind: "token" },
    ]);
    expect(JSON.stringify(lines)).not.toContain("clock broke");
  });

  it("logs an unrecognised event as an authorizer failure with ERR_UNSUPPORTED_EVENT", async () => {
    const handler = await container();
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    await expect(handler({ type: "SOMETHING", methodArn: METHOD_ARN })).rejects.toThrow(/^Service Unavailable$/);
    expect(log.mock.calls.map(([line]) => JSON.parse(String(line)) as unknown)).toEqual([
      { level: "error", event: "authorizer_failed", code: "ERR_UNSUPPORTED_EVENT" },
    ]);
  });

  it("logs each refusal as one JSON line with its code, never the token", async () => {
    const handler = await container();
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    await expect(handler(tokenEvent(`Bearer ${expired}`))).rejects.toThrow(/^Unauthorized$/);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines.filter((line) => line.event === "request_refused")).toEqual([
      { level: "info", event: "request_refused", code: "ERR_JWT_EXPIRED", kind: "token" },
    ]);
    expect(JSON.stringify(lines)).not.toContain(expired.split(".")[2]!.slice(0, 16));
  });

  it("names the invocation (awsRequestId) on every line, and logs decisions with the user only under LOG_DECISIONS", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const rules = JSON.stringify([{ path: "/admin/*", roles: ["root"] }]);
    const handler = await container({ LOG_DECISIONS: "true", ROUTES: rules, HTTP_API_RESPONSE: "iam" });
    await handler(tokenEvent(`Bearer ${token}`), { awsRequestId: "req-1" });
    await handler(requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${token}` } }), {
      awsRequestId: "req-2",
    });
    await expect(handler(tokenEvent("Bearer x.y.z"), { awsRequestId: "req-3" })).rejects.toThrow(/^Unauthorized$/);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines.map((line) => [line.level, line.event, line.request_id, line.user_id])).toEqual([
      ["info", "keyset_refreshed", "req-1", undefined],
      ["info", "request_allowed", "req-1", "alice"],
      ["info", "request_forbidden", "req-2", "alice"],
      ["info", "request_refused", "req-3", undefined],
    ]);
    log.mockClear();
    const quiet = await container();
    await quiet(tokenEvent(`Bearer ${token}`), { awsRequestId: "req-4" });
    expect(log.mock.calls.map(([line]) => (JSON.parse(String(line)) as { event: string }).event)).toEqual([
      "keyset_refreshed",
    ]);
  });
});

describe("METRICS=emf: one CloudWatch Embedded Metric Format line per invocation", () => {
  type Emf = {
    _aws: {
      CloudWatchMetrics: Array<{
        Namespace: string;
        Dimensions: string[][];
        Metrics: Array<{ Name: string; Unit: string }>;
      }>;
    };
  } & Record<string, unknown>;
  const emf = (calls: unknown[][]): Emf[] =>
    calls.map(([line]) => JSON.parse(String(line)) as Emf).filter((line) => typeof line._aws === "object");
  const counts = (line: Emf) => [
    line.Outcome,
    line.Requests,
    line.KeySetFetches,
    line.KeySetFetchFailures,
    line.ResolverCalls,
    line.ResolverCacheHits,
  ];

  it("counts each invocation by outcome, with the key-set fetches and resolver calls it caused", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const rules = JSON.stringify([{ path: "/admin/*", roles: ["root"] }]);
    const handler = await container({ METRICS: "emf", ROUTES: rules, HTTP_API_RESPONSE: "iam" });
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    await handler(tokenEvent(`Bearer ${token}`));
    await handler(tokenEvent(`Bearer ${token}`));
    await handler(requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${token}` } }));
    await expect(handler(tokenEvent(`Bearer ${expired}`))).rejects.toThrow(/^Unauthorized$/);
    const lines = emf(log.mock.calls);
    expect(lines.map(counts)).toEqual([
      ["allowed", 1, 1, 0, 0, 0],
      ["allowed", 1, 0, 0, 0, 0],
      ["ERR_INSUFFICIENT_SCOPE", 1, 0, 0, 0, 0],
      ["ERR_JWT_EXPIRED", 1, 0, 0, 0, 0],
    ]);
    expect(lines[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: "authgear-edge",
        Dimensions: [["Outcome"]],
        Metrics: ["Requests", "KeySetFetches", "KeySetFetchFailures", "ResolverCalls", "ResolverCacheHits"].map(
          (Name) => ({ Name, Unit: "Count" }),
        ),
      },
    ]);
  });

  it("counts resolver calls and verdict-cache hits, key-set failures, and nothing at all by default", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const session = issuer.createSession("emf-user");
    const resolver = await container({ METRICS: "emf", AUTH_MODE: "resolver", AUTHORIZER_CACHE_SECONDS: "0" });
    const event = requestEvent({ headers: { Cookie: `session=${session.cookie}` } });
    await resolver(event);
    await resolver(event);
    const down = await container({ METRICS: "emf", AUTHGEAR_ENDPOINT: DOWN });
    await expect(down(tokenEvent(`Bearer ${await downToken()}`))).rejects.toThrow(/^Service Unavailable$/);
    expect(emf(log.mock.calls).map(counts)).toEqual([
      ["allowed", 1, 0, 0, 1, 0],
      ["allowed", 1, 0, 0, 0, 1],
      ["ERR_KEYSET_UNAVAILABLE", 1, 1, 1, 0, 0],
    ]);
    log.mockClear();
    const quiet = await container();
    await quiet(tokenEvent(`Bearer ${token}`));
    expect(emf(log.mock.calls)).toEqual([]);
  });
});

describe("a warm container", () => {
  it("fetches the key set once across many invocations of every kind", async () => {
    const handler = await container();
    const before = { ...issuer.hits };
    for (let i = 0; i < 50; i += 1) {
      const fresh = await issuer.mintAccessToken();
      await handler(tokenEvent(`Bearer ${fresh}`));
      await handler(requestEvent({ headers: { Authorization: `Bearer ${fresh}` } }));
      await handler(httpApiEvent({ headers: { authorization: `Bearer ${fresh}` } }));
    }
    expect(issuer.hits.jwks - before.jwks).toBe(1);
    expect(issuer.hits.discovery - before.discovery).toBe(1);
  });
});
