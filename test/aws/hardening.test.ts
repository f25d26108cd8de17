/**
 * Hardening regressions for the Lambda authorizer (issue "Hardening: the gate and every plausible
 * origin read a request the same way, or the gate refuses it"): the Worker's attack classes, through
 * the handler. API Gateway passes every header on to the backend, so the authorizer cannot strip
 * override headers: they count in the decision. It decides on the ARN's method and path, and with
 * the result cache on (AUTHORIZER_CACHE_SECONDS > 0) its policy is an answer for every route of the
 * stage, so a request refused under a spelling no rule resource names is denied by its own ARN.
 */
import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2 } from "aws-lambda";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { AuthorizerResult } from "../../src/aws/create-handler.ts";
import { freshContainer } from "./container.ts";
import { httpApiEvent, requestEvent } from "./fixtures.ts";
import { useDevIssuer } from "../helpers.ts";
import { userAuthorizerContext } from "../fixtures/identities.ts";

type Handler = (event: unknown) => Promise<AuthorizerResult>;
type Context = Record<string, string>;

/** The attacker's setting (the issue's): bob is no admin, alice is. */
const ROUTES = JSON.stringify([
  { path: "/admin/*", roles: ["admin"] },
  { path: "/account/delete", roles: ["admin"] },
  { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
]);
const SETTING = { PUBLIC_PATHS: "/public/*", ROUTES };
/** Caching on (API Gateway's default TTL), which needs IAM policies with ROUTES. */
const CACHED = { ...SETTING, AUTHORIZER_CACHE_SECONDS: "300", HTTP_API_RESPONSE: "iam" };
/** Caching off: every answer is for its own request. */
const UNCACHED = { ...SETTING, AUTHORIZER_CACHE_SECONDS: "0" };
const ROLES_CLAIM = "https://authgear.com/claims/user/roles";
const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

const issuer = useDevIssuer();
let bob: string;
let alice: string;

beforeAll(async () => {
  bob = await issuer.mintAccessToken({ sub: "bob" });
  alice = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES_CLAIM]: ["admin"] } });
});
beforeEach(() => {
  // One JSON line per refusal; kept out of the test output.
  vi.spyOn(console, "log").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh container: its configuration, key set and caches built anew from these settings (nothing else). */
function container(env: Record<string, string>): Promise<Handler> {
  return Promise.resolve(freshContainer(issuer.origin, env));
}

/** One container per describe, for one configuration. */
function handlerWith(env: Record<string, string>): () => Handler {
  let handler: Handler | undefined;
  beforeAll(async () => {
    handler = await container(env);
  });
  return () => {
    if (handler === undefined) throw new Error("the container is not loaded");
    return handler;
  };
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
const arnOf = (method: string, path: string): string => `${STAGE}/${method}${path}`;

/** A REST API REQUEST event for `method` and `path`, its methodArn naming both, with these headers and query. */
function rest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  query?: Record<string, string>,
): APIGatewayRequestAuthorizerEvent {
  const event = requestEvent({ path, headers });
  return {
    ...event,
    httpMethod: method,
    methodArn: arnOf(method, path),
    requestContext: { ...event.requestContext, httpMethod: method },
    ...(query && {
      queryStringParameters: query,
      multiValueQueryStringParameters: Object.fromEntries(
        Object.entries(query).map(([name, value]) => [name, [value]]),
      ),
    }),
  };
}

/** An HTTP API payload 2.0 event for `method` and `path` on `$default`, with this raw query string. */
function httpApi(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  rawQueryString = "",
): APIGatewayRequestAuthorizerEventV2 {
  const event = httpApiEvent({ rawPath: path, headers });
  return {
    ...event,
    routeArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/${method}${path}`,
    rawQueryString,
    requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method } },
  };
}

function contextOf(token: string): Context {
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
    sub: string;
    auth_time: number;
    [ROLES_CLAIM]: string[];
  };
  const roles = claims[ROLES_CLAIM];
  return userAuthorizerContext(claims.sub, {
    ...(roles.length > 0 && { userRoles: roles.join(",") }),
    sessionAmr: "pwd",
    sessionAuthenticatedAt: String(claims.auth_time),
    edgeKind: "user",
    edgeIssuer: issuer.origin,
  });
}

/** Every resource of the three rules, in policy order: what a cached policy denies bob, who fails them all. */
const BOB_RULE_DENIALS = [
  ...METHODS.flatMap((method) => [
    `${STAGE}/${method}/admin`,
    `${STAGE}/${method}/admin/*`,
    `${STAGE}/${method}/admin.*`,
  ]),
  ...METHODS.flatMap((method) => [
    `${STAGE}/${method}/account/delete`,
    `${STAGE}/${method}/account/delete/`,
    `${STAGE}/${method}/account/delete.*`,
  ]),
  // The DELETE rule, under METHOD_OVERRIDE=any (the default): every method but GET could be served as DELETE.
  ...METHODS.filter((method) => method !== "GET").flatMap((method) => [
    `${STAGE}/${method}/orders`,
    `${STAGE}/${method}/orders/*`,
    `${STAGE}/${method}/orders.*`,
  ]),
];

function statement(effect: "Allow" | "Deny", resources: readonly string[]) {
  return { Action: "execute-api:Invoke", Effect: effect, Resource: [...resources] };
}

function policy(principalId: string, statements: ReturnType<typeof statement>[], context: Context) {
  return { principalId, policyDocument: { Version: "2012-10-17", Statement: statements }, context };
}

/** Bob's cached policy: the stage, minus every rule's routes, minus `ownArn` when a rule refused this request. */
function bobCached(ownArn?: string) {
  const deny =
    ownArn === undefined || BOB_RULE_DENIALS.includes(ownArn) ? BOB_RULE_DENIALS : [...BOB_RULE_DENIALS, ownArn];
  return policy("bob", [statement("Allow", [`${STAGE}/*`]), statement("Deny", deny)], contextOf(bob));
}

/** Alice's cached policy: she meets every rule, so the whole stage. */
function aliceCached() {
  return policy("alice", [statement("Allow", [`${STAGE}/*`])], contextOf(alice));
}

/** An answer for this request alone (caching off). */
function only(token: string, effect: "Allow" | "Deny", arn: string) {
  return policy(contextOf(token).userId!, [statement(effect, [arn])], contextOf(token));
}

/** A public path without credentials: exactly this method and path, anonymously. */
function anonymous(arn: string) {
  return policy("anonymous", [statement("Allow", [arn])], {});
}

describe("paths without a single reading are never public, and their every reading is ruled", () => {
  const handler = handlerWith(CACHED);

  /** /admin behind /public, in spellings a plausible origin decodes to /admin (a ruled path: admin only). */
  const READINGS_OF_ADMIN = [
    "/public/%2e%2e/admin",
    "/public/%2E%2E/admin",
    "/public/.%2e/admin",
    "/public/..%2fadmin",
    "/public/../admin",
    "/public/..%5cadmin",
    "/public/%252e%252e/admin",
  ];

  it.each([
    ...READINGS_OF_ADMIN,
    "/public/..\\admin",
    "/public/%c0%ae%c0%ae/admin",
    "/public/%u002e%u002e/admin",
    "/public/x%00/../../admin",
    "/public;/../admin",
    "/public//../admin",
    "//public/x",
    "/public/%ef%bc%8e%ef%bc%8e/admin",
  ])("%s: no credentials is Unauthorized (401), never an anonymous Allow", async (path) => {
    await expect(handler()(rest("GET", path))).rejects.toThrow(/^Unauthorized$/);
    await expect(handler()(rest("GET", path, { Authorization: "Bearer garbage" }))).rejects.toThrow(/^Unauthorized$/);
  });

  it.each(READINGS_OF_ADMIN)(
    "bob on %s (a reading of /admin) gets a Deny on its own ARN, field by field",
    async (path) => {
      expect(await handler()(rest("GET", path, bearer(bob)))).toEqual(bobCached(arnOf("GET", path)));
    },
  );

  it.each(["/public/%c0%ae%c0%ae/admin", "/public/%u002e%u002e/admin"])(
    "bob on the malformed %s is refused as a malformed request: Unauthorized",
    async (path) => {
      await expect(handler()(rest("GET", path, bearer(bob)))).rejects.toThrow(/^Unauthorized$/);
      await expect(handler()(rest("GET", path, bearer(alice)))).rejects.toThrow(/^Unauthorized$/);
    },
  );

  it("alice on /public/%2e%2e/admin is not turned away: the whole stage", async () => {
    expect(await handler()(rest("GET", "/public/%2e%2e/admin", bearer(alice)))).toEqual(aliceCached());
  });

  it("a plain public path is allowed anonymously, for exactly its method and path", async () => {
    expect(await handler()(rest("GET", "/public/x"))).toEqual(anonymous(arnOf("GET", "/public/x")));
    expect(await handler()(rest("GET", "/public/x", { Authorization: "Bearer garbage" }))).toEqual(
      anonymous(arnOf("GET", "/public/x")),
    );
  });

  it.each(["/PUBLIC/x", "/Public/x", "/publicx", "/public.json", "/publ%69c/x"])(
    "%s is not public: Unauthorized",
    async (path) => {
      await expect(handler()(rest("GET", path))).rejects.toThrow(/^Unauthorized$/);
    },
  );
});

describe("route rules match every spelling; a variant refused is denied by its own ARN", () => {
  const VARIANTS = [
    "/ADMIN/x",
    "/Admin/x",
    "/%61dmin/x",
    "/%41DMIN/x",
    "/adm%C4%B1n/x",
    "/admin",
    "/admin/x",
    "/admin.json",
    "/ADMIN.JSON",
    "/account/delete",
    "/account/delet%65",
    "/%61ccount/delete",
    "/ACCOUNT/DELETE",
    "/account/delete/",
    "/account/delete.json",
    "/account/delete%2ejson",
  ];

  describe("with the cache on (AUTHORIZER_CACHE_SECONDS=300, HTTP_API_RESPONSE=iam)", () => {
    const handler = handlerWith(CACHED);

    it.each(VARIANTS)(
      "GET %s: bob's policy denies every rule's routes and this ARN; alice gets the stage",
      async (path) => {
        const result = await handler()(rest("GET", path, bearer(bob)));
        expect(result).toEqual(bobCached(arnOf("GET", path)));
        expect(await handler()(rest("GET", path, bearer(alice)))).toEqual(aliceCached());
      },
    );

    it.each([
      ["DELETE", "/orders/1"],
      ["DELETE", "/ORDERS/1"],
      ["DELETE", "/%6frders/1"],
      ["DELETE", "/orders.json"],
      ["PUT", "/ORDERS/1"],
    ])("%s %s: bob's policy denies this ARN", async (method, path) => {
      expect(await handler()(rest(method, path, bearer(bob)))).toEqual(bobCached(arnOf(method, path)));
      expect(await handler()(rest(method, path, bearer(alice)))).toEqual(aliceCached());
    });

    it.each([
      ["GET", "/orders/1"],
      ["GET", "/administrator"],
      ["GET", "/account/deleted"],
    ])("%s %s is allowed to bob: the rules' routes are denied, this ARN is not", async (method, path) => {
      expect(await handler()(rest(method, path, bearer(bob)))).toEqual(bobCached());
    });

    it.each(VARIANTS.slice(0, 4))("%s without credentials is Unauthorized", async (path) => {
      await expect(handler()(rest("GET", path))).rejects.toThrow(/^Unauthorized$/);
    });
  });

  describe("with the cache off (AUTHORIZER_CACHE_SECONDS=0): exactly this request", () => {
    const handler = handlerWith(UNCACHED);

    it.each(VARIANTS)("GET %s: Deny its ARN for bob, Allow it for alice", async (path) => {
      expect(await handler()(rest("GET", path, bearer(bob)))).toEqual(only(bob, "Deny", arnOf("GET", path)));
      expect(await handler()(rest("GET", path, bearer(alice)))).toEqual(only(alice, "Allow", arnOf("GET", path)));
    });

    it("bob elsewhere: Allow exactly that ARN", async () => {
      expect(await handler()(rest("GET", "/x", bearer(bob)))).toEqual(only(bob, "Allow", arnOf("GET", "/x")));
      expect(await handler()(rest("DELETE", "/x", bearer(bob)))).toEqual(only(bob, "Allow", arnOf("DELETE", "/x")));
    });

    it("decides on the ARN's method and path, not the event's path or httpMethod", async () => {
      const event = { ...rest("GET", "/x", bearer(bob)), methodArn: arnOf("DELETE", "/orders/1") };
      expect(await handler()(event)).toEqual(only(bob, "Deny", arnOf("DELETE", "/orders/1")));
      await expect(handler()({ ...rest("GET", "/public/x"), methodArn: arnOf("GET", "/admin/x") })).rejects.toThrow(
        /^Unauthorized$/,
      );
    });
  });
});

/** Every override header, in the spellings servers map onto one variable (`-`, `_`, `.`, any case). */
function spellings(name: string): string[] {
  return [
    name,
    name.toLowerCase(),
    name.toUpperCase(),
    name.replace(/-/g, "_"),
    name.toLowerCase().replace(/-/g, "."),
    name.replace(/-/g, "."),
  ];
}
const METHOD_OVERRIDES = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"].flatMap(spellings);
const PATH_OVERRIDES = [
  "X-Original-URL",
  "X-Original-URI",
  "X-Rewrite-URL",
  "X-Forwarded-Uri",
  "X-Forwarded-Prefix",
  "X-Forwarded-Path",
].flatMap(spellings);

describe("path-override headers reach the backend through API Gateway, so they count, in every spelling", () => {
  describe("with the cache off", () => {
    const handler = handlerWith(UNCACHED);

    it.each(PATH_OVERRIDES)("bob's GET /x with %s naming /admin: a Deny on its ARN", async (name) => {
      for (const value of ["/admin", "/ADMIN/x?y=1", "https://api.example.com/admin/x", "/account/delete.json"]) {
        expect(await handler()(rest("GET", "/x", { ...bearer(bob), [name]: value })), value).toEqual(
          only(bob, "Deny", arnOf("GET", "/x")),
        );
      }
      expect(await handler()(rest("GET", "/x", { ...bearer(alice), [name]: "/admin" }))).toEqual(
        only(alice, "Allow", arnOf("GET", "/x")),
      );
    });

    it.each(PATH_OVERRIDES)(
      "%s on a public path makes it not public: Unauthorized without credentials",
      async (name) => {
        await expect(handler()(rest("GET", "/public/x", { [name]: "/admin" }))).rejects.toThrow(/^Unauthorized$/);
      },
    );
  });

  describe("with the cache on", () => {
    const handler = handlerWith(CACHED);

    it("bob's GET /x with X.Original.URI: /admin: his policy denies this ARN", async () => {
      expect(await handler()(rest("GET", "/x", { ...bearer(bob), "X.Original.URI": "/admin" }))).toEqual(
        bobCached(arnOf("GET", "/x")),
      );
    });

    it("X-Original-URL: /admin on a public path: Unauthorized without credentials", async () => {
      await expect(handler()(rest("GET", "/public/x", { "X-Original-URL": "/admin" }))).rejects.toThrow(
        /^Unauthorized$/,
      );
    });
  });
});

/**
 * The authorizer sees no body and cannot know which override key an origin reads: under
 * METHOD_OVERRIDE=any every request but a GET is decided as every method (core/overrides.ts).
 */
describe("METHOD_OVERRIDE=any (the default): a request that is not a GET is decided as every method it could be served as", () => {
  const NOT_GET = METHODS.filter((method) => method !== "GET");
  const CHANNELS: Array<[string, Record<string, string>, Record<string, string> | undefined]> = [
    ["nothing", {}, undefined],
    ["a JSON body", { "Content-Type": "application/json", "Content-Length": "20" }, undefined],
    ["a form body", { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "14" }, undefined],
    ["?_method=DELETE", {}, { _method: "DELETE" }],
    ["?.method=DELETE", {}, { ".method": "DELETE" }],
  ];
  const HEADERS = METHOD_OVERRIDES.map((name): [string, Record<string, string>, undefined] => [
    name,
    { [name]: "DELETE" },
    undefined,
  ]);

  describe("with the cache off", () => {
    const handler = handlerWith(UNCACHED);

    it.each(NOT_GET)(
      "bob's %s /orders/1 is a Deny, carrying an override or not; alice's is an Allow",
      async (method) => {
        for (const [label, headers, query] of [...CHANNELS, ...HEADERS]) {
          const event = rest(method, "/orders/1", { ...bearer(bob), ...headers }, query);
          expect(await handler()(event), label).toEqual(only(bob, "Deny", arnOf(method, "/orders/1")));
        }
        expect(await handler()(rest(method, "/orders/1", bearer(alice)))).toEqual(
          only(alice, "Allow", arnOf(method, "/orders/1")),
        );
      },
    );

    it("bob's GET /orders/1 is an Allow with _method in its query or a body: no framework reads those on a GET", async () => {
      for (const [label, headers, query] of CHANNELS) {
        expect(await handler()(rest("GET", "/orders/1", { ...bearer(bob), ...headers }, query)), label).toEqual(
          only(bob, "Allow", arnOf("GET", "/orders/1")),
        );
      }
    });

    // Flask's documented middleware honours X-HTTP-Method-Override on every method (test/origins).
    it.each(METHOD_OVERRIDES)(
      "bob's GET /orders/1 with %s: DELETE is a Deny, since the header reaches the origin",
      async (name) => {
        expect(await handler()(rest("GET", "/orders/1", { ...bearer(bob), [name]: "DELETE" }))).toEqual(
          only(bob, "Deny", arnOf("GET", "/orders/1")),
        );
      },
    );

    it("bob's POST elsewhere is an Allow: only the paths of the rules he fails are closed to him", async () => {
      expect(await handler()(rest("POST", "/x", bearer(bob), { _method: "DELETE" }))).toEqual(
        only(bob, "Allow", arnOf("POST", "/x")),
      );
    });
  });

  describe("with the cache on", () => {
    const handler = handlerWith(CACHED);

    it("bob's cached policy, whichever request made it, denies every method but GET on /orders", async () => {
      expect(await handler()(rest("GET", "/orders/1", bearer(bob)))).toEqual(bobCached());
      expect(await handler()(rest("POST", "/orders/1", bearer(bob), { _method: "DELETE" }))).toEqual(
        bobCached(arnOf("POST", "/orders/1")),
      );
    });
  });

  describe("HTTP API simple responses, with the cache off", () => {
    const handler = handlerWith(UNCACHED);

    it("bob's POST /orders/1 is not authorized, JSON or form, with _method or without; his GET is", async () => {
      const denied = { isAuthorized: false, context: contextOf(bob) };
      const auth = { authorization: `Bearer ${bob}` };
      expect(await handler()(httpApi("POST", "/orders/1", auth, "_method=DELETE"))).toEqual(denied);
      expect(await handler()(httpApi("POST", "/orders/1", { ...auth, "content-type": "application/json" }))).toEqual(
        denied,
      );
      expect(await handler()(httpApi("GET", "/orders/1", auth, "_method=DELETE"))).toEqual({
        isAuthorized: true,
        context: contextOf(bob),
      });
    });
  });
});

describe("METHOD_OVERRIDE=none: each request is decided as the method on the wire", () => {
  describe("with the cache off", () => {
    const handler = handlerWith({ ...UNCACHED, METHOD_OVERRIDE: "none" });

    it("bob's POST /orders/1 with _method in a form or the query is an Allow; his DELETE is a Deny", async () => {
      const form = { ...bearer(bob), "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "14" };
      expect(await handler()(rest("POST", "/orders/1", form, { _method: "DELETE" }))).toEqual(
        only(bob, "Allow", arnOf("POST", "/orders/1")),
      );
      expect(await handler()(rest("DELETE", "/orders/1", bearer(bob)))).toEqual(
        only(bob, "Deny", arnOf("DELETE", "/orders/1")),
      );
    });

    // Symfony reads X-HTTP-Method-Override on a POST even with `_method` switched off (test/origins).
    it("a method-override header that reaches the origin still counts: bob's POST with X_HTTP_Method_Override is a Deny", async () => {
      const event = rest("POST", "/orders/1", { ...bearer(bob), X_HTTP_Method_Override: "DELETE" });
      expect(await handler()(event)).toEqual(only(bob, "Deny", arnOf("POST", "/orders/1")));
    });
  });

  describe("with the cache on", () => {
    const handler = handlerWith({ ...CACHED, METHOD_OVERRIDE: "none" });

    it("bob's cached policy denies DELETE alone on /orders", async () => {
      const rules = BOB_RULE_DENIALS.filter((arn) => !/\/orders/.test(arn) || arn.includes("/DELETE/"));
      const expected = policy("bob", [statement("Allow", [`${STAGE}/*`]), statement("Deny", rules)], contextOf(bob));
      expect(await handler()(rest("POST", "/orders/1", bearer(bob), { _method: "DELETE" }))).toEqual(expected);
    });
  });
});

describe("CORS preflights are not public in the authorizer", () => {
  const PREFLIGHT = { Origin: "https://app.example.com", "Access-Control-Request-Method": "DELETE" };

  describe("with the cache on", () => {
    const handler = handlerWith(CACHED);

    it("a preflight without credentials is Unauthorized off the public paths, and public on them", async () => {
      await expect(handler()(rest("OPTIONS", "/api/secret", PREFLIGHT))).rejects.toThrow(/^Unauthorized$/);
      await expect(handler()(rest("OPTIONS", "/admin/x", PREFLIGHT))).rejects.toThrow(/^Unauthorized$/);
      expect(await handler()(rest("OPTIONS", "/public/x", PREFLIGHT))).toEqual(
        anonymous(arnOf("OPTIONS", "/public/x")),
      );
    });

    it("bob's OPTIONS /admin/x with preflight headers: the rules apply, his policy denies this ARN", async () => {
      expect(await handler()(rest("OPTIONS", "/admin/x", { ...PREFLIGHT, ...bearer(bob) }))).toEqual(
        bobCached(arnOf("OPTIONS", "/admin/x")),
      );
    });
  });

  describe("with the cache off", () => {
    const handler = handlerWith(UNCACHED);

    it("bob's OPTIONS: Deny on /admin/x, Allow on /api/secret, each exactly its ARN", async () => {
      expect(await handler()(rest("OPTIONS", "/admin/x", { ...PREFLIGHT, ...bearer(bob) }))).toEqual(
        only(bob, "Deny", arnOf("OPTIONS", "/admin/x")),
      );
      expect(await handler()(rest("OPTIONS", "/api/secret", { ...PREFLIGHT, ...bearer(bob) }))).toEqual(
        only(bob, "Allow", arnOf("OPTIONS", "/api/secret")),
      );
    });
  });
});

describe("HTTP API simple responses: one request's verdict, never a cached one", () => {
  it("with PUBLIC_PATHS and AUTHORIZER_CACHE_SECONDS=300, every event is an authorizer failure (Service Unavailable)", async () => {
    const handler = await container({ PUBLIC_PATHS: "/public/*", AUTHORIZER_CACHE_SECONDS: "300" });
    await expect(handler(httpApi("GET", "/public/x"))).rejects.toThrow(/^Service Unavailable$/);
    await expect(handler(httpApi("GET", "/x", { authorization: `Bearer ${alice}` }))).rejects.toThrow(
      /^Service Unavailable$/,
    );
    await expect(handler(rest("GET", "/public/x"))).rejects.toThrow(/^Service Unavailable$/);
  });

  describe("with AUTHORIZER_CACHE_SECONDS=0", () => {
    const handler = handlerWith(UNCACHED);

    it("a garbage token on /public/x is authorized anonymously, for that request", async () => {
      expect(await handler()(httpApi("GET", "/public/x", { authorization: "Bearer garbage" }))).toEqual({
        isAuthorized: true,
        context: {},
      });
      expect(await handler()(httpApi("GET", "/public/x", { authorization: `Bearer ${alice}` }))).toEqual({
        isAuthorized: true,
        context: contextOf(alice),
      });
    });

    it("variants of a public path and ambiguous paths are not public: Unauthorized", async () => {
      for (const path of ["/PUBLIC/x", "/public/%2e%2e/admin", "/public/%c0%ae%c0%ae/admin"]) {
        await expect(handler()(httpApi("GET", path)), path).rejects.toThrow(/^Unauthorized$/);
      }
    });

    it("bob on a variant spelling of a ruled path is not authorized; alice is", async () => {
      for (const path of [
        "/ADMIN/x",
        "/%61dmin/x",
        "/account/delete/",
        "/account/delete.json",
        "/public/%2e%2e/admin",
      ]) {
        expect(await handler()(httpApi("GET", path, { authorization: `Bearer ${bob}` })), path).toEqual({
          isAuthorized: false,
          context: contextOf(bob),
        });
        expect(await handler()(httpApi("GET", path, { authorization: `Bearer ${alice}` })), path).toEqual({
          isAuthorized: true,
          context: contextOf(alice),
        });
      }
    });
  });
});

describe("cookies are pairs between semicolons (RFC 6265), with JWT_COOKIE_NAME=at and AUTHORIZER_CACHE_SECONDS=0", () => {
  const handler = handlerWith({ ...UNCACHED, JWT_COOKIE_NAME: "at" });

  it("reads the at cookie beside values holding commas, and never x=1,at=<jwt> as an at cookie", async () => {
    const arn = arnOf("GET", "/admin/x");
    expect(await handler()(rest("GET", "/admin/x", { Cookie: `recent=12,34,56; at=${alice}; prefs="x, y"` }))).toEqual(
      only(alice, "Allow", arn),
    );
    await expect(handler()(rest("GET", "/admin/x", { Cookie: `x=1,at=${alice}` }))).rejects.toThrow(/^Unauthorized$/);
    await expect(handler()(httpApi("GET", "/admin/x", { cookie: `x=1,at=${alice}` }))).rejects.toThrow(
      /^Unauthorized$/,
    );
  });
});

describe("hybrid mode never lets a refused JWT through beside a valid session cookie", () => {
  const handler = handlerWith({ ...UNCACHED, AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "0" });

  it("a forged bearer beside carol's session cookie is Unauthorized (REST and HTTP API); her cookie alone is carol", async () => {
    const session = issuer.createSession("carol");
    const [head, payload] = alice.split(".");
    const forged = `${head}.${payload}.${"A".repeat(342)}`;
    const cookie = `session=${session.cookie}`;
    await expect(handler()(rest("GET", "/x", { ...bearer(forged), Cookie: cookie }))).rejects.toThrow(/^Unauthorized$/);
    await expect(handler()(httpApi("GET", "/x", { authorization: `Bearer ${forged}`, cookie }))).rejects.toThrow(
      /^Unauthorized$/,
    );
    const answer = await handler()(rest("GET", "/x", { Cookie: cookie }));
    expect("principalId" in answer && answer.principalId).toBe("carol");
  });
});
