/**
 * Hardening regressions for the Worker (issue "Hardening: the gate and every plausible origin read
 * a request the same way, or the gate refuses it"), in real workerd. Each case is an attack on the
 * setting below: what the client gets (status and `code`) and what the demo origin received —
 * nothing for a refused request, the exact method, path, headers and body for a forwarded one.
 *
 * Requests go through raw node:http (no client-side normalisation, any header name), so the only
 * headers the origin sees besides the client's are the ones workerd adds to every subrequest.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReceivedRequest } from "../../dev/origin.ts";
import { startWorker, originRequestsThisTest } from "./harness.ts";
import { useDevIssuer, useDemoOrigin } from "../helpers.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";

/** The attacker's setting (the issue's): bob is no admin, alice is. */
const ROUTES = JSON.stringify([
  { path: "/admin/*", roles: ["admin"] },
  { path: "/account/delete", roles: ["admin"] },
  { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
]);
const SETTING = { PUBLIC_PATHS: "/public/*", ROUTES };
const ROLES_CLAIM = "https://authgear.com/claims/user/roles";

const issuer = useDevIssuer();
const origin = useDemoOrigin();
let bob: string;
let alice: string;

beforeAll(async () => {
  bob = await issuer.mintAccessToken({ sub: "bob" });
  alice = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES_CLAIM]: ["admin"] } });
});

/** What the origin received since the test began. */
const seen = originRequestsThisTest(() => origin);

/**
 * One Worker for the enclosing describe, on loopback with the dev issuer and the demo origin. Its
 * log lines are collected (out of the test output), not checked.
 */
function gateWith(bindings: Record<string, string>): () => Miniflare {
  let mf: Miniflare | undefined;
  beforeAll(async () => {
    mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ...bindings }, 1, []);
    await mf.ready;
  });
  afterAll(async () => {
    await mf?.dispose();
  });
  return () => {
    if (mf === undefined) throw new Error("the Worker is not started");
    return mf;
  };
}

interface Reply {
  readonly status: number;
  readonly serverTiming: string | undefined;
  readonly text: string;
  /** The `code` of the gate's JSON refusal, if it is one. */
  readonly code: string | undefined;
}

type HeaderPairs = Record<string, string> | ReadonlyArray<readonly [string, string]>;

function isPairList(headers: HeaderPairs): headers is ReadonlyArray<readonly [string, string]> {
  return Array.isArray(headers);
}

/**
 * Sends exactly this request-target, these header lines (repeated names allowed, no client-side
 * validation beyond node's token check) and this body (with its Content-Length, unless the headers
 * ask for chunked coding), on a fresh connection; 10 s at most.
 */
