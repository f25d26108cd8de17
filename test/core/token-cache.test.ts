import { describe, expect, it } from "vitest";
import type { Identity } from "../../src/core/identity.ts";
import { createTokenCache } from "../../src/core/token-cache.ts";
import { clientIdentity, userIdentity } from "../fixtures/identities.ts";

const ISSUER = "https://issuer.example";
const identity: Identity = userIdentity({ issuer: ISSUER });
const NOW = 1_800_000_000_000;
/** Every issuer's key set at generation `n` (`undefined`: none usable). */
const gen = (n: number | undefined) => (): number | undefined => n;
const EXP = NOW / 1000 + 600;

describe("token cache", () => {
  it("stays bounded under any number of distinct tokens, evicting the least recently used", () => {
    const cache = createTokenCache({ maxEntries: 100, maxAgeSeconds: 300 });
    for (let i = 0; i < 10_000; i += 1) cache.set(`token-${i}`, { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.size).toBe(100);
    expect(cache.get("token-0", NOW, gen(1), 0)).toBeUndefined();
    expect(cache.get("token-9900", NOW, gen(1), 0)).toBe(identity);
    cache.set("token-new", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get("token-9900", NOW, gen(1), 0)).toBe(identity);
    expect(cache.get("token-9901", NOW, gen(1), 0)).toBeUndefined();
  });

  it("serves an entry only for the key generation that made it", () => {
    const cache = createTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    cache.set("t", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get("t", NOW, gen(2), 0)).toBeUndefined();
    expect(cache.get("t", NOW, gen(1), 0)).toBeUndefined();
    cache.set("t", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get("t", NOW, gen(undefined), 0)).toBeUndefined();
  });

  it("serves an entry only while its own issuer's key set has the generation that made it", () => {
    const cache = createTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    const second = "https://second.example";
    const client: Identity = clientIdentity(second, "svc");
    cache.set("a", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    cache.set("b", { identity: client, expiresAt: EXP, keyGeneration: 7 }, NOW);
    const asked: string[] = [];
    const generations = new Map([
      [ISSUER, 1],
      [second, 7],
    ]);
    const current = (issuer: string) => {
      asked.push(issuer);
      return generations.get(issuer);
    };
    expect(cache.get("a", NOW, current, 0)).toBe(identity);
    expect(cache.get("b", NOW, current, 0)).toBe(client);
    expect(asked).toEqual([ISSUER, second]);
    // The second issuer rotates its keys: its entry goes, the first issuer's stays.
    generations.set(second, 8);
    expect(cache.get("b", NOW, current, 0)).toBeUndefined();
    expect(cache.get("a", NOW, current, 0)).toBe(identity);
    // The first issuer's generation, equal to the second's old one, serves none of the second's entries.
    cache.set("b", { identity: client, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get("b", NOW, current, 0)).toBeUndefined();
  });

  it("honours exp with the clock tolerance, and the maximum age", () => {
    const cache = createTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    cache.set("t", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get("t", NOW + 299_999, gen(1), 0)).toBe(identity);
    expect(cache.get("t", NOW + 300_000, gen(1), 0)).toBeUndefined();
    const short = createTokenCache({ maxEntries: 10, maxAgeSeconds: 3600 });
    short.set("t", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(short.get("t", EXP * 1000 + 4_000, gen(1), 5)).toBe(identity);
    expect(short.get("t", EXP * 1000, gen(1), 0)).toBeUndefined();
  });

  it("serves an entry only for the whole token, not for another that ends the same way", () => {
    const cache = createTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    const ending = "s".repeat(64);
    const victim = `header.victim.${ending}`;
    const forged = `header.forged.${ending}`;
    cache.set(victim, { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.get(forged, NOW, gen(1), 0)).toBeUndefined();
    expect(cache.get(victim, NOW, gen(1), 0)).toBe(identity);
    const other: Identity = { ...identity, subject: "other", userId: "other" };
    cache.set(forged, { identity: other, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.size).toBe(1);
    expect(cache.get(victim, NOW, gen(1), 0)).toBeUndefined();
    expect(cache.get(forged, NOW, gen(1), 0)).toBe(other);
  });

  it("has() is true for the whole token only: not one sharing its ending, a prefix, or a change at its end", () => {
    const cache = createTokenCache({ maxEntries: 10, maxAgeSeconds: 300 });
    // The cache keys entries by a token's last 32 characters: the misses below that share them
    // (a repeated block makes a prefix share them too) are told apart only by the whole token.
    const block = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    const token = `header.payload.${block}${block}`;
    cache.set(token, { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.has(token)).toBe(true);
    expect(cache.has(Array.from(token).join(""))).toBe(true);
    const misses = {
      "another token of the same length and ending": `header.payloaX.${block}${block}`,
      "a longer token with the same ending": `x${token}`,
      "a prefix with the same ending": `header.payload.${block}`,
      "its last 32 characters": block,
      "a prefix": token.slice(0, -1),
      "the last character changed": `${token.slice(0, -1)}q`,
      "the last 4 characters changed": `${token.slice(0, -4)}zzzz`,
      "the token extended": `${token}A`,
      "": "",
    };
    for (const [what, other] of Object.entries(misses)) expect(cache.has(other), what).toBe(false);
    expect(cache.get(token, NOW, gen(1), 0)).toBe(identity);
  });

  it("caches nothing with maxEntries 0", () => {
    const cache = createTokenCache({ maxEntries: 0, maxAgeSeconds: 300 });
    cache.set("t", { identity, expiresAt: EXP, keyGeneration: 1 }, NOW);
    expect(cache.size).toBe(0);
  });
});
