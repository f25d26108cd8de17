/**
 * `authgear()` with settings in code (typed) and an environment beside them, `onInvalidConfig:
 * "throw"`, and `LOG_LEVEL`, in a Hono app on Node (`app.request`).
 */
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { ConfigError, type CoreSettings, type LogFields } from "../../src/core/index.ts";
import { authgear, type AuthgearOptions, type AuthgearVariables } from "../../src/hono/index.ts";

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

function app(options: AuthgearOptions): Hono<{ Variables: AuthgearVariables }> {
  const hono = new Hono<{ Variables: AuthgearVariables }>();
  hono.use("*", authgear(options));
  hono.all("*", (c) => c.json({ user: c.get("authgear")?.subject ?? null }));
  hono.onError((error) => {
    const keys = error instanceof ConfigError ? error.keys.join(",") : "none";
    return new Response(`caught ${error instanceof ConfigError ? "ConfigError" : "other"} ${keys}`, { status: 599 });
  });
  return hono;
}

describe("settings and env", () => {
  it("reads both, a non-blank variable of env winning; ROUTES as an array decides", async () => {
    const token = await issuer.mintAccessToken({ sub: "dana" });
    const headers = { authorization: `Bearer ${token}` };
    for (const blank of ["", "  "]) {
      const gated = app({
        settings: { AUTHGEAR_ENDPOINT: "https://unused.example", ROUTES: [{ path: "/admin/*", roles: ["admin"] }] },
        // A blank ROUTES is read as unset: it must not cancel the rule given in code.
        env: { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "", ROUTES: blank },
      });
      expect((await gated.request("/x", { headers })).status).toBe(200);
      expect((await gated.request("/admin/x", { headers })).status).toBe(403);
    }
  });
});

describe('onInvalidConfig: "throw"', () => {
  it("throws from authgear() when the settings are given", () => {
    let thrown: unknown;
    try {
      authgear({ settings: { AUTH_MODE: "resolver", JWT_COOKIE_NAME: "at" }, onInvalidConfig: "throw" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).keys).toEqual(["AUTHGEAR_ENDPOINT", "JWT_COOKIE_NAME"]);
  });

  it("throws at the first request, to the app's error handler, when the settings are c.env", async () => {
    const gated = app({ onInvalidConfig: "throw", logger: { log: () => undefined } });
    const response = await gated.request("/x", {}, { AUTH_MODE: "oauth" });
    expect(response.status).toBe(599);
    expect(await response.text()).toBe("caught ConfigError AUTHGEAR_ENDPOINT,AUTH_MODE");
  });

  it("by default answers every request with a 500, the log naming the keys", async () => {
    const logged: string[] = [];
    const gated = app({
      settings: { AUTH_MODE: "resolver" },
      logger: { log: (_, fields) => logged.push(String(fields.keys)) },
    });
    const response = await gated.request("/x");
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: "server_error", code: "ERR_CONFIG_INVALID" });
    expect(logged[0]).toBe("AUTHGEAR_ENDPOINT");
  });
});

describe("LOG_LEVEL", () => {
  const linesFor = async (settings: CoreSettings): Promise<Array<{ event: string } & LogFields>> => {
    const lines: Array<{ event: string } & LogFields> = [];
    const gated = app({ settings, logger: { log: (event, fields) => lines.push({ event, ...fields }) } });
    const response = await gated.request("/x", { headers: { authorization: "Bearer not-a-jwt-but-opaque-text" } });
    expect(response.status).toBe(401);
    return lines;
  };

  it("error: a bad token writes nothing; info: one line without the token", async () => {
    expect(await linesFor({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "error" })).toEqual([]);
    const lines = await linesFor({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "info" });
    expect(lines.map(({ event, status }) => [event, status])).toEqual([["request_refused", 401]]);
    expect(JSON.stringify(lines)).not.toContain("not-a-jwt");
  });
});
