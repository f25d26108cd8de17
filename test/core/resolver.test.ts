/**
 * Forward authentication against the dev issuer's resolver endpoint (docs/authgear-contract.md §3), over
 * loopback HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityHeaders } from "../../src/core/identity.ts";
import type { WebSocketCredentials } from "../../src/core/credentials.ts";
import type { VerdictStore } from "../../src/core/resolver.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { FAILING_RESOLVER_MODES, type Harness, harness, useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer(undefined, { restoreEachTest: true });

/** The harness's authenticator in a resolver mode, recording every request it sends. */
function gate(env: Record<string, string>): Harness & { sent: Array<{ url: string; headers: Headers }> } {
  const sent: Array<{ url: string; headers: Headers }> = [];
  const h = harness(issuer, env, {
    fetcher: (url, init) => {
      sent.push({ url, headers: new Headers(init.headers) });
      return fetch(url, init);
    },
  });
  return Object.assign(h, { sent });
}

/** The requests a gate sent to the resolver (not the key-set fetches). */
function resolverCalls(h: {
  sent: Array<{ url: string; headers: Headers }>;
}): Array<{ url: string; headers: Headers }> {
  return h.sent.filter((request) => request.url.includes("/_resolver/"));
}

/** `webSocket`: authenticated as a WebSocket upgrade (its subprotocol entry, its query token). */
async function outcome(h: Harness, headers: Record<string, string>, webSocket?: WebSocketCredentials): Promise<string> {
  const result = await h.auth.authenticate(new Headers(headers), undefined, webSocket);
  if (!result.ok) return result.error.code;
  const { identity } = result;
  return identity.kind === "user" ? `ok:${identity.userId}` : `client:${identity.clientId}`;
}

