import { readFileSync } from "node:fs";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { LAMBDA_SETTING_NAMES, LAMBDA_SETTINGS } from "../../src/aws/config.ts";
import { WORKER_SETTING_NAMES, WORKER_SETTINGS } from "../../src/cloudflare/config.ts";
import { createAuthenticatorFromEnv } from "../../src/core/authenticator.ts";
import { CORE_SETTINGS, parseConfig, SETTING_NAMES, settingDefault } from "../../src/core/config.ts";
import { MAX_ISSUERS } from "../../src/core/issuers.ts";
import { lookalikeSettings } from "../../src/core/lookalike.ts";
import { ConfigError, defineSettings, extendSettings, fromEnv } from "../../src/core/settings.ts";
import { urlSetting, type UrlRules } from "../../src/core/url-setting.ts";
import { ALL_SETTING_NAMES, ALL_SETTINGS } from "../../src/doctor/settings.ts";
import type { LogFields } from "../../src/core/ports.ts";

const ENDPOINT = "https://myapp.authgear.cloud";

/** What reads a setting: the core for its own, else the one packaging that has it. */
function parserOf(key: string): (env: Readonly<Record<string, unknown>>) => unknown {
  if ((SETTING_NAMES as readonly string[]).includes(key)) return (env) => parseConfig(env);
  if ((WORKER_SETTING_NAMES as readonly string[]).includes(key)) return (env) => WORKER_SETTINGS.parse(env);
  return (env) => LAMBDA_SETTINGS.parse(env);
}

