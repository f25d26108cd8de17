/**
 * The authorizer on a WebSocket API's `$connect` (docs/websockets.md, "API Gateway WebSocket APIs"),
 * through `createHandler`, with events shaped like API Gateway's documented example (fixtures.ts,
 * `websocketEvent`) and the dev issuer on loopback. Policies are read by the independent IAM
 * evaluator, as API Gateway would read them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createHandler, type AuthorizerResult } from "../../src/aws/create-handler.ts";
import { CONNECT_ARN, requestEvent, websocketEvent } from "./fixtures.ts";
import { evaluatePolicy, type PolicyDocument, type WildcardReading } from "./iam-evaluator.ts";
import { useDevIssuer } from "../helpers.ts";

type Handler = (event: unknown) => Promise<AuthorizerResult>;

const ROLES = "https://authgear.com/claims/user/roles";
const READINGS: readonly WildcardReading[] = ["any-run", "segment"];
/** ARNs a `$connect` answer must never open: other routes and stages of the API, another API, REST routes. */
const OTHER_ARNS = [
  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$default",
  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$disconnect",
  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/$connect",
  "arn:aws:execute-api:us-east-1:123456789012:zzzzzz999/default/$connect",
  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/GET/$connect",
  "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/GET/",
];

const issuer = useDevIssuer();
let admin: string;
let staff: string;

beforeAll(async () => {
  admin = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } });
  staff = await issuer.mintAccessToken({ sub: "bob", claims: { [ROLES]: ["staff"] } });
});

function container(env: Record<string, string> = {}): Handler {
  return createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin, ...env }, logger: { log: () => undefined } });
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
/** A `Sec-WebSocket-Protocol` header of these entries. */
const offer = (...entries: string[]) => ({ headers: { "Sec-WebSocket-Protocol": entries.join(", ") } });
const UNAUTHORIZED = /^Unauthorized$/;
/** The one statement of an Allow of exactly `arn`. */
const allowOnly = (arn: string) => [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: [arn] }];

function policyOf(result: AuthorizerResult): PolicyDocument {
  return (result as { policyDocument: PolicyDocument }).policyDocument;
}

/** Whether API Gateway lets the connection through, under both readings of `*` (which must agree). */
function admits(result: AuthorizerResult, arn: string = CONNECT_ARN): boolean {
  const verdicts = READINGS.map((reading) => evaluatePolicy(policyOf(result), arn, reading));
  expect(new Set(verdicts).size, arn).toBe(1);
  return verdicts[0]!;
}

function expectOnlyConnect(result: AuthorizerResult): void {
  expect(admits(result)).toBe(true);
  for (const arn of OTHER_ARNS) expect(admits(result, arn), arn).toBe(false);
}

describe("WebSocket $connect: who connects", () => {
  it.each([
    ["cached answers (the default 300 s)", {}],
    ["no cache", { AUTHORIZER_CACHE_SECONDS: "0" }],
  ])(
    "allows a valid Authorization header on $connect alone, with the identity in the context (%s)",
    async (_name, env) => {
      const result = await container(env)(websocketEvent(bearer(admin)));
      expect(result).toMatchObject({
        principalId: "alice",
        context: { userId: "alice", userRoles: "admin", edgeKind: "user", edgeIssuer: issuer.origin },
      });
      expect(policyOf(result).Statement).toEqual(allowOnly(CONNECT_ARN));
      expectOnlyConnect(result);
    },
  );

  it.each([
    ["no credentials", () => Promise.resolve({})],
    ["a malformed token", () => Promise.resolve(bearer("not-a-jwt"))],
    ["an expired token", async () => bearer(await issuer.mintAccessToken({ expiresIn: -5 }))],
    [
      "another audience's token",
      async () => bearer(await issuer.mintAccessToken({ claims: { aud: ["https://x.example"] } })),
    ],
    [
      "two Authorization headers",
      () => Promise.resolve({ headers: { Authorization: `Bearer ${admin}, Bearer ${staff}` } }),
    ],
  ])("throws Unauthorized (the handshake's 401) for %s", async (_name, options) => {
    await expect(container()(websocketEvent(await options()))).rejects.toThrow(UNAUTHORIZED);
  });

  it("reads the JWT cookie (the authorizer cache off, as serverless.yml's WebSocket authorizer runs)", async () => {
    const handler = container({ JWT_COOKIE_NAME: "at", AUTHORIZER_CACHE_SECONDS: "0" });
    const result = await handler(websocketEvent({ headers: { Cookie: `theme=dark; at=${admin}` } }));
    expect(result).toMatchObject({ principalId: "alice" });
    expectOnlyConnect(result);
  });

  it("takes an event as serverless-offline builds it (account `undefined`, API `private`, stage `local`)", async () => {
    const methodArn = "arn:aws:execute-api:us-east-1:undefined:private/local/$connect";
    const result = await container()(websocketEvent({ ...bearer(admin), methodArn }));
    expect(policyOf(result).Statement).toEqual(allowOnly(methodArn));
  });
});

