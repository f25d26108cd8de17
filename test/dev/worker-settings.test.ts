/** `npm start`'s settings for the Worker and its console lines for the Worker's log, without starting anything. */
import { describe, expect, it } from "vitest";
import { formatWorkerEvent } from "../../dev/worker-log.ts";
import { describeSettings, settingsRecord, workerSettings } from "../../dev/worker-settings.ts";
import { WORKER_SETTING_NAMES, WORKER_SETTINGS } from "../../src/cloudflare/config.ts";

const ISSUER = "http://127.0.0.1:4010";
const ISSUER2 = "http://127.0.0.1:4011";
const WORKER = "http://127.0.0.1:8787";
const STACK = {
  issuers: [ISSUER, ISSUER2],
  resource: WORKER,
  origin: "http://127.0.0.1:4020",
  spa: "http://127.0.0.1:4030",
};
const TWO_ISSUERS = JSON.stringify([{ issuer: ISSUER, resources: [WORKER] }, { issuer: ISSUER2 }]);

describe("workerSettings", () => {
  it("passes every setting of the Worker's schema, the unset ones empty, so nothing else (wrangler.toml's [vars]) applies", () => {
    const record = settingsRecord(
      workerSettings({ ROUTES: ' [{"path":"/admin/*","roles":["admin"]}] ', AUDIENCE: "", UNRELATED: "x" }, STACK),
    );
    expect(Object.keys(record)).toEqual(WORKER_SETTING_NAMES);
    expect(record).toMatchObject({
      ISSUERS: TWO_ISSUERS,
      AUTHGEAR_ENDPOINT: "",
      ORIGIN_URL: STACK.origin,
      PUBLIC_PATHS: "/healthz,/public/*",
      CORS_ALLOWED_ORIGINS: STACK.spa,
      ROUTES: '[{"path":"/admin/*","roles":["admin"]}]',
      AUDIENCE: "",
      AUTH_MODE: "",
    });
    expect(WORKER_SETTINGS.parse(record)).toMatchObject({
      issuer: ISSUER,
      issuers: [
        { issuer: ISSUER, resources: [WORKER] },
        { issuer: ISSUER2, resources: [] },
      ],
      authMode: "jwt",
      routes: [{ path: "/admin/*", roles: ["admin"] }],
    });
  });

  it("defaults ROUTES to a rule admitting machine clients on /m2m/*, which the Worker's parser accepts", () => {
    const record = settingsRecord(workerSettings({}, STACK));
    const rule = { path: "/m2m/*", subject: "client", scopes: ["orders:read"] };
    expect(JSON.parse(record.ROUTES!)).toEqual([rule]);
    expect(WORKER_SETTINGS.parse(record).routes).toEqual([rule]);
  });

  it("trusts the first dev issuer alone in resolver mode, which allows one issuer", () => {
    const record = settingsRecord(workerSettings({ AUTH_MODE: "resolver" }, STACK));
    expect(JSON.parse(record.ISSUERS!)).toEqual([{ issuer: ISSUER, resources: [WORKER] }]);
    expect(WORKER_SETTINGS.parse(record).issuers.map(({ issuer }) => issuer)).toEqual([ISSUER]);
  });

  it("moves AUDIENCE, RESOURCES and ALLOWED_CLIENT_IDS of the environment into the first issuer's entry", () => {
    const env = {
      AUDIENCE: "https://a.example, https://b.example",
      RESOURCES: "https://api.example",
      ALLOWED_CLIENT_IDS: "web",
    };
    const audiences = ["https://a.example", "https://b.example"];
    const settings = workerSettings(env, STACK);
    const record = settingsRecord(settings);
    expect(record).toMatchObject({ AUDIENCE: "", RESOURCES: "", ALLOWED_CLIENT_IDS: "" });
    expect(JSON.parse(record.ISSUERS!)).toEqual([
      { issuer: ISSUER, audiences, resources: [WORKER, "https://api.example"], clientIds: ["web"] },
      { issuer: ISSUER2 },
    ]);
    const note =
      "(npm start: the two dev issuers; AUDIENCE, RESOURCES, ALLOWED_CLIENT_IDS of the environment go to the first)";
    expect(describeSettings(settings)).toContain(note);
    expect(WORKER_SETTINGS.parse(record).issuers[0]).toMatchObject({ audiences });
  });

  it("takes PUBLIC_PATHS and CORS_ALLOWED_ORIGINS from the environment when set", () => {
    const record = settingsRecord(
      workerSettings({ PUBLIC_PATHS: "/status", CORS_ALLOWED_ORIGINS: "https://app.example.com" }, STACK),
    );
    expect(record).toMatchObject({ PUBLIC_PATHS: "/status", CORS_ALLOWED_ORIGINS: "https://app.example.com" });
  });

  it("always points the Worker at the dev issuers and the demo origin, and says when that overrides the environment", () => {
    const described = describeSettings(
      workerSettings({ AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud", ORIGIN_URL: STACK.origin }, STACK),
    );
    expect(described).toContain(
      `\n  ISSUERS=${TWO_ISSUERS} (npm start: the two dev issuers; AUTHGEAR_ENDPOINT=https://myapp.authgear.cloud of the environment is overridden)`,
    );
    expect(described).not.toMatch(/^ {2}AUTHGEAR_ENDPOINT=/m);
    expect(described).toContain("\n  ORIGIN_URL=http://127.0.0.1:4020 (npm start: the demo origin)");
  });

  it("passes none of the Lambda authorizer's own settings: the Worker does not read them", () => {
    const record = settingsRecord(
      workerSettings({ HTTP_API_RESPONSE: "iam", AUTHORIZER_CACHE_SECONDS: "0", METRICS: "emf" }, STACK),
    );
    expect(Object.keys(record)).not.toContain("HTTP_API_RESPONSE");
    expect(Object.keys(record)).not.toContain("AUTHORIZER_CACHE_SECONDS");
    expect(Object.keys(record)).not.toContain("METRICS");
  });
});

describe("describeSettings", () => {
  it("prints each setting that differs from its default, with its value, one line each", () => {
    const described = describeSettings(
      workerSettings(
        {
          AUTH_MODE: "jwt",
          RESOLVER_CACHE_SECONDS: "0",
          ALGORITHMS: "ES256",
          AUTHORIZER_CACHE_SECONDS: "0",
          ROUTES: '[\n  {"path":"/a"}\n]',
        },
        STACK,
      ),
    );
    expect(described.split("\n").slice(1)).toEqual([
      `  ISSUERS=${TWO_ISSUERS} (npm start: the two dev issuers)`,
      "  ALGORITHMS=ES256",
      "  PUBLIC_PATHS=/healthz,/public/* (npm start's default)",
      '  ROUTES=[ {"path":"/a"} ]',
      "  RESOLVER_CACHE_SECONDS=0",
      "  ORIGIN_URL=http://127.0.0.1:4020 (npm start: the demo origin)",
      "  CORS_ALLOWED_ORIGINS=http://127.0.0.1:4030 (npm start: the SPA demo)",
    ]);
  });

  it("never prints a secret's value: a name containing SECRET is printed (set)", () => {
    const described = describeSettings([
      { name: "ORIGIN_SECRET", value: "s3cret-value", fallback: undefined },
      { name: "LOGIN_URL", value: "https://app.example.com/login", fallback: undefined },
    ]);
    expect(described).toContain("\n  ORIGIN_SECRET=(set)\n");
    expect(described).toContain("\n  LOGIN_URL=https://app.example.com/login");
    expect(described).not.toContain("s3cret-value");
  });
});

describe("formatWorkerEvent", () => {
  it("turns a JSON log line of the core into one readable line", () => {
    expect(
      formatWorkerEvent(
        '{"level":"info","event":"request_refused","code":"ERR_CREDENTIALS_MISSING","status":401,"method":"GET","path":"/hello"}',
      ),
    ).toBe("worker: request_refused code=ERR_CREDENTIALS_MISSING status=401 method=GET path=/hello");
    expect(
      formatWorkerEvent(
        '{"level":"info","event":"keyset_refresh_failed","reason":"HTTP 500 from the issuer","serving_stale":true}',
      ),
    ).toBe('worker: keyset_refresh_failed reason="HTTP 500 from the issuer" serving_stale=true');
    expect(
      formatWorkerEvent(
        '{"level":"info","event":"config_invalid","keys":"ROUTES","message":"Invalid configuration (ROUTES). ROUTES: is not JSON"}',
      ),
    ).toBe('worker: config_invalid keys=ROUTES message="Invalid configuration (ROUTES). ROUTES: is not JSON"');
  });

  it("leaves other lines alone", () => {
    for (const line of [
      "[wrangler:info] GET /hello 401 Unauthorized (3ms)",
      "{not json",
      '{"level":"info"}',
      "[1,2]",
      "null",
      "",
    ]) {
      expect(formatWorkerEvent(line)).toBeUndefined();
    }
  });
});