function configError(
  env: Record<string, unknown>,
  parse: (env: Readonly<Record<string, unknown>>) => unknown = parseConfig,
): ConfigError {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("derives everything from the endpoint with documented defaults", () => {
    const config = parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT });
    expect(config).toMatchObject({
      issuer: ENDPOINT,
      discoveryUrl: `${ENDPOINT}/.well-known/openid-configuration`,
      authMode: "jwt",
      audiences: [ENDPOINT],
      allowedClientIds: undefined,
      algorithms: ["RS256"],
      clockToleranceSeconds: 0,
      jwtCookieName: undefined,
      publicPaths: [],
      reportOnly: false,
      logDecisions: false,
      resolverTimeoutMs: 3000,
      jwksMaxAgeSeconds: 300,
      jwksStaleSeconds: 3600,
      routes: [],
      resolverUrl: `${ENDPOINT}/_resolver/resolve`,
      resolverCacheSeconds: 60,
      realm: ENDPOINT,
    });
  });

  it("gives the Worker's own settings and the authorizer's their documented defaults, beside the core's", () => {
    // Each parse has its own per-identity cache of claim headers (none configured).
    const claimHeaders: unknown = expect.objectContaining({ entries: [] });
    const core = { ...parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT }), claimHeaders };
    expect(WORKER_SETTINGS.parse({ AUTHGEAR_ENDPOINT: ENDPOINT })).toEqual({
      ...core,
      gateHeaders: new Set(),
      originUrl: undefined,
      loginUrl: undefined,
      corsAllowedOrigins: new Set(),
      forwardAuthorization: true,
      serverTiming: false,
      originSecret: undefined,
      assertion: undefined,
      assertionHeader: "x-authgear-edge-assertion",
      assertionSecondKey: undefined,
    });
    const lambda = { httpApiResponse: "simple", authorizerCacheSeconds: 300, metrics: "off", assertion: undefined };
    expect(LAMBDA_SETTINGS.parse({ AUTHGEAR_ENDPOINT: ENDPOINT })).toEqual({ ...core, ...lambda });
    expect(
      WORKER_SETTINGS.parse({
        AUTHGEAR_ENDPOINT: ENDPOINT,
        ORIGIN_SECRET: "s".repeat(32),
        ORIGIN_SECRET_HEADER: "X-Edge-Key",
      }).originSecret,
    ).toEqual({
      header: "x-edge-key",
      value: "s".repeat(32),
    });
  });

  it("normalizes a trailing slash and parses lists, trimming blanks", () => {
    const config = WORKER_SETTINGS.parse({
      AUTHGEAR_ENDPOINT: `${ENDPOINT}/`,
      AUDIENCE: " https://api.example.com , https://other.example.com,",
      ALLOWED_CLIENT_IDS: "a,b",
      ALGORITHMS: "RS256,ES256,RS256",
      CLOCK_TOLERANCE_SECONDS: "30",
      JWT_COOKIE_NAME: "access_token",
      PUBLIC_PATHS: "/healthz, /public/*,/,/docs/,/.well-known/*,/v1.2/x",
      ORIGIN_URL: "https://origin.example.com/",
      AUTH_MODE: "hybrid",
      RESOLVER_CACHE_SECONDS: "0",
      FORWARD_AUTHORIZATION: "false",
    });
    expect(config.forwardAuthorization).toBe(false);
    expect(config.issuer).toBe(ENDPOINT);
    expect(config.audiences).toEqual(["https://api.example.com", "https://other.example.com"]);
    expect(config.realm).toBe("https://api.example.com");
    expect([...(config.allowedClientIds ?? [])]).toEqual(["a", "b"]);
    expect(config.algorithms).toEqual(["RS256", "ES256"]);
    expect(config.clockToleranceSeconds).toBe(30);
    expect(config.jwtCookieName).toBe("access_token");
    expect(config.publicPaths).toEqual(["/healthz", "/public/*", "/", "/docs/", "/.well-known/*", "/v1.2/x"]);
    expect(config.originUrl).toBe("https://origin.example.com");
    expect(config.resolverCacheSeconds).toBe(0);
  });

  it("names Authgear's cookies with RESOLVER_COOKIE_PREFIX prepended, in the resolver's order; none by default", () => {
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT })).toMatchObject({
      resolverCookiePrefix: "",
      resolverCookies: ["app_session", "app_access_token", "session"],
    });
    const parseConfigResolver = (env: Record<string, string>) => parseConfig({ AUTH_MODE: "resolver", ...env });
    expect(parseConfigResolver({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: " " })).toMatchObject({
      resolverCookiePrefix: "",
      resolverCookies: ["app_session", "app_access_token", "session"],
    });
    expect(parseConfigResolver({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "myapp_" })).toMatchObject({
      resolverCookiePrefix: "myapp_",
      resolverCookies: ["myapp_app_session", "myapp_app_access_token", "myapp_session"],
    });
    expect(
      parseConfigResolver({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "__Secure-a.b" }).resolverCookies,
    ).toEqual(["__Secure-a.bapp_session", "__Secure-a.bapp_access_token", "__Secure-a.bsession"]);
    expect(
      parseConfigResolver({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "a".repeat(64) }).resolverCookiePrefix,
    ).toHaveLength(64);
    expect(settingDefault("RESOLVER_COOKIE_PREFIX")).toBeUndefined();
  });

  it("treats empty values as unset and ignores unrelated keys of an environment", () => {
    const config = parseConfig(
      fromEnv({ AUTHGEAR_ENDPOINT: ENDPOINT, AUDIENCE: "", ALGORITHMS: "  ", AWS_REGION: "eu-west-1", KV: {} }),
    );
    expect(config.audiences).toEqual([ENDPOINT]);
    expect(config.algorithms).toEqual(["RS256"]);
  });

  it.each([
    ["http://127.0.0.1:3000", "http://127.0.0.1:3000"],
    ["http://localhost:8080", "http://localhost:8080"],
    ["http://[::1]:8080", "http://[::1]:8080"],
  ])("allows http only for loopback hosts: %s", (endpoint, issuer) => {
    expect(parseConfig({ AUTHGEAR_ENDPOINT: endpoint }).issuer).toBe(issuer);
  });

  it.each([
    ["missing", undefined, "is required"],
    ["not a URL", "myapp.authgear.cloud", "not an absolute URL"],
    ["plain http", "http://myapp.authgear.cloud", "https"],
    ["http on a private address", "http://10.0.0.1", "https"],
    ["http on a look-alike host", "http://127.0.0.1.evil.example", "https"],
    ["a path", `${ENDPOINT}/oauth2`, "origin"],
    ["a query", `${ENDPOINT}/?x=1`, "origin"],
    ["an empty query", `${ENDPOINT}?`, "origin"],
    ["a fragment", `${ENDPOINT}#x`, "fragment"],
    ["credentials", "https://user:pass@myapp.authgear.cloud", "credentials"],
    ["another scheme", "ftp://myapp.authgear.cloud", "https"],
  ])("refuses an endpoint that is %s", (_name, endpoint, message) => {
    const error = configError({ AUTHGEAR_ENDPOINT: endpoint });
    expect(error.code).toBe("ERR_CONFIG_INVALID");
    expect(error.keys).toEqual(["AUTHGEAR_ENDPOINT"]);
    expect(error.message).toContain(message);
  });

  it.each([
    ["ALGORITHMS", "HS256"],
    ["ALGORITHMS", "none"],
    ["ALGORITHMS", "RS256,NONE"],
    ["ALGORITHMS", ","],
    ["AUDIENCE", ","],
    ["ALLOWED_CLIENT_IDS", " , "],
    ["CLOCK_TOLERANCE_SECONDS", "-1"],
    ["CLOCK_TOLERANCE_SECONDS", "1.5"],
    ["CLOCK_TOLERANCE_SECONDS", "301"],
    ["CLOCK_TOLERANCE_SECONDS", "ten"],
    ["JWT_COOKIE_NAME", "a b"],
    ["JWT_COOKIE_NAME", "a;b"],
    ["AUTH_MODE", "magic"],
    ["RESOLVER_TIMEOUT_MS", "50"],
    ["LOGIN_URL", "http://login.example.com/"],
    ["RESOLVER_TIMEOUT_MS", "30001"],
    ["PUBLIC_PATHS", "healthz"],
    ["PUBLIC_PATHS", "/public/../admin"],
    ["PUBLIC_PATHS", "/a/*/b"],
    ["PUBLIC_PATHS", "/a%2fb"],
    ["PUBLIC_PATHS", "//public"],
    ["PUBLIC_PATHS", "/a;b"],
    ["PUBLIC_PATHS", "/public*"],
    ["PUBLIC_PATHS", "/./x"],
    ["PUBLIC_PATHS", "/x/.."],
    ["PUBLIC_PATHS", "/x/../*"],
    ["PUBLIC_PATHS", "/a\\b"],
    ["PUBLIC_PATHS", "/a?b"],
    ["ROUTES", "{"],
    ["ROUTES", "{}"],
    ["ROUTES", '[{"path":"admin"}]'],
    ["ROUTES", '[{"path":"/a/../b"}]'],
    ["ROUTES", '[{"path":"/a","methods":["FETCH"]}]'],
    ["ROUTES", '[{"path":"/a","roles":[]}]'],
    ["ROUTES", '[{"path":"/a","roles":["a,b"]}]'],
    ["ROUTES", '[{"path":"/a","verified":false}]'],
    ["ROUTES", '[{"path":"/a","maxAuthAge":-1}]'],
    ["ROUTES", '[{"path":"/a","role":["admin"]}]'],
    ["ORIGIN_URL", "not a url"],
    ["ORIGIN_URL", "https://origin.example.com/?q=1"],
    ["RESOLVER_URL", "http://resolver.example.com/"],
    ["RESOLVER_CACHE_SECONDS", "3601"],
    ["FORWARD_AUTHORIZATION", "yes"],
    ["SERVER_TIMING", "1"],
    ["REPORT_ONLY", "on"],
    ["METRICS", "prometheus"],
    ["CORS_ALLOWED_ORIGINS", "*"],
    ["CORS_ALLOWED_ORIGINS", "https://app.example.com/"],
    ["CORS_ALLOWED_ORIGINS", "https://app.example.com, https://app.example.com/path"],
    ["CORS_ALLOWED_ORIGINS", "ftp://app.example.com"],
    ["CORS_ALLOWED_ORIGINS", "null"],
    ["LOG_DECISIONS", "yes"],
    ["ORIGIN_SECRET", "too-short"],
    ["ORIGIN_SECRET", `${"x".repeat(40)} with spaces`],
    ["ORIGIN_SECRET_HEADER", "two words"],
    ["ORIGIN_SECRET_HEADER", "Authorization"],
    ["HTTP_API_RESPONSE", "IAM"],
    ["JWKS_MAX_AGE_SECONDS", "0"],
    ["JWKS_MAX_AGE_SECONDS", "86401"],
    ["JWKS_STALE_SECONDS", "-1"],
    ["AUTHORIZER_CACHE_SECONDS", "3601"],
    ["AUTHORIZER_CACHE_SECONDS", "-1"],
    ["ROUTES", '[{"path":"/a","clientIds":[]}]'],
    ["ROUTES", '[{"path":"/a","subject":"robot"}]'],
    ["ROUTES", '[{"path":"/a","subject":"users"}]'],
    ["ROUTES", '[{"path":"/a","amr":[]}]'],
    ["ROUTES", '[{"path":"/a","amr":["o t p"]}]'],
    ["ROUTES", '[{"path":"/a","amr":"otp"}]'],
    ["ROUTES", '[{"path":"/a","issuers":[]}]'],
    ["ROUTES", '[{"path":"/a","issuers":["https://myapp.authgear.cloud/oauth2"]}]'],
    ["ROUTES", '[{"path":"/a","issuers":["http://myapp.authgear.cloud"]}]'],
    ["RESOURCES", ","],
    ["RESOURCES", "api"],
    ["RESOURCES", "https://api.example.com#x"],
    ["RESOURCES", "/relative"],
    ["ROUTES", '[{"path":"/a","clientIds":["web app"]}]'],
    ["ROUTES", JSON.stringify([{ path: `/${"a".repeat(256)}` }])],
    ["RESOLVER_COOKIE_PREFIX", "my app_"],
    ["RESOLVER_COOKIE_PREFIX", "my;app_"],
    ["RESOLVER_COOKIE_PREFIX", "my=app_"],
    ["RESOLVER_COOKIE_PREFIX", "my,app_"],
    ["RESOLVER_COOKIE_PREFIX", '"myapp_"'],
    ["RESOLVER_COOKIE_PREFIX", "my/app_"],
    ["RESOLVER_COOKIE_PREFIX", "myäpp_"],
    ["RESOLVER_COOKIE_PREFIX", "my\tapp_"],
    ["RESOLVER_COOKIE_PREFIX", "a".repeat(65)],
  ])("refuses %s=%j", (key, value) => {
    const error = configError({ AUTHGEAR_ENDPOINT: ENDPOINT, [key]: value }, parserOf(key));
    expect(error.keys).toEqual([key]);
  });

  it("never echoes ORIGIN_SECRET in its error", () => {
    const error = configError(
      { AUTHGEAR_ENDPOINT: ENDPOINT, ORIGIN_SECRET: "short-but-secret" },
      WORKER_SETTINGS.parse,
    );
    expect(error.keys).toEqual(["ORIGIN_SECRET"]);
    expect(error.message).not.toContain("short-but-secret");
  });

  it("names every bad key in one message", () => {
    const error = configError({
      AUTHGEAR_ENDPOINT: "http://example.com",
      ALGORITHMS: "HS256",
      CLOCK_TOLERANCE_SECONDS: "-5",
      AUDIENCE: ",",
      JWT_COOKIE_NAME: "bad name",
    });
    expect(new Set(error.keys)).toEqual(
      new Set(["AUTHGEAR_ENDPOINT", "ALGORITHMS", "CLOCK_TOLERANCE_SECONDS", "AUDIENCE", "JWT_COOKIE_NAME"]),
    );
    for (const key of error.keys) expect(error.message).toContain(`${key}:`);
  });

  it("names every bad key of the core and the Worker in one message, in the schema's order, and no secret", () => {
    const error = configError(
      {
        SERVER_TIMING: "1",
        ORIGIN_SECRET: "short-but-secret",
        ROUTES: "{",
        ORIGIN_URL: "ftp://origin.example.com",
        AUTHGEAR_ENDPOINT: "http://example.com",
      },
      WORKER_SETTINGS.parse,
    );
    expect(error.keys).toEqual(["AUTHGEAR_ENDPOINT", "ROUTES", "ORIGIN_URL", "SERVER_TIMING", "ORIGIN_SECRET"]);
    expect(error.message).toBe(
      "Invalid configuration (AUTHGEAR_ENDPOINT, ROUTES, ORIGIN_URL, SERVER_TIMING, ORIGIN_SECRET). " +
        "AUTHGEAR_ENDPOINT: must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1]); ROUTES: is not JSON; " +
        "ORIGIN_URL: must be an http or https URL; SERVER_TIMING: must be true or false; " +
        "ORIGIN_SECRET: must be 32 to 512 printable ASCII characters without spaces (a random secret, e.g. `openssl rand -hex 32`)",
    );
  });

  it("names every bad key of the core and the authorizer in one message, in the schema's order", () => {
    const error = configError(
      { METRICS: "prometheus", AUTHORIZER_CACHE_SECONDS: "-1", JWKS_MAX_AGE_SECONDS: "0", AUTH_MODE: "magic" },
      LAMBDA_SETTINGS.parse,
    );
    expect(error.keys).toEqual([
      "AUTHGEAR_ENDPOINT",
      "AUTH_MODE",
      "JWKS_MAX_AGE_SECONDS",
      "AUTHORIZER_CACHE_SECONDS",
      "METRICS",
    ]);
    for (const key of error.keys) expect(error.message).toContain(`${key}:`);
  });

  it("reports a packaging's bad keys with the core's at start-up: one config_invalid line, the same error", () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const built = createAuthenticatorFromEnv(
      {
        AUTHGEAR_ENDPOINT: ENDPOINT,
        AUDIENCE: ",",
        LOGIN_URL: "http://login.example.com/",
        ORIGIN_SECRET: "short-but-secret",
      },
      { logger: { log: (event, fields) => logs.push({ event, ...fields }) } },
      { settings: WORKER_SETTINGS },
    );
    expect(built.ok).toBe(false);
    expect(!built.ok && built.error.keys).toEqual(["AUDIENCE", "LOGIN_URL", "ORIGIN_SECRET"]);
    expect(logs).toEqual([
      {
        event: "config_invalid",
        keys: "AUDIENCE,LOGIN_URL,ORIGIN_SECRET",
        message: expect.stringContaining("LOGIN_URL: must use https") as unknown,
      },
    ]);
    expect(JSON.stringify(logs)).not.toContain("short-but-secret");
  });

  it("gives a packaging's own checks its configuration, and reports their keys like the schema's", () => {
    const seen: unknown[] = [];
    const built = createAuthenticatorFromEnv(
      { AUTHGEAR_ENDPOINT: ENDPOINT, AUTHORIZER_CACHE_SECONDS: "60", REPORT_ONLY: "true" },
      { logger: { log: () => undefined } },
      {
        settings: LAMBDA_SETTINGS,
        validate: (config) => {
          seen.push(config.authorizerCacheSeconds, config.reportOnly);
          return new Map([["REPORT_ONLY", "not with the cache on"]]);
        },
      },
    );
    expect(seen).toEqual([60, true]);
    expect(!built.ok && built.error.message).toBe(
      "Invalid configuration (REPORT_ONLY). REPORT_ONLY: not with the cache on",
    );
  });
});

