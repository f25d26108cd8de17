/**
 * An issuer whose keys live elsewhere (`ISSUERS`' `jwksUri`): the old issuer of a custom-domain
 * switch, whose own host now redirects (docs/issuers.md). Its keys are fetched from the given URL
 * with no discovery, while the other issuers keep discovering theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnLoopback, type LoopbackServer } from "../../dev/loopback-server.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { harness, outcome } from "../helpers.ts";

let old: DevIssuer;
let current: DevIssuer;
/** Serves the old issuer's key set from another host, as the new custom domain serves the project's keys. */
let keyHost: LoopbackServer;
let keyHits = 0;

beforeAll(async () => {
  old = await startDevIssuer();
  current = await startDevIssuer();
  const jwks = await (await fetch(old.jwksUri)).text();
  keyHost = await listenOnLoopback("key host", 0, (_request, response) => {
    keyHits += 1;
    response.writeHead(200, { "content-type": "application/json" }).end(jwks);
    return Promise.resolve();
  });
});
afterAll(async () => {
  await Promise.all([old.close(), current.close(), keyHost.close()]);
});

function issuers(): string {
  const keys = `${keyHost.url}/oauth2/jwks`;
  return JSON.stringify([{ issuer: current.origin }, { issuer: old.origin, jwksUri: keys }]);
}

describe("an issuer with a jwksUri", () => {
  it("verifies its tokens with the keys at that URL, never asking its own host", async () => {
    old.setFailure("redirect");
    const h = harness(old, { AUTHGEAR_ENDPOINT: "", ISSUERS: issuers() });
    const before = { ...old.hits };
    expect(await outcome(h, await old.mintAccessToken())).toBe("ok");
    expect(h.fetched).toEqual([`${keyHost.url}/oauth2/jwks`]);
    expect(old.hits.discovery).toBe(before.discovery);
    expect(old.hits.jwks).toBe(before.jwks);
    expect(keyHits).toBe(1);
    old.setFailure("none");
  });

  it("leaves the other issuers discovering their own keys", async () => {
    const h = harness(current, { AUTHGEAR_ENDPOINT: "", ISSUERS: issuers() });
    expect(await outcome(h, await current.mintAccessToken())).toBe("ok");
    expect(h.fetched).toEqual([`${current.origin}/.well-known/openid-configuration`, current.jwksUri]);
  });

  it("refuses a jwksUri that would carry keys in clear to another host", () => {
    const entry = JSON.stringify([{ issuer: old.origin, jwksUri: "http://keys.example.com/jwks" }]);
    expect(() => harness(old, { AUTHGEAR_ENDPOINT: "", ISSUERS: entry })).toThrow(
      /ISSUERS: issuer 0\.jwksUri: must use https/,
    );
  });
});