async function send(
  mf: Miniflare,
  method: string,
  target: string,
  headers: HeaderPairs = {},
  body?: string,
): Promise<Reply> {
  const base = await mf.ready;
  const lines: string[] = ["host", base.host];
  const pairs = isPairList(headers) ? headers : Object.entries(headers);
  for (const [name, value] of pairs) lines.push(name, value);
  const chunked = lines.some((line, index) => index % 2 === 0 && line.toLowerCase() === "transfer-encoding");
  if (body !== undefined && !chunked) lines.push("content-length", String(Buffer.byteLength(body)));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, method, path: target, headers: lines, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let code: string | undefined;
          try {
            const parsed = JSON.parse(text) as { code?: unknown };
            if (typeof parsed.code === "string") code = parsed.code;
          } catch {
            code = undefined;
          }
          const timing = res.headers["server-timing"];
          resolve({
            status: res.statusCode ?? 0,
            serverTiming: Array.isArray(timing) ? timing.join(", ") : timing,
            text,
            code,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function sha256(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}

/**
 * What workerd adds to every subrequest here, and, when `authenticated`, what the Worker's
 * `cache: "no-store"` adds: Cloudflare sends `Cache-Control: no-cache` and `Pragma: no-cache` to
 * the origin for it (compatibility flag `cache_option_enabled`), which is how it shows.
 */
function subrequestHeaders(authenticated: boolean): Record<string, string> {
  return {
    host: new URL(origin.url).host,
    "accept-encoding": "br, gzip",
    "cf-worker": "gate-0.example.com",
    ...(authenticated && { "cache-control": "no-cache", pragma: "no-cache" }),
  };
}

/** The identity headers the Worker adds for one of the tokens above. */
function identityHeaders(token: string): Record<string, string> {
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
    sub: string;
    auth_time: number;
    [ROLES_CLAIM]: string[];
  };
  const roles = claims[ROLES_CLAIM];
  return userIdentityHeaders(claims.sub, {
    ...(roles.length > 0 && { "x-authgear-user-roles": roles.join(",") }),
    "x-authgear-session-amr": "pwd",
    "x-authgear-session-authenticated-at": String(claims.auth_time),
    "x-authgear-edge-kind": "user",
    "x-authgear-edge-issuer": issuer.origin,
  });
}

/** A request as the origin must have received it. */
function received(method: string, path: string, headers: ReceivedRequest["headers"], body = ""): ReceivedRequest {
  return { method, path, headers, bodyBytes: Buffer.byteLength(body), bodySha256: sha256(body) };
}

/** Forwarded with `token`'s identity: its Authorization header and identity headers, plus `headers`. */
function forwardedFor(
  token: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): ReceivedRequest {
  return received(
    method,
    path,
    { ...subrequestHeaders(true), authorization: `Bearer ${token}`, ...identityHeaders(token), ...headers },
    body,
  );
}

/** Forwarded without identity. */
function forwardedAnonymously(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): ReceivedRequest {
  return received(method, path, { ...subrequestHeaders(false), ...headers }, body);
}

describe("paths without a single reading are refused with 400, before any credential is looked at", () => {
  const gate = gateWith(SETTING);

  it.each([
    ["an escape that is not %XX", "/public/%u002e%u002e/admin"],
    ["a lone %", "/public/%/admin"],
    ["a truncated escape", "/public/admin%2"],
    ["an overlong UTF-8 dot (2 bytes)", "/public/%c0%ae%c0%ae/admin"],
    ["an overlong UTF-8 dot, upper-case hex", "/public/%C0%AE%C0%AE/admin"],
    ["an overlong UTF-8 dot (3 bytes)", "/public/%e0%80%ae%e0%80%ae/admin"],
    ["bytes that are not UTF-8", "/public/%ff/admin"],
    ["an encoded /", "/public/..%2fadmin"],
    ["an encoded /, upper case", "/public/%2F..%2Fadmin"],
    ["an encoded \\", "/public/..%5cadmin"],
    ["an encoded NUL", "/public/x%00/admin"],
    ["a double-encoded dot", "/public/%252e%252e/admin"],
    ["a double-encoded /", "/public/..%252fadmin"],
    ["a ; path parameter", "/admin;/public"],
    ["a ; parameter on a public path", "/public;x/admin"],
    ["an empty segment", "//admin"],
    ["an empty segment inside a public path", "/public//admin"],
    ["a full-width solidus (NFKC /)", "/public/%ef%bc%8f..%ef%bc%8fadmin"],
    ["full-width full stops (NFKC .)", "/public/%ef%bc%8e%ef%bc%8e/admin"],
  ])("%s: %s", async (_name, target) => {
    for (const headers of [{}, bearer(bob), bearer(alice)]) {
      const reply = await send(gate(), "GET", target, headers);
      expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    }
    expect(seen()).toEqual([]);
  });

  it("refuses a POST with a body on such a path too, whoever sends it", async () => {
    const reply = await send(
      gate(),
      "POST",
      "/public/%c0%ae%c0%ae/admin",
      { ...bearer(alice), "content-type": "application/json" },
      "{}",
    );
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    expect(seen()).toEqual([]);
  });

  it("reads the query as a query: escapes there do not make the path ambiguous", async () => {
    const reply = await send(gate(), "GET", "/public/x?next=%2e%2e%2fadmin&y=%c0%ae");
    expect(reply.status).toBe(200);
    expect(seen()).toEqual([forwardedAnonymously("GET", "/public/x?next=%2e%2e%2fadmin&y=%c0%ae")]);
  });
});

describe("dot segments and \\ are resolved by the URL parser before the decision: the origin gets the path decided on", () => {
  const gate = gateWith(SETTING);

  it.each([
    "/public/%2e%2e/admin",
    "/public/%2E%2e/admin",
    "/public/.%2e/admin",
    "/public/../admin",
    "/public/./../admin",
    "/public\\..\\admin",
  ])("%s is /admin: 401 without credentials, 403 for bob, forwarded as /admin for alice", async (target) => {
    const anonymous = await send(gate(), "GET", target);
    expect({ status: anonymous.status, code: anonymous.code }).toEqual({
      status: 401,
      code: "ERR_CREDENTIALS_MISSING",
    });
    const forbidden = await send(gate(), "GET", target, bearer(bob));
    expect({ status: forbidden.status, code: forbidden.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
    expect(seen()).toEqual([]);
    expect((await send(gate(), "GET", target, bearer(alice))).status).toBe(200);
    expect(seen()).toEqual([forwardedFor(alice, "GET", "/admin")]);
  });

  it("forwards a public path with a raw \\ as the / the decision read", async () => {
    expect((await send(gate(), "GET", "/public/a\\b")).status).toBe(200);
    expect(seen()).toEqual([forwardedAnonymously("GET", "/public/a/b")]);
  });

  it("never forwards raw bytes that are not UTF-8: the origin gets U+FFFD, the path decided on", async () => {
    // node:http writes the request line in latin1: these are the bytes C0 AE C0 AE (an overlong "..").
    expect((await send(gate(), "GET", "/public/\u00c0\u00ae\u00c0\u00ae/admin")).status).toBe(200);
    expect(seen()).toEqual([forwardedAnonymously("GET", `/public/${"%EF%BF%BD".repeat(4)}/admin`)]);
  });
});

describe("route rules match every spelling an ordinary origin routes to the ruled handler", () => {
  const gate = gateWith(SETTING);

  it.each([
    "/ADMIN/x",
    "/Admin/x",
    "/%61dmin/x",
    "/%41DMIN/x",
    "/adm%C4%B1n/x",
    "/admin",
    "/admin/",
    "/admin.json",
    "/ADMIN.JSON",
    "/admin/x/",
    "/account/delete",
    "/account/delet%65",
    "/%61ccount/delete",
    "/ACCOUNT/DELETE",
    "/Account/Delete/",
    "/account/delete/",
    "/account/delete.json",
    "/account/delete%2ejson",
  ])("GET %s: 403 for bob (the origin sees nothing), forwarded exactly as sent for alice", async (target) => {
    const reply = await send(gate(), "GET", target, bearer(bob));
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
    expect(seen()).toEqual([]);
    expect((await send(gate(), "GET", target, bearer(alice))).status).toBe(200);
    expect(seen()).toEqual([forwardedFor(alice, "GET", target)]);
  });

  it.each(["/orders/1", "/ORDERS/1", "/%6frders/1", "/orders/1/", "/orders", "/orders.json"])(
    "DELETE %s: 403 for bob, forwarded for alice",
    async (target) => {
      const reply = await send(gate(), "DELETE", target, bearer(bob));
      expect({ status: reply.status, code: reply.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
      expect(seen()).toEqual([]);
      expect((await send(gate(), "DELETE", target, bearer(alice))).status).toBe(200);
      // workerd sends a DELETE without a body with `Content-Length: 0`.
      expect(seen()).toEqual([forwardedFor(alice, "DELETE", target, { "content-length": "0" })]);
    },
  );

  it("leaves bob's GET on /orders/* and paths that only look alike to the origin", async () => {
    const targets = ["/orders/1", "/administrator", "/adminx/y", "/account/deleted", "/account/delete-me", "/account"];
    for (const target of targets) expect((await send(gate(), "GET", target, bearer(bob))).status, target).toBe(200);
    expect(seen()).toEqual(targets.map((target) => forwardedFor(bob, "GET", target)));
  });
});

describe("public paths match narrowly", () => {
  const gate = gateWith(SETTING);

  it("serves /public, /public/ and /public/... without credentials and without identity", async () => {
    for (const target of ["/public", "/public/", "/public/a/b?q=1"])
      expect((await send(gate(), "GET", target)).status).toBe(200);
    expect(seen()).toEqual([
      forwardedAnonymously("GET", "/public"),
      forwardedAnonymously("GET", "/public/"),
      forwardedAnonymously("GET", "/public/a/b?q=1"),
    ]);
  });

  it.each(["/PUBLIC/x", "/Public/x", "/publicx", "/public.json", "/publ%69c/x"])(
    "%s is not public: 401 without credentials",
    async (target) => {
      const reply = await send(gate(), "GET", target);
      expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: "ERR_CREDENTIALS_MISSING" });
      expect(seen()).toEqual([]);
    },
  );
});

/** Every override header, in the spellings servers map onto one variable (`-`, `_`, `.`, any case). */
const METHOD_OVERRIDES = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];
const PATH_OVERRIDES = [
  "X-Original-URL",
  "X-Original-URI",
  "X-Rewrite-URL",
  "X-Forwarded-Uri",
  "X-Forwarded-Prefix",
  "X-Forwarded-Path",
];
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

describe("method and path override headers never reach the origin, in any spelling", () => {
  const gate = gateWith(SETTING);
  const noOverrides = gateWith({ ...SETTING, METHOD_OVERRIDE: "none" });

  it.each(METHOD_OVERRIDES)(
    "%s (DELETE) on bob's POST /orders/1 (METHOD_OVERRIDE=none): forwarded as the POST decided on, without the header",
    async (name) => {
      const overrides = spellings(name).map((spelling) => [spelling, "DELETE"] as const);
      const reply = await send(
        noOverrides(),
        "POST",
        "/orders/1",
        [...overrides, ["authorization", `Bearer ${bob}`], ["content-type", "application/json"]],
        '{"a":1}',
      );
      expect(reply.status).toBe(200);
      expect(seen()).toEqual([
        forwardedFor(
          bob,
          "POST",
          "/orders/1",
          { "content-type": "application/json", "content-length": "7" },
          '{"a":1}',
        ),
      ]);
    },
  );

  it.each(PATH_OVERRIDES)(
    "%s (/admin) on an anonymous GET /public/x: forwarded as /public/x, without the header",
    async (name) => {
      const overrides = spellings(name).map((spelling) => [spelling, "/admin"] as const);
      expect((await send(gate(), "GET", "/public/x", overrides)).status).toBe(200);
      expect(seen()).toEqual([forwardedAnonymously("GET", "/public/x")]);
    },
  );

  it("decides on the request's own path: X_Original_URL: /public/x does not open /admin/x", async () => {
    const reply = await send(gate(), "GET", "/admin/x", { X_Original_URL: "/public/x", "X.Original.URI": "/public/x" });
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: "ERR_CREDENTIALS_MISSING" });
    expect(seen()).toEqual([]);
  });
});

/**
 * METHOD_OVERRIDE=any (the default): frameworks serve a request as the method its body, query or
 * headers name, under keys and media types the gate cannot know (test/origins), so every request
 * but a GET is decided as every method.
 */
describe("METHOD_OVERRIDE=any: a request that is not a GET is decided as every method it could be served as", () => {
  const gate = gateWith(SETTING);
  const MULTIPART = '--b\r\ncontent-disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n';

  it.each([
    ["POST", "?_method=DELETE", "application/json", "{}"],
    ["POST", "?.method=DELETE", "application/json", "{}"],
    ["POST", "", "application/json", '{"_method":"DELETE"}'],
    ["POST", "", "application/vnd.api+json", '{"_method":"DELETE"}'],
    ["POST", "", "application/x-www-form-urlencoded; charset=utf-8", "_method=DELETE"],
    ["POST", "", "APPLICATION/X-WWW-FORM-URLENCODED, text/plain", "_method=DELETE"],
    ["POST", "", "multipart/form-data; boundary=b", MULTIPART],
    ["POST", "", "multipart/mixed; boundary=b", MULTIPART],
    ["POST", "", undefined, "_method=DELETE"],
    ["PUT", "", "application/x-www-form-urlencoded", "_method=DELETE"],
    ["PATCH", "", "application/x-www-form-urlencoded", "_method=DELETE"],
    ["OPTIONS", "?_method=DELETE", undefined, undefined],
    ["HEAD", "?_method=DELETE", undefined, undefined],
    ["POST", "", "application/json", "{}"],
  ])("bob's %s /orders/1%s (%s) is a 403, and the origin sees nothing", async (method, query, type, body) => {
    const headers = { ...bearer(bob), ...(type !== undefined && { "content-type": type }) };
    const reply = await send(gate(), method, `/orders/1${query}`, headers, body);
    expect(reply.status).toBe(403);
    // A HEAD refusal has no body to carry the code.
    if (method !== "HEAD") expect(reply.code).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(seen()).toEqual([]);
  });

  it("forwards bob's GET /orders/1?_method=DELETE exactly: no framework serves a GET as another method", async () => {
    expect((await send(gate(), "GET", "/orders/1?_method=DELETE", bearer(bob))).status).toBe(200);
    expect(seen()).toEqual([forwardedFor(bob, "GET", "/orders/1?_method=DELETE")]);
  });

  it("forwards bob's form POST elsewhere, and alice's form POST and POST ?_method=DELETE to /orders/1, exactly", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    expect((await send(gate(), "POST", "/x", { ...bearer(bob), ...form }, "_method=DELETE")).status).toBe(200);
    expect((await send(gate(), "POST", "/orders/1", { ...bearer(alice), ...form }, "_method=DELETE")).status).toBe(200);
    expect((await send(gate(), "POST", "/orders/1?_method=DELETE", bearer(alice), "")).status).toBe(200);
    expect(seen()).toEqual([
      forwardedFor(bob, "POST", "/x", { ...form, "content-length": "14" }, "_method=DELETE"),
      forwardedFor(alice, "POST", "/orders/1", { ...form, "content-length": "14" }, "_method=DELETE"),
      forwardedFor(alice, "POST", "/orders/1?_method=DELETE", { "content-length": "0" }),
    ]);
  });
});

