/**
 * CORS at the gate (CORS_ALLOWED_ORIGINS) in real workerd: exact origin matching, preflights
 * answered by the gate, refusals a page can read, `Vary: Origin`, and no reflection of an origin
 * that is not listed. (Without the setting the gate adds nothing: worker.test.ts.)
 */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rememberCredential } from "../../dev/remember.ts";
import { originRequestsThisTest, startWorker, dispatch } from "./harness.ts";
import { useDevIssuer, useDemoOrigin } from "../helpers.ts";

const APP = "https://app.example.com";
const issuer = useDevIssuer();
const origin = useDemoOrigin();
let gate: Miniflare;
let plain: Miniflare;
let token: string;

beforeAll(async () => {
  gate = startWorker(
    { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, CORS_ALLOWED_ORIGINS: `${APP}, http://localhost:5173` },
    1,
    [],
  );
  plain = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url }, 1, []);
  token = await issuer.mintAccessToken({ sub: "spa-user" });
});
afterAll(async () => {
  await Promise.all([gate.dispose(), plain.dispose()]);
});

const seen = originRequestsThisTest(() => origin);
const send = (mf: Miniflare, path: string, init: RequestInit = {}): Promise<Response> =>
  dispatch(mf, `https://api.example.com${path}`, init);
const cors = (response: Response) => ({
  status: response.status,
  allowOrigin: response.headers.get("access-control-allow-origin"),
  credentials: response.headers.get("access-control-allow-credentials"),
  expose: response.headers.get("access-control-expose-headers"),
  vary: response.headers.get("vary"),
});

describe("CORS_ALLOWED_ORIGINS", () => {
  it("answers an allowed origin's preflight itself, granting what the gate forwards and nothing the gate strips", async () => {
    const response = await send(gate, "/orders", {
      method: "OPTIONS",
      headers: {
        origin: APP,
        "access-control-request-method": "POST",
        "access-control-request-headers":
          "Authorization, Content-Type, X-Authgear-User-Id, X-HTTP-Method-Override, X-Trace",
      },
    });
    expect(response.status).toBe(204);
    const names = [
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "access-control-allow-methods",
      "access-control-allow-headers",
      "access-control-max-age",
      "access-control-expose-headers",
      "vary",
    ];
    expect(
      Object.fromEntries(names.map((name) => [name, response.headers.get(name)]).filter(([, value]) => value !== null)),
    ).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
      "access-control-allow-headers": "authorization, content-type, x-trace",
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    });
    expect(seen()).toEqual([]);
  });

  it("refuses a preflight from any other origin, exact match only, without one CORS header", async () => {
    for (const other of [
      "https://app.example.com.evil.com",
      "http://app.example.com",
      "https://APP.example.com",
      "null",
      `${APP}/`,
      "https://evil.example.com",
    ]) {
      const response = await send(gate, "/orders", {
        method: "OPTIONS",
        headers: { origin: other, "access-control-request-method": "GET" },
      });
      expect({ origin: other, ...cors(response) }).toEqual({
        origin: other,
        status: 403,
        allowOrigin: null,
        credentials: null,
        expose: null,
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
    }
    expect(seen()).toEqual([]);
  });

  it("makes the gate's refusal readable by the allowed page: status and challenge", async () => {
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    const response = await send(gate, "/orders", { headers: { origin: APP, authorization: `Bearer ${expired}` } });
    expect(cors(response)).toEqual({
      status: 401,
      allowOrigin: APP,
      credentials: "true",
      expose: "WWW-Authenticate, Retry-After",
      vary: "Origin",
    });
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const stranger = await send(gate, "/orders", {
      headers: { origin: "https://evil.example.com", authorization: `Bearer ${expired}` },
    });
    expect(cors(stranger)).toEqual({ status: 401, allowOrigin: null, credentials: null, expose: null, vary: "Origin" });
  });

  it("adds the grant to a forwarded answer that lacks one, and leaves an origin's own CORS policy alone", async () => {
    const allowed = await send(gate, "/orders", {
      headers: { origin: "http://localhost:5173", authorization: `Bearer ${token}` },
    });
    expect(cors(allowed)).toEqual({
      status: 200,
      allowOrigin: "http://localhost:5173",
      credentials: "true",
      expose: "WWW-Authenticate, Retry-After",
      vary: "Origin",
    });
    const noOrigin = await send(gate, "/orders", { headers: { authorization: `Bearer ${token}` } });
    expect(cors(noOrigin)).toEqual({ status: 200, allowOrigin: null, credentials: null, expose: null, vary: "Origin" });
    expect(seen().map((request) => request.headers["x-authgear-user-id"])).toEqual(["spa-user", "spa-user"]);
  });

  it.each([
    ["X-Origin-Auth", "X-Origin-Auth", "x-origin-auth"],
    ["X_Origin.Auth", "X_Origin.Auth", "x_origin.auth"],
    ["its default", undefined, "x-authgear-edge-secret"],
  ])("never lets a preflight grant or carry ORIGIN_SECRET_HEADER (%s), in any spelling", async (_, setting, sent) => {
    // Servers that map `-`, `_` and `.` to one variable read every spelling of the name as the secret's.
    const name = sent.replace(/[_.]/g, "-");
    const secret = "preflight-secret-0123456789abcdef0123456789";
    rememberCredential(secret);
    const spellings = [...new Set([name, name.toUpperCase(), name.replace(/-/g, "_"), name.replace(/-/g, ".")])];
    spellings.push(name.replace("-", "_"));
    const settings = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ORIGIN_SECRET: secret };
    const withHeader = setting === undefined ? settings : { ...settings, ORIGIN_SECRET_HEADER: setting };
    const answering = startWorker({ ...withHeader, CORS_ALLOWED_ORIGINS: APP }, 1, []);
    const forwarding = startWorker(withHeader, 1, []);
    const preflight = {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": [...spellings, "x-trace"].join(", "),
      ...Object.fromEntries(spellings.map((spelling) => [spelling, "guess"])),
    };
    try {
      // The gate's own answer grants the other header, and no spelling of the secret's.
      const answered = await send(answering, "/orders", { method: "OPTIONS", headers: preflight });
      expect(answered.status).toBe(204);
      expect(answered.headers.get("access-control-allow-headers")).toBe("x-trace");
      expect(seen()).toEqual([]);
      // Forwarded (CORS left to the origin): the origin gets the gate's secret once, never a client's copy.
      expect((await send(forwarding, "/orders", { method: "OPTIONS", headers: preflight })).status).toBe(200);
      const [received, ...more] = seen();
      expect(more).toEqual([]);
      expect(received?.method).toBe("OPTIONS");
      const copies = Object.entries(received?.headers ?? {}).filter(([key]) => key.replace(/[_.]/g, "-") === name);
      expect(copies).toEqual([[sent, secret]]);
    } finally {
      await Promise.all([answering.dispose(), forwarding.dispose()]);
    }
  });

  it("adds nothing when the setting is unset: preflights go to the origin as before", async () => {
    const preflight = await send(plain, "/orders", {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(200);
    expect(seen().map((request) => request.method)).toEqual(["OPTIONS"]);
    const refused = await send(plain, "/orders", { headers: { origin: APP } });
    expect(cors(refused)).toEqual({ status: 401, allowOrigin: null, credentials: null, expose: null, vary: null });
  });
});
