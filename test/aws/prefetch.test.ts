/**
 * The authorizer fetches its key sets during Lambda's init phase (src/aws/authorizer.ts): the built
 * bundle, dist/lambda/authorizer.mjs, imported as Lambda does at a cold start with its environment
 * pointing at a loopback issuer, has the keys before its first event. A new module instance per test
 * is a new container.
 *
 * The retry rules the last case depends on (key-set.ts, README "The key set"): a fetch that fails at
 * request time with no usable copy answers 503 and, for the next 5 s (`RETRY_AFTER_SECONDS`), every
 * request gets the 503 at once without another fetch. A failed prefetch starts no such window, so
 * the first event after it fetches again.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { createHandler, type Authorizer } from "../../src/aws/create-handler.ts";
import type { Fetcher } from "../../src/core/ports.ts";
import { freePort, useDevIssuer } from "../helpers.ts";
import { STAGE_WILDCARD, tokenEvent } from "./fixtures.ts";

const BUNDLE = pathToFileURL(resolve(import.meta.dirname, "../../dist/lambda/authorizer.mjs")).href;

const issuer = useDevIssuer();
let instances = 0;

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** A cold start: the bundle's module evaluated anew with `env` as the Lambda environment; what it logged meanwhile. */
async function coldStart(env: Record<string, string>): Promise<{ handler: Authorizer; events: string[] }> {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const log = vi.spyOn(console, "log");
  instances += 1;
  const { handler } = (await import(`${BUNDLE}?container=${instances}`)) as { handler: Authorizer };
  const events = log.mock.calls.map(([line]) => (JSON.parse(String(line)) as { event: string }).event);
  log.mockRestore();
  return { handler, events };
}

const allowsStage = { policyDocument: { Statement: [{ Effect: "Allow", Resource: [STAGE_WILDCARD] }] } };

describe("the built authorizer at a cold start", () => {
  it("has the key set when its import resolves, and answers its first event with no further fetch", async () => {
    const before = { ...issuer.hits };
    const { handler, events } = await coldStart({ AUTHGEAR_ENDPOINT: issuer.origin });
    expect(events).toEqual(["keyset_refreshed"]);
    expect(issuer.hits.discovery - before.discovery).toBe(1);
    expect(issuer.hits.jwks - before.jwks).toBe(1);
    const token = await issuer.mintAccessToken({ sub: "alice" });
    expect(await handler(tokenEvent(`Bearer ${token}`))).toMatchObject({ principalId: "alice", ...allowsStage });
    expect(issuer.hits.discovery - before.discovery).toBe(1);
    expect(issuer.hits.jwks - before.jwks).toBe(1);
  });

  it("survives an unreachable issuer at init, and its first event fetches again once the issuer is up", async () => {
    const port = await freePort();
    const { handler, events } = await coldStart({ AUTHGEAR_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(events).toEqual(["keyset_refresh_failed"]);
    const late = await startDevIssuer({ port });
    try {
      const token = await late.mintAccessToken({ sub: "bob" });
      // Within the 5 s a failed request-time fetch would hold every request at 503.
      expect(await handler(tokenEvent(`Bearer ${token}`))).toMatchObject({ principalId: "bob", ...allowsStage });
      expect(late.hits.discovery).toBe(1);
    } finally {
      await late.close();
    }
  });

  it("fetches nothing with a bad configuration, and answers its events as before (503)", async () => {
    const before = { ...issuer.hits };
    const { handler, events } = await coldStart({ AUTHGEAR_ENDPOINT: issuer.origin, ALGORITHMS: "HS256" });
    expect(events).toEqual(["config_invalid"]);
    const token = await issuer.mintAccessToken();
    await expect(handler(tokenEvent(`Bearer ${token}`))).rejects.toThrow(/^Service Unavailable$/);
    expect(issuer.hits).toEqual(before);
  });
});

describe("prefetchKeys per mode", () => {
  let second: DevIssuer;
  beforeAll(async () => {
    second = await startDevIssuer();
  });
  afterAll(() => second.close());

  function recording(): { fetcher: Fetcher; fetched: string[] } {
    const fetched: string[] = [];
    return {
      fetched,
      fetcher: (url, init) => {
        fetched.push(url);
        return fetch(url, init);
      },
    };
  }

  it("fetches each issuer's key set in jwt and hybrid modes", async () => {
    const issuers = JSON.stringify([{ issuer: issuer.origin }, { issuer: second.origin }]);
    for (const mode of ["jwt", "hybrid"]) {
      const { fetcher, fetched } = recording();
      const env = { ISSUERS: issuers, AUTH_MODE: mode, AUTHORIZER_CACHE_SECONDS: "0" };
      const handler = createHandler({
        env,
        fetcher,
        logger: {
          log() {
            /* quiet */
          },
        },
      });
      expect(await handler.prefetchKeys(5000)).toBe(true);
      expect([...fetched].sort()).toEqual(
        [
          `${issuer.origin}/.well-known/openid-configuration`,
          issuer.jwksUri,
          `${second.origin}/.well-known/openid-configuration`,
          second.jwksUri,
        ].sort(),
      );
    }
  });

  it("fetches nothing in resolver mode, which needs no keys for cookies and opaque tokens", async () => {
    const { fetcher, fetched } = recording();
    const env = { AUTHGEAR_ENDPOINT: issuer.origin, AUTH_MODE: "resolver", AUTHORIZER_CACHE_SECONDS: "0" };
    const handler = createHandler({
      env,
      fetcher,
      logger: {
        log() {
          /* quiet */
        },
      },
    });
    await handler.prefetchKeys(5000);
    expect(fetched).toEqual([]);
  });

  it("stops waiting after its budget, and the first event joins the fetch still under way", async () => {
    const { fetcher, fetched } = recording();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: Fetcher = async (url, init) => {
      await held;
      return fetcher(url, init);
    };
    const env = { AUTHGEAR_ENDPOINT: issuer.origin };
    const handler = createHandler({
      env,
      fetcher: slow,
      logger: {
        log() {
          /* quiet */
        },
      },
    });
    expect(await handler.prefetchKeys(1)).toBe(false);
    const answer = handler(tokenEvent(`Bearer ${await issuer.mintAccessToken({ sub: "carol" })}`));
    release();
    expect(await answer).toMatchObject({ principalId: "carol", ...allowsStage });
    expect(fetched).toEqual([`${issuer.origin}/.well-known/openid-configuration`, issuer.jwksUri]);
  });
});