describe("each packaging's settings", () => {
  const WORKER_ONLY = {
    ORIGIN_URL: "not a url",
    LOGIN_URL: "http://login.example.com/",
    CORS_ALLOWED_ORIGINS: "*",
    FORWARD_AUTHORIZATION: "yes",
    SERVER_TIMING: "1",
    ORIGIN_SECRET: "short",
    ORIGIN_SECRET_HEADER: "Authorization",
  };
  const LAMBDA_ONLY = { HTTP_API_RESPONSE: "IAM", AUTHORIZER_CACHE_SECONDS: "-1", METRICS: "prometheus" };

  it("are the core's, then the packaging's own; the Worker's and the authorizer's share only the core's", () => {
    // The assertion's settings both packagings read (not the Hono middleware, which forwards nothing),
    // then the two that only the Worker carries out (it publishes the key set and names the header).
    const signing = ["ASSERTION_KEY", "ASSERTION_ISSUER", "ASSERTION_AUDIENCE", "ASSERTION_LIFETIME_SECONDS"];
    const workerSigning = ["ASSERTION_SECOND_KEY", "ASSERTION_HEADER"];
    const worker = [...Object.keys(WORKER_ONLY), ...workerSigning];
    expect(WORKER_SETTING_NAMES).toEqual([...SETTING_NAMES, ...signing, ...worker]);
    expect(LAMBDA_SETTING_NAMES).toEqual([...SETTING_NAMES, ...signing, ...Object.keys(LAMBDA_ONLY)]);
    const edge = ["SECRET_ARN", "SECRET_SETTINGS"];
    expect(ALL_SETTING_NAMES).toEqual([...SETTING_NAMES, ...signing, ...worker, ...Object.keys(LAMBDA_ONLY), ...edge]);
  });

  it("the authorizer reads none of the Worker's own: bad values there are not its problem, and its configuration has no Worker field", () => {
    const config = LAMBDA_SETTINGS.parse({ AUTHGEAR_ENDPOINT: ENDPOINT, ...WORKER_ONLY });
    for (const field of [
      "originUrl",
      "loginUrl",
      "corsAllowedOrigins",
      "forwardAuthorization",
      "serverTiming",
      "originSecret",
    ])
      expect(config).not.toHaveProperty(field);
    expect(configError({ AUTHGEAR_ENDPOINT: ENDPOINT, ...WORKER_ONLY }, WORKER_SETTINGS.parse).keys).toEqual(
      Object.keys(WORKER_ONLY),
    );
  });

  it("the Worker reads none of the authorizer's own, and the core neither's", () => {
    const config = WORKER_SETTINGS.parse({ AUTHGEAR_ENDPOINT: ENDPOINT, ...LAMBDA_ONLY });
    for (const field of ["httpApiResponse", "authorizerCacheSeconds", "metrics"])
      expect(config).not.toHaveProperty(field);
    expect(configError({ AUTHGEAR_ENDPOINT: ENDPOINT, ...LAMBDA_ONLY }, LAMBDA_SETTINGS.parse).keys).toEqual(
      Object.keys(LAMBDA_ONLY),
    );
    expect(Object.keys(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, ...WORKER_ONLY, ...LAMBDA_ONLY }))).toEqual(
      Object.keys(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT })),
    );
  });

  it("read together (the doctor), name every bad key of both", () => {
    expect(
      configError({ AUTHGEAR_ENDPOINT: ENDPOINT, ...WORKER_ONLY, ...LAMBDA_ONLY }, ALL_SETTINGS.parse).keys,
    ).toEqual([...Object.keys(WORKER_ONLY), ...Object.keys(LAMBDA_ONLY)]);
  });

  it("never give one name two schemas", () => {
    const twice = defineSettings({ AUTH_MODE: v.optional(v.string()) }, () => ({}));
    expect(() => extendSettings(CORE_SETTINGS, twice)).toThrow("AUTH_MODE is defined twice, differently");
  });
});

