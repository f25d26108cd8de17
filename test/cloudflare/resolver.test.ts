/**
 * The built Worker (dist/worker.js) in real workerd with AUTH_MODE=resolver and hybrid, against
 * the dev issuer's Authgear-compatible resolver endpoint and the demo origin on loopback: what
 * clients get, what the origin sees (or never sees), and how many resolver calls it costs.
 *
 * The dev issuer answers its resolver endpoint only for its own Host and never when
 * `X-Forwarded-Host` / `X-Original-Host` arrive (404, which the Worker turns into a 503): every
 * 200 from a Worker that calls the issuer directly (all but the single-flight one, which goes
 * through a recording proxy) therefore also shows that the Worker called the resolver on the
 * endpoint's host and did not pass the client's host headers on.
 */
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { listenOnLoopback } from "../../dev/loopback-server.ts";
import type { ReceivedRequest } from "../../dev/origin.ts";
import { startWorker, originRequestsThisTest } from "./harness.ts";
import { FAILING_RESOLVER_MODES, useDevIssuer, useDemoOrigin } from "../helpers.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";

/** Deadline of one resolver call in these Worker instances: short, so `hang` costs little. */
const TIMEOUT_MS = 300;

const issuer = useDevIssuer(undefined, { restoreEachTest: true });
const origin = useDemoOrigin();
/** AUTH_MODE=resolver, no verdict cache: every request asks the resolver. */
let gate: Miniflare;
const logs: string[] = [];
/** Where the other Worker instances log (kept off the test output). */
const quiet: string[] = [];

beforeAll(async () => {
  gate = startWorker(
    {
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      AUTH_MODE: "resolver",
      RESOLVER_CACHE_SECONDS: "0",
      RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
    },
    1,
    logs,
  );
  await gate.ready;
});
afterAll(async () => {
  await gate.dispose();
});

/** What the origin received since the test began. */
const seen = originRequestsThisTest(() => origin);

function identityOf(request: ReceivedRequest | undefined): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(request?.headers ?? {}).filter(([name]) => name.startsWith("x-authgear-")));
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** The `code` of a refusal's JSON body, if any. */
  readonly code: string | undefined;
}

async function call(
  mf: Miniflare,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Answer> {
  const response = (await mf.dispatchFetch(`https://gate.example.com${path}`, {
    method,
    headers,
    redirect: "manual",
  } as never)) as unknown as Response;
  const body = await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status: response.status, headers: response.headers, body, code };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A stand-in for the resolver endpoint that records what the Worker sends it, holds each request
 * `delayMs`, then asks the dev issuer's resolver with only the request's `Cookie` and
 * `Authorization` (Node sets the issuer's own Host) and relays its answer unchanged.
 */
interface ResolverProxy {
  readonly url: string;
  /** The headers of every request the Worker sent, names in lower case. */
  readonly received: Array<Record<string, string>>;
  delayMs: number;
  close(): Promise<void>;
}

async function startResolverProxy(target: string): Promise<ResolverProxy> {
  const upstream = new URL(target);
  const received: Array<Record<string, string>> = [];
  const state = { delayMs: 0 };
  const server = await listenOnLoopback("resolver proxy", 0, async (req, res) => {
    const headers: Record<string, string> = {};
    for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
      const name = req.rawHeaders[index]!.toLowerCase();
      headers[name] =
        headers[name] === undefined ? req.rawHeaders[index + 1]! : `${headers[name]}, ${req.rawHeaders[index + 1]!}`;
    }
    received.push(headers);
    await sleep(state.delayMs);
    const forwarded: Record<string, string> = {};
    if (headers.cookie !== undefined) forwarded.cookie = headers.cookie;
    if (headers.authorization !== undefined) forwarded.authorization = headers.authorization;
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: upstream.pathname,
          method: req.method ?? "GET",
          headers: forwarded,
        },
        resolve,
      )
        .on("error", reject)
        .end();
    });
    res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
    answer.pipe(res);
  });
  return {
    url: `${server.url}${upstream.pathname}`,
    received,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    close: () => server.close(),
  };
}

