/** Key-set fetching, caching, rotation and outages, against the dev issuer over loopback HTTP. */
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { createMemoryKeySetStore, type KeySetSnapshot, type KeySetStore } from "../../src/core/key-set.ts";
import { bearer, harness, outcome, useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer(undefined, { restoreEachTest: true });

describe("fetching", () => {
  it("fetches discovery and the JWKS once, then serves every request from memory", async () => {
    const h = harness(issuer);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mintAccessToken()));
    const results = await Promise.all(tokens.map((token) => outcome(h, token)));
    expect(new Set(results)).toEqual(new Set(["ok"]));
    expect(h.fetched).toEqual([`${issuer.origin}/.well-known/openid-configuration`, issuer.jwksUri]);
    h.advance(200);
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(h.fetched).toHaveLength(2);
  });

  it.each([
    ["an HTTP 500", "http500"],
    ["a redirect (never followed)", "redirect"],
    ["an oversize body", "oversize"],
    ["a body that is not JSON", "invalid-json"],
    ["a reset connection", "reset"],
    ["no answer within the timeout", "hang"],
  ] as const)(
    "answers ERR_KEYSET_UNAVAILABLE (503) when nothing is cached and the issuer gives %s",
    async (_name, mode) => {
      const token = await issuer.mintAccessToken();
      issuer.setFailure(mode);
      const redirectedBefore = issuer.hits.redirected;
      const h = harness(issuer);
      const started = Date.now();
      expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(issuer.hits.redirected).toBe(redirectedBefore);
      expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toMatchObject({ serving_stale: false });
    },
  );

  it("treats a discovery issuer that differs from the endpoint as a failure, naming the setting", async () => {
    issuer.setDiscoveryIssuer("https://evil.example.com");
    const h = harness(issuer);
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ERR_KEYSET_UNAVAILABLE");
    expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toEqual({
      event: "keyset_refresh_failed",
      reason: `discovery issuer "https://evil.example.com" does not equal ${issuer.origin} (AUTHGEAR_ENDPOINT, or its ISSUERS entry); check the configuration`,
      url: `${issuer.origin}/.well-known/openid-configuration`,
      serving_stale: false,
    });
  });

  it("names the URL that failed and how", async () => {
    const token = await issuer.mintAccessToken();
    issuer.setFailure("http500");
    const h = harness(issuer);
    expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
    expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toEqual({
      event: "keyset_refresh_failed",
      reason: "answered HTTP 500",
      url: `${issuer.origin}/.well-known/openid-configuration`,
      serving_stale: false,
    });
  });

  it("reports what a request started with that request's logger", async () => {
    const h = harness(issuer);
    const lines: Array<Record<string, unknown>> = [];
    const result = await h.auth.authenticate(bearer(await issuer.mintAccessToken()), {
      logger: { log: (event, fields) => lines.push({ event, ...fields }) },
    });
    expect(result.ok).toBe(true);
    expect(lines.map((line) => line.event)).toEqual(["keyset_refreshed"]);
    expect(h.logs).toEqual([]);
  });

  it("uses only public signature keys from the set", async () => {
    issuer.setExtraJwks([
      { kty: "oct", k: "c2VjcmV0", kid: "hmac" },
      { kty: "RSA", kid: "enc", use: "enc", n: "AQAB", e: "AQAB" },
      { kty: "RSA", kid: "weak", n: Buffer.alloc(128, 0xff).toString("base64url"), e: "AQAB" },
    ]);
    const h = harness(issuer);
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    const ignored = h.logs.filter((line) => line.event === "keyset_key_ignored").map((line) => line.kid);
    expect(ignored).toEqual(["hmac", "enc", "weak"]);
  });
});

describe("rotation", () => {
  it("verifies a token from a newly added key after one refetch, and keeps verifying the old key while published", async () => {
    const h = harness(issuer);
    const oldToken = await issuer.mintAccessToken();
    expect(await outcome(h, oldToken)).toBe("ok");
    const oldKid = issuer.signingKid;
    const newKid = await issuer.addKey({ sign: true });
    const newToken = await issuer.mintAccessToken();
    const jwksBefore = issuer.hits.jwks;
    // Within the cooldown after the last fetch, an unseen kid is refused without a fetch.
    expect(await outcome(h, newToken)).toBe("ERR_JWT_KEY_NOT_FOUND");
    expect(issuer.hits.jwks).toBe(jwksBefore);
    h.advance(31);
    expect(await outcome(h, newToken)).toBe("ok");
    expect(issuer.hits.jwks).toBe(jwksBefore + 1);
    expect(await outcome(h, await issuer.mintAccessToken({ kid: oldKid }))).toBe("ok");
    expect(await outcome(h, oldToken)).toBe("ok");
    issuer.removeKey(oldKid);
    expect(issuer.signingKid).toBe(newKid);
  });

  it("stops accepting a removed key, cached verifications included, once the set is refreshed", async () => {
    const h = harness(issuer);
    const kid = await issuer.addKey();
    const token = await issuer.mintAccessToken({ kid });
    expect(await outcome(h, token)).toBe("ok");
    issuer.removeKey(kid);
    expect(await outcome(h, token)).toBe("ok");
    h.advance(301);
    // Past max age: the stale copy is used while a background refresh runs...
    expect(await outcome(h, token)).toBe("ok");
    expect(h.deferred).toHaveLength(1);
    await h.settle();
    // ...and from then on the removed key, and every verification it made, is gone.
    expect(await outcome(h, token)).toBe("ERR_JWT_KEY_NOT_FOUND");
  });
});