const A = "https://a.example.com";
const B = "https://b.example.com";
const issuersOf = (...entries: object[]): string => JSON.stringify(entries);

describe("trusted issuers: ISSUERS, or AUTHGEAR_ENDPOINT for one", () => {
  it("reads each issuer with its own members, ALGORITHMS as every issuer's default, the first as the primary", () => {
    const config = parseConfig({
      ISSUERS: issuersOf(
        {
          issuer: A,
          audiences: ["api-a"],
          resources: ["https://api.example.com/"],
          clientIds: ["web", "svc"],
          algorithms: ["ES256"],
          clientMarks: "rfc9068",
        },
        { issuer: `${B}/` },
      ),
      ALGORITHMS: "PS256,RS256",
    });
    const plain = config.issuers.map((entry) => ({
      ...entry,
      allowedClientIds: entry.allowedClientIds && [...entry.allowedClientIds],
    }));
    expect(plain).toEqual([
      {
        issuer: A,
        discoveryUrl: `${A}/.well-known/openid-configuration`,
        audiences: ["api-a"],
        resources: ["https://api.example.com/"],
        allowedClientIds: ["web", "svc"],
        algorithms: ["ES256"],
        clientMarks: "rfc9068",
      },
      {
        issuer: B,
        discoveryUrl: `${B}/.well-known/openid-configuration`,
        audiences: [B],
        resources: [],
        allowedClientIds: undefined,
        algorithms: ["PS256", "RS256"],
        clientMarks: "authgear",
      },
    ]);
    expect(config).toMatchObject({
      issuer: A,
      audiences: ["api-a"],
      algorithms: ["ES256"],
      realm: "api-a",
      resolverUrl: `${A}/_resolver/resolve`,
    });
  });

  it("builds the one issuer of AUTHGEAR_ENDPOINT from AUDIENCE, RESOURCES, ALLOWED_CLIENT_IDS and ALGORITHMS", () => {
    const config = parseConfig({
      AUTHGEAR_ENDPOINT: ENDPOINT,
      AUDIENCE: "x",
      RESOURCES: "https://api.example.com, urn:example:api",
      ALLOWED_CLIENT_IDS: "svc",
      ALGORITHMS: "ES256",
    });
    expect(config.issuers).toHaveLength(1);
    expect(config.issuers[0]).toMatchObject({
      issuer: ENDPOINT,
      audiences: ["x"],
      resources: ["https://api.example.com", "urn:example:api"],
      algorithms: ["ES256"],
      clientMarks: "authgear",
    });
    expect([...(config.issuers[0]?.allowedClientIds ?? [])]).toEqual(["svc"]);
    // No RESOURCES: no resource, so every machine client's token is refused.
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT }).issuers[0]?.resources).toEqual([]);
  });

  it("takes exactly one of AUTHGEAR_ENDPOINT and ISSUERS, and names a missing one beside other bad keys", () => {
    const neither = configError({});
    expect(neither.keys).toEqual(["AUTHGEAR_ENDPOINT"]);
    expect(neither.message).toBe(
      "Invalid configuration (AUTHGEAR_ENDPOINT). " +
        "AUTHGEAR_ENDPOINT: is required (or ISSUERS, to trust several issuers)",
    );
    const others = configError({ AUTH_MODE: "magic", RESOURCES: "api" });
    expect(others.keys).toEqual(["AUTHGEAR_ENDPOINT", "AUTH_MODE", "RESOURCES"]);
    const both = configError({ AUTHGEAR_ENDPOINT: A, ISSUERS: issuersOf({ issuer: A }) });
    expect(both.keys).toEqual(["AUTHGEAR_ENDPOINT"]);
    expect(both.message).toContain("set one of the two");
    expect(parseConfig({ ISSUERS: issuersOf({ issuer: A }) }).issuer).toBe(A);
    expect(parseConfig({ AUTHGEAR_ENDPOINT: A, ISSUERS: "" }).issuer).toBe(A);
  });

  it.each([
    ["AUDIENCE", "api", "audiences"],
    ["RESOURCES", "https://api.example.com", "resources"],
    ["ALLOWED_CLIENT_IDS", "svc", "clientIds"],
  ])("refuses %s beside ISSUERS: each issuer says its own %s", (name, value, member) => {
    const error = configError({ ISSUERS: issuersOf({ issuer: A }, { issuer: B }), [name]: value });
    expect(error.keys).toEqual([name]);
    expect(error.message).toContain(`give each issuer its own "${member}"`);
  });

  it(`trusts 1 to MAX_ISSUERS (${MAX_ISSUERS}) issuers`, () => {
    expect(MAX_ISSUERS).toBe(16);
    const many = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ issuer: `https://issuer${index}.example.com` }));
    expect(parseConfig({ ISSUERS: JSON.stringify(many(MAX_ISSUERS)) }).issuers).toHaveLength(MAX_ISSUERS);
    const tooMany = configError({ ISSUERS: JSON.stringify(many(MAX_ISSUERS + 1)) });
    expect(tooMany.keys).toEqual(["ISSUERS"]);
    expect(tooMany.message).toContain(`may name at most ${MAX_ISSUERS} issuers`);
    expect(configError({ ISSUERS: "[]" }).message).toContain("must name at least one issuer");
  });

  it.each([
    ["the same origin", [{ issuer: A }, { issuer: A }]],
    ["another spelling of it (case, trailing slash)", [{ issuer: A }, { issuer: "https://A.example.com/" }]],
    ["a third entry repeating the first", [{ issuer: A }, { issuer: B }, { issuer: A, audiences: ["other"] }]],
  ])("refuses an issuer named twice: %s", (_case, entries) => {
    const error = configError({ ISSUERS: JSON.stringify(entries) });
    expect(error.keys).toEqual(["ISSUERS"]);
    expect(error.message).toContain("names an issuer twice");
  });

  it.each([
    ["not JSON", "[", "is not JSON"],
    ["not an array", "{}", "must be a JSON array of issuers"],
    ["an unknown member", issuersOf({ issuer: A, audience: ["x"] }), 'unknown member "audience"'],
    ["no issuer", issuersOf({ audiences: ["x"] }), "must be an object with an issuer"],
    ["an issuer with a path", issuersOf({ issuer: `${A}/oauth2` }), "must be an origin"],
    ["plain http", issuersOf({ issuer: "http://a.example.com" }), "must use https"],
    ["a resource with a fragment", issuersOf({ issuer: A, resources: ["https://api.example.com#x"] }), "a fragment"],
    ["empty resources", issuersOf({ issuer: A, resources: [] }), "must name at least one resource"],
    ["empty audiences", issuersOf({ issuer: A, audiences: [] }), "must name at least one audience"],
    ["a symmetric algorithm", issuersOf({ issuer: A, algorithms: ["HS256"] }), "symmetric algorithms and none"],
    ["unknown client marks", issuersOf({ issuer: A, clientMarks: "okta" }), "must be one of authgear, rfc9068"],
  ])("refuses ISSUERS with %s", (_case, value, problem) => {
    const error = configError({ ISSUERS: value });
    expect(error.keys).toEqual(["ISSUERS"]);
    expect(error.message).toContain(problem);
  });

  it("refuses a rule whose issuers member names an issuer that is not trusted", () => {
    const rules = [
      { path: "/a", issuers: [A] },
      { path: "/b", issuers: [`${B}/`, "https://c.example.com"] },
    ];
    const shorthand = configError({ AUTHGEAR_ENDPOINT: A, ROUTES: JSON.stringify(rules) });
    expect(shorthand.keys).toEqual(["ROUTES"]);
    expect(shorthand.message).toBe(
      "Invalid configuration (ROUTES). " +
        "ROUTES: rule 1 names https://b.example.com, rule 1 names https://c.example.com, which is not a trusted issuer",
    );
    const listed = configError({ ISSUERS: issuersOf({ issuer: A }, { issuer: B }), ROUTES: JSON.stringify(rules) });
    expect(listed.message).toBe(
      "Invalid configuration (ROUTES). ROUTES: rule 1 names https://c.example.com, which is not a trusted issuer",
    );
    const trusted = parseConfig({
      ISSUERS: issuersOf({ issuer: A }, { issuer: B }),
      ROUTES: JSON.stringify([rules[0]]),
    });
    expect(trusted.routes).toEqual([{ path: "/a", issuers: [A] }]);
  });

  it("refuses AUTH_MODE=resolver with several issuers (its resolver judges its own project only), not with one", () => {
    const two = issuersOf({ issuer: A }, { issuer: B });
    const error = configError({ ISSUERS: two, AUTH_MODE: "resolver" });
    expect(error.keys).toEqual(["ISSUERS"]);
    expect(error.message).toContain("use AUTH_MODE=hybrid");
    expect(parseConfig({ ISSUERS: issuersOf({ issuer: A }), AUTH_MODE: "resolver" }).authMode).toBe("resolver");
    expect(parseConfig({ ISSUERS: two, AUTH_MODE: "hybrid" }).issuers).toHaveLength(2);
    expect(parseConfig({ ISSUERS: two, AUTH_MODE: "jwt" }).issuers).toHaveLength(2);
  });
});