/**
 * As serverless.yml's WebSocket authorizer runs (no cache), and with the REST APIs' cache on (which
 * needs HTTP_API_RESPONSE=iam beside ROUTES or PUBLIC_PATHS: cache-safety.ts).
 */
const CACHINGS = [
  ["uncached", { AUTHORIZER_CACHE_SECONDS: "0" }],
  ["cached", { HTTP_API_RESPONSE: "iam" }],
] as const;

describe.each(CACHINGS)("WebSocket $connect: rules and public paths apply to GET /$connect (%s)", (_caching, cache) => {
  const rules = (value: unknown[]) => ({ ...cache, ROUTES: JSON.stringify(value) });

  it.each([
    ["a rule on every path", [{ path: "/*", roles: ["admin"] }]],
    ["a rule on /$connect", [{ path: "/$connect", roles: ["admin"] }]],
    ["a GET rule on every path", [{ path: "/*", methods: ["GET"], roles: ["admin"] }]],
  ])("%s: the admin connects, the staff member gets a Deny on $connect (403)", async (_name, value) => {
    const handler = container(rules(value));
    const allowed = await handler(websocketEvent(bearer(admin)));
    expectOnlyConnect(allowed);
    const denied = await handler(websocketEvent(bearer(staff)));
    expect(denied).toMatchObject({ principalId: "bob", context: { userId: "bob" } });
    expect(admits(denied)).toBe(false);
    for (const arn of OTHER_ARNS) expect(admits(denied, arn), arn).toBe(false);
  });

  it.each([
    ["a rule on another path", [{ path: "/admin/*", roles: ["admin"] }]],
    ["a POST-only rule", [{ path: "/*", methods: ["POST"], roles: ["admin"] }]],
  ])("%s does not bind $connect", async (_name, value) => {
    expectOnlyConnect(await container(rules(value))(websocketEvent(bearer(staff))));
  });

  it.each(["/$connect", "/$connect/*", "/*"])("PUBLIC_PATHS=%s lets an anonymous client connect", async (pattern) => {
    const handler = container({ ...cache, PUBLIC_PATHS: pattern });
    const result = await handler(websocketEvent());
    expect(result).toMatchObject({ principalId: "anonymous", context: {} });
    expectOnlyConnect(result);
    // With credentials, the identity still comes along.
    const identified = await handler(websocketEvent(bearer(admin)));
    expect(identified).toMatchObject({ principalId: "alice", context: { userId: "alice" } });
  });

  it("a public REST path does not make $connect public", async () => {
    const handler = container({ ...cache, PUBLIC_PATHS: "/healthz,/public/*" });
    await expect(handler(websocketEvent())).rejects.toThrow(UNAUTHORIZED);
  });
});

/** The browser's offer (the Kubernetes convention): the app's protocol, and the token as an entry of its own. */
const TOKEN_PREFIX = "base64url.bearer.authorization.k8s.io.";
const entry = (token: string) => `${TOKEN_PREFIX}${Buffer.from(token).toString("base64url")}`;

describe("WebSocket $connect: the token as a Sec-WebSocket-Protocol entry (browsers)", () => {
  it("is read as a Bearer credential beside the app's protocol", async () => {
    const result = await container()(websocketEvent(offer("chat.v1", entry(admin))));
    expect(result).toMatchObject({ principalId: "alice", context: { userId: "alice" } });
    expectOnlyConnect(result);
  });

  it("binds the route rules like any credential", async () => {
    const routes = JSON.stringify([{ path: "/$connect", roles: ["admin"] }]);
    const handler = container({ AUTHORIZER_CACHE_SECONDS: "0", ROUTES: routes });
    const denied = await handler(websocketEvent(offer(entry(staff), "chat.v1")));
    expect(denied).toMatchObject({ principalId: "bob" });
    expect(admits(denied)).toBe(false);
  });

  it.each([
    [
      "beside an Authorization header",
      () => ({ headers: { ...offer("chat.v1", entry(admin)).headers, ...bearer(admin).headers } }),
    ],
    ["twice", () => offer(entry(admin), entry(admin))],
    ["padded", () => offer("chat.v1", `${entry(admin)}=`)],
    ["with its prefix in another case", () => offer("chat.v1", entry(admin).replace("bearer", "Bearer"))],
    ["holding an expired token", async () => offer("chat.v1", entry(await issuer.mintAccessToken({ expiresIn: -5 })))],
  ])("refuses the handshake (401) for an entry %s", async (_name, options) => {
    await expect(container()(websocketEvent(await options()))).rejects.toThrow(UNAUTHORIZED);
  });
});

