/**
 * What is cached about a token never outlives its `exp` (issue 18): the resolver's verdict cache
 * (in memory and in a shared store) and the verified-token cache, each with an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import type { FetchResponse } from "../../src/core/ports.ts";
import { silentLogger } from "../../src/core/ports.ts";
import { createResolver, type ResolverCredentials, type StoredVerdict } from "../../src/core/resolver.ts";
import { harness } from "../helpers.ts";

const T0 = 1_800_000_000_000;
/** `exp` of the token below: 30 s after T0. */
const EXP = T0 / 1000 + 30;

/** A JWS-shaped token with this `exp`: the resolver cache reads `exp` without verifying anything. */
function jwtWithExp(exp: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "at+jwt" })}.${part({ sub: "u", exp })}.c2lnbmF0dXJl`;
}

const VALID: Record<string, string> = {
  "x-authgear-session-valid": "true",
  "x-authgear-user-id": "u",
  "x-authgear-user-anonymous": "false",
  "x-authgear-user-verified": "true",
  "x-authgear-user-can-reauthenticate": "false",
  "x-authgear-session-amr": "pwd",
};

/** A resolver whose clock the test sets, answering `valid` and counting the calls. */
function resolverAt(cacheSeconds: number) {
  let now = T0;
  let calls = 0;
  const stored: StoredVerdict[] = [];
  const resolver = createResolver({
    resolverUrl: "https://auth.example.com/_resolver/resolve",
    fetcher: () => {
      calls += 1;
      const headers = new Headers(VALID);
      return Promise.resolve({ status: 200, headers, body: null, bodyUsed: false } satisfies FetchResponse);
    },
    clock: () => now,
    logger: silentLogger,
    cacheSeconds,
    timeoutMs: 1000,
    maxEntries: 100,
    issuer: "https://auth.example.com",
    store: {
      get: () => Promise.resolve(undefined),
      put: (_key, entry) => {
        stored.push(entry);
        return Promise.resolve();
      },
    },
  });
  return {
    at: async (ms: number, credentials: ResolverCredentials) => {
      now = ms;
      const verdict = await resolver.resolve(credentials);
      return verdict.kind;
    },
    calls: () => calls,
    stored,
  };
}

describe("a cached resolver verdict never outlives the exp of a JWT it is about", () => {
  const bearer: ResolverCredentials = { authorization: `Bearer ${jwtWithExp(EXP)}`, cookies: [] };

  it("serves a bearer JWT's verdict until just before exp, and asks the resolver again at exp", async () => {
    const r = resolverAt(3600);
    expect(await r.at(T0, bearer)).toBe("valid");
    expect(await r.at(EXP * 1000 - 1, bearer)).toBe("valid");
    expect(r.calls()).toBe(1);
    expect(await r.at(EXP * 1000, bearer)).toBe("valid");
    expect(r.calls()).toBe(2);
    // What the shared store was given is bounded the same way (the second answer came after exp: not kept).
    expect(r.stored.map((entry) => entry.until)).toEqual([EXP * 1000]);
  });

  it("bounds a verdict by the earliest exp of any JWT sent, a cookie's included", async () => {
    const r = resolverAt(3600);
    const cookies: ResolverCredentials = {
      authorization: undefined,
      cookies: [`app_access_token=${jwtWithExp(EXP)}`, "session=opaque"],
    };
    expect(await r.at(T0, cookies)).toBe("valid");
    expect(await r.at(EXP * 1000 - 1, cookies)).toBe("valid");
    expect(await r.at(EXP * 1000, cookies)).toBe("valid");
    expect(r.calls()).toBe(2);
  });

  it("keeps RESOLVER_CACHE_SECONDS when it ends first, and an opaque token's verdict for all of it", async () => {
    const r = resolverAt(10);
    expect(await r.at(T0, bearer)).toBe("valid");
    expect(await r.at(T0 + 10_000, bearer)).toBe("valid");
    expect(r.calls()).toBe(2);
    const opaque: ResolverCredentials = { authorization: "Bearer opaque-token", cookies: [] };
    const o = resolverAt(3600);
    expect(await o.at(T0, opaque)).toBe("valid");
    expect(await o.at(T0 + 3_599_999, opaque)).toBe("valid");
    expect(o.calls()).toBe(1);
  });

  it("keeps nothing about a JWT already past its exp, and ignores an exp that is no number", async () => {
    const expired: ResolverCredentials = { authorization: `Bearer ${jwtWithExp(T0 / 1000 - 1)}`, cookies: [] };
    const r = resolverAt(3600);
    await r.at(T0, expired);
    await r.at(T0, expired);
    expect(r.calls()).toBe(2);
    expect(r.stored).toEqual([]);
    const odd = resolverAt(3600);
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const stringExp: ResolverCredentials = {
      authorization: `Bearer ${part({ alg: "RS256" })}.${part({ exp: "soon" })}.c2ln`,
      cookies: [],
    };
    await odd.at(T0, stringExp);
    await odd.at(T0 + 3_599_999, stringExp);
    expect(odd.calls()).toBe(1);
  });
});

describe("through the authenticator, with the dev issuer's keys and resolver", () => {
  let issuer: DevIssuer;
  beforeAll(async () => {
    issuer = await startDevIssuer();
  });
  afterAll(() => issuer.close());

  it("resolver mode: a JWT bearer near exp, judged valid, is refused right after exp (the issue's case)", async () => {
    const session = issuer.createSession("rita");
    const start = Date.now();
    let now = start;
    const h = harness(issuer, { AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "3600" }, { clock: () => now });
    const issuedAt = Math.floor(start / 1000);
    const token = await issuer.mintAccessToken({ sessionId: session.id, expiresIn: 30, issuedAt });
    const exp = Math.floor(start / 1000) + 30;
    const ask = async () => {
      const result = await h.auth.authenticate(new Headers({ authorization: `Bearer ${token}` }));
      return result.ok ? result.identity.subject : result.error.code;
    };
    const hits = issuer.resolverHits;
    expect(await ask()).toBe("rita");
    now = exp * 1000 - 1;
    expect(await ask()).toBe("rita");
    expect(issuer.resolverHits - hits).toBe(1);
    now = exp * 1000;
    expect(await ask()).toBe("ERR_JWT_EXPIRED");
  });

  it("the verified-token cache honours exp with CLOCK_TOLERANCE_SECONDS, where a fresh verification does", async () => {
    const start = Date.now();
    const exp = Math.floor(start / 1000) + 30;
    const token = await issuer.mintAccessToken({ sub: "sam", expiresIn: 30, issuedAt: Math.floor(start / 1000) });
    const outcomes: string[] = [];
    for (const cached of [true, false]) {
      const moments = [
        ["0", -1],
        ["0", 0],
        ["5", 4_999],
        ["5", 5_000],
      ] as const;
      for (const [tolerance, afterExp] of moments) {
        const ms = exp * 1000 + afterExp;
        let now = start;
        const h = harness(issuer, { CLOCK_TOLERANCE_SECONDS: tolerance }, { clock: () => now });
        if (cached) await h.auth.authenticate(new Headers({ authorization: `Bearer ${token}` }));
        const fetchesBefore = h.fetched.length;
        now = ms;
        const result = await h.auth.authenticate(new Headers({ authorization: `Bearer ${token}` }));
        const at = afterExp >= 0 ? `+${afterExp}` : String(afterExp);
        const answer = result.ok ? "ok" : result.error.code;
        outcomes.push(`${cached ? "cached" : "fresh"} tolerance ${tolerance} at exp${at}ms: ${answer}`);
        // A cached answer is served without a key-set fetch.
        if (cached && result.ok) expect(h.fetched.length).toBe(fetchesBefore);
      }
    }
    expect(outcomes).toEqual([
      "cached tolerance 0 at exp-1ms: ok",
      "cached tolerance 0 at exp+0ms: ERR_JWT_EXPIRED",
      "cached tolerance 5 at exp+4999ms: ok",
      "cached tolerance 5 at exp+5000ms: ERR_JWT_EXPIRED",
      "fresh tolerance 0 at exp-1ms: ok",
      "fresh tolerance 0 at exp+0ms: ERR_JWT_EXPIRED",
      "fresh tolerance 5 at exp+4999ms: ok",
      "fresh tolerance 5 at exp+5000ms: ERR_JWT_EXPIRED",
    ]);
  });
});
