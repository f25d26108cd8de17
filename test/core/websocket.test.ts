/** A WebSocket upgrade's query token (`WEBSOCKET_QUERY_TOKEN`), read by the core's decision. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.ts";
import { ConfigError } from "../../src/core/settings.ts";
import { isWebSocketUpgrade, webSocketQueryToken } from "../../src/core/websocket.ts";
import { answer, recordingGate } from "../fixtures/gate.ts";
import { useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer();

describe("isWebSocketUpgrade (RFC 6455 §4.1)", () => {
  it.each([
    ["GET", "websocket", true],
    ["GET", "WebSocket", true],
    ["GET", "h2c, websocket", true],
    ["GET", "h2c", false],
    ["GET", "websockets", false],
    ["POST", "websocket", false],
    ["get", "websocket", false],
  ])("%s with Upgrade: %s → %s", (method, upgrade, expected) => {
    expect(isWebSocketUpgrade(method, new Headers({ upgrade }))).toBe(expected);
  });

  it("is no upgrade without the header", () => {
    expect(isWebSocketUpgrade("GET", new Headers())).toBe(false);
  });
});

describe("webSocketQueryToken", () => {
  const query = (search: string) => new URLSearchParams(search);

  it("unset: refuses a query holding access_token, in any encoding of its name, with a message saying why", () => {
    for (const search of ["access_token=abc", "a=1&access_token=", "access%5Ftoken=abc"]) {
      let message = "";
      try {
        webSocketQueryToken(query(search), undefined);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, search).toMatch(/^A token in the query string is not accepted \(URLs land in logs\)/);
      expect(message).not.toContain("abc");
    }
    expect(webSocketQueryToken(query("token=abc&x=1"), undefined)).toBeUndefined();
  });

  it("set: reads the named parameter only, once", () => {
    expect(webSocketQueryToken(query("x=1&token=abc"), "token")).toBe("abc");
    expect(webSocketQueryToken(query("tok%65n=abc"), "token")).toBe("abc");
    expect(webSocketQueryToken(query("token="), "token")).toBeUndefined();
    expect(webSocketQueryToken(query("x=1"), "token")).toBeUndefined();
    expect(() => webSocketQueryToken(query("token=a&token=b"), "token")).toThrow("more than one credential");
  });
});

describe("WEBSOCKET_QUERY_TOKEN", () => {
  it("names a query parameter: URL-unreserved characters only", () => {
    const parse = (value?: string) =>
      parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, ...(value !== undefined && { WEBSOCKET_QUERY_TOKEN: value }) });
    expect(parse("access_token").websocketQueryToken).toBe("access_token");
    expect(parse().websocketQueryToken).toBeUndefined();
    for (const bad of ["a b", "a&b", "a=b", "tök", "x".repeat(65)]) {
      expect(() => parse(bad), bad).toThrow(ConfigError);
    }
  });
});

describe("the decision on an upgrade's query", () => {
  const upgrade = (search: string) => ({
    method: "GET",
    headers: new Headers({ upgrade: "websocket" }),
    webSocket: { query: new URLSearchParams(search) },
  });

  it("unset: an upgrade with access_token is refused (400), on a public path too", async () => {
    const token = await issuer.mintAccessToken();
    const g = recordingGate({ AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/open" });
    const decide = (path: string, search: string) => g.gate.decider.decide({ ...upgrade(search), path });
    expect(answer(await decide("/ws", `access_token=${token}`))).toBe("400 ERR_REQUEST_MALFORMED invalid_request");
    expect(answer(await decide("/open", `access_token=${token}`))).toBe("400 ERR_REQUEST_MALFORMED invalid_request");
    expect(answer(await decide("/open", ""))).toBe("200 anonymous");
  });

  it("set: the upgrade's query token authenticates; a bad one is refused like a bad header", async () => {
    const token = await issuer.mintAccessToken();
    const g = recordingGate({ AUTHGEAR_ENDPOINT: issuer.origin, WEBSOCKET_QUERY_TOKEN: "access_token" });
    const decide = (search: string, more: Record<string, string> = {}) => {
      const headers = new Headers({ upgrade: "websocket", ...more });
      return g.gate.decider.decide({ ...upgrade(search), path: "/ws", headers });
    };
    expect(answer(await decide(`access_token=${token}`))).toBe("200 user");
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    expect(answer(await decide(`access_token=${expired}`))).toBe("401 ERR_JWT_EXPIRED invalid_token");
    expect(answer(await decide(""))).toBe("401 ERR_CREDENTIALS_MISSING -");
    const both = await decide(`access_token=${token}`, { authorization: `Bearer ${token}` });
    expect(answer(both)).toBe("400 ERR_REQUEST_MALFORMED invalid_request");
  });
});