describe("WebSocket $connect: a token in the query (WEBSOCKET_QUERY_TOKEN)", () => {
  const query = (name: string, ...values: string[]) => ({ query: { [name]: values } });

  // Each would be let through if the query were not looked at.
  it.each<[string, () => { headers?: Record<string, string> }, Record<string, string>]>([
    ["beside a valid Authorization header", () => bearer(admin), {}],
    ["beside a valid subprotocol entry", () => offer("chat.v1", entry(admin)), {}],
    ["on a public $connect", () => ({}), { PUBLIC_PATHS: "/$connect", AUTHORIZER_CACHE_SECONDS: "0" }],
  ])("unset: access_token in the query is refused (401) %s", async (_name, options, env) => {
    const handler = container(env);
    const event = websocketEvent({ ...options(), ...query("access_token", admin) });
    await expect(handler(event)).rejects.toThrow(UNAUTHORIZED);
  });

  it("set: the named parameter carries the token, and binds the rules like any credential", async () => {
    const routes = JSON.stringify([{ path: "/*", roles: ["admin"] }]);
    const handler = container({ WEBSOCKET_QUERY_TOKEN: "token", AUTHORIZER_CACHE_SECONDS: "0", ROUTES: routes });
    const allowed = await handler(websocketEvent(query("token", admin)));
    expect(allowed).toMatchObject({ principalId: "alice", context: { userId: "alice" } });
    expectOnlyConnect(allowed);
    expect(admits(await handler(websocketEvent(query("token", staff))))).toBe(false);
  });

  it.each([
    ["beside an Authorization header", () => ({ ...query("token", admin), ...bearer(admin) })],
    ["beside a subprotocol entry", () => ({ ...query("token", admin), ...offer("chat.v1", entry(admin)) })],
    ["twice", () => query("token", admin, admin)],
    ["empty", () => query("token", "")],
    ["holding garbage", () => query("token", "not a token")],
    ["under another name than the setting's", () => query("access_token", admin)],
  ])("set: refuses (401) a query token %s", async (_name, options) => {
    const handler = container({ WEBSOCKET_QUERY_TOKEN: "token" });
    await expect(handler(websocketEvent(options()))).rejects.toThrow(UNAUTHORIZED);
  });

  it("is never read from a REST API's query", async () => {
    const rest = { ...requestEvent(), queryStringParameters: { token: admin } };
    const event = { ...rest, multiValueQueryStringParameters: { token: [admin] } };
    await expect(container({ WEBSOCKET_QUERY_TOKEN: "token" })(event)).rejects.toThrow(UNAUTHORIZED);
  });

  it("never logs the token", async () => {
    const lines: string[] = [];
    const logger = {
      log: (event: string, fields: Record<string, unknown>) => void lines.push(JSON.stringify({ event, fields })),
    };
    const env = { AUTHGEAR_ENDPOINT: issuer.origin, WEBSOCKET_QUERY_TOKEN: "token", LOG_DECISIONS: "true" };
    const handler = createHandler({ env, logger });
    await handler(websocketEvent(query("token", admin)));
    await handler(websocketEvent(query("token", admin, admin))).catch(() => undefined);
    const unset = createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin }, logger });
    await unset(websocketEvent(query("access_token", admin))).catch(() => undefined);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(admin.split(".")[2]);
  });
});

describe("WebSocket $connect: the rest of the decision", () => {
  it("shows an authorize callback GET /$connect, and answers its refusal with a Deny", async () => {
    const seen: Array<{ method: string; path: string | undefined }> = [];
    const handler = createHandler({
      env: { AUTHGEAR_ENDPOINT: issuer.origin, AUTHORIZER_CACHE_SECONDS: "0" },
      logger: { log: () => undefined },
      authorize: (identity, request) => {
        seen.push({ method: request.method, path: request.path });
        return identity.subject === "alice";
      },
    });
    expectOnlyConnect(await handler(websocketEvent(bearer(admin))));
    const denied = await handler(websocketEvent(bearer(staff)));
    expect(admits(denied)).toBe(false);
    expect(seen).toEqual([
      { method: "GET", path: "/$connect" },
      { method: "GET", path: "/$connect" },
    ]);
  });

  it("REPORT_ONLY lets a would-be refusal connect, on $connect alone, with its code and no identity", async () => {
    const result = await container({ REPORT_ONLY: "true", AUTHORIZER_CACHE_SECONDS: "0" })(websocketEvent());
    const context = { authgearEdgeReport: "ERR_CREDENTIALS_MISSING" };
    expect(result).toMatchObject({ principalId: "report-only", context });
    expectOnlyConnect(result);
  });
});

describe("WebSocket events the authorizer does not answer", () => {
  it.each([
    ["a route other than $connect", { routeKey: "$default" }],
    ["a $connect whose ARN names another route", { methodArn: CONNECT_ARN.replace("$connect", "$default") }],
    ["a $connect whose ARN is a REST method's", { methodArn: CONNECT_ARN.replace("/$connect", "/GET/$connect") }],
  ])("fails (never an Allow) for %s", async (_name, options) => {
    const event = websocketEvent({ ...bearer(admin), ...options });
    await expect(container()(event)).rejects.toThrow(/^Service Unavailable$/);
  });
});
