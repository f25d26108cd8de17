/**
 * The doctor runs the Lambda authorizer's start-up checks: a configuration the authorizer refuses
 * when its container starts (the real `createHandler`, which then fails every event) fails the
 * configuration check with the message the authorizer logs, and one it starts with passes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { createHandler } from "../../src/aws/create-handler.ts";
import type { LogFields } from "../../src/core/ports.ts";
import { runDoctor, type Check } from "../../src/doctor/doctor.ts";
import { tokenEvent } from "../aws/fixtures.ts";

const LIMITS = { timeoutMs: 1000, maxBytes: 64 * 1024 };
const ADMIN_ONLY = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);

let issuer: DevIssuer;

beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

/** A Lambda container started with these settings: its answer to a valid token, and its `config_invalid` message. */
async function startAuthorizer(env: Record<string, string>): Promise<{ answer: unknown; refusal?: string }> {
  let refusal: string | undefined;
  const logger = {
    log(event: string, fields: LogFields) {
      if (event === "config_invalid") refusal = String(fields.message);
    },
  };
  const settings = { AUTHGEAR_ENDPOINT: issuer.origin, ...env };
  const handler = createHandler({ env: settings, logger, writeMetrics: () => undefined });
  const token = await issuer.mintAccessToken({ sub: "alice" });
  const answer: unknown = await handler(tokenEvent(`Bearer ${token}`)).catch((error: unknown) => error);
  return { answer, ...(refusal !== undefined && { refusal }) };
}

async function doctor(env: Record<string, string>): Promise<Check[]> {
  return runDoctor({ AUTHGEAR_ENDPOINT: issuer.origin, ...env }, { limits: LIMITS });
}

function configuration(checks: readonly Check[]): Check {
  const check = checks[0];
  if (check?.name !== "configuration") throw new Error("no configuration check first");
  return check;
}

describe("a configuration the authorizer refuses at start-up", () => {
  it.each([
    ["hybrid mode with the cache on", { AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "300" }, "cookie credentials"],
    ["a JWT cookie with the cache on", { JWT_COOKIE_NAME: "at", AUTHORIZER_CACHE_SECONDS: "60" }, "cookie credentials"],
    ["report-only with the cache on", { REPORT_ONLY: "true", AUTHORIZER_CACHE_SECONDS: "300" }, "REPORT_ONLY: "],
    ["simple responses with route rules", { ROUTES: ADMIN_ONLY, METRICS: "off" }, "HTTP_API_RESPONSE: "],
    [
      "a public path a rule covers",
      {
        HTTP_API_RESPONSE: "iam",
        ROUTES: JSON.stringify([{ path: "/*", roles: ["admin"] }]),
        PUBLIC_PATHS: "/healthz",
      },
      "PUBLIC_PATHS: /healthz overlaps rule 0 (/*)",
    ],
    [
      "a maxAuthAge shorter than the cache",
      { HTTP_API_RESPONSE: "iam", ROUTES: JSON.stringify([{ path: "/admin/*", maxAuthAge: 60 }]) },
      "ROUTES: rule 0 has maxAuthAge 60",
    ],
    [
      "a Worker's setting",
      { ORIGIN_URL: "https://origin.example.com", METRICS: "emf" },
      "ORIGIN_URL: is not a setting of this packaging",
    ],
  ])("fails the doctor with the authorizer's own message: %s", async (_, env, expected) => {
    const started = await startAuthorizer(env);
    expect(started.answer).toMatchObject({ message: "Service Unavailable" });
    expect(started.refusal).toContain(expected);
    const checks = await doctor(env);
    const check = configuration(checks);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`, which refuses to start with it: ${started.refusal ?? "?"}`);
    expect(check.fix).toContain("until then the authorizer fails every request");
    expect(checks.filter((each) => !each.ok).map((each) => each.name)).toEqual(["configuration"]);
  });

  it("names the authorizer's own settings to remove when both packagings' settings are set", async () => {
    const check = configuration(await doctor({ ORIGIN_URL: "https://origin.example.com", METRICS: "emf" }));
    expect(check.detail).toContain("read as a Lambda authorizer's (METRICS set)");
    expect(check.fix).toContain("for a Worker, remove METRICS (a Worker refuses them)");
  });

  it("is named beside a look-alike setting, each with its fix", async () => {
    const check = configuration(await doctor({ AUTHORIZER_CACHE_SECONDS: "300", REPORT_ONLY: "true", AUTH_MOD: "x" }));
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(
      /which refuses to start with it: .*REPORT_ONLY: .*AUTH_MOD \(did you mean AUTH_MODE\?\)/,
    );
    expect(check.fix).toMatch(/until then the authorizer fails every request.*; rename each/);
  });
});

describe("a configuration the authorizer starts with", () => {
  it.each([
    [
      "route rules with IAM policies",
      { AUTHORIZER_CACHE_SECONDS: "300", HTTP_API_RESPONSE: "iam", ROUTES: ADMIN_ONLY },
    ],
    ["hybrid mode with the cache off", { AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "0" }],
    ["the defaults, with METRICS", { METRICS: "emf" }],
  ])("passes every check: %s", async (_, env) => {
    const started = await startAuthorizer(env);
    expect(started.refusal).toBeUndefined();
    expect(started.answer).toMatchObject({ principalId: "alice" });
    const checks = await doctor(env);
    expect(checks.filter((each) => !each.ok).map((each) => each.name)).toEqual([]);
    expect(configuration(checks).detail).toMatch(
      /; read as a Lambda authorizer's \([A-Z_, ]+ set\), which starts with it$/,
    );
  });
});

describe("a configuration that sets no setting of the authorizer's own", () => {
  it("passes as a Worker's, naming the keys an authorizer at the default cache TTL would refuse", async () => {
    const env = { AUTH_MODE: "hybrid", ROUTES: ADMIN_ONLY };
    const started = await startAuthorizer(env);
    expect(started.answer).toMatchObject({ message: "Service Unavailable" });
    expect(started.refusal).toMatch(/^Invalid configuration \(HTTP_API_RESPONSE, AUTHORIZER_CACHE_SECONDS\)\./);
    const checks = await doctor(env);
    expect(checks.filter((each) => !each.ok).map((each) => each.name)).toEqual([]);
    expect(configuration(checks).detail).toMatch(
      /; read as a Worker's; with AUTHORIZER_CACHE_SECONDS unset \(300\) a Lambda authorizer would refuse it \(HTTP_API_RESPONSE,AUTHORIZER_CACHE_SECONDS\): give AUTHORIZER_CACHE_SECONDS as the Lambda's environment has it/,
    );
  });

  it("passes as a Worker's without a note when it sets a Worker's own setting", async () => {
    const check = configuration(await doctor({ AUTH_MODE: "hybrid", ORIGIN_URL: "https://origin.example.com" }));
    expect(check.ok).toBe(true);
    expect(check.detail).not.toContain("authorizer");
  });
});
