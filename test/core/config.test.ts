import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createAuthenticatorFromEnv } from "../../src/core/authenticator.ts";
import { ConfigError, lookalikeSettings, parseConfig, SETTING_NAMES, settingDefault } from "../../src/core/config.ts";

const ENDPOINT = "https://myapp.authgear.cloud";

function configError(env: Record<string, unknown>): ConfigError {
  try {
    parseConfig(env);
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
      originUrl: undefined,
      forwardAuthorization: true,
      serverTiming: false,
      originSecret: undefined,
      reportOnly: false,
      logDecisions: false,
      metrics: "off",
      loginUrl: undefined,
      corsAllowedOrigins: new Set(),
      resolverTimeoutMs: 3000,
      httpApiResponse: "simple",
      authorizerCacheSeconds: 300,
      jwksMaxAgeSeconds: 300,
      jwksStaleSeconds: 3600,
      routes: [],
      resolverUrl: `${ENDPOINT}/_resolver/resolve`,
      resolverCacheSeconds: 60,
      realm: ENDPOINT,
    });
  });

  it("normalizes a trailing slash and parses lists, trimming blanks", () => {
    const config = parseConfig({
      AUTHGEAR_ENDPOINT: `${ENDPOINT}/`,
      AUDIENCE: " https://api.example.com , https://other.example.com,",
      ALLOWED_CLIENT_IDS: "a,b",
      ALGORITHMS: "RS256,ES256,RS256",
      CLOCK_TOLERANCE_SECONDS: "30",
      JWT_COOKIE_NAME: "access_token",
      PUBLIC_PATHS: "/healthz, /public/*,/,/docs/,/.well-known/*,/v1.2/x",
      ORIGIN_URL: "https://origin.example.com/",
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
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT })).toMatchObject({ resolverCookiePrefix: "", resolverCookies: ["app_session", "app_access_token", "session"] });
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: " " })).toMatchObject({ resolverCookiePrefix: "", resolverCookies: ["app_session", "app_access_token", "session"] });
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "myapp_" })).toMatchObject({
      resolverCookiePrefix: "myapp_",
      resolverCookies: ["myapp_app_session", "myapp_app_access_token", "myapp_session"],
    });
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "__Secure-a.b" }).resolverCookies).toEqual(["__Secure-a.bapp_session", "__Secure-a.bapp_access_token", "__Secure-a.bsession"]);
    expect(parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, RESOLVER_COOKIE_PREFIX: "a".repeat(64) }).resolverCookiePrefix).toHaveLength(64);
    expect(settingDefault("RESOLVER_COOKIE_PREFIX")).toBeUndefined();
  });

  it("treats empty values as unset and ignores unrelated keys", () => {
    const config = parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, AUDIENCE: "", ALGORITHMS: "  ", AWS_REGION: "eu-west-1", KV: {} });
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
    const error = configError({ AUTHGEAR_ENDPOINT: ENDPOINT, [key]: value });
    expect(error.keys).toEqual([key]);
  });

  it("never echoes ORIGIN_SECRET in its error", () => {
    const error = configError({ AUTHGEAR_ENDPOINT: ENDPOINT, ORIGIN_SECRET: "short-but-secret" });
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
});

describe("what a user mistypes", () => {
  it("names an unknown ROUTES member and lists the valid ones", () => {
    let error: unknown;
    try {
      parseConfig({ AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud", ROUTES: '[{"path":"/a"},{"path":"/b","role":["admin"]}]' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'Invalid configuration (ROUTES). ROUTES: rule 1.role: unknown member "role"; a rule\'s members are path, methods, roles, scopes, clientIds, verified, anonymous, maxAuthAge',
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
    expect(lookalikeSettings(env)).toEqual([
      ["PUBLIC_PATH", "PUBLIC_PATHS"],
      ["JWKS_MAX_AGE", "JWKS_MAX_AGE_SECONDS"],
      ["routes", "ROUTES"],
      ["Auth-Mode", "AUTH_MODE"],
      ["AUTHGEAR_ENDPOINTS", "AUTHGEAR_ENDPOINT"],
    ]);
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
});

describe("SETTING_NAMES and settingDefault", () => {
  it("name the settings of the README's Configuration table", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("\n## Configuration\n"), readme.indexOf("\n## ", readme.indexOf("\n## Configuration\n") + 1));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...SETTING_NAMES].sort()).toEqual([...documented].sort());
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
    for (const name of SETTING_NAMES) {
      const fallback = settingDefault(name);
      if (fallback !== undefined) expect(() => parseConfig({ AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud", [name]: fallback })).not.toThrow();
    }
  });
});