describe("METHOD_OVERRIDE=none: each request is decided as the method on the wire", () => {
  const gate = gateWith({ ...SETTING, METHOD_OVERRIDE: "none" });

  it("forwards bob's PATCH /ORDERS/1, his JSON POST with _method and his POST ?_method=DELETE exactly", async () => {
    const json = { "content-type": "application/json" };
    const body = '{"_method":"DELETE"}';
    expect((await send(gate(), "PATCH", "/ORDERS/1", bearer(bob), "{}")).status).toBe(200);
    expect((await send(gate(), "POST", "/orders/1", { ...bearer(bob), ...json }, body)).status).toBe(200);
    expect((await send(gate(), "POST", "/orders/1?_method=DELETE", { ...bearer(bob), ...json }, "{}")).status).toBe(
      200,
    );
    expect(seen()).toEqual([
      forwardedFor(bob, "PATCH", "/ORDERS/1", { "content-length": "2" }, "{}"),
      forwardedFor(bob, "POST", "/orders/1", { ...json, "content-length": String(body.length) }, body),
      forwardedFor(bob, "POST", "/orders/1?_method=DELETE", { ...json, "content-length": "2" }, "{}"),
    ]);
  });

  it("refuses bob's DELETE /orders/1", async () => {
    expect((await send(gate(), "DELETE", "/orders/1", bearer(bob))).status).toBe(403);
    expect(seen()).toEqual([]);
  });
});

