/**
 * `createHandler` with settings in code (typed; the environment's variables win), with
 * `onInvalidConfig: "throw"`, and `LOG_LEVEL` through the authorizer's handler and its default
 * logger (one JSON line per event on the console).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { ConfigError, createHandler } from "../../src/aws/index.ts";
import { tokenEvent } from "./fixtures.ts";

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());
afterEach(() => {
  vi.restoreAllMocks();
});

describe("settings given in code", () => {
  it("are read beside the environment, whose variables win; ROUTES as an array decides", async () => {
    const admin = await issuer.mintAccessToken({
      sub: "ada",
      claims: { "https://authgear.com/claims/user/roles": ["admin"] },
    });
    for (const blank of ["", " \n"]) {
      const handler = createHandler({
        // A blank ROUTES variable is read as unset: it must not cancel the rule given in code.
        env: { AUTHGEAR_ENDPOINT: issuer.origin, AUTHORIZER_CACHE_SECONDS: "0", LOG_LEVEL: "", ROUTES: blank },
        settings: {
          AUTHGEAR_ENDPOINT: "https://unused.example",
          AUTHORIZER_CACHE_SECONDS: 300,
          ROUTES: [{ path: "/request", roles: ["root"] }],
        },
      });
      const result = await handler(tokenEvent(`Bearer ${admin}`));
      // The ARN's path (/request) is ruled for root: a Deny for ada, decided against the env's issuer.
      expect(JSON.stringify(result)).toContain('"Effect":"Deny"');
      expect(result).toMatchObject({ principalId: "ada" });
    }
  });
});

describe('onInvalidConfig: "throw"', () => {
  it("throws the ConfigError naming every bad key from createHandler", () => {
    const env = { AUTHGEAR_ENDPOINT: "http://authgear.example", HTTP_API_RESPONSE: "full", LOG_LEVEL: "error" };
    let thrown: unknown;
    try {
      createHandler({ env, onInvalidConfig: "throw" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).keys).toEqual(["AUTHGEAR_ENDPOINT", "HTTP_API_RESPONSE"]);
    expect((thrown as ConfigError).code).toBe("ERR_CONFIG_INVALID");
  });

  it("by default builds a handler whose every event fails", async () => {
    const handler = createHandler({ env: { HTTP_API_RESPONSE: "full", LOG_LEVEL: "error" } });
    await expect(handler(tokenEvent("Bearer x"))).rejects.toThrow(/^Service Unavailable$/);
    expect(createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin }, onInvalidConfig: "throw" })).toBeTypeOf(
      "function",
    );
  });
});

describe("LOG_LEVEL", () => {
  const BAD_TOKEN = "not-a-jwt-but-a-long-secret-opaque-value";

  async function linesFor(env: Record<string, string>): Promise<Array<Record<string, unknown>>> {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const handler = createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin, ...env } });
    await expect(handler(tokenEvent(`Bearer ${BAD_TOKEN}`))).rejects.toThrow(/^Unauthorized$/);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    log.mockRestore();
    return lines;
  }

  it("error or warn: a bad token writes nothing", async () => {
    expect(await linesFor({ LOG_LEVEL: "error" })).toEqual([]);
    expect(await linesFor({ LOG_LEVEL: "warn" })).toEqual([]);
  });

  it("info (the default) and debug: one line at level info, without the token", async () => {
    const expected = [{ level: "info", event: "request_refused", code: "ERR_JWT_MALFORMED", kind: "token" }];
    for (const env of [{}, { LOG_LEVEL: "info" }, { LOG_LEVEL: "debug" }]) {
      const lines = await linesFor(env);
      expect(lines).toEqual(expected);
      expect(JSON.stringify(lines)).not.toContain(BAD_TOKEN.slice(0, 16));
    }
  });

  it("error: a failure is still written", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const handler = createHandler({ env: { AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "error" } });
    await expect(handler({ kind: "no event API Gateway sends" })).rejects.toThrow();
    const events = log.mock.calls.map(([line]) => (JSON.parse(String(line)) as { event: string }).event);
    expect(events).toEqual(["authorizer_failed"]);
  });
});
