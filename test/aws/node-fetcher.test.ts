/**
 * The Lambda's node:http fetcher behind the core, against the dev issuer over loopback HTTP: the
 * same answers as with `fetch` (test/core/key-set.test.ts, test/core/resolver.test.ts) for a
 * healthy issuer and for every way the issuer or the resolver can fail.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { nodeFetcher } from "../../src/aws/node-fetcher.ts";
import type { Fetcher } from "../../src/core/ports.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { harness, outcome } from "../helpers.ts";

let issuer: DevIssuer;
/** An issuer nothing listens for. */
const DOWN = "http://127.0.0.1:9";

beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());
beforeEach(() => {
  issuer.setFailure("none");
  issuer.setResolverFailure("none");
});

function recorded(sent: string[]): Fetcher {
  return (url, init) => {
    sent.push(url);
    return nodeFetcher(url, init);
  };
}

describe("the key set over node:http", () => {
  it("fetches discovery and the JWKS once and verifies tokens", async () => {
    const sent: string[] = [];
    const h = harness(issuer, {}, { fetcher: recorded(sent) });
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(sent).toEqual([`${issuer.origin}/.well-known/openid-configuration`, issuer.jwksUri]);
  });

  it.each(["http500", "redirect", "oversize", "invalid-json", "reset", "hang"] as const)(
    "answers ERR_KEYSET_UNAVAILABLE when the issuer gives %s, within the deadline",
    async (mode) => {
      const token = await issuer.mintAccessToken();
      issuer.setFailure(mode);
      const redirectedBefore = issuer.hits.redirected;
      const h = harness(issuer, {}, { fetcher: nodeFetcher });
      const started = Date.now();
      expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(issuer.hits.redirected).toBe(redirectedBefore);
    },
  );

  it("answers ERR_KEYSET_UNAVAILABLE when nothing listens", async () => {
    const h = harness(issuer, { AUTHGEAR_ENDPOINT: DOWN }, { fetcher: nodeFetcher });
    // A token naming that issuer: the gate trusts it, and cannot fetch its keys.
    const token = await issuer.mintAccessToken({ claims: { iss: DOWN, aud: [DOWN] } });
    expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
  });
});

describe("the resolver over node:http", () => {
  const ask = async (cookie: string): Promise<string> => {
    const h = harness(issuer, { AUTH_MODE: "resolver", RESOLVER_TIMEOUT_MS: "500" }, { fetcher: nodeFetcher });
    const result = await h.auth.authenticate(new Headers({ cookie }));
    if (!result.ok) return result.error.code;
    const { identity } = result;
    if (identity.kind === "client") return `client:${identity.clientId}`;
    return `ok:${identity.userId}:${identity.roles.join(",")}`;
  };

  it("reads a valid verdict's identity headers, and an invalid one", async () => {
    issuer.upsertUser("nina", { roles: ["staff"] });
    const session = issuer.createSession("nina");
    expect(await ask(`session=${session.cookie}`)).toBe("ok:nina:staff");
    expect(await ask("session=not-a-session")).toBe("ERR_SESSION_INVALID");
  });

  it.each(["http500", "hang", "redirect", "malformed", "duplicated-user-id"] as const)("fails closed when the resolver gives %s", async (mode) => {
    const session = issuer.createSession("nina");
    issuer.setResolverFailure(mode);
    expect(await ask(`session=${session.cookie}`)).toBe("ERR_RESOLVER_UNAVAILABLE");
  });
});