describe("outages", () => {
  it("serves the stale copy within the window, refreshes in the background, and answers 503 after it", async () => {
    const h = harness(issuer);
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    issuer.setFailure("http500");
    const fresh = await issuer.mintAccessToken();
    h.advance(301);
    expect(await outcome(h, fresh)).toBe("ok");
    await h.settle();
    expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toMatchObject({ serving_stale: true });
    h.advance(3000);
    expect(await outcome(h, await issuer.mintAccessToken({ issuedAt: h.nowSeconds() }))).toBe("ok");
    await h.settle();
    h.advance(600);
    // 300 s max age + 3600 s stale window have passed: no copy is usable.
    expect(await outcome(h, await issuer.mintAccessToken({ issuedAt: h.nowSeconds() }))).toBe("ERR_KEYSET_UNAVAILABLE");
    // For Retry-After seconds the 503 comes at once, without hammering the issuer...
    issuer.setFailure("none");
    const before = issuer.hits.discovery;
    expect(await outcome(h, await issuer.mintAccessToken({ issuedAt: h.nowSeconds() }))).toBe("ERR_KEYSET_UNAVAILABLE");
    expect(issuer.hits.discovery).toBe(before);
    // ...then the next request fetches again and recovers.
    h.advance(5);
    expect(await outcome(h, await issuer.mintAccessToken({ issuedAt: h.nowSeconds() }))).toBe("ok");
  });

  it("does not retry a failed background refresh more than once per cooldown", async () => {
    const h = harness(issuer);
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    issuer.setFailure("http500");
    h.advance(301);
    const before = issuer.hits.discovery;
    for (let i = 0; i < 20; i += 1) expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    await h.settle();
    expect(issuer.hits.discovery - before).toBe(1);
  });
});

describe("the key-set store", () => {
  it("starts from a fresh copy in the store without fetching, and writes each fetch to it", async () => {
    const seed = harness(issuer);
    const store = createMemoryKeySetStore();
    const writer = harness(issuer, {}, { keySetStore: store });
    expect(await outcome(writer, await issuer.mintAccessToken())).toBe("ok");
    const saved = await store.get();
    expect(saved?.keys.length).toBeGreaterThan(0);
    const reader = harness(issuer, {}, { keySetStore: store });
    expect(await outcome(reader, await issuer.mintAccessToken())).toBe("ok");
    expect(reader.fetched).toEqual([]);
    expect(seed.fetched).toEqual([]);
  });

  it("ignores a corrupted copy in the store and fetches instead", async () => {
    for (const junk of [
      { keys: "nope", fetchedAt: Date.now() },
      { keys: [{ kty: "oct", k: "c2VjcmV0" }], fetchedAt: Date.now() },
      "garbage",
    ]) {
      const store: KeySetStore = {
        get: () => Promise.resolve(junk as unknown as KeySetSnapshot),
        put: () => Promise.resolve(),
      };
      const h = harness(issuer, {}, { keySetStore: store });
      expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
      expect(h.fetched).toHaveLength(2);
    }
  });

  it("keeps working when the store fails", async () => {
    const broken: KeySetStore = {
      get: () => Promise.reject(new Error("store down")),
      put: (_snapshot: KeySetSnapshot) => Promise.reject(new Error("store down")),
    };
    const h = harness(issuer, {}, { keySetStore: broken });
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(h.logs.some((line) => line.event === "keyset_store_failed")).toBe(true);
  });
});

describe("the verified-token cache", () => {
  it("verifies a repeated token's signature once", async () => {
    const h = harness(issuer);
    const token = await issuer.mintAccessToken();
    expect(await outcome(h, token)).toBe("ok");
    const verify = (await import("vitest")).vi.spyOn(crypto.subtle, "verify");
    for (let i = 0; i < 10; i += 1) expect(await outcome(h, token)).toBe("ok");
    expect(verify).not.toHaveBeenCalled();
    verify.mockRestore();
  });

  it("never serves an entry past the token's exp", async () => {
    const h = harness(issuer);
    const token = await issuer.mintAccessToken({ expiresIn: 100 });
    const exp = decodeJwt(token).exp ?? 0;
    expect(await outcome(h, token)).toBe("ok");
    // To just under a second before exp, counted from the clock now: the first verification (a key
    // set fetched) may take over a second on a loaded machine, which a fixed advance(99) did not allow.
    h.advance(exp - h.nowSeconds() - 1);
    expect(await outcome(h, token)).toBe("ok");
    h.advance(2);
    expect(await outcome(h, token)).toBe("ERR_JWT_EXPIRED");
  });

  it("re-verifies after the entry's maximum age", async () => {
    const h = harness(issuer, {}, { tokenCache: { maxAgeSeconds: 10 } });
    const token = await issuer.mintAccessToken();
    expect(await outcome(h, token)).toBe("ok");
    const verify = (await import("vitest")).vi.spyOn(crypto.subtle, "verify");
    await h.auth.authenticate(bearer(token));
    expect(verify).not.toHaveBeenCalled();
    h.advance(11);
    expect(await outcome(h, token)).toBe("ok");
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
  });
});
