/** The Worker in real workerd: what clients get, and what the origin sees (or never sees). */
import { createHash } from "node:crypto";
import { Miniflare } from "miniflare";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoOrigin, type ReceivedRequest } from "../../dev/origin.ts";
import { rememberCredential } from "../../dev/remember.ts";
import {
  COMPATIBILITY_DATE,
  rawRequest,
  startWorker,
  originRequestsThisTest,
  WORKER_SCRIPT,
  dispatch,
} from "./harness.ts";
import { useDevIssuer, useDemoOrigin } from "../helpers.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";

const issuer = useDevIssuer();
const origin = useDemoOrigin();
let mf: Miniflare;
let token: string;

beforeAll(async () => {
  mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, PUBLIC_PATHS: "/healthz,/public/*" });
  token = await issuer.mintAccessToken({
    sub: "alice",
    claims: { "https://authgear.com/claims/user/roles": ["admin"] },
  });
});
afterAll(async () => {
  await mf.dispose();
});

/** What the origin received since the test began. */
const seen = originRequestsThisTest(() => origin);

function send(path: string, init: RequestInit = {}): Promise<Response> {
  return dispatch(mf, `https://gate.example.com${path}`, init);
}

function identityOf(request: ReceivedRequest | undefined): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(request?.headers ?? {}).filter(([name]) => name.startsWith("x-authgear-")));
}