describe("CORS preflights: only a real one passes unauthenticated, and it is forwarded bare", () => {
  const gate = gateWith({ ...SETTING, JWT_COOKIE_NAME: "at" });
  const wireOnly = gateWith({ ...SETTING, JWT_COOKIE_NAME: "at", METHOD_OVERRIDE: "none" });
  const PREFLIGHT = {
    origin: "https://app.example.com",
    "access-control-request-method": "DELETE",
    "access-control-request-headers": "content-type",
  };

  it.each(["/api/secret", "/admin/x"])(
    "forwards a real preflight to %s with no body, no Cookie and no identity headers",
    async (target) => {
      const reply = await send(gate(), "OPTIONS", target, {
        ...PREFLIGHT,
        cookie: `theme=dark; at=${bob}`,
        "x-authgear-user-id": "alice",
        X_Authgear_User_Roles: "admin",
      });
      expect(reply.status).toBe(200);
      // workerd sends an OPTIONS without a body with `Content-Length: 0`.
      expect(seen()).toEqual([forwardedAnonymously("OPTIONS", target, { ...PREFLIGHT, "content-length": "0" })]);
    },
  );

  it("with METHOD_OVERRIDE=any, forwards a preflight without its query and with a browser's preflight headers only", async () => {
    const extra = { "x-http-method-override": "DELETE", "x-my-override": "DELETE", "user-agent": "t", accept: "*/*" };
    expect((await send(gate(), "OPTIONS", "/orders/1?_method=DELETE", { ...PREFLIGHT, ...extra })).status).toBe(200);
    const kept = { ...PREFLIGHT, "user-agent": "t", accept: "*/*", "content-length": "0" };
    expect(seen()).toEqual([forwardedAnonymously("OPTIONS", "/orders/1", kept)]);
  });

  it("with METHOD_OVERRIDE=none, forwards a preflight with its query and its other headers (override headers stripped)", async () => {
    const extra = { "x-http-method-override": "DELETE", "x-my-override": "DELETE" };
    expect((await send(wireOnly(), "OPTIONS", "/orders/1?_method=DELETE", { ...PREFLIGHT, ...extra })).status).toBe(
      200,
    );
    const kept = { ...PREFLIGHT, "x-my-override": "DELETE", "content-length": "0" };
    expect(seen()).toEqual([forwardedAnonymously("OPTIONS", "/orders/1?_method=DELETE", kept)]);
  });

  it.each([
    [
      "an empty Access-Control-Request-Method",
      { origin: "https://app.example.com", "access-control-request-method": "" },
      undefined,
    ],
    [
      "an Access-Control-Request-Method that is no method",
      { origin: "https://app.example.com", "access-control-request-method": "GET, POST" },
      undefined,
    ],
    ["no Origin", { "access-control-request-method": "DELETE" }, undefined],
    ["a body", PREFLIGHT, "hello"],
  ])("an OPTIONS with %s is an ordinary request: 401 without credentials", async (_name, headers, body) => {
    const reply = await send(gate(), "OPTIONS", "/api/secret", headers, body);
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: "ERR_CREDENTIALS_MISSING" });
    expect(seen()).toEqual([]);
  });

  it("an OPTIONS with Authorization is an ordinary request: a bad token is a 401, bob's on /admin/x a 403", async () => {
    const bad = await send(gate(), "OPTIONS", "/api/secret", { ...PREFLIGHT, authorization: "Bearer garbage" });
    expect(bad.status).toBe(401);
    expect(bad.code).not.toBe("ERR_CREDENTIALS_MISSING");
    const forbidden = await send(gate(), "OPTIONS", "/admin/x", { ...PREFLIGHT, ...bearer(bob) });
    expect({ status: forbidden.status, code: forbidden.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
    expect(seen()).toEqual([]);
  });

  it("a fake preflight with bob's cookie: route rules apply, and the origin sees it authenticated", async () => {
    const fake = {
      origin: "https://app.example.com",
      "access-control-request-method": "",
      cookie: `theme=dark; at=${bob}`,
    };
    const forbidden = await send(gate(), "OPTIONS", "/admin/x", fake);
    expect({ status: forbidden.status, code: forbidden.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
    expect(seen()).toEqual([]);
    expect((await send(gate(), "OPTIONS", "/api/secret", fake)).status).toBe(200);
    const { authorization: _none, ...withoutAuthorization } = forwardedFor(bob, "OPTIONS", "/api/secret", {
      ...fake,
      "content-length": "0",
    }).headers;
    expect(seen()).toEqual([received("OPTIONS", "/api/secret", withoutAuthorization)]);
  });

  it("a preflight with a body and alice's token: forwarded authenticated, body included", async () => {
    expect((await send(gate(), "OPTIONS", "/admin/x", { ...PREFLIGHT, ...bearer(alice) }, "hello")).status).toBe(200);
    expect(seen()).toEqual([
      forwardedFor(alice, "OPTIONS", "/admin/x", { ...PREFLIGHT, "content-length": "5" }, "hello"),
    ]);
  });
});

describe("FORWARD_AUTHORIZATION=false with JWT_COOKIE_NAME=at: the origin gets neither Authorization nor the at cookie", () => {
  const gate = gateWith({ ...SETTING, JWT_COOKIE_NAME: "at", FORWARD_AUTHORIZATION: "false" });
  /** Forwarded with `token`'s identity, without its Authorization header. */
  const forwardedWithoutToken = (
    token: string,
    method: string,
    path: string,
    headers: Record<string, string> = {},
  ): ReceivedRequest => received(method, path, { ...subrequestHeaders(true), ...identityHeaders(token), ...headers });

  it("removes the at cookie and keeps the others, whether the token came in the cookie or the header", async () => {
    expect((await send(gate(), "GET", "/admin/x", { cookie: `theme=dark; at=${alice}; session=s1` })).status).toBe(200);
    expect((await send(gate(), "GET", "/admin/x", { ...bearer(alice), cookie: "theme=dark; session=s1" })).status).toBe(
      200,
    );
    expect((await send(gate(), "GET", "/admin/x", { cookie: `at=${alice}` })).status).toBe(200);
    expect(seen()).toEqual([
      forwardedWithoutToken(alice, "GET", "/admin/x", { cookie: "theme=dark; session=s1" }),
      forwardedWithoutToken(alice, "GET", "/admin/x", { cookie: "theme=dark; session=s1" }),
      forwardedWithoutToken(alice, "GET", "/admin/x"),
    ]);
  });

  it("removes an invalid at cookie on a public path too", async () => {
    expect(
      (await send(gate(), "GET", "/public/x", { cookie: "at=garbage; theme=dark", authorization: "Bearer garbage" }))
        .status,
    ).toBe(200);
    expect(seen()).toEqual([forwardedAnonymously("GET", "/public/x", { cookie: "theme=dark" })]);
  });

  it("refuses bob's cookie on /admin/x and a duplicated at cookie on a protected path, forwarding nothing", async () => {
    const forbidden = await send(gate(), "GET", "/admin/x", { cookie: `theme=dark; at=${bob}` });
    expect({ status: forbidden.status, code: forbidden.code }).toEqual({ status: 403, code: "ERR_INSUFFICIENT_SCOPE" });
    const twice = await send(gate(), "GET", "/x", { cookie: `at=${alice}; theme=dark; at=${bob}` });
    expect({ status: twice.status, code: twice.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    expect(seen()).toEqual([]);
  });

  it("removes every at cookie of a duplicated pair on a public path (served anonymously)", async () => {
    expect((await send(gate(), "GET", "/public/x", { cookie: `at=${alice}; theme=dark; at=${bob}` })).status).toBe(200);
    expect(seen()).toEqual([forwardedAnonymously("GET", "/public/x", { cookie: "theme=dark" })]);
  });

  // Two `Cookie` header lines reach the Worker joined by ", " (workerd): `theme=dark, at=<jwt>` is
  // one pair under RFC 6265, but an origin that also splits on "," would find the at cookie there.
  it("refuses the at cookie in a second Cookie header line (400), forwarding nothing", async () => {
    const reply = await send(gate(), "GET", "/public/x", [
      ["cookie", "theme=dark"],
      ["cookie", `at=${alice}`],
    ]);
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    expect(seen()).toEqual([]);
  });

  it("leaves every other byte of Cookie as it was: commas, quotes and spacing inside the other cookies", async () => {
    const cases: Array<[string, string]> = [
      [`recent=12,34,56; at=${alice}; prefs="x, y"`, 'recent=12,34,56; prefs="x, y"'],
      [`at=${alice}; recent=12,34,56`, "recent=12,34,56"],
      [`a=1;at=${alice};  b=2 ;c="d;e"`, 'a=1;  b=2 ;c="d;e"'],
      [`list="1, 2, 3";at=${alice}`, 'list="1, 2, 3"'],
    ];
    for (const [cookie] of cases)
      expect((await send(gate(), "GET", "/admin/x", { ...bearer(alice), cookie })).status).toBe(200);
    expect(seen()).toEqual(cases.map(([, kept]) => forwardedWithoutToken(alice, "GET", "/admin/x", { cookie: kept })));
  });

  it("never reads x=1,at=<jwt> as an at cookie: on a protected path it is ambiguous (400), nothing forwarded", async () => {
    const reply = await send(gate(), "GET", "/admin/x", { cookie: `x=1,at=${alice}` });
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    expect(seen()).toEqual([]);
  });
});

describe("FORWARD_AUTHORIZATION=true with JWT_COOKIE_NAME=at: the Cookie header reaches the origin byte for byte", () => {
  const gate = gateWith({ ...SETTING, JWT_COOKIE_NAME: "at" });

  it("reads the at cookie between semicolons only, and forwards the header untouched", async () => {
    const cookie = `recent=12,34,56; at=${alice}; prefs="x, y"`;
    expect((await send(gate(), "GET", "/admin/x", { cookie })).status).toBe(200);
    expect(seen()).toEqual([
      received("GET", "/admin/x", { ...subrequestHeaders(true), ...identityHeaders(alice), cookie }),
    ]);
  });
});

describe("AUTH_MODE=hybrid never forwards a JWT it refused", () => {
  const gate = gateWith({ ...SETTING, AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "0" });

  it("a forged bearer beside carol's valid session cookie is a 401 with the bearer's code; the origin receives nothing", async () => {
    const session = issuer.createSession("carol");
    const [head, payload] = alice.split(".");
    const forged = `${head}.${payload}.${"A".repeat(342)}`;
    const reply = await send(gate(), "GET", "/x", { ...bearer(forged), cookie: `session=${session.cookie}` });
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: "ERR_JWT_SIGNATURE" });
    const opaque = await send(gate(), "GET", "/x", {
      authorization: "Bearer forged-opaque",
      cookie: `session=${session.cookie}`,
    });
    expect({ status: opaque.status, code: opaque.code }).toEqual({ status: 401, code: "ERR_SESSION_INVALID" });
    expect(seen()).toEqual([]);
    expect((await send(gate(), "GET", "/x", { cookie: `session=${session.cookie}` })).status).toBe(200);
    const [forwarded] = seen();
    expect(forwarded?.headers["x-authgear-user-id"]).toBe("carol");
    expect(forwarded?.headers.authorization).toBeUndefined();
  });
});

describe("a GET or HEAD with a body is a 400, never forwarded", () => {
  // SERVER_TIMING names the refusal's code where a HEAD answer has no body to carry it.
  const gate = gateWith({ ...SETTING, SERVER_TIMING: "true" });

  it.each([
    ["GET, public path, no credentials", "GET", "/public/x", {}],
    ["GET, alice", "GET", "/x", bearer(alice)],
    ["GET, chunked", "GET", "/public/x", { "transfer-encoding": "chunked" }],
  ])("%s", async (_name, method, target, headers) => {
    const reply = await send(gate(), method, target, headers, "hello");
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: "ERR_REQUEST_MALFORMED" });
    expect(seen()).toEqual([]);
  });

  it("HEAD with a body: 400 without a body, named in Server-Timing", async () => {
    const reply = await send(gate(), "HEAD", "/public/x", bearer(alice), "hello");
    expect(reply.status).toBe(400);
    expect(reply.text).toBe("");
    expect(reply.serverTiming).toMatch(/^authgear-edge;desc="ERR_REQUEST_MALFORMED";dur=/);
    expect(seen()).toEqual([]);
  });
});

describe('an authenticated subrequest bypasses Cloudflare\'s cache (cache: "no-store")', () => {
  const gate = gateWith(SETTING);

  it("sends Cache-Control: no-cache and Pragma: no-cache with an identity, and neither without one", async () => {
    expect((await send(gate(), "GET", "/x", bearer(alice))).status).toBe(200);
    expect((await send(gate(), "GET", "/public/x", bearer(bob))).status).toBe(200);
    expect((await send(gate(), "GET", "/public/x")).status).toBe(200);
    expect(seen()).toEqual([
      forwardedFor(alice, "GET", "/x"),
      forwardedFor(bob, "GET", "/public/x"),
      forwardedAnonymously("GET", "/public/x"),
    ]);
    expect(seen().map((request) => [request.headers["cache-control"], request.headers.pragma])).toEqual([
      ["no-cache", "no-cache"],
      ["no-cache", "no-cache"],
      [undefined, undefined],
    ]);
  });
});