describe("route rules for machine clients (subject)", () => {
  const USER_MEMBERS = { roles: ["admin"], verified: true, anonymous: false, maxAuthAge: 600, amr: ["otp"] };

  const cases = ["client", "any"].flatMap((subject) =>
    Object.entries(USER_MEMBERS).map(([member, value]) => [subject, member, value] as const),
  );
  it.each(cases)("refuses a rule with subject %s holding %s, no client meets it", (subject, member, value) => {
    const rules = [{ path: "/ok" }, { path: "/a", subject, [member]: value }];
    const error = configError({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: JSON.stringify(rules) });
    expect(error.keys).toEqual(["ROUTES"]);
    expect(error.message).toContain(
      "rule 1: a rule whose subject is client or any cannot hold roles, verified, anonymous, maxAuthAge, amr",
    );
  });

  it("takes the user members under subject user or none, and scopes, clientIds and issuers under any subject", () => {
    for (const subject of [undefined, "user"]) {
      const rule = { path: "/a", ...(subject !== undefined && { subject }), ...USER_MEMBERS };
      expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: JSON.stringify([rule]) }).routes).toEqual([rule]);
    }
    for (const subject of ["user", "client", "any"]) {
      const rule = { path: "/a", subject, scopes: ["s"], clientIds: ["svc"], issuers: [ENDPOINT] };
      expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: JSON.stringify([rule]) }).routes).toEqual([rule]);
    }
  });
});