describe("resolver mode", () => {
  it("trusts a valid verdict and hands the application exactly the resolver's headers", async () => {
    issuer.upsertUser("alice", { roles: ["admin", "staff"], verified: true });
    const session = issuer.createSession("alice", { amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    const h = gate({ AUTH_MODE: "resolver" });
    const result = await h.auth.authenticate(new Headers({ cookie: `theme=dark; session=${session.cookie}; other=1` }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(identityHeaders(result.identity)).toEqual([
      ["x-authgear-session-valid", "true"],
      ["x-authgear-user-id", "alice"],
      ["x-authgear-user-anonymous", "false"],
      ["x-authgear-user-verified", "true"],
      ["x-authgear-user-can-reauthenticate", expect.stringMatching(/^(true|false)$/) as unknown as string],
      ["x-authgear-user-roles", "admin,staff"],
      ["x-authgear-session-amr", "pwd otp"],
      ["x-authgear-session-authenticated-at", "1700000000"],
      ["x-authgear-edge-kind", "user"],
      ["x-authgear-edge-issuer", issuer.origin],
    ]);
    // The resolver states the headers above and nothing else: no claims, no expiry.
    expect(result.identity).toMatchObject({ source: "resolver", claims: {}, expiresAt: undefined });
    expect(Object.isFrozen(result.identity.claims)).toBe(true);
  });

  it("sends only Authorization and the three resolver cookies, to RESOLVER_URL, never forwarding host headers", async () => {
    const session = issuer.createSession("carol");
    const h = gate({ AUTH_MODE: "resolver" });
    await h.auth.authenticate(
      new Headers({
        cookie: `theme=dark; session=${session.cookie}; app_session=${session.appSession}; tracking=abc`,
        "x-forwarded-host": "evil.example.com",
        "x-original-host": "evil.example.com",
        "x-request-id": "1",
      }),
    );
    expect(h.sent).toHaveLength(1);
    const [request] = h.sent;
    expect(request?.url).toBe(`${issuer.origin}/_resolver/resolve`);
    const names: string[] = [];
    request?.headers.forEach((_value, name) => names.push(name));
    expect(names).toEqual(["cookie"]);
    expect(request?.headers.get("cookie")).toBe(`app_session=${session.appSession}; session=${session.cookie}`);
  });

  it("refuses two credentials or a malformed Bearer value before asking the resolver", async () => {
    const h = gate({ AUTH_MODE: "resolver" });
    expect(await outcome(h, { authorization: "Bearer a, Bearer b" })).toBe("ERR_REQUEST_MALFORMED");
    expect(await outcome(h, { authorization: "Bearer a b" })).toBe("ERR_REQUEST_MALFORMED");
    expect(await outcome(h, { cookie: "session=a; session=b" })).toBe("ERR_REQUEST_MALFORMED");
    expect(h.sent).toEqual([]);
  });

  it("never sends another scheme's credentials", async () => {
    const h = gate({ AUTH_MODE: "resolver" });
    expect(await outcome(h, { authorization: "Basic dXNlcjpwYXNz" })).toBe("ERR_CREDENTIALS_MISSING");
    expect(h.sent).toEqual([]);
  });

  it("answers invalid_token for a false verdict, and no credentials for no verdict", async () => {
    const h = gate({ AUTH_MODE: "resolver" });
    expect(await outcome(h, { cookie: "session=not-a-session" })).toBe("ERR_SESSION_INVALID");
    expect(await outcome(h, {})).toBe("ERR_CREDENTIALS_MISSING");
    issuer.setResolverFailure("no-headers");
    const session = issuer.createSession("dave");
    expect(await outcome(gate({ AUTH_MODE: "resolver" }), { cookie: `session=${session.cookie}` })).toBe(
      "ERR_CREDENTIALS_MISSING",
    );
  });

  it.each(FAILING_RESOLVER_MODES)(
    "fails closed with ERR_RESOLVER_UNAVAILABLE (503) when the resolver gives %s",
    async (mode) => {
      const session = issuer.createSession("erin");
      issuer.setResolverFailure(mode);
      const h = gate({ AUTH_MODE: "resolver", RESOLVER_TIMEOUT_MS: "500" });
      const started = Date.now();
      expect(await outcome(h, { cookie: `session=${session.cookie}` })).toBe("ERR_RESOLVER_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(h.logs.some((line) => line.event === "resolver_failed")).toBe(true);
      expect(JSON.stringify(h.logs)).not.toContain(session.cookie);
    },
  );

  it("sees a logout, a disabled user and a role change within RESOLVER_CACHE_SECONDS, and at once with 0", async () => {
    issuer.upsertUser("frank", { roles: ["staff"] });
    const session = issuer.createSession("frank");
    const cached = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "10" });
    const live = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    const cookie = { cookie: `session=${session.cookie}` };
    expect(await outcome(cached, cookie)).toBe("ok:frank");
    expect(await outcome(live, cookie)).toBe("ok:frank");
    issuer.setRoles("frank", ["staff", "admin"]);
    const roles = async (h: Harness) => {
      const result = await h.auth.authenticate(new Headers(cookie));
      if (!result.ok) return result.error.code;
      return result.identity.kind === "user" ? result.identity.roles : "a machine client";
    };
    expect(await roles(live)).toEqual(["staff", "admin"]);
    expect(await roles(cached)).toEqual(["staff"]);
    issuer.logout(session.id);
    expect(await outcome(live, cookie)).toBe("ERR_SESSION_INVALID");
    expect(await outcome(cached, cookie)).toBe("ok:frank");
    cached.advance(11);
    expect(await outcome(cached, cookie)).toBe("ERR_SESSION_INVALID");
    const other = issuer.createSession("grace");
    expect(await outcome(live, { cookie: `session=${other.cookie}` })).toBe("ok:grace");
    issuer.disableUser("grace");
    expect(await outcome(live, { cookie: `session=${other.cookie}` })).toBe("ERR_SESSION_INVALID");
  });

  it("never serves Alice's cached verdict to Bob", async () => {
    const alice = issuer.createSession("alice-2");
    const bob = issuer.createSession("bob-2");
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "60" });
    for (let i = 0; i < 3; i += 1) {
      expect(await outcome(h, { cookie: `session=${alice.cookie}` })).toBe("ok:alice-2");
      expect(await outcome(h, { cookie: `session=${bob.cookie}` })).toBe("ok:bob-2");
      expect(await outcome(h, { cookie: `session=${bob.cookie}x` })).toBe("ERR_SESSION_INVALID");
    }
    expect(h.sent).toHaveLength(3);
  });

  it("keeps negative verdicts for at most 5 seconds", async () => {
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "60" });
    expect(await outcome(h, { cookie: "session=unknown" })).toBe("ERR_SESSION_INVALID");
    expect(await outcome(h, { cookie: "session=unknown" })).toBe("ERR_SESSION_INVALID");
    expect(h.sent).toHaveLength(1);
    h.advance(6);
    expect(await outcome(h, { cookie: "session=unknown" })).toBe("ERR_SESSION_INVALID");
    expect(h.sent).toHaveLength(2);
  });

  it("makes one resolver call for a flood of identical requests", async () => {
    const session = issuer.createSession("heidi");
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    const before = issuer.resolverHits;
    const results = await Promise.all(
      Array.from({ length: 200 }, () => outcome(h, { cookie: `session=${session.cookie}` })),
    );
    expect(new Set(results)).toEqual(new Set(["ok:heidi"]));
    expect(issuer.resolverHits - before).toBe(1);
  });

  it("sends a bearer token and lets the resolver judge it (opaque tokens, revocation)", async () => {
    const session = issuer.createSession("ivan");
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(h, { authorization: `Bearer ${session.opaqueAccessToken}` })).toBe("ok:ivan");
    const jwt = await issuer.mintAccessToken({ sub: "ivan", sessionId: session.id });
    expect(await outcome(h, { authorization: `Bearer ${jwt}` })).toBe("ok:ivan");
    issuer.logout(session.id);
    expect(await outcome(h, { authorization: `Bearer ${jwt}` })).toBe("ERR_SESSION_INVALID");
  });
});

