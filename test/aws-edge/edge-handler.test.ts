/**
 * The Lambda@Edge viewer-request handler (`createEdgeHandler`) against the dev issuer and resolver on
 * loopback, fed events shaped as CloudFront documents them (events.ts). What is asserted is what
 * CloudFront is handed back: the request it carries on with (uri, querystring, headers in its own
 * form, every other field as it came), or the response it sends in the request's place.
 */
import type { CloudFrontRequest, CloudFrontRequestResult, CloudFrontResultResponse } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { createEdgeHandler, type EdgeHandler } from "../../src/aws-edge/create-edge-handler.ts";
import type { EdgeSettings } from "../../src/aws-edge/config.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";
import { useDevIssuer } from "../helpers.ts";
import { DISTRIBUTION_DOMAIN, headerOf, viewerRequest, type ViewerRequestOptions } from "./events.ts";

const ROLES_CLAIM = "https://authgear.com/claims/user/roles";
const ROUTES: EdgeSettings["ROUTES"] = [
  { path: "/admin/*", roles: ["admin"] },
  { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
];

const issuer = useDevIssuer(undefined, { restoreEachTest: true });
const lines: Array<Record<string, unknown>> = [];
afterAll(() => {
  // No token or cookie value in any line the handler wrote.
  const text = JSON.stringify(lines);
  for (const secret of tokens) expect(text).not.toContain(secret.slice(secret.lastIndexOf(".") + 1));
});
const tokens: string[] = [];

function edge(settings: EdgeSettings = {}): EdgeHandler {
  return createEdgeHandler({
    settings: { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/public/*", ROUTES, ...settings },
    logger: { log: (event, fields) => lines.push({ event, ...fields }) },
  });
}

async function token(sub: string, roles: string[] = []): Promise<string> {
  const minted = await issuer.mintAccessToken({ sub, claims: { [ROLES_CLAIM]: roles } });
  tokens.push(minted);
  return minted;
}

function isResponse(result: CloudFrontRequestResult): result is CloudFrontResultResponse {
  return result !== null && result !== undefined && "status" in result;
}

async function forwarded(handler: EdgeHandler, options: ViewerRequestOptions): Promise<CloudFrontRequest> {
  const result = await handler(viewerRequest(options));
  if (isResponse(result) || result === null || result === undefined) {
    throw new Error(`expected the request to go on, got ${JSON.stringify(result)}`);
  }
  return result;
}

async function answered(handler: EdgeHandler, options: ViewerRequestOptions): Promise<CloudFrontResultResponse> {
  const result = await handler(viewerRequest(options));
  if (!isResponse(result)) throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

/** The identity headers CloudFront is handed, `name: value`, its entries' `key` checked to be the name. */
function identityOf(request: CloudFrontRequest): Record<string, string> {
  const identity: Record<string, string> = {};
  for (const [name, entries] of Object.entries(request.headers)) {
    if (!name.startsWith("x-authgear-")) continue;
    expect(entries).toHaveLength(1);
    expect(entries[0]?.key).toBe(name);
    identity[name] = entries[0]?.value ?? "";
  }
  return identity;
}

function codeOf(response: CloudFrontResultResponse): unknown {
  return (JSON.parse(response.body ?? "{}") as { code?: unknown }).code;
}

describe("an allowed request", () => {
  it("goes on with the identity headers in CloudFront's form, everything else as the viewer sent it", async () => {
    const handler = edge();
    const alice = await token("alice", ["admin"]);
    const event = viewerRequest({
      uri: "/admin/users",
      querystring: "page=2&q=a%20b",
      headers: { Authorization: `Bearer ${alice}`, "X-Request-Id": "r-1", Accept: ["text/plain", "text/html"] },
    });
    const original = structuredClone(event.Records[0]?.cf.request);
    const result = await handler(event);
    expect(isResponse(result)).toBe(false);
    const request = result as CloudFrontRequest;
    expect(request.uri).toBe("/admin/users");
    expect(request.querystring).toBe("page=2&q=a%20b");
    expect(request.method).toBe("GET");
    expect(request.clientIp).toBe("203.0.113.178");
    // Untouched headers keep their entries: the viewer's spelling, one entry per line.
    expect(request.headers.host).toEqual([{ key: "Host", value: DISTRIBUTION_DOMAIN }]);
    expect(request.headers["x-request-id"]).toEqual([{ key: "X-Request-Id", value: "r-1" }]);
    expect(request.headers.accept).toEqual(original?.headers.accept);
    expect(request.headers.authorization).toEqual([{ key: "Authorization", value: `Bearer ${alice}` }]);
    const identity = identityOf(request);
    expect(Number(identity["x-authgear-session-authenticated-at"])).toBeGreaterThan(0);
    expect(identity).toEqual(
      userIdentityHeaders("alice", {
        "x-authgear-user-roles": "admin",
        "x-authgear-session-amr": "pwd",
        "x-authgear-session-authenticated-at": identity["x-authgear-session-authenticated-at"],
        "x-authgear-edge-kind": "user",
        "x-authgear-edge-issuer": issuer.origin,
      }),
    );
  });

  it("replaces a spoofed identity, and removes override headers in any spelling", async () => {
    const handler = edge();
    const bob = await token("bob");
    const request = await forwarded(handler, {
      method: "POST",
      uri: "/items",
      headers: {
        Authorization: `Bearer ${bob}`,
        "X-Authgear-User-Id": "root",
        "x-authgear-user-roles": "admin",
        "X-HTTP-Method-Override": "GET",
        x_http_method: "GET",
        "X-Original-URL": "/admin/users",
        "x-rewrite-url": "/admin/users",
      },
    });
    expect(identityOf(request)["x-authgear-user-id"]).toBe("bob");
    expect(identityOf(request)["x-authgear-user-roles"]).toBeUndefined();
    for (const name of ["x-http-method-override", "x_http_method", "x-original-url", "x-rewrite-url"]) {
      expect(request.headers[name]).toBeUndefined();
    }
  });

  it("with FORWARD_AUTHORIZATION=false, goes on without the token: header and JWT cookie", async () => {
    const handler = edge({ FORWARD_AUTHORIZATION: "false", JWT_COOKIE_NAME: "at" });
    const bob = await token("bob");
    const byHeader = await forwarded(handler, { uri: "/x", headers: { Authorization: `Bearer ${bob}` } });
    expect(byHeader.headers.authorization).toBeUndefined();
    expect(identityOf(byHeader)["x-authgear-user-id"]).toBe("bob");
    const byCookie = await forwarded(handler, { uri: "/x", headers: { Cookie: `theme=dark; at=${bob}` } });
    expect(headerOf(byCookie.headers, "cookie")).toBe("theme=dark");
    expect(identityOf(byCookie)["x-authgear-user-id"]).toBe("bob");
  });

  it("puts HTTP/2 cookie crumbs back together with `; ` before reading them", async () => {
    const handler = edge({ JWT_COOKIE_NAME: "at" });
    const bob = await token("bob");
    const request = await forwarded(handler, { uri: "/x", headers: { Cookie: ["theme=dark", `at=${bob}`] } });
    expect(identityOf(request)["x-authgear-user-id"]).toBe("bob");
    // Left alone, the cookie lines go back as they came.
    expect(request.headers.cookie).toEqual([
      { key: "Cookie", value: "theme=dark" },
      { key: "Cookie", value: `at=${bob}` },
    ]);
  });

  it("hands read-only headers back exactly as they came, whatever the gate strips", async () => {
    const handler = edge();
    const bob = await token("bob");
    const request = await forwarded(handler, {
      method: "POST",
      uri: "/upload",
      headers: {
        Authorization: `Bearer ${bob}`,
        Connection: "keep-alive, x-authgear-user-id",
        "Content-Length": "5",
        Via: "1.1 proxy",
        TE: "trailers",
      },
    });
    expect(request.headers.connection).toEqual([{ key: "Connection", value: "keep-alive, x-authgear-user-id" }]);
    expect(request.headers["content-length"]).toEqual([{ key: "Content-Length", value: "5" }]);
    expect(request.headers.via).toEqual([{ key: "Via", value: "1.1 proxy" }]);
    // TE is hop-by-hop and not read-only: removed as the Worker removes it.
    expect(request.headers.te).toBeUndefined();
  });
});

describe("a public path", () => {
  it("goes on without any identity, a spoofed one removed", async () => {
    const request = await forwarded(edge(), {
      uri: "/public/page",
      headers: { "X-Authgear-User-Id": "root", "X-Authgear-Session-Valid": "true" },
    });
    expect(identityOf(request)).toEqual({});
    expect(request.uri).toBe("/public/page");
  });
});

describe("a refused request", () => {
  it("without a token: 401 with the challenge and the RFC 9728 metadata URL on the viewer's host", async () => {
    const response = await answered(edge(), { uri: "/private", host: "app.example.com" });
    expect(response.status).toBe("401");
    expect(headerOf(response.headers, "www-authenticate")).toBe(
      `Bearer realm="${issuer.origin}", resource_metadata="https://app.example.com/.well-known/oauth-protected-resource"`,
    );
    expect(headerOf(response.headers, "cache-control")).toBe("no-store");
    expect(response.headers?.["www-authenticate"]?.[0]?.key).toBe("www-authenticate");
    expect(response.bodyEncoding).toBe("text");
    expect(codeOf(response)).toBe("ERR_CREDENTIALS_MISSING");
  });

  it("a rule it fails: 403 insufficient_scope; a POST under METHOD_OVERRIDE=any is decided as DELETE too", async () => {
    const handler = edge();
    const bob = await token("bob");
    const headers = { Authorization: `Bearer ${bob}` };
    expect((await answered(handler, { uri: "/admin/users", headers })).status).toBe("403");
    const post = await answered(handler, { method: "POST", uri: "/orders/1", headers });
    expect(post.status).toBe("403");
    expect(headerOf(post.headers, "www-authenticate")).toContain('error="insufficient_scope"');
    // A GET is decided as a GET.
    expect(identityOf(await forwarded(handler, { uri: "/orders/1", headers }))["x-authgear-user-id"]).toBe("bob");
  });

  it("an expired or forged token: 401 invalid_token", async () => {
    const handler = edge();
    const expired = await issuer.mintAccessToken({ sub: "bob", expiresIn: -60 });
    tokens.push(expired);
    const response = await answered(handler, { uri: "/x", headers: { Authorization: `Bearer ${expired}` } });
    expect(response.status).toBe("401");
    expect(codeOf(response)).toBe("ERR_JWT_EXPIRED");
    const forged = `${expired.slice(0, expired.lastIndexOf("."))}.AAAA`;
    const bad = await answered(handler, { uri: "/x", headers: { Authorization: `Bearer ${forged}` } });
    expect(codeOf(bad)).toBe("ERR_JWT_SIGNATURE");
  });

  it("a browser navigation with LOGIN_URL: 302 to the login page, with the page it wanted", async () => {
    const handler = edge({ LOGIN_URL: "https://auth.example.com/login" });
    const response = await answered(handler, {
      uri: "/account",
      querystring: "tab=2",
      host: "app.example.com",
      headers: { Accept: "text/html,application/xhtml+xml" },
    });
    expect(response.status).toBe("302");
    expect(headerOf(response.headers, "location")).toBe(
      `https://auth.example.com/login?return_to=${encodeURIComponent("https://app.example.com/account?tab=2")}`,
    );
    expect(response.body).toBeUndefined();
    // An API call gets the 401.
    expect((await answered(handler, { uri: "/account" })).status).toBe("401");
  });
});

describe("ambiguous paths", () => {
  it("an encoded separator: 400, nothing goes on", async () => {
    const bob = await token("bob", ["admin"]);
    for (const uri of ["/public%2F..%2Fadmin/users", "/public/..%5Cadmin", "/admin%2fusers"]) {
      const response = await answered(edge(), { uri, headers: { Authorization: `Bearer ${bob}` } });
      expect([uri, response.status, codeOf(response)]).toEqual([uri, "400", "ERR_REQUEST_MALFORMED"]);
    }
  });

  it("dot segments are resolved, and the request goes on with the path decided on", async () => {
    const handler = edge();
    // Not public once resolved: /admin/users.
    const refused = await answered(handler, { uri: "/public/%2e%2e/admin/users" });
    expect(refused.status).toBe("401");
    const alice = await token("alice", ["admin"]);
    const request = await forwarded(handler, {
      uri: "/public/./../admin/users",
      headers: { Authorization: `Bearer ${alice}` },
    });
    expect(request.uri).toBe("/admin/users");
  });
});

describe("CORS preflights", () => {
  const preflight = {
    method: "OPTIONS",
    uri: "/api/items",
    headers: {
      Origin: "https://app.example.com",
      "Access-Control-Request-Method": "DELETE",
      "Access-Control-Request-Headers": "content-type, x-authgear-user-id",
    },
  };

  it("with CORS_ALLOWED_ORIGINS: answered by the gate, never sent on", async () => {
    const handler = edge({ CORS_ALLOWED_ORIGINS: "https://app.example.com" });
    const response = await answered(handler, preflight);
    expect(response.status).toBe("204");
    expect(headerOf(response.headers, "access-control-allow-origin")).toBe("https://app.example.com");
    // Only headers the gate forwards are granted.
    expect(headerOf(response.headers, "access-control-allow-headers")).toBe("content-type");
    const other = await answered(handler, {
      ...preflight,
      headers: { ...preflight.headers, Origin: "https://x.test" },
    });
    expect(other.status).toBe("403");
    // A refusal is readable by the allowed origin's scripts.
    const refused = await answered(handler, { uri: "/api/items", headers: { Origin: "https://app.example.com" } });
    expect(headerOf(refused.headers, "access-control-allow-origin")).toBe("https://app.example.com");
  });

  it("without CORS_ALLOWED_ORIGINS: an OPTIONS needs credentials like any request", async () => {
    const response = await answered(edge(), preflight);
    expect(response.status).toBe("401");
  });
});

describe("resolver mode", () => {
  it("forwards the session's identity from the dev resolver, and refuses a logged-out session", async () => {
    const handler = edge({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    issuer.upsertUser("carol", { roles: ["staff"], verified: true });
    const session = issuer.createSession("carol");
    const cookie = `theme=dark; session=${session.cookie}`;
    const request = await forwarded(handler, { uri: "/x", headers: { Cookie: cookie } });
    expect(identityOf(request)["x-authgear-user-id"]).toBe("carol");
    expect(identityOf(request)["x-authgear-user-roles"]).toBe("staff");
    issuer.logout(session.id);
    expect((await answered(handler, { uri: "/x", headers: { Cookie: cookie } })).status).toBe("401");
  });
});

describe("outages", () => {
  it("a key set that cannot be had: 503 with Retry-After, nothing goes on", async () => {
    issuer.setFailure("http500");
    const bob = await token("bob");
    const response = await answered(edge(), { uri: "/x", headers: { Authorization: `Bearer ${bob}` } });
    expect(response.status).toBe("503");
    expect(Number(headerOf(response.headers, "retry-after"))).toBeGreaterThan(0);
    expect(codeOf(response)).toBe("ERR_KEYSET_UNAVAILABLE");
  });
});

describe("what CloudFront hands over", () => {
  it("an origin-request event: 500, never sent on (a cached answer would skip the gate)", async () => {
    const response = await answered(edge(), { eventType: "origin-request", uri: "/public/page" });
    expect(response.status).toBe("500");
    expect(codeOf(response)).toBe("ERR_UNSUPPORTED_EVENT");
  });

  it("something that is no CloudFront event: the invocation fails", async () => {
    await expect(edge()({ version: "2.0", routeKey: "$default" })).rejects.toThrow("not a CloudFront request event");
  });

  it("a header value no HTTP request can carry, or a host that is not one: 400", async () => {
    const bad = await answered(edge(), { uri: "/public/page", headers: { "X-Thing": "a\u0000b" } });
    expect([bad.status, codeOf(bad)]).toEqual(["400", "ERR_REQUEST_MALFORMED"]);
    const host = await answered(edge(), { uri: "/public/page", host: "evil.example/x" });
    expect([host.status, codeOf(host)]).toEqual(["400", "ERR_REQUEST_MALFORMED"]);
  });

  it("LOG_LEVEL=error: a refusal and an unreadable request write nothing; a wrong event's 500 is written", async () => {
    const quiet: string[] = [];
    const handler = createEdgeHandler({
      settings: { AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "error" },
      logger: { log: (event) => quiet.push(event) },
    });
    await handler(viewerRequest({ uri: "/x" }));
    await handler(viewerRequest({ uri: "/x", headers: { "X-Thing": "a\u0000b" } }));
    expect(quiet).toEqual([]);
    await handler(viewerRequest({ uri: "/x", eventType: "origin-request" }));
    expect(quiet).toEqual(["request_refused"]);
  });

  it("the RFC 9728 metadata, served by the gate without credentials", async () => {
    const response = await answered(edge(), { uri: "/.well-known/oauth-protected-resource", host: "app.example.com" });
    expect(response.status).toBe("200");
    expect(JSON.parse(response.body ?? "")).toMatchObject({
      resource: "https://app.example.com",
      authorization_servers: [issuer.origin],
    });
  });
});