describe("urlSetting", () => {
  const ENDPOINT_RULES: UrlRules = { http: "loopback", form: "origin" };
  const SECURE_URL: UrlRules = { http: "loopback", form: "url" };
  const ORIGIN_BASE: UrlRules = { http: "any", form: "base" };

  function read(rules: UrlRules, raw: unknown): { value: string } | { problem: string } {
    const result = v.safeParse(urlSetting(rules), raw);
    return result.success
      ? { value: result.output }
      : { problem: result.issues.map((issue) => issue.message).join("; ") };
  }

  it.each([
    [ENDPOINT_RULES, "https://myapp.authgear.cloud/", "https://myapp.authgear.cloud"],
    [ENDPOINT_RULES, "https://MyApp.authgear.cloud:8443", "https://myapp.authgear.cloud:8443"],
    [ENDPOINT_RULES, "http://localhost:3000", "http://localhost:3000"],
    [SECURE_URL, "https://login.example.com/sign-in?next=1", "https://login.example.com/sign-in?next=1"],
    [SECURE_URL, "http://127.0.0.1:4010/_dev/login", "http://127.0.0.1:4010/_dev/login"],
    [SECURE_URL, "http://[::1]/_resolver/resolve", "http://[::1]/_resolver/resolve"],
    [ORIGIN_BASE, "https://origin.example.com/", "https://origin.example.com"],
    [ORIGIN_BASE, "http://origin.internal:8080/api/", "http://origin.internal:8080/api"],
    [ORIGIN_BASE, "http://10.0.0.7/v1", "http://10.0.0.7/v1"],
  ])("accepts %j %s as %s", (rules, raw, value) => {
    expect(read(rules, raw)).toEqual({ value });
  });

  it.each([
    [ENDPOINT_RULES, undefined, "is required"],
    [ENDPOINT_RULES, 42, "must be a string"],
    [ENDPOINT_RULES, "myapp.authgear.cloud", "is not an absolute URL"],
    [
      ENDPOINT_RULES,
      "http://myapp.authgear.cloud",
      "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])",
    ],
    [
      ENDPOINT_RULES,
      "https://myapp.authgear.cloud/oauth2",
      "must be an origin (scheme://host[:port]) without a path or query",
    ],
    [
      ENDPOINT_RULES,
      "https://myapp.authgear.cloud?",
      "must be an origin (scheme://host[:port]) without a path or query",
    ],
    [ENDPOINT_RULES, "https://myapp.authgear.cloud#", "must not contain a fragment"],
    [
      SECURE_URL,
      "http://login.example.com/",
      "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])",
    ],
    [
      SECURE_URL,
      "http://127.0.0.1.evil.example/",
      "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])",
    ],
    [SECURE_URL, "https://user@login.example.com/", "must not contain credentials"],
    [SECURE_URL, "https://login.example.com/#top", "must not contain a fragment"],
    [SECURE_URL, "javascript:alert(1)", "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])"],
    [ORIGIN_BASE, "not a url", "is not an absolute URL"],
    [ORIGIN_BASE, "ftp://origin.example.com", "must be an http or https URL"],
    [ORIGIN_BASE, "https://origin.example.com/?q=1", "must not contain a query"],
    [ORIGIN_BASE, "https://origin.example.com/?", "must not contain a query"],
    [ORIGIN_BASE, "https://origin.example.com/#x", "must not contain a fragment"],
    [ORIGIN_BASE, "https://user:pass@origin.example.com", "must not contain credentials"],
  ])("refuses %j %j: %s", (rules, raw, problem) => {
    expect(read(rules, raw)).toEqual({ problem });
  });
});