describe("protected paths", () => {
  it("refuses a request without credentials with a bare challenge, and the origin sees nothing", async () => {
    const response = await send("/hello");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="${issuer.origin}", resource_metadata="https://gate.example.com/.well-known/oauth-protected-resource"`,
    );
    expect(response.headers.get("server-timing")).toBeNull();
    expect(await response.json()).toMatchObject({ code: "ERR_CREDENTIALS_MISSING" });
    expect(seen()).toEqual([]);
  });

  it("refuses an invalid token with invalid_token, without echoing it", async () => {
    const expired = await issuer.mintAccessToken({ expiresIn: -5 });
    const response = await send("/hello", { headers: { authorization: `Bearer ${expired}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const body = await response.text();
    expect(body).toContain("ERR_JWT_EXPIRED");
    expect(body).not.toContain(expired.split(".")[2]!.slice(0, 20));
    expect(seen()).toEqual([]);
  });

  it("refuses an ID token presented as an access token", async () => {
    const response = await send("/hello", { headers: { authorization: `Bearer ${await issuer.mintIdToken()}` } });
    expect(response.status).toBe(401);
    expect(seen()).toEqual([]);
  });

  it("refuses two credentials (a duplicated Authorization header) with 400 invalid_request", async () => {
    const response = await rawRequest(mf, "GET", "/hello", { authorization: `Bearer ${token}, Bearer ${token}` });
    expect(response.status).toBe(400);
    expect(response.headers["www-authenticate"]).toContain('error="invalid_request"');
    expect(seen()).toEqual([]);
  });

  it("answers HEAD like GET, without a body", async () => {
    const refused = await send("/hello", { method: "HEAD" });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe("");
    const allowed = await send("/hello", { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(seen().map((request) => request.method)).toEqual(["HEAD"]);
  });
});

describe("a valid token", () => {
  it("reaches the origin with the resolver's identity headers, same path, query and method", async () => {
    const response = await send("/orders/42?expand=items&x=%2F", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("server-timing")).toBeNull();
    const [received] = seen();
    expect(received?.method).toBe("POST");
    expect(received?.path).toBe("/orders/42?expand=items&x=%2F");
    expect(received?.bodySha256).toBe(
      createHash("sha256")
        .update(JSON.stringify({ hello: "world" }))
        .digest("hex"),
    );
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { auth_time: number };
    expect(identityOf(received)).toEqual(
      userIdentityHeaders("alice", {
        "x-authgear-user-roles": "admin",
        "x-authgear-session-amr": "pwd",
        "x-authgear-session-authenticated-at": String(claims.auth_time),
        "x-authgear-edge-kind": "user",
        "x-authgear-edge-issuer": issuer.origin,
      }),
    );
    expect(received?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("is stripped of every spoofed identity header, in any case and spelling", async () => {
    const spoofed = {
      "X-Authgear-User-Id": "mallory",
      "x-authgear-user-roles": "superadmin",
      "X-AUTHGEAR-SESSION-VALID": "true",
      x_authgear_user_id: "mallory",
      "x.authgear.user.roles": "superadmin",
      X_Authgear_Session_Amr: "mfa",
      "x-authgear-session-acr": "spoof",
      "x-authgear-": "x",
    };
    const anonymous = await send("/public/page", { headers: spoofed });
    expect(anonymous.status).toBe(200);
    await send("/hello", { headers: { ...spoofed, authorization: `Bearer ${token}` } });
    const [publicRequest, protectedRequest] = seen();
    for (const request of [publicRequest, protectedRequest]) {
      const names = Object.keys(request?.headers ?? {});
      expect(names.filter((name) => /^x[-_.]authgear[-_.]/i.test(name) && !name.startsWith("x-authgear-"))).toEqual([]);
    }
    expect(identityOf(publicRequest)).toEqual({});
    expect(identityOf(protectedRequest)["x-authgear-user-id"]).toBe("alice");
    expect(identityOf(protectedRequest)["x-authgear-user-roles"]).toBe("admin");
    expect(identityOf(protectedRequest)["x-authgear-session-acr"]).toBeUndefined();
  });

  it("cannot be undone by a Connection header naming the identity headers or Authorization", async () => {
    const response = await rawRequest(mf, "GET", "/hello", {
      authorization: `Bearer ${token}`,
      connection: "x-authgear-user-id, x-authgear-session-valid, authorization, keep-alive",
    });
    expect(response.status).toBe(200);
    const [received] = seen();
    expect(identityOf(received)["x-authgear-user-id"]).toBe("alice");
    expect(identityOf(received)["x-authgear-session-valid"]).toBe("true");
    expect(received?.headers.authorization).toBe(`Bearer ${token}`);
  });
});

describe("public paths", () => {
  it("serves them without credentials and without identity", async () => {
    for (const path of ["/healthz", "/public", "/public/", "/public/a/b?q=1"]) {
      expect((await send(path)).status).toBe(200);
    }
    expect(seen().map((request) => request.path)).toEqual(["/healthz", "/public", "/public/", "/public/a/b?q=1"]);
    expect(seen().map(identityOf)).toEqual([{}, {}, {}, {}]);
  });

  it("attaches the identity of a valid token, and ignores an invalid one", async () => {
    await send("/public/x", { headers: { authorization: `Bearer ${token}` } });
    const bad = await send("/public/x", { headers: { authorization: "Bearer not.a.token" } });
    expect(bad.status).toBe(200);
    const malformed = await rawRequest(mf, "GET", "/public/x", { authorization: "Bearer a, Bearer b" });
    expect(malformed.status).toBe(200);
    const [withToken, withBad, withTwo] = seen();
    expect(identityOf(withToken)["x-authgear-user-id"]).toBe("alice");
    expect(identityOf(withBad)).toEqual({});
    expect(identityOf(withTwo)).toEqual({});
  });

  it.each(["/publicity", "/PUBLIC/x", "/Healthz", "/healthz/x", "/public2/x"])(
    "does not count %s as public",
    async (path) => {
      expect((await send(path)).status).toBe(401);
      expect(seen()).toEqual([]);
    },
  );
});

describe("path tricks never make a protected path public", () => {
  // 400: the path has no single reading (an encoded separator or dot, `;` or `//` that the URL
  // parser keeps). 401: the runtime's URL parser resolved it to /admin (a dot segment, `\` read as
  // `/`), which is protected: authenticated, and without a token refused.
  it.each([
    ["/public/..%2fadmin", 400],
    ["/public/..%2Fadmin", 400],
    ["/public/%2e%2e/admin", 401],
    ["/public/%2E%2E/admin", 401],
    ["/public/..%5cadmin", 400],
    ["/public/../admin", 401],
    ["/public/./../admin", 401],
    ["/public/..\\admin", 401],
    ["//admin", 400],
    ["//public/../admin", 400],
    ["/PUBLIC/../admin", 401],
    ["/admin;/public", 400],
    ["/public;/../admin", 401],
    ["/public/%252e%252e/admin", 400],
    ["/public/x%00/../../admin", 401],
    ["/healthz/..;/admin", 400],
  ])("%s is answered %i and reaches no origin", async (target, status) => {
    const response = await rawRequest(mf, "GET", target);
    expect(response.status).toBe(status);
    expect(seen()).toEqual([]);
  });

  it("decides on the path the origin receives: a valid token on a dot-segment path reaches the normalized path", async () => {
    const response = await rawRequest(mf, "GET", "/public/../admin", { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(seen().map((request) => request.path)).toEqual(["/admin"]);
  });

  it.each([
    ["x-original-url", "/admin"],
    ["x-rewrite-url", "/admin"],
    ["x-forwarded-uri", "/admin"],
    ["x-forwarded-prefix", "/admin"],
    ["x-http-method-override", "DELETE"],
    ["x-http-method", "DELETE"],
    ["x-method-override", "DELETE"],
  ])("ignores and strips %s", async (name, value) => {
    expect((await send("/admin", { headers: { [name]: value } })).status).toBe(401);
    expect((await send("/public/x", { method: "POST", headers: { [name]: value } })).status).toBe(200);
    const [received] = seen();
    expect(received?.method).toBe("POST");
    expect(received?.path).toBe("/public/x");
    expect(received?.headers[name]).toBeUndefined();
  });
});

describe("forwarding", () => {
  it("passes a large body through intact, streamed", async () => {
    const size = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) {
          controller.close();
          return;
        }
        controller.enqueue(new Uint8Array(chunk));
        sent += chunk.length;
      },
    });
    const response = await send("/upload", {
      method: "PUT",
      body,
      headers: { authorization: `Bearer ${token}` },
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(200);
    const [received] = seen();
    expect(received?.bodyBytes).toBe(size);
    expect(received?.bodySha256).toBe(createHash("sha256").update(Buffer.alloc(size, 7)).digest("hex"));
  });

  it("returns a large origin body intact", async () => {
    const response = await send("/_origin/big?bytes=20000000", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(20_000_000);
    expect(createHash("sha256").update(body).digest("hex")).toBe(response.headers.get("x-body-sha256"));
  });

  it("returns the origin's status, headers and body unchanged", async () => {
    const response = await rawRequest(mf, "GET", "/_origin/status/418", { authorization: `Bearer ${token}` });
    expect(response.status).toBe(418);
    expect(response.body).toBe("status 418");
    expect(response.headers["x-origin-custom"]).toBe("yes");
    expect(response.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
  });

  it("returns redirects to the client instead of following them", async () => {
    const response = await send("/_origin/redirect", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/elsewhere");
    expect(seen().map((request) => request.path)).toEqual(["/_origin/redirect"]);
  });

  it("forwards a CORS preflight without credentials, and authenticates any other OPTIONS", async () => {
    const preflight = await send("/api/items", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(200);
    expect((await send("/api/items", { method: "OPTIONS" })).status).toBe(401);
    expect(seen().map((request) => request.method)).toEqual(["OPTIONS"]);
  });

  it("answers 502 when the origin cannot be reached", async () => {
    const closed = await startDemoOrigin();
    await closed.close();
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: closed.url });
    try {
      const response = await gate.dispatchFetch("https://gate.example.com/x", {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(502);
    } finally {
      await gate.dispose();
    }
  });
});

describe("observability", () => {
  it("writes one Analytics Engine data point per request when ANALYTICS is bound, with the outcome and what it cost", async () => {
    // Miniflare's own dataset discards points; this stand-in, a wrapped binding like Miniflare's,
    // prints each one so the test can read what the Worker wrote.
    const lines: string[] = [];
    const mf = new Miniflare({
      host: "127.0.0.1",
      cf: false,
      handleRuntimeStdio(stdout: Readable, stderr: Readable) {
        for (const stream of [stdout, stderr]) {
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) =>
            lines.push(...chunk.split("\n").filter((line) => line.includes("analytics_point"))),
          );
        }
      },
      workers: [
        {
          name: "gate",
          modules: true,
          scriptPath: WORKER_SCRIPT,
          compatibilityDate: COMPATIBILITY_DATE,
          bindings: { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, PUBLIC_PATHS: "/public/*" },
          wrappedBindings: { ANALYTICS: "analytics-stand-in" },
        },
        {
          name: "analytics-stand-in",
          modules: true,
          script:
            "export default function () { return { writeDataPoint(point) { console.log(JSON.stringify({ analytics_point: point })); } }; }",
        },
      ],
    });
    try {
      const send = (path: string, headers: Record<string, string> = {}) =>
        mf.dispatchFetch(`https://gate.example.com${path}`, { headers }).then((response) => response.status);
      expect(await send("/x", { authorization: `Bearer ${token}` })).toBe(200);
      expect(await send("/x", { authorization: `Bearer ${token}` })).toBe(200);
      expect(await send("/x")).toBe(401);
      expect(await send("/public/page")).toBe(200);
      await expect.poll(() => lines).toHaveLength(4);
      const points = lines.map(
        (line) =>
          (
            JSON.parse(line.slice(line.indexOf("{"))) as {
              analytics_point: { blobs: string[]; doubles: number[]; indexes: string[] };
            }
          ).analytics_point,
      );
      expect(points.map((point) => [point.blobs, point.indexes, point.doubles.slice(0, 5)])).toEqual([
        [["authenticated"], ["authenticated"], [1, 1, 0, 0, 0]],
        [["authenticated"], ["authenticated"], [1, 0, 0, 0, 0]],
        [["ERR_CREDENTIALS_MISSING"], ["ERR_CREDENTIALS_MISSING"], [1, 0, 0, 0, 0]],
        [["public"], ["public"], [1, 0, 0, 0, 0]],
      ]);
      expect(points.every((point) => point.doubles.length === 6 && (point.doubles[5] ?? -1) >= 0)).toBe(true);
      expect(lines.join("\n")).not.toContain(token.split(".")[2]!.slice(0, 16));
    } finally {
      await mf.dispose();
    }
  });

  it("names the request (cf-ray) on every line it causes, and logs decisions with the user only under LOG_DECISIONS", async () => {
    const logs: string[] = [];
    const quiet = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url }, 1, logs);
    const rules = JSON.stringify([{ path: "/admin/*", roles: ["root"] }]);
    const decisions: string[] = [];
    const verbose = startWorker(
      { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, LOG_DECISIONS: "true", ROUTES: rules },
      1,
      decisions,
    );
    try {
      const ray = { "cf-ray": "8f1e2d3c4b5a6978-AMS" };
      expect(
        (
          await quiet.dispatchFetch("https://gate.example.com/x", {
            headers: { ...ray, authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(200);
      expect(
        (await quiet.dispatchFetch("https://gate.example.com/x", { headers: { "cf-ray": "second-AMS" } })).status,
      ).toBe(401);
      const parsed = () =>
        logs
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => typeof line.event === "string");
      await expect.poll(() => parsed().filter((line) => line.event === "request_refused")).toHaveLength(1);
      expect(parsed().map((line) => [line.level, line.event, line.request_id])).toEqual([
        ["info", "keyset_refreshed", "8f1e2d3c4b5a6978-AMS"],
        ["info", "request_refused", "second-AMS"],
      ]);
      expect(
        (
          await verbose.dispatchFetch("https://gate.example.com/x", {
            headers: { ...ray, authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await verbose.dispatchFetch("https://gate.example.com/admin/x", {
            headers: { ...ray, authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(403);
      const decided = () =>
        decisions
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => String(line.event).startsWith("request_"));
      await expect.poll(() => decided()).toHaveLength(2);
      expect(decided()).toEqual([
        {
          level: "info",
          event: "request_allowed",
          request_id: "8f1e2d3c4b5a6978-AMS",
          method: "GET",
          path: "/x",
          user_id: "alice",
          public: false,
        },
        {
          level: "info",
          event: "request_refused",
          request_id: "8f1e2d3c4b5a6978-AMS",
          code: "ERR_INSUFFICIENT_SCOPE",
          status: 403,
          method: "GET",
          path: "/admin/x",
          user_id: "alice",
        },
      ]);
      expect([...logs, ...decisions].join("\n")).not.toContain(token.split(".")[2]!.slice(0, 16));
    } finally {
      await Promise.all([quiet.dispose(), verbose.dispose()]);
    }
  });

  it("logs one JSON line per refused request, with the reason and path and no credential", async () => {
    const logs: string[] = [];
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url }, 1, logs);
    try {
      const expired = await issuer.mintAccessToken({ expiresIn: -5 });
      const response = await gate.dispatchFetch("https://gate.example.com/admin/users?token=x", {
        headers: { authorization: `Bearer ${expired}`, cookie: "session=secret-cookie" },
      });
      expect(response.status).toBe(401);
      await expect.poll(() => logs.filter((line) => line.includes("request_refused"))).toHaveLength(1);
      const line = JSON.parse(logs.find((entry) => entry.includes("request_refused"))!) as Record<string, unknown>;
      expect(line).toEqual({
        level: "info",
        event: "request_refused",
        code: "ERR_JWT_EXPIRED",
        status: 401,
        method: "GET",
        path: "/admin/users",
      });
      expect(logs.some((entry) => entry.includes("keyset_refreshed"))).toBe(true);
      const all = logs.join("\n");
      expect(all).not.toContain(expired.split(".")[2]!.slice(0, 16));
      expect(all).not.toContain("secret-cookie");
    } finally {
      await gate.dispose();
    }
  });
});

describe("route rules (ROUTES)", () => {
  it("refuses with 403 or a step-up 401 what a rule does not allow, and the origin sees nothing", async () => {
    const rules = [
      { path: "/admin/*", roles: ["admin"] },
      { path: "/reports/*", methods: ["GET"], scopes: ["reports:read"] },
      { path: "/account/delete", maxAuthAge: 300 },
      { path: "/partners/*", methods: ["POST"], clientIds: ["partner-app"] },
    ];
    const gate = startWorker({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      ROUTES: JSON.stringify(rules),
    });
    const partner = await issuer.mintAccessToken({ sub: "dave", claims: { client_id: "partner-app" } });
    const now = Math.floor(Date.now() / 1000);
    const bob = await issuer.mintAccessToken({ sub: "bob", issuedAt: now - 600 });
    const call = async (path: string, jwt: string, method = "GET") => {
      const response = await gate.dispatchFetch(`https://gate.example.com${path}`, {
        method,
        headers: { authorization: `Bearer ${jwt}` },
      });
      return {
        status: response.status,
        challenge: response.headers.get("www-authenticate"),
        body: await response.text(),
      };
    };
    try {
      const forbidden = await call("/admin/users", bob);
      expect(forbidden.status).toBe(403);
      expect(forbidden.challenge).toContain('error="insufficient_scope"');
      expect((await call("/reports/q3", bob, "HEAD")).status).toBe(403);
      // METHOD_OVERRIDE=any: a POST could be served as the GET the rule governs.
      expect((await call("/reports/q3", bob, "POST")).status).toBe(403);
      expect((await call("/elsewhere", bob, "POST")).status).toBe(200);
      const stale = await call("/account/delete", bob, "POST");
      expect(stale.status).toBe(401);
      expect(stale.challenge).toContain('error="insufficient_user_authentication"');
      expect(stale.challenge).toContain("max_age=300");
      expect(stale.challenge).toContain(
        'resource_metadata="https://gate.example.com/.well-known/oauth-protected-resource"',
      );
      const otherClient = await call("/partners/orders", bob, "POST");
      expect(otherClient.status).toBe(403);
      expect(JSON.parse(otherClient.body)).toMatchObject({
        error_description: "This route is not open to this client.",
      });
      expect(seen().map((request) => `${request.method} ${request.path}`)).toEqual(["POST /elsewhere"]);
      expect((await call("/admin/users", token)).status).toBe(200);
      expect((await call("/account/delete", token, "POST")).status).toBe(200);
      expect((await call("/partners/orders", partner, "POST")).status).toBe(200);
      expect((await call("/partners/orders", bob, "GET")).status).toBe(200);
    } finally {
      await gate.dispose();
    }
  });
});

describe("route rules with several roles and several scopes", () => {
  it("let any one of a rule's roles through, and only all of its scopes (one of two: 403)", async () => {
    const rules = [
      { path: "/staff/*", roles: ["admin", "staff"] },
      { path: "/orders/*", scopes: ["orders:read", "orders:write"] },
    ];
    const routes = JSON.stringify(rules);
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ROUTES: routes });
    const mint = (sub: string, roles: string[], scope: string) =>
      issuer.mintAccessToken({ sub, claims: { "https://authgear.com/claims/user/roles": roles, scope } });
    const status = async (path: string, jwt: string) => {
      const headers = { authorization: `Bearer ${jwt}` };
      return (await gate.dispatchFetch(`https://gate.example.com${path}`, { headers })).status;
    };
    try {
      expect(await status("/staff/1", await mint("ann", ["admin"], "openid"))).toBe(200);
      expect(await status("/staff/1", await mint("sam", ["staff"], "openid"))).toBe(200);
      expect(await status("/staff/1", await mint("nel", ["other"], "openid"))).toBe(403);
      expect(await status("/orders/1", await mint("rob", [], "openid orders:read orders:write"))).toBe(200);
      expect(await status("/orders/1", await mint("rea", [], "openid orders:read"))).toBe(403);
      expect(await status("/orders/1", await mint("wri", [], "orders:write"))).toBe(403);
      const reached = seen().map((request) => `${request.path} ${String(request.headers["x-authgear-user-id"])}`);
      expect(reached).toEqual(["/staff/1 ann", "/staff/1 sam", "/orders/1 rob"]);
    } finally {
      await gate.dispose();
    }
  });
});

describe("settings", () => {
  it("redirects browser navigations that need a login to LOGIN_URL, and only those", async () => {
    const gate = startWorker({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      LOGIN_URL: "https://login.example.com/start",
    });
    const html = { accept: "text/html,application/xhtml+xml" };
    try {
      const navigation = await gate.dispatchFetch("https://gate.example.com/app/page?x=1", {
        headers: html,
        redirect: "manual",
      });
      expect(navigation.status).toBe(302);
      expect(navigation.headers.get("location")).toBe(
        `https://login.example.com/start?return_to=${encodeURIComponent("https://gate.example.com/app/page?x=1")}`,
      );
      expect((await gate.dispatchFetch("https://gate.example.com/app/page", { redirect: "manual" })).status).toBe(401);
      expect(
        (
          await gate.dispatchFetch("https://gate.example.com/app/page", {
            method: "POST",
            headers: html,
            redirect: "manual",
          })
        ).status,
      ).toBe(401);
      const malformed = await gate.dispatchFetch("https://gate.example.com/app/page", {
        headers: { ...html, authorization: "Bearer a b" },
        redirect: "manual",
      });
      expect(malformed.status).toBe(400);
      expect(seen()).toEqual([]);
    } finally {
      await gate.dispose();
    }
  });

  it("forwards to the request's own URL when ORIGIN_URL is unset (a route in front of the origin)", async () => {
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin });
    try {
      const response = await gate.dispatchFetch(`${origin.url}/own/path?q=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(seen().map((request) => request.path)).toEqual(["/own/path?q=1"]);
    } finally {
      await gate.dispose();
    }
  });

  it("adds Server-Timing with the outcome only when SERVER_TIMING=true, keeping the origin's response", async () => {
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, SERVER_TIMING: "true" });
    try {
      const refused = await gate.dispatchFetch("https://gate.example.com/x");
      expect(refused.status).toBe(401);
      expect(refused.headers.get("server-timing")).toMatch(
        /^authgear-edge;desc="ERR_CREDENTIALS_MISSING";dur=\d+\.\d$/,
      );
      const allowed = await gate.dispatchFetch("https://gate.example.com/_origin/status/418", {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(allowed.status).toBe(418);
      expect(allowed.headers.get("x-origin-custom")).toBe("yes");
      expect(allowed.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
      expect(await allowed.text()).toBe("status 418");
      expect(allowed.headers.get("server-timing")).toMatch(/^authgear-edge;desc="authenticated";dur=\d+\.\d$/);
      const metadata = await gate.dispatchFetch("https://gate.example.com/.well-known/oauth-protected-resource");
      expect(metadata.headers.get("server-timing")).toMatch(/^authgear-edge;desc="metadata";dur=/);
      expect(seen().map((request) => request.path)).toEqual(["/_origin/status/418"]);
    } finally {
      await gate.dispose();
    }
  });

  it("strips Authorization before the origin with FORWARD_AUTHORIZATION=false", async () => {
    const gate = startWorker({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      FORWARD_AUTHORIZATION: "false",
    });
    try {
      expect(
        (await gate.dispatchFetch("https://gate.example.com/x", { headers: { authorization: `Bearer ${token}` } }))
          .status,
      ).toBe(200);
      const [received] = seen();
      expect(received?.headers.authorization).toBeUndefined();
      expect(identityOf(received)["x-authgear-user-id"]).toBe("alice");
    } finally {
      await gate.dispose();
    }
  });

  it("reads the token from JWT_COOKIE_NAME and forwards the other cookies", async () => {
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, JWT_COOKIE_NAME: "at" });
    try {
      const response = await gate.dispatchFetch("https://gate.example.com/x", {
        headers: { cookie: `theme=dark; at=${token}` },
      });
      expect(response.status).toBe(200);
      expect(identityOf(seen()[0])["x-authgear-user-id"]).toBe("alice");
    } finally {
      await gate.dispose();
    }
  });

  it("answers 500 to every request under a bad configuration, and never forwards", async () => {
    const gate = startWorker({ AUTHGEAR_ENDPOINT: "http://example.com", ORIGIN_URL: origin.url, PUBLIC_PATHS: "/*" });
    try {
      for (const path of ["/", "/public/x"]) {
        const response = await gate.dispatchFetch(`https://gate.example.com${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(response.status).toBe(500);
        expect(await response.text()).not.toContain("AUTHGEAR_ENDPOINT");
      }
      expect(seen()).toEqual([]);
    } finally {
      await gate.dispose();
    }
  });
});

describe("REPORT_ONLY=true: decided as when enforcing, logged, and let through", () => {
  const rules = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);

  it("forwards each would-be refusal with its code and no identity, and an allowed request as usual", async () => {
    const logs: string[] = [];
    const gate = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        REPORT_ONLY: "true",
        ROUTES: rules,
        LOGIN_URL: "https://login.example.com/",
      },
      1,
      logs,
    );
    const enforcing = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ROUTES: rules }, 1, []);
    try {
      const expired = await issuer.mintAccessToken({ expiresIn: -5 });
      const staff = await issuer.mintAccessToken({
        sub: "bob",
        claims: { "https://authgear.com/claims/user/roles": ["staff"] },
      });
      /** The status of a refusal; any other code: 401. */
      const STATUS_OF_CODE: Partial<Record<string, number>> = {
        ERR_REQUEST_MALFORMED: 400,
        ERR_INSUFFICIENT_SCOPE: 403,
      };
      const cases: Array<[string, Record<string, string>, string | undefined]> = [
        [
          "/x",
          { accept: "text/html", "x-authgear-edge-report": "spoofed", "x-authgear-user-id": "mallory" },
          "ERR_CREDENTIALS_MISSING",
        ],
        ["/x", { authorization: `Bearer ${expired}` }, "ERR_JWT_EXPIRED"],
        ["/x", { authorization: "Bearer a b" }, "ERR_REQUEST_MALFORMED"],
        ["/admin/users", { authorization: `Bearer ${staff}` }, "ERR_INSUFFICIENT_SCOPE"],
        ["/admin/users", { authorization: `Bearer ${token}` }, undefined],
      ];
      for (const [path, headers, code] of cases) {
        const decided = await enforcing.dispatchFetch(`https://gate.example.com${path}`, {
          headers,
          redirect: "manual",
        });
        expect(decided.status).toBe(code === undefined ? 200 : (STATUS_OF_CODE[code] ?? 401));
        if (code !== undefined) expect(((await decided.json()) as { code: string }).code).toBe(code);
        else await decided.text();
        const reported = await gate.dispatchFetch(`https://gate.example.com${path}`, { headers, redirect: "manual" });
        expect(reported.status).toBe(200);
        await reported.text();
      }
      const forwarded = seen().map((request) => ({
        path: request.path,
        report: request.headers["x-authgear-edge-report"],
        user: request.headers["x-authgear-user-id"],
      }));
      expect(forwarded).toEqual([
        { path: "/x", report: "ERR_CREDENTIALS_MISSING", user: undefined },
        { path: "/x", report: "ERR_JWT_EXPIRED", user: undefined },
        { path: "/x", report: "ERR_REQUEST_MALFORMED", user: undefined },
        { path: "/admin/users", report: "ERR_INSUFFICIENT_SCOPE", user: undefined },
        { path: "/admin/users", user: "alice", report: undefined },
        { path: "/admin/users", user: "alice", report: undefined },
      ]);
      await expect.poll(() => logs.filter((line) => line.includes("would_refuse"))).toHaveLength(4);
      const lines = logs
        .filter((line) => line.includes("would_refuse"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((line) => [line.code, line.status, line.path])).toEqual([
        ["ERR_CREDENTIALS_MISSING", 401, "/x"],
        ["ERR_JWT_EXPIRED", 401, "/x"],
        ["ERR_REQUEST_MALFORMED", 400, "/x"],
        ["ERR_INSUFFICIENT_SCOPE", 403, "/admin/users"],
      ]);
      expect(logs.join("\n")).not.toContain(expired.split(".")[2]!.slice(0, 16));
    } finally {
      await Promise.all([gate.dispose(), enforcing.dispose()]);
    }
  });

  it("still fails closed on a bad configuration, and still refuses what it cannot forward", async () => {
    const bad = startWorker(
      { AUTHGEAR_ENDPOINT: "http://example.com", ORIGIN_URL: origin.url, REPORT_ONLY: "true" },
      1,
      [],
    );
    const gate = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, REPORT_ONLY: "true" }, 1, []);
    try {
      expect((await bad.dispatchFetch("https://gate.example.com/x")).status).toBe(500);
      const withBody = await rawRequest(gate, "GET", "/x", { "content-length": "5" }, "hello");
      expect(withBody.status).toBe(400);
      expect(seen()).toEqual([]);
    } finally {
      await Promise.all([bad.dispose(), gate.dispose()]);
    }
  });
});

describe("ORIGIN_SECRET: the origin can tell the gate's requests from any other", () => {
  const secret = "s3cr3t-0123456789abcdef0123456789abcdef";
  // The suite's log scan fails the file if either appears in any log line.
  rememberCredential(secret);
  rememberCredential("short-secret-value");

  it("sends the secret on every forwarded request, replacing any copy a client sends, in every spelling", async () => {
    const logs: string[] = [];
    const gate = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        PUBLIC_PATHS: "/public/*",
        ORIGIN_SECRET: secret,
        ORIGIN_SECRET_HEADER: "X-Origin-Auth",
      },
      1,
      logs,
    );
    try {
      const spoofed = { "x-origin-auth": "guess", x_origin_auth: "guess", "X.Origin.Auth": "guess" };
      expect(
        (
          await gate.dispatchFetch("https://gate.example.com/x", {
            headers: { ...spoofed, authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(200);
      expect((await gate.dispatchFetch("https://gate.example.com/public/page", { headers: spoofed })).status).toBe(200);
      const refused = await gate.dispatchFetch("https://gate.example.com/x", { headers: spoofed });
      expect(refused.status).toBe(401);
      const body = await refused.text();
      const received = seen();
      expect(received.map((request) => request.path)).toEqual(["/x", "/public/page"]);
      for (const request of received) {
        const names = Object.keys(request.headers).filter((name) => name.replace(/[_.]/g, "-") === "x-origin-auth");
        expect(names).toEqual(["x-origin-auth"]);
        expect(request.headers["x-origin-auth"]).toBe(secret);
      }
      expect(body).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    } finally {
      await gate.dispose();
    }
  });

  it("refuses a short secret without echoing it", async () => {
    const logs: string[] = [];
    const gate = startWorker(
      { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ORIGIN_SECRET: "short-secret-value" },
      1,
      logs,
    );
    try {
      expect(
        (await gate.dispatchFetch("https://gate.example.com/x", { headers: { authorization: `Bearer ${token}` } }))
          .status,
      ).toBe(500);
      await expect.poll(() => logs.some((line) => line.includes("config_invalid"))).toBe(true);
      expect(logs.join("\n")).toContain("ORIGIN_SECRET");
      expect(logs.join("\n")).not.toContain("short-secret-value");
      expect(seen()).toEqual([]);
    } finally {
      await gate.dispose();
    }
  });
});

describe("RFC 9728 protected-resource metadata", () => {
  it("is served by the gate without credentials, naming the issuer and the scopes the rules ask for", async () => {
    const rules = [
      { path: "/orders/*", scopes: ["orders:read"] },
      { path: "/orders/*", methods: ["POST"], scopes: ["orders:write", "orders:read"] },
    ];
    const gate = startWorker({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      ROUTES: JSON.stringify(rules),
    });
    try {
      const response = await gate.dispatchFetch("https://api.example.com/.well-known/oauth-protected-resource");
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(await response.json()).toEqual({
        resource: "https://api.example.com",
        authorization_servers: [issuer.origin],
        scopes_supported: ["orders:read", "orders:write"],
        bearer_methods_supported: ["header"],
      });
      const head = await gate.dispatchFetch("https://api.example.com/.well-known/oauth-protected-resource", {
        method: "HEAD",
      });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");
      // Only reads are the gate's; anything else on that path is an ordinary protected request.
      expect(
        (await gate.dispatchFetch("https://api.example.com/.well-known/oauth-protected-resource", { method: "POST" }))
          .status,
      ).toBe(401);
      expect(seen()).toEqual([]);
    } finally {
      await gate.dispose();
    }
  });

  it("leaves scopes_supported out when no rule names a scope", async () => {
    const response = await send("/.well-known/oauth-protected-resource");
    expect(await response.json()).toEqual({
      resource: "https://gate.example.com",
      authorization_servers: [issuer.origin],
      bearer_methods_supported: ["header"],
    });
  });
});