describe("resolver mode: one credential decides", () => {
  it("sends a Bearer header alone: a refused bearer beside a valid session cookie is refused, the cookie never sent", async () => {
    const session = issuer.createSession("vera");
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(h, { authorization: "Bearer forged-opaque", cookie: `session=${session.cookie}` })).toBe(
      "ERR_SESSION_INVALID",
    );
    expect(await outcome(h, { authorization: `Bearer ${session.opaqueAccessToken}`, cookie: "session=bogus" })).toBe(
      "ok:vera",
    );
    expect(resolverCalls(h).map((call) => call.headers.get("cookie"))).toEqual([null, null]);
  });

  it("verifies a JWT bearer locally before asking: a forged or expired one never reaches the resolver", async () => {
    const session = issuer.createSession("walt");
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    const valid = await issuer.mintAccessToken({ sessionId: session.id });
    const [head, payload] = valid.split(".");
    expect(
      await outcome(h, {
        authorization: `Bearer ${head}.${payload}.${"A".repeat(342)}`,
        cookie: `session=${session.cookie}`,
      }),
    ).toBe("ERR_JWT_SIGNATURE");
    expect(
      await outcome(h, {
        authorization: `Bearer ${await issuer.mintAccessToken({ sessionId: session.id, expiresIn: -5 })}`,
      }),
    ).toBe("ERR_JWT_EXPIRED");
    expect(resolverCalls(h)).toEqual([]);
    expect(await outcome(h, { authorization: `Bearer ${valid}` })).toBe("ok:walt");
    issuer.logout(session.id);
    expect(await outcome(h, { authorization: `Bearer ${valid}` })).toBe("ERR_SESSION_INVALID");
    expect(resolverCalls(h)).toHaveLength(2);
  });
});