describe("resolver mode: the resolver's answers", () => {
  it("lets a valid session cookie through: the origin receives exactly the resolver's identity and the client's other cookies", async () => {
    issuer.upsertUser("alice", { roles: ["admin", "staff"], verified: true });
    const session = issuer.createSession("alice", { amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    const cookie = `theme=dark; session=${session.cookie}; tracking=abc`;
    const hits = issuer.resolverHits;
    const response = await call(gate, "/orders/42?x=1", {
      cookie,
      "x-request-id": "r-1",
      // A client's host headers never reach the resolver (the dev issuer would answer 404: a 503 here).
      "x-forwarded-host": "evil.example.com",
      "x-original-host": "evil.example.com",
      // Spoofed identity is stripped, the resolver's replaces it.
      "x-authgear-user-id": "mallory",
      "x-authgear-user-roles": "superadmin",
    });
    expect(response.status).toBe(200);
    expect(issuer.resolverHits - hits).toBe(1);
    const [received] = seen();
    expect(received?.path).toBe("/orders/42?x=1");
    expect(identityOf(received)).toEqual(
      userIdentityHeaders("alice", {
        "x-authgear-user-roles": "admin,staff",
        "x-authgear-session-amr": "pwd otp",
        "x-authgear-session-authenticated-at": "1700000000",
        "x-authgear-edge-kind": "user",
        "x-authgear-edge-issuer": issuer.origin,
      }),
    );
    // Only the resolver call is restricted to the resolver's credentials; the origin gets the request's headers.
    expect(received?.headers.cookie).toBe(cookie);
    expect(received?.headers["x-request-id"]).toBe("r-1");
  });

  it("accepts each of the session's credentials in its own place, and a JWT bearer only while its session lives", async () => {
    const session = issuer.createSession("bruno");
    const jwt = await issuer.mintAccessToken({ sessionId: session.id });
    const hits = issuer.resolverHits;
    for (const headers of [
      { cookie: `app_session=${session.appSession}` },
      { cookie: `app_access_token=${session.appAccessToken}` },
      { authorization: `Bearer ${session.opaqueAccessToken}` },
      { authorization: `Bearer ${jwt}` },
    ]) {
      const response = await call(gate, "/me", headers);
      expect(response.status, JSON.stringify(Object.keys(headers))).toBe(200);
    }
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual([
      "bruno",
      "bruno",
      "bruno",
      "bruno",
    ]);
    // In resolver mode a JWT goes to the resolver too, which sees the logout at once.
    expect(issuer.resolverHits - hits).toBe(4);
    issuer.logout(session.id);
    const refused = await call(gate, "/me", { authorization: `Bearer ${jwt}` });
    expect(refused.status).toBe(401);
    expect(refused.code).toBe("ERR_SESSION_INVALID");
    expect(issuer.resolverHits - hits).toBe(5);
    expect(seen()).toHaveLength(4);
  });

  it("refuses an invalid session with 401 invalid_token, and the origin sees nothing", async () => {
    const response = await call(gate, "/orders", { cookie: "theme=dark; session=bogus" });
    expect(response.status).toBe(401);
    expect(response.code).toBe("ERR_SESSION_INVALID");
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.body).not.toContain("bogus");
    expect(seen()).toEqual([]);
  });

  it("answers a request without credentials with a bare challenge, without asking the resolver", async () => {
    const hits = issuer.resolverHits;
    for (const headers of [{}, { cookie: "theme=dark; tracking=abc" }, { authorization: "Basic dXNlcjpwYXNz" }]) {
      const response = await call(gate, "/orders", headers);
      expect(response.status).toBe(401);
      expect(response.code).toBe("ERR_CREDENTIALS_MISSING");
      expect(response.headers.get("www-authenticate")).toBe(
        `Bearer realm="${issuer.origin}", resource_metadata="https://gate.example.com/.well-known/oauth-protected-resource"`,
      );
    }
    expect(issuer.resolverHits).toBe(hits);
    expect(seen()).toEqual([]);
  });

  it("answers 401 when the resolver gives no verdict header", async () => {
    const session = issuer.createSession("carla");
    issuer.setResolverFailure("no-headers");
    const response = await call(gate, "/orders", { cookie: `session=${session.cookie}` });
    expect(response.status).toBe(401);
    expect(response.code).toBe("ERR_CREDENTIALS_MISSING");
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="${issuer.origin}", resource_metadata="https://gate.example.com/.well-known/oauth-protected-resource"`,
    );
    expect(seen()).toEqual([]);
  });

  it.each(FAILING_RESOLVER_MODES)(
    "fails closed with 503 and Retry-After when the resolver gives %s, and the origin sees nothing",
    async (mode) => {
      const session = issuer.createSession("dora");
      issuer.setResolverFailure(mode);
      const [hits, redirected, logged] = [issuer.resolverHits, issuer.hits.redirected, logs.length];
      const started = Date.now();
      const response = await call(gate, "/orders", { cookie: `session=${session.cookie}` });
      expect(response.status).toBe(503);
      expect(response.code).toBe("ERR_RESOLVER_UNAVAILABLE");
      expect(response.headers.get("retry-after")).toBe("5");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("www-authenticate")).toBeNull();
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2000);
      expect(issuer.resolverHits - hits).toBe(1);
      // A redirect is never followed.
      expect(issuer.hits.redirected).toBe(redirected);
      expect(seen()).toEqual([]);
      await expect
        .poll(() => logs.slice(logged).some((line) => line.includes('"event":"resolver_failed"')), { timeout: 2000 })
        .toBe(true);
      await expect
        .poll(() => logs.slice(logged).some((line) => line.includes('"code":"ERR_RESOLVER_UNAVAILABLE"')), {
          timeout: 2000,
        })
        .toBe(true);
      expect(logs.join("\n")).not.toContain(session.cookie);
    },
  );
});

describe("resolver mode: revocation and the verdict cache", () => {
  /** The same Worker with RESOLVER_CACHE_SECONDS=1. */
  let cached: Miniflare;
  beforeAll(async () => {
    cached = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "resolver",
        RESOLVER_CACHE_SECONDS: "1",
        RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
      1,
      quiet,
    );
    await cached.ready;
  });
  afterAll(() => cached.dispose());

  it("refuses a logged-out session at once with RESOLVER_CACHE_SECONDS=0", async () => {
    const session = issuer.createSession("emil");
    const cookie = { cookie: `session=${session.cookie}` };
    expect((await call(gate, "/x", cookie)).status).toBe(200);
    issuer.logout(session.id);
    const response = await call(gate, "/x", cookie);
    expect(response.status).toBe(401);
    expect(response.code).toBe("ERR_SESSION_INVALID");
    expect(seen()).toHaveLength(1);
  });

  it("refuses a disabled user and hands over changed roles at once with RESOLVER_CACHE_SECONDS=0", async () => {
    issuer.upsertUser("fiona", { roles: ["staff"] });
    const session = issuer.createSession("fiona");
    const cookie = { cookie: `session=${session.cookie}` };
    expect((await call(gate, "/x", cookie)).status).toBe(200);
    issuer.setRoles("fiona", ["staff", "admin"]);
    expect((await call(gate, "/x", cookie)).status).toBe(200);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-roles"])).toEqual(["staff", "staff,admin"]);
    issuer.disableUser("fiona");
    expect((await call(gate, "/x", cookie)).status).toBe(401);
    expect(seen()).toHaveLength(2);
  });

  it("serves a logged-out session from the cache for at most RESOLVER_CACHE_SECONDS=1, then refuses it", async () => {
    const session = issuer.createSession("gus");
    const cookie = { cookie: `session=${session.cookie}` };
    const hits = issuer.resolverHits;
    expect((await call(cached, "/x", cookie)).status).toBe(200);
    issuer.logout(session.id);
    // Within the cache time the verdict is reused without asking: the documented revocation delay.
    expect((await call(cached, "/x", cookie)).status).toBe(200);
    expect(issuer.resolverHits - hits).toBe(1);
    await sleep(1100);
    const response = await call(cached, "/x", cookie);
    expect(response.status).toBe(401);
    expect(response.code).toBe("ERR_SESSION_INVALID");
    expect(issuer.resolverHits - hits).toBe(2);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(["gus", "gus"]);
  });

  it("never serves Alice's cached verdict to Bob", async () => {
    const alice = issuer.createSession("alice-c");
    const bob = issuer.createSession("bob-c");
    const hits = issuer.resolverHits;
    const order: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [name, value] of [
        ["alice-c", alice.cookie],
        ["bob-c", bob.cookie],
      ] as const) {
        expect((await call(cached, "/x", { cookie: `theme=dark; session=${value}` })).status).toBe(200);
        order.push(name);
      }
      // A cookie that differs from Bob's by one character is another credential, not Bob's entry.
      const forged = await call(cached, "/x", { cookie: `theme=dark; session=${bob.cookie}x` });
      expect(forged.status).toBe(401);
    }
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(order);
    // Alice, Bob and the forged cookie once each: the rest came from the cache (negative verdicts included).
    expect(issuer.resolverHits - hits).toBe(3);
  });

  it("never caches a failure: the next request after the resolver recovers gets through", async () => {
    const session = issuer.createSession("hana");
    const cookie = { cookie: `session=${session.cookie}` };
    issuer.setResolverFailure("http500");
    expect((await call(cached, "/x", cookie)).status).toBe(503);
    issuer.setResolverFailure("missing-user-id");
    expect((await call(cached, "/x", cookie)).status).toBe(503);
    issuer.setResolverFailure("none");
    expect((await call(cached, "/x", cookie)).status).toBe(200);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(["hana"]);
  });
});

describe("resolver mode: one resolver call for concurrent identical requests (single flight)", () => {
  /**
   * The Worker with RESOLVER_CACHE_SECONDS=0 (no verdict cache at all) and RESOLVER_URL pointing
   * at a proxy that holds every resolver call 500 ms. Fifty requests dispatched at once all reach
   * the Worker while the first resolver call is still pending, so — the cache being off — only
   * single flight can make them share it: without it the issuer would count 50 calls. The
   * sequential control below shows that, with no overlap, every request does ask.
   */
  let proxy: ResolverProxy;
  let flood: Miniflare;
  beforeAll(async () => {
    proxy = await startResolverProxy(issuer.resolverUrl);
    flood = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "resolver",
        RESOLVER_CACHE_SECONDS: "0",
        RESOLVER_URL: proxy.url,
      },
      1,
      quiet,
    );
    await flood.ready;
  });
  afterAll(async () => {
    await flood.dispose();
    await proxy.close();
  });
  beforeEach(() => {
    proxy.delayMs = 0;
  });

  it("sends the resolver only a Bearer header alone, or its three cookies, none of the client's other headers", async () => {
    const session = issuer.createSession("ines");
    const received = proxy.received.length;
    const cookie = `theme=dark; session=${session.cookie}; app_session=${session.appSession}; tracking=abc`;
    const others = {
      "x-forwarded-host": "evil.example.com",
      "x-original-host": "evil.example.com",
      "x-request-id": "r-2",
    };
    const withBearer = await call(flood, "/x", {
      cookie,
      authorization: `Bearer ${session.opaqueAccessToken}`,
      ...others,
    });
    expect(withBearer.status).toBe(200);
    expect((await call(flood, "/x", { cookie, ...others })).status).toBe(200);
    const sent = proxy.received.slice(received);
    expect(sent).toHaveLength(2);
    expect(sent[0]?.authorization).toBe(`Bearer ${session.opaqueAccessToken}`);
    expect(sent[1]?.cookie).toBe(`app_session=${session.appSession}; session=${session.cookie}`);
    expect(sent[0]?.host).toBe(new URL(proxy.url).host);
    // Besides Host, only what workerd adds to every subrequest (`CF-Worker`, as Cloudflare does).
    expect(Object.keys(sent[0] ?? {}).sort()).toEqual(["authorization", "cf-worker", "host"]);
    expect(Object.keys(sent[1] ?? {}).sort()).toEqual(["cf-worker", "cookie", "host"]);
    // And the origin still gets the whole request.
    expect(seen()[0]?.headers.cookie).toBe(cookie);
  });

  it("asks the resolver on every request when they do not overlap (the cache is off)", async () => {
    const session = issuer.createSession("jonas");
    const hits = issuer.resolverHits;
    for (let index = 0; index < 3; index++)
      expect((await call(flood, "/x", { cookie: `session=${session.cookie}` })).status).toBe(200);
    expect(issuer.resolverHits - hits).toBe(3);
  });

  it("makes one resolver call for a flood of 50 concurrent identical requests", async () => {
    const session = issuer.createSession("kim");
    proxy.delayMs = 500;
    const hits = issuer.resolverHits;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) => call(flood, `/flood/${index}`, { cookie: `session=${session.cookie}` })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array.from({ length: 50 }, () => 200));
    expect(issuer.resolverHits - hits).toBe(1);
    expect(seen()).toHaveLength(50);
    expect(new Set(seen().map((request) => identityOf(request)["x-authgear-user-id"]))).toEqual(new Set(["kim"]));
  });

  it("keeps answering under sustained overlapping floods (joiners never resume in another request's context)", async () => {
    const session = issuer.createSession("sustained");
    proxy.delayMs = 0;
    const statuses = new Map<number, number>();
    const deadline = Date.now() + 2000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, lane) => {
        for (let index = 0; Date.now() < deadline; index++) {
          const response = await call(flood, `/sustained/${lane}/${index}`, { cookie: `session=${session.cookie}` });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }
      }),
    );
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThan(50);
  });

  it("never shares one resolver call between two users: a concurrent flood of Alice and Bob", async () => {
    const alice = issuer.createSession("alice-f");
    const bob = issuer.createSession("bob-f");
    proxy.delayMs = 500;
    const hits = issuer.resolverHits;
    const users = Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? alice : bob));
    const responses = await Promise.all(
      users.map((user, index) => call(flood, `/flood/${user.sub}/${index}`, { cookie: `session=${user.cookie}` })),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(issuer.resolverHits - hits).toBe(2);
    const received = seen();
    expect(received).toHaveLength(40);
    for (const request of received) {
      expect(identityOf(request)["x-authgear-user-id"], request.path).toBe(request.path.split("/")[2]);
    }
  });
});

describe("hybrid mode", () => {
  let hybrid: Miniflare;
  beforeAll(async () => {
    hybrid = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "hybrid",
        RESOLVER_CACHE_SECONDS: "0",
        RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
      1,
      quiet,
    );
    await hybrid.ready;
  });
  afterAll(() => hybrid.dispose());

  it("verifies a JWT bearer locally, never asking the resolver, even after a logout it cannot see", async () => {
    const session = issuer.createSession("lena");
    const jwt = await issuer.mintAccessToken({ sessionId: session.id });
    const hits = issuer.resolverHits;
    expect((await call(hybrid, "/x", { authorization: `Bearer ${jwt}` })).status).toBe(200);
    // Both present: the bearer JWT decides (the resolver's own precedence), still without the resolver.
    expect(
      (await call(hybrid, "/x", { authorization: `Bearer ${jwt}`, cookie: `session=${session.cookie}` })).status,
    ).toBe(200);
    issuer.logout(session.id);
    expect((await call(hybrid, "/x", { authorization: `Bearer ${jwt}` })).status).toBe(200);
    expect(issuer.resolverHits).toBe(hits);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(["lena", "lena", "lena"]);
    expect(identityOf(seen()[0])["x-authgear-session-valid"]).toBe("true");
  });

  it("refuses a locally refused JWT beside a valid session cookie with the JWT's code, asking nothing; the origin receives nothing", async () => {
    const session = issuer.createSession("milo");
    const expired = await issuer.mintAccessToken({ sub: "mallory", expiresIn: -5 });
    const hits = issuer.resolverHits;
    for (const cookie of ["theme=dark", `theme=dark; session=${session.cookie}`, "session=bogus"]) {
      const response = await call(hybrid, "/x", { authorization: `Bearer ${expired}`, cookie });
      expect({ status: response.status, code: response.code }).toEqual({ status: 401, code: "ERR_JWT_EXPIRED" });
    }
    expect(issuer.resolverHits).toBe(hits);
    expect(seen()).toEqual([]);
  });

  it("always sends a session cookie to the resolver, and an opaque bearer token too", async () => {
    const session = issuer.createSession("nora");
    const hits = issuer.resolverHits;
    expect((await call(hybrid, "/x", { cookie: `session=${session.cookie}` })).status).toBe(200);
    expect((await call(hybrid, "/x", { cookie: `session=${session.cookie}` })).status).toBe(200);
    expect(issuer.resolverHits - hits).toBe(2);
    expect((await call(hybrid, "/x", { authorization: `Bearer ${session.opaqueAccessToken}` })).status).toBe(200);
    expect(issuer.resolverHits - hits).toBe(3);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(["nora", "nora", "nora"]);
    // What JWT mode cannot see, the resolver does.
    issuer.logout(session.id);
    expect((await call(hybrid, "/x", { cookie: `session=${session.cookie}` })).status).toBe(401);
    expect((await call(hybrid, "/x", { authorization: `Bearer ${session.opaqueAccessToken}` })).status).toBe(401);
    expect(issuer.resolverHits - hits).toBe(5);
    expect(seen()).toHaveLength(3);
  });

  it("fails closed when the resolver is down, for the credentials it would judge", async () => {
    const session = issuer.createSession("otto");
    const jwt = await issuer.mintAccessToken({ sessionId: session.id });
    issuer.setResolverFailure("http500");
    const response = await call(hybrid, "/x", { cookie: `session=${session.cookie}` });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    // A JWT does not depend on the resolver.
    expect((await call(hybrid, "/x", { authorization: `Bearer ${jwt}` })).status).toBe(200);
    expect(seen()).toHaveLength(1);
  });
});

describe("RESOLVER_COOKIE_PREFIX (hybrid mode, FORWARD_AUTHORIZATION=false)", () => {
  let prefixed: DevIssuer;
  let worker: Miniflare;
  beforeAll(async () => {
    prefixed = await startDevIssuer({ cookiePrefix: "myapp_" });
    worker = startWorker(
      {
        AUTHGEAR_ENDPOINT: prefixed.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "hybrid",
        RESOLVER_COOKIE_PREFIX: "myapp_",
        JWT_COOKIE_NAME: "at",
        FORWARD_AUTHORIZATION: "false",
        RESOLVER_CACHE_SECONDS: "0",
        RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
      1,
      quiet,
    );
    await worker.ready;
  });
  afterAll(async () => {
    await worker.dispose();
    await prefixed.close();
  });

  it("reads the prefixed session cookie, ignores the unprefixed one, and leaves the origin Authgear's cookies", async () => {
    const session = prefixed.createSession("rosa");
    const hits = prefixed.resolverHits;
    const cookie = `theme=dark; myapp_session=${session.cookie}`;
    expect((await call(worker, "/x", { cookie })).status).toBe(200);
    expect(prefixed.resolverHits - hits).toBe(1);
    const unprefixed = await call(worker, "/x", {
      cookie: `session=${session.cookie}; app_session=${session.appSession}`,
    });
    expect(unprefixed.status).toBe(401);
    expect(unprefixed.code).toBe("ERR_CREDENTIALS_MISSING");
    expect(prefixed.resolverHits - hits).toBe(1);
    expect(seen().map((request) => [identityOf(request)["x-authgear-user-id"], request.headers.cookie])).toEqual([
      ["rosa", cookie],
    ]);
  });

  it("never falls through from a refused JWT to the prefixed session; with none, the origin loses only the JWT cookie", async () => {
    const session = prefixed.createSession("sami");
    const expired = await prefixed.mintAccessToken({ sub: "mallory", expiresIn: -5 });
    const hits = prefixed.resolverHits;
    const cookie = `at=${expired}; myapp_session=${session.cookie}; theme=dark`;
    for (const headers of [{ authorization: `Bearer ${expired}`, cookie }, { cookie }]) {
      const refused = await call(worker, "/x", headers);
      expect({ status: refused.status, code: refused.code }).toEqual({ status: 401, code: "ERR_JWT_EXPIRED" });
    }
    expect(prefixed.resolverHits).toBe(hits);
    expect(seen()).toEqual([]);
    const jwt = await prefixed.mintAccessToken({ sub: "sami" });
    expect(
      (await call(worker, "/x", { cookie: `at=${jwt}; myapp_session=${session.cookie}; theme=dark` })).status,
    ).toBe(200);
    const [received] = seen();
    expect(identityOf(received)["x-authgear-user-id"]).toBe("sami");
    expect(received?.headers.authorization).toBeUndefined();
    expect(received?.headers.cookie).toBe(`myapp_session=${session.cookie}; theme=dark`);
  });
});

describe("LOGIN_URL in resolver mode", () => {
  const LOGIN_URL = "https://login.example.com/start";
  const html = { accept: "text/html,application/xhtml+xml" };
  let withLogin: Miniflare;
  beforeAll(async () => {
    withLogin = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "resolver",
        RESOLVER_CACHE_SECONDS: "0",
        RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
        LOGIN_URL,
      },
      1,
      quiet,
    );
    await withLogin.ready;
  });
  afterAll(() => withLogin.dispose());

  it("redirects a browser navigation with an invalid session cookie to the login page, and only that", async () => {
    const hits = issuer.resolverHits;
    const navigation = await call(withLogin, "/app/page?x=1", { ...html, cookie: "session=bogus" });
    expect(navigation.status).toBe(302);
    expect(navigation.headers.get("location")).toBe(
      `${LOGIN_URL}?return_to=${encodeURIComponent("https://gate.example.com/app/page?x=1")}`,
    );
    expect(navigation.headers.get("cache-control")).toBe("no-store");
    expect(issuer.resolverHits - hits).toBe(1);
    // No credentials at all: the same redirect.
    expect((await call(withLogin, "/app/page", html)).status).toBe(302);
    // Not a navigation: a plain 401.
    expect((await call(withLogin, "/app/page", { accept: "application/json", cookie: "session=bogus" })).status).toBe(
      401,
    );
    expect((await call(withLogin, "/app/page", { ...html, cookie: "session=bogus" }, "POST")).status).toBe(401);
    // A resolver failure is not cured by logging in: 503, not a redirect.
    const session = issuer.createSession("petra");
    issuer.setResolverFailure("http500");
    expect((await call(withLogin, "/app/page", { ...html, cookie: `session=${session.cookie}` })).status).toBe(503);
    issuer.setResolverFailure("none");
    expect(seen()).toEqual([]);
    // A valid session navigates to the page.
    expect((await call(withLogin, "/app/page", { ...html, cookie: `session=${session.cookie}` })).status).toBe(200);
    expect(seen().map((request) => identityOf(request)["x-authgear-user-id"])).toEqual(["petra"]);
  });
});

describe("resolver mode: verdicts shared through caches.default", () => {
  it("asks the resolver once per session across isolates, and refuses a logged-out session once that verdict expires", async () => {
    const shared = startWorker(
      {
        AUTHGEAR_ENDPOINT: issuer.origin,
        ORIGIN_URL: origin.url,
        AUTH_MODE: "resolver",
        RESOLVER_CACHE_SECONDS: "2",
        RESOLVER_TIMEOUT_MS: String(TIMEOUT_MS),
      },
      3,
      quiet,
    );
    const statusIn = async (isolate: number, cookie: string): Promise<number> => {
      const worker = await shared.getWorker(`gate-${isolate}`);
      const response = await worker.fetch("https://gate.example.com/orders", { headers: { cookie } });
      await response.arrayBuffer();
      return response.status;
    };
    try {
      issuer.upsertUser("frank", {});
      const session = issuer.createSession("frank");
      const cookie = `session=${session.cookie}`;
      const hits = issuer.resolverHits;
      expect(await statusIn(0, cookie)).toBe(200);
      // The first isolate's write lands in the background (ctx.waitUntil); the others then find it.
      // Polled for in caches.default, where the verdict store keeps it (cache-verdict-store.ts).
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([null, [cookie]]))
        .digest("hex");
      const resolver = encodeURIComponent(`${issuer.origin}/_resolver/resolve`);
      const stored = `https://authgear-edge.invalid/verdict/${fingerprint}?resolver=${resolver}`;
      const caches = await shared.getCaches();
      await vi.waitFor(
        async () => {
          expect(await caches.default.match(stored)).toBeDefined();
        },
        { timeout: 5000, interval: 20 },
      );
      for (const isolate of [1, 2, 0, 1, 2]) expect(await statusIn(isolate, cookie)).toBe(200);
      expect(issuer.resolverHits - hits).toBe(1);
      issuer.logout(session.id);
      await sleep(2200);
      for (const isolate of [0, 1, 2]) expect(await statusIn(isolate, cookie)).toBe(401);
    } finally {
      await shared.dispose();
    }
  });
});