describe("what a user mistypes", () => {
  it("names an unknown ROUTES member and lists the valid ones", () => {
    let error: unknown;
    try {
      parseConfig({
        AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud",
        ROUTES: '[{"path":"/a"},{"path":"/b","role":["admin"]}]',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'Invalid configuration (ROUTES). ROUTES: rule 1.role: unknown member "role"; ' +
        "a rule's members are path, methods, roles, scopes, clientIds, verified, anonymous, maxAuthAge, " +
        "amr, subject, issuers",
    );
  });

  it("finds names that look like a setting, and only those", () => {
    const env = {
      PUBLIC_PATH: "/x",
      JWKS_MAX_AGE: "60",
      routes: "[]",
      "Auth-Mode": "jwt",
      AUTHGEAR_ENDPOINTS: "https://a.example",
      AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud",
      AWS_REGION: "us-east-1",
      PATH: "/usr/bin",
      HTTP_PROXY: "http://proxy",
      AUDIENCE: "x",
      NODE_OPTIONS: "",
    };
    expect(lookalikeSettings(env, SETTING_NAMES)).toEqual([
      ["PUBLIC_PATH", "PUBLIC_PATHS"],
      ["JWKS_MAX_AGE", "JWKS_MAX_AGE_SECONDS"],
      ["routes", "ROUTES"],
      ["Auth-Mode", "AUTH_MODE"],
      ["AUTHGEAR_ENDPOINTS", "AUTHGEAR_ENDPOINT"],
    ]);
  });

  it("finds a near miss of any word of a name, not only of its first", () => {
    const env = {
      ALGORITHM: "ES256",
      AUTH_MOD: "hybrid",
      ISSUER: "x",
      ROUTE: "x",
      JWT_COOKIE: "at",
      FORWARD_AUTH: "false",
    };
    expect(lookalikeSettings(env, ALL_SETTING_NAMES)).toEqual([
      ["ALGORITHM", "ALGORITHMS"],
      ["AUTH_MOD", "AUTH_MODE"],
      ["ISSUER", "ISSUERS"],
      ["ROUTE", "ROUTES"],
      ["JWT_COOKIE", "JWT_COOKIE_NAME"],
      ["FORWARD_AUTH", "FORWARD_AUTHORIZATION"],
    ]);
  });

  it("takes none of the variables Lambda sets, nor a shell's, for a setting", () => {
    // AWS Lambda's reserved and defined runtime environment variables (Lambda Developer Guide,
    // "Defined runtime environment variables"), and a Unix login shell's.
    const names = [
      "_HANDLER",
      "_X_AMZN_TRACE_ID",
      "AWS_DEFAULT_REGION",
      "AWS_REGION",
      "AWS_EXECUTION_ENV",
      "AWS_LAMBDA_FUNCTION_NAME",
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
      "AWS_LAMBDA_FUNCTION_VERSION",
      "AWS_LAMBDA_INITIALIZATION_TYPE",
      "AWS_LAMBDA_LOG_GROUP_NAME",
      "AWS_LAMBDA_LOG_STREAM_NAME",
      "AWS_ACCESS_KEY",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_LAMBDA_RUNTIME_API",
      "LAMBDA_TASK_ROOT",
      "LAMBDA_RUNTIME_DIR",
      "AWS_XRAY_CONTEXT_MISSING",
      "AWS_XRAY_DAEMON_ADDRESS",
      "AWS_LAMBDA_LOG_FORMAT",
      "AWS_LAMBDA_LOG_LEVEL",
      "LANG",
      "PATH",
      "LD_LIBRARY_PATH",
      "NODE_PATH",
      "NODE_OPTIONS",
      "NODE_EXTRA_CA_CERTS",
      "TZ",
      "HOME",
      "USER",
      "SHELL",
      "PWD",
      "OLDPWD",
      "TERM",
      "HOSTNAME",
      "SHLVL",
      "LOGNAME",
      "EDITOR",
      "CI",
      "NODE_ENV",
      "DEBUG",
      "PORT",
      "HOST",
    ];
    expect(lookalikeSettings(Object.fromEntries(names.map((name) => [name, "x"])), ALL_SETTING_NAMES)).toEqual([]);
  });

  it("warns once per lookalike name at start-up, and still starts", () => {
    const logs: Array<Record<string, unknown>> = [];
    const built = createAuthenticatorFromEnv(
      { AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud", PUBLIC_PATH: "/healthz", AWS_REGION: "us-east-1" },
      { logger: { log: (event, fields) => logs.push({ event, ...fields }) } },
    );
    expect(built.ok).toBe(true);
    expect(logs).toEqual([{ event: "config_unknown_setting", name: "PUBLIC_PATH", did_you_mean: "PUBLIC_PATHS" }]);
  });

  it("warns about look-alikes of a packaging's own settings, and never about the other packaging's exact names", () => {
    const logs: Array<Record<string, unknown>> = [];
    const every = Object.fromEntries(ALL_SETTING_NAMES.map((name) => [name, ""]));
    const built = createAuthenticatorFromEnv(
      { ...every, AUTHGEAR_ENDPOINT: ENDPOINT, ORIGIN_URLS: "https://origin.example.com", HTTP_API_RESPONSE: "iam" },
      { logger: { log: (event, fields) => logs.push({ event, ...fields }) } },
      { settings: WORKER_SETTINGS },
    );
    expect(built.ok).toBe(true);
    expect(logs).toEqual([{ event: "config_unknown_setting", name: "ORIGIN_URLS", did_you_mean: "ORIGIN_URL" }]);
    expect(lookalikeSettings(every, WORKER_SETTING_NAMES)).toEqual([]);
    expect(lookalikeSettings(every, LAMBDA_SETTING_NAMES)).toEqual([]);
    expect(lookalikeSettings({ HTTP_API_RESPONSES: "iam", AUTHORIZER_CACHE: "0" }, LAMBDA_SETTING_NAMES)).toEqual([
      ["HTTP_API_RESPONSES", "HTTP_API_RESPONSE"],
      ["AUTHORIZER_CACHE", "AUTHORIZER_CACHE_SECONDS"],
    ]);
  });
});

describe("SETTING_NAMES and settingDefault", () => {
  it("name, over every packaging, the settings of docs/configuration.md's reference", () => {
    const page = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    const start = page.indexOf("\n## Reference\n");
    // The reference itself, up to the table of the settings by mode.
    const section = page.slice(start, page.indexOf("\n## Every setting in every mode", start));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...ALL_SETTING_NAMES].sort()).toEqual([...documented].sort());
  });

  it("spell each default as a value of the setting; none where it is required or derived", () => {
    expect(settingDefault("AUTH_MODE")).toBe("jwt");
    expect(settingDefault("ALGORITHMS")).toBe("RS256");
    expect(settingDefault("JWKS_MAX_AGE_SECONDS")).toBe("300");
    expect(settingDefault("PUBLIC_PATHS")).toBe("");
    expect(settingDefault("ROUTES")).toBe("[]");
    expect(settingDefault("AUTHGEAR_ENDPOINT")).toBeUndefined();
    expect(settingDefault("AUDIENCE")).toBeUndefined();
    expect(settingDefault("RESOLVER_URL")).toBeUndefined();
    expect(WORKER_SETTINGS.defaultOf("FORWARD_AUTHORIZATION")).toBe("true");
    expect(WORKER_SETTINGS.defaultOf("ORIGIN_SECRET_HEADER")).toBe("x-authgear-edge-secret");
    expect(WORKER_SETTINGS.defaultOf("CORS_ALLOWED_ORIGINS")).toBe("");
    expect(WORKER_SETTINGS.defaultOf("ORIGIN_URL")).toBeUndefined();
    expect(LAMBDA_SETTINGS.defaultOf("AUTHORIZER_CACHE_SECONDS")).toBe("300");
    expect(LAMBDA_SETTINGS.defaultOf("METRICS")).toBe("off");
    for (const name of SETTING_NAMES) expect(WORKER_SETTINGS.defaultOf(name)).toBe(settingDefault(name));
    for (const name of ALL_SETTING_NAMES) {
      const fallback = ALL_SETTINGS.defaultOf(name);
      if (fallback !== undefined)
        expect(() =>
          ALL_SETTINGS.parse({ AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud", [name]: fallback }),
        ).not.toThrow();
    }
  });
});