describe("resolver and hybrid modes: a token offered outside Authorization", () => {
  const offer = (token: string) => ({
    "sec-websocket-protocol": `chat, base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString("base64url")}`,
  });

  const modes = ["resolver", "hybrid"];
  it.each(modes)("%s: sends a subprotocol or query token alone, as Bearer, not cookies", async (mode) => {
    const session = issuer.createSession("nora");
    const other = issuer.createSession("otto");
    const h = gate({ AUTH_MODE: mode, RESOLVER_CACHE_SECONDS: "0" });
    const cookie = `session=${other.cookie}`;
    expect(await outcome(h, { ...offer(session.opaqueAccessToken), cookie }, {})).toBe("ok:nora");
    const queryToken = session.opaqueAccessToken;
    const viaQuery = await h.auth.authenticate(new Headers({ cookie }), undefined, { queryToken });
    expect(viaQuery.ok && viaQuery.identity.kind === "user" && viaQuery.identity.userId).toBe("nora");
    expect(await outcome(h, { ...offer("forged-opaque"), cookie }, {})).toBe("ERR_SESSION_INVALID");
    expect(resolverCalls(h).map((call) => [call.headers.get("authorization"), call.headers.get("cookie")])).toEqual([
      [`Bearer ${session.opaqueAccessToken}`, null],
      [`Bearer ${session.opaqueAccessToken}`, null],
      ["Bearer forged-opaque", null],
    ]);
  });

  it("resolver: a user's JWT offered as a subprotocol is verified, then judged by the resolver", async () => {
    const session = issuer.createSession("pia");
    const jwt = await issuer.mintAccessToken({ sub: "pia", sessionId: session.id });
    const h = gate({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(h, offer(jwt), {})).toBe("ok:pia");
    issuer.logout(session.id);
    expect(await outcome(h, offer(jwt), {})).toBe("ERR_SESSION_INVALID");
    const sent = resolverCalls(h).map((call) => call.headers.get("authorization"));
    expect(sent).toEqual([`Bearer ${jwt}`, `Bearer ${jwt}`]);
  });
});

describe("hybrid mode", () => {
  it("verifies a JWT locally without the resolver, and sends cookies and opaque tokens to it", async () => {
    const session = issuer.createSession("judy");
    const jwt = await issuer.mintAccessToken({ sub: "judy", sessionId: session.id });
    const h = gate({ AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "0" });
    const before = issuer.resolverHits;
    expect(await outcome(h, { authorization: `Bearer ${jwt}`, cookie: `session=${session.cookie}` })).toBe("ok:judy");
    expect(issuer.resolverHits).toBe(before);
    expect(h.sent.every((request) => !request.url.includes("_resolver"))).toBe(true);
    expect(await outcome(h, { cookie: `session=${session.cookie}` })).toBe("ok:judy");
    expect(await outcome(h, { authorization: `Bearer ${session.opaqueAccessToken}` })).toBe("ok:judy");
    expect(issuer.resolverHits - before).toBe(2);
    // What JWT mode cannot see: after logout the JWT still verifies locally, the cookie does not.
    issuer.logout(session.id);
    expect(await outcome(h, { authorization: `Bearer ${jwt}` })).toBe("ok:judy");
    expect(await outcome(h, { cookie: `session=${session.cookie}` })).toBe("ERR_SESSION_INVALID");
  });

  it("refuses a locally refused JWT beside a valid session cookie with the JWT's own code, asking the resolver nothing", async () => {
    const session = issuer.createSession("ken");
    const expired = await issuer.mintAccessToken({ sub: "mallory", expiresIn: -5 });
    const h = gate({ AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "0" });
    expect(
      await outcome(h, { authorization: `Bearer ${expired}`, cookie: `theme=dark; session=${session.cookie}` }),
    ).toBe("ERR_JWT_EXPIRED");
    // The case: a forged bearer (claims of another user) beside a valid cookie is never the cookie's user.
    const valid = await issuer.mintAccessToken({ sub: "mallory" });
    const [head, payload] = valid.split(".");
    const forged = `${head}.${payload}.${"A".repeat(342)}`;
    expect(await outcome(h, { authorization: `Bearer ${forged}`, cookie: `session=${session.cookie}` })).toBe(
      "ERR_JWT_SIGNATURE",
    );
    expect(await outcome(h, { authorization: `Bearer ${forged}`, cookie: `app_session=${session.appSession}` })).toBe(
      "ERR_JWT_SIGNATURE",
    );
    // A refused JWT cookie is no fallback either.
    const named = gate({ AUTH_MODE: "hybrid", JWT_COOKIE_NAME: "at", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(named, { cookie: `at=${expired}; session=${session.cookie}` })).toBe("ERR_JWT_EXPIRED");
    expect(await outcome(named, { cookie: `session=${session.cookie}` })).toBe("ok:ken");
    expect(resolverCalls(h)).toEqual([]);
    expect(resolverCalls(named)).toHaveLength(1);
  });

  it("answers a locally refused JWT with its precise code and no resolver call, whatever cookies come with it", async () => {
    const expired = await issuer.mintAccessToken({ sub: "lara", expiresIn: -5 });
    const h = gate({ AUTH_MODE: "hybrid" });
    expect(await outcome(h, { authorization: `Bearer ${expired}` })).toBe("ERR_JWT_EXPIRED");
    expect(await outcome(h, { authorization: `Bearer ${expired}`, cookie: "theme=dark; sessions=x; session=" })).toBe(
      "ERR_JWT_EXPIRED",
    );
    expect(await outcome(h, { authorization: `Bearer ${expired}`, cookie: "session=bogus" })).toBe("ERR_JWT_EXPIRED");
    expect(await outcome(h, { authorization: `Bearer ${expired.slice(0, -2)}` })).toBe("ERR_JWT_SIGNATURE");
    // The JWT cookie, even under one of Authgear's names, is the refused credential, not a session.
    const named = gate({ AUTH_MODE: "hybrid", JWT_COOKIE_NAME: "app_access_token" });
    expect(await outcome(named, { cookie: `app_access_token=${expired}` })).toBe("ERR_JWT_EXPIRED");
    expect(resolverCalls(h)).toEqual([]);
    expect(resolverCalls(named)).toEqual([]);
  });

  it("sends an opaque bearer token to the resolver alone: a valid cookie beside a refused one is no fallback", async () => {
    const session = issuer.createSession("mia");
    const h = gate({ AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(h, { authorization: "Bearer not-a-token", cookie: `session=${session.cookie}` })).toBe(
      "ERR_SESSION_INVALID",
    );
    expect(await outcome(h, { authorization: `Bearer ${session.opaqueAccessToken}`, cookie: "session=bogus" })).toBe(
      "ok:mia",
    );
    issuer.setResolverFailure("http500");
    expect(await outcome(h, { authorization: `Bearer ${session.opaqueAccessToken}` })).toBe("ERR_RESOLVER_UNAVAILABLE");
    const calls = resolverCalls(h);
    expect(calls.map((call) => [call.headers.get("authorization"), call.headers.get("cookie")])).toEqual([
      ["Bearer not-a-token", null],
      [`Bearer ${session.opaqueAccessToken}`, null],
      [`Bearer ${session.opaqueAccessToken}`, null],
    ]);
  });

  it("verifies a valid JWT locally whatever cookies come with it, without the resolver", async () => {
    const jwt = await issuer.mintAccessToken({ sub: "nils" });
    const h = gate({ AUTH_MODE: "hybrid" });
    expect(await outcome(h, { authorization: `Bearer ${jwt}`, cookie: "session=bogus; app_session=bogus" })).toBe(
      "ok:nils",
    );
    expect(resolverCalls(h)).toEqual([]);
  });

  it("holds what only the resolver judges to ALLOWED_CLIENT_IDS: an opaque token or a cookie shows no client, so it is refused", async () => {
    const other = issuer.createSession("olga");
    const jwt = await issuer.mintAccessToken({ sub: "nina" });
    const h = gate({ AUTH_MODE: "hybrid", ALLOWED_CLIENT_IDS: "another-client", RESOLVER_CACHE_SECONDS: "0" });
    expect(await outcome(h, { authorization: `Bearer ${jwt}` })).toBe("ERR_JWT_CLAIM_INVALID");
    // Authgear would accept nina's token, or olga's session beside it; ALLOWED_CLIENT_IDS says no to both.
    expect(await outcome(h, { authorization: `Bearer ${jwt}`, cookie: `session=${other.cookie}` })).toBe(
      "ERR_JWT_CLAIM_INVALID",
    );
    expect(await outcome(h, { cookie: `session=${other.cookie}` })).toBe("ERR_JWT_CLAIM_INVALID");
    expect(await outcome(h, { authorization: `Bearer ${other.opaqueAccessToken}` })).toBe("ERR_JWT_CLAIM_INVALID");
    expect(resolverCalls(h)).toEqual([]);
    const allowed = gate({ AUTH_MODE: "hybrid", ALLOWED_CLIENT_IDS: "dev-client" });
    expect(await outcome(allowed, { authorization: `Bearer ${jwt}` })).toBe("ok:nina");
  });

  it("keys the verdict cache by exactly what was sent: another cookie is another entry, a bearer goes alone", async () => {
    const alice = issuer.createSession("alice-h");
    const bob = issuer.createSession("bob-h");
    const keys: string[] = [];
    const store: VerdictStore = {
      get: () => Promise.resolve(undefined),
      put: (key) => {
        keys.push(key);
        return Promise.resolve();
      },
    };
    const sent: Array<{ url: string; headers: Headers }> = [];
    const h = harness(
      issuer,
      { AUTH_MODE: "hybrid", RESOLVER_CACHE_SECONDS: "60" },
      {
        verdictStore: store,
        fetcher: (url, init) => {
          sent.push({ url, headers: new Headers(init.headers) });
          return fetch(url, init);
        },
      },
    );
    const ask = (headers: Record<string, string>) => outcome(h, headers);
    expect(await ask({ cookie: `session=${alice.cookie}` })).toBe("ok:alice-h");
    expect(await ask({ cookie: `session=${bob.cookie}` })).toBe("ok:bob-h");
    expect(await ask({ cookie: `session=${alice.cookie}x` })).toBe("ERR_SESSION_INVALID");
    expect(await ask({ cookie: `session=${alice.cookie}; app_session=${bob.appSession}` })).toBe("ok:bob-h");
    expect(await ask({ authorization: `Bearer ${alice.opaqueAccessToken}`, cookie: `session=${bob.cookie}` })).toBe(
      "ok:alice-h",
    );
    await h.settle();
    expect(resolverCalls({ sent })).toHaveLength(5);
    expect(keys).toHaveLength(5);
    expect(new Set(keys).size).toBe(5);
    // Asked again, each set is served from its own entry, with its own verdict; the bearer's is the bearer's alone.
    expect(await ask({ cookie: `session=${bob.cookie}` })).toBe("ok:bob-h");
    expect(await ask({ cookie: `session=${alice.cookie}` })).toBe("ok:alice-h");
    expect(await ask({ authorization: `Bearer ${alice.opaqueAccessToken}`, cookie: `session=${alice.cookie}x` })).toBe(
      "ok:alice-h",
    );
    expect(resolverCalls({ sent })).toHaveLength(5);
  });
});

describe("RESOLVER_COOKIE_PREFIX", () => {
  let prefixed: DevIssuer;
  beforeAll(async () => {
    prefixed = await startDevIssuer({ cookiePrefix: "myapp_" });
  });
  afterAll(() => prefixed.close());

  function prefixedGate(env: Record<string, string>) {
    const sent: Array<{ url: string; headers: Headers }> = [];
    const h = harness(
      prefixed,
      { RESOLVER_COOKIE_PREFIX: "myapp_", RESOLVER_CACHE_SECONDS: "0", ...env },
      {
        fetcher: (url, init) => {
          sent.push({ url, headers: new Headers(init.headers) });
          return fetch(url, init);
        },
      },
    );
    return Object.assign(h, { sent });
  }

  it("reads and sends only the prefixed cookies in resolver mode", async () => {
    const session = prefixed.createSession("pia");
    const h = prefixedGate({ AUTH_MODE: "resolver" });
    expect(
      await outcome(h, {
        cookie: `theme=dark; myapp_session=${session.cookie}; myapp_app_access_token=${session.appAccessToken}; session=${session.cookie}`,
      }),
    ).toBe("ok:pia");
    expect(resolverCalls(h).map((request) => request.headers.get("cookie"))).toEqual([
      `myapp_app_access_token=${session.appAccessToken}; myapp_session=${session.cookie}`,
    ]);
    // The unprefixed names are not Authgear's cookies here: no credentials, no resolver call.
    expect(await outcome(h, { cookie: `session=${session.cookie}; app_session=${session.appSession}` })).toBe(
      "ERR_CREDENTIALS_MISSING",
    );
    expect(await outcome(h, { cookie: `myapp_app_session=${session.appSession}` })).toBe("ok:pia");
    expect(resolverCalls(h)).toHaveLength(2);
    // A duplicated prefixed cookie is refused before anything is sent.
    expect(await outcome(h, { cookie: "myapp_session=a; myapp_session=b" })).toBe("ERR_REQUEST_MALFORMED");
    expect(resolverCalls(h)).toHaveLength(2);
  });

  it("reads a prefixed session cookie in hybrid mode, and not an unprefixed one", async () => {
    const session = prefixed.createSession("quinn");
    const h = prefixedGate({ AUTH_MODE: "hybrid" });
    expect(await outcome(h, { cookie: `myapp_session=${session.cookie}` })).toBe("ok:quinn");
    expect(await outcome(h, { cookie: `session=${session.cookie}` })).toBe("ERR_CREDENTIALS_MISSING");
    expect(resolverCalls(h).map((request) => request.headers.get("cookie"))).toEqual([
      `myapp_session=${session.cookie}`,
    ]);
  });
});

describe("verdicts shared between isolates (VerdictStore)", () => {
  /** A store as the Cache API keeps it: entries serialised, so nothing is shared by reference. */
  function memoryStore(): VerdictStore & { readonly keys: string[]; failing: boolean } {
    const entries = new Map<string, string>();
    return {
      keys: [] as string[],
      failing: false,
      get(key) {
        if (this.failing) return Promise.reject(new Error("store down"));
        const raw = entries.get(key);
        return Promise.resolve(raw === undefined ? undefined : (JSON.parse(raw) as unknown));
      },
      put(key, entry) {
        if (this.failing) return Promise.reject(new Error("store down"));
        this.keys.push(key);
        entries.set(key, JSON.stringify(entry));
        return Promise.resolve();
      },
    };
  }

  function isolates(store: VerdictStore, count: number, env: Record<string, string> = {}) {
    let offset = 0;
    const clock = () => Date.now() + offset;
    const gates = Array.from({ length: count }, () =>
      harness(issuer, { AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "10", ...env }, { clock, verdictStore: store }),
    );
    return {
      gates,
      advance: (seconds: number) => {
        offset += seconds * 1000;
      },
    };
  }

  it("asks the resolver once for a session across isolates, and sees a logout when the first verdict expires", async () => {
    issuer.upsertUser("carol", { roles: ["staff"] });
    const session = issuer.createSession("carol");
    const store = memoryStore();
    const { gates, advance } = isolates(store, 3);
    const cookie = { cookie: `session=${session.cookie}` };
    const before = issuer.resolverHits;
    for (const h of gates) expect(await outcome(h, cookie)).toBe("ok:carol");
    for (const h of gates) await h.settle();
    expect(issuer.resolverHits - before).toBe(1);
    expect(store.keys).toHaveLength(1);
    expect(store.keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(store.keys[0]).not.toContain(session.cookie);
    issuer.logout(session.id);
    advance(5);
    // Within the 10 s the first answer was given, every isolate still trusts it (as without the store).
    for (const h of gates) expect(await outcome(h, cookie)).toBe("ok:carol");
    advance(6);
    for (const h of gates) expect(await outcome(h, cookie)).toBe("ERR_SESSION_INVALID");
  });

  it("takes from a stored verdict only what a resolver states: never claims, a source or an expiry", async () => {
    issuer.upsertUser("erin", {});
    const session = issuer.createSession("erin");
    const identity = {
      userId: "erin",
      isAnonymous: false,
      isVerified: true,
      canReauthenticate: false,
      roles: [],
      amr: [],
      source: "jwt",
      claims: { admin: true },
      expiresAt: 4_000_000_000,
    };
    const stored = { verdict: { kind: "valid", identity }, until: Date.now() + 60_000 };
    const store = { get: () => Promise.resolve(stored), put: () => Promise.resolve() };
    const [h] = isolates(store, 1).gates;
    const result = await h!.auth.authenticate(new Headers({ cookie: `session=${session.cookie}` }));
    expect(result.ok && result.identity).toMatchObject({ userId: "erin", source: "resolver", expiresAt: undefined });
    expect(result.ok && result.identity.claims).toEqual({});
  });

  it("never takes a malformed stored entry, and treats a failing store as a miss", async () => {
    issuer.upsertUser("dan", {});
    const session = issuer.createSession("dan");
    const store = memoryStore();
    const { gates } = isolates(store, 1);
    const cookie = { cookie: `session=${session.cookie}` };
    const forged = {
      get: () =>
        Promise.resolve({
          verdict: { kind: "valid", identity: { userId: "admin user", isAnonymous: false } },
          until: Date.now() + 60_000,
        }),
      put: () => Promise.resolve(),
    };
    const [victim] = isolates(forged, 1).gates;
    const before = issuer.resolverHits;
    expect(await outcome(victim!, cookie)).toBe("ok:dan");
    expect(issuer.resolverHits - before).toBe(1);
    store.failing = true;
    expect(await outcome(gates[0]!, cookie)).toBe("ok:dan");
    expect(gates[0]!.logs.map((line) => line.event)).toContain("verdict_store_failed");
  });

  it("shares nothing with RESOLVER_CACHE_SECONDS=0", async () => {
    issuer.upsertUser("erin", {});
    const session = issuer.createSession("erin");
    const store = memoryStore();
    const { gates } = isolates(store, 2, { RESOLVER_CACHE_SECONDS: "0" });
    const before = issuer.resolverHits;
    for (const h of gates) expect(await outcome(h, { cookie: `session=${session.cookie}` })).toBe("ok:erin");
    expect(issuer.resolverHits - before).toBe(2);
    expect(store.keys).toEqual([]);
  });
});
