/**
 * The JWKS fetched beside discovery (key-set.ts): at the URI discovery named last, else Authgear's
 * `<issuer>/oauth2/jwks`, and used only when discovery names that URI. Against a staged issuer on
 * loopback whose discovery answer can be held back until a given key-set request has arrived: a
 * refresh that fetched the two one after the other would never see its discovery answer (and fail at
 * the fetch deadline). Its keys are the dev issuer's, whose tokens are minted naming the staged issuer.
 */
import type { ServerResponse } from "node:http";
import { generateKeyPair, exportJWK, SignJWT, type JWK } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { listenOnLoopback, type LoopbackServer } from "../../dev/loopback-server.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { harness, outcome, type Harness } from "../helpers.ts";

const DISCOVERY = "/.well-known/openid-configuration";
/** Where Authgear publishes the JWKS, hence the first guess (docs/authgear-contract.md §1). */
const PREDICTED = "/oauth2/jwks";
/** Where this issuer's discovery may say the keys are instead, as another OpenID provider's would. */
const ELSEWHERE = "/keys";

/** What the predicted path answers. */
type Predicted = "keys" | "forged" | "404" | "not-json" | "hang";

interface Staged {
  readonly url: string;
  /** Requests per path, counted on arrival. */
  readonly hits: Map<string, number>;
  /** The order in which requests arrived and discovery answers left. */
  readonly events: string[];
  /** The `jwks_uri` path discovery names. */
  named: string;
  /** The `issuer` discovery names; default the staged origin. */
  discoveryIssuer: string | undefined;
  predicted: Predicted;
  /** Holds the next discovery answer until a new request for `path` has arrived. */
  holdDiscoveryUntil(path: string): void;
  /** Predicted-path requests whose connection went away unanswered (`hang`). */
  readonly abandoned: number;
}

let devIssuer: DevIssuer;
let server: LoopbackServer;
let staged: Staged;
/** The dev issuer's key set, which `ELSEWHERE` (and `PREDICTED` with "keys") serves. */
let realJwks: string;
/** A key set that would verify `forgedToken`: the attacker's key under the dev issuer's kid. */
let forgedJwks: string;
let attackerKey: CryptoKey;

beforeAll(async () => {
  devIssuer = await startDevIssuer();
  realJwks = await (await fetch(devIssuer.jwksUri)).text();
  const attacker = await generateKeyPair("RS256", { extractable: true });
  attackerKey = attacker.privateKey;
  const forged: JWK = { ...(await exportJWK(attacker.publicKey)), kid: devIssuer.signingKid, alg: "RS256", use: "sig" };
  forgedJwks = JSON.stringify({ keys: [forged] });
  staged = await startStaged();
});
afterAll(async () => {
  await Promise.all([server.close(), devIssuer.close()]);
});

let rejections: unknown[] = [];
const onRejection = (reason: unknown): void => {
  rejections.push(reason);
};
beforeAll(() => process.on("unhandledRejection", onRejection));
afterAll(() => process.off("unhandledRejection", onRejection));
afterEach(() => {
  expect(rejections).toEqual([]);
  rejections = [];
});

async function startStaged(): Promise<Staged> {
  const hits = new Map<string, number>();
  const events: string[] = [];
  let hold: { readonly path: string; readonly after: number } | undefined;
  let waiting: Array<() => void> = [];
  let abandoned = 0;
  const count = (path: string): number => hits.get(path) ?? 0;
  const json = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  };
  const state: Omit<Staged, "url"> = {
    hits,
    events,
    named: PREDICTED,
    discoveryIssuer: undefined,
    predicted: "keys",
    holdDiscoveryUntil(path) {
      hold = { path, after: count(path) };
    },
    get abandoned() {
      return abandoned;
    },
  };
  server = await listenOnLoopback("staged issuer", 0, async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(path, count(path) + 1);
    events.push(`request ${path}`);
    for (const wake of waiting) wake();
    waiting = [];
    if (path === DISCOVERY) {
      const held = hold;
      hold = undefined;
      // Bounded by the gate's fetch deadline: it gives up, and `close()` ends the socket.
      while (held !== undefined && count(held.path) <= held.after) {
        await new Promise<void>((wake) => waiting.push(wake));
      }
      events.push("discovery answered");
      const issuer = state.discoveryIssuer ?? server.url;
      json(res, 200, JSON.stringify({ issuer, jwks_uri: `${server.url}${state.named}` }));
    } else if (path === ELSEWHERE) {
      json(res, 200, realJwks);
    } else if (path === PREDICTED) {
      switch (state.predicted) {
        case "keys":
          json(res, 200, realJwks);
          return;
        case "forged":
          json(res, 200, forgedJwks);
          return;
        case "404":
          json(res, 404, JSON.stringify({ error: "not_found" }));
          return;
        case "not-json":
          json(res, 200, "{not json");
          return;
        case "hang":
          res.on("close", () => {
            abandoned += 1;
          });
      }
    } else {
      json(res, 404, "{}");
    }
  });
  return Object.assign(state, { url: server.url });
}

/** A fresh authenticator for the staged issuer, and the staged issuer reset. */
function fresh(named: string, predicted: Predicted): Harness {
  staged.hits.clear();
  staged.events.length = 0;
  staged.named = named;
  staged.predicted = predicted;
  staged.discoveryIssuer = undefined;
  return harness(devIssuer, { AUTHGEAR_ENDPOINT: staged.url });
}

const genuineToken = (): Promise<string> =>
  devIssuer.mintAccessToken({ claims: { iss: staged.url, aud: [staged.url] } });

/** Signed by the attacker's key, under the dev issuer's kid: verifies only with `forgedJwks`. */
async function forgedToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: staged.url,
    aud: [staged.url],
    sub: "mallory",
    client_id: "dev-client",
    iat: now,
    exp: now + 600,
  };
  const header = { alg: "RS256", typ: "at+jwt", kid: devIssuer.signingKid };
  return new SignJWT(claims).setProtectedHeader(header).sign(attackerKey);
}

const hitsOf = (...paths: string[]): number[] => paths.map((path) => staged.hits.get(path) ?? 0);

describe("the JWKS fetched beside discovery", () => {
  it("overlaps the two requests: discovery answers only once the predicted key-set request has arrived", async () => {
    const h = fresh(PREDICTED, "keys");
    staged.holdDiscoveryUntil(PREDICTED);
    expect(await outcome(h, await genuineToken())).toBe("ok");
    expect(staged.events).toEqual([`request ${DISCOVERY}`, `request ${PREDICTED}`, "discovery answered"]);
    expect(hitsOf(DISCOVERY, PREDICTED, ELSEWHERE)).toEqual([1, 1, 0]);
    expect(h.fetched).toEqual([`${staged.url}${DISCOVERY}`, `${staged.url}${PREDICTED}`]);
  });

  it("never uses keys from a URI discovery did not name: the predicted set's forged key verifies nothing", async () => {
    const h = fresh(ELSEWHERE, "forged");
    staged.holdDiscoveryUntil(PREDICTED);
    expect(await outcome(h, await forgedToken())).toBe("ERR_JWT_SIGNATURE");
    expect(await outcome(h, await genuineToken())).toBe("ok");
    expect(hitsOf(DISCOVERY, PREDICTED, ELSEWHERE)).toEqual([1, 1, 1]);
    // The named URI is fetched after discovery answered: the guess was fetched, and dropped.
    expect(staged.events.indexOf(`request ${ELSEWHERE}`)).toBeGreaterThan(staged.events.indexOf("discovery answered"));
  });

  it("refetches with the URI discovery named last: one request each, again side by side", async () => {
    const h = fresh(ELSEWHERE, "404");
    expect(await outcome(h, await genuineToken())).toBe("ok");
    expect(hitsOf(DISCOVERY, PREDICTED, ELSEWHERE)).toEqual([1, 1, 1]);
    h.advance(301);
    staged.holdDiscoveryUntil(ELSEWHERE);
    // Past the max age: served from the copy while the background refresh runs.
    expect(await outcome(h, await genuineToken())).toBe("ok");
    await h.settle();
    expect(h.logs.filter((line) => line.event === "keyset_refreshed")).toHaveLength(2);
    expect(hitsOf(DISCOVERY, PREDICTED, ELSEWHERE)).toEqual([2, 1, 2]);
    expect(staged.events.slice(-3)).toEqual([`request ${DISCOVERY}`, `request ${ELSEWHERE}`, "discovery answered"]);
  });

  it.each([
    ["answers 404", "404"],
    ["answers a body that is not JSON", "not-json"],
    ["never answers (its fetch times out)", "hang"],
  ] as const)("succeeds with the named URI when the predicted one %s", async (_name, predicted) => {
    const h = fresh(ELSEWHERE, predicted);
    expect(await outcome(h, await genuineToken())).toBe("ok");
    expect(hitsOf(DISCOVERY, PREDICTED, ELSEWHERE)).toEqual([1, 1, 1]);
    expect(h.logs.map((line) => line.event)).toEqual(["keyset_refreshed"]);
    if (predicted === "hang") {
      // Its deadline passes after the refresh; its failure must not surface as an unhandled rejection (afterEach).
      await vi.waitFor(
        () => {
          expect(staged.abandoned).toBeGreaterThan(0);
        },
        { timeout: 5000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it("fails as a failed JWKS fetch when discovery names the predicted URI and its fetch failed", async () => {
    const h = fresh(PREDICTED, "404");
    expect(await outcome(h, await genuineToken())).toBe("ERR_KEYSET_UNAVAILABLE");
    expect(hitsOf(DISCOVERY, PREDICTED)).toEqual([1, 1]);
    expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toEqual({
      event: "keyset_refresh_failed",
      reason: "answered HTTP 404",
      url: `${staged.url}${PREDICTED}`,
      serving_stale: false,
    });
  });

  it("keeps discovery authoritative: a wrong discovery issuer fails the refresh, the predicted set good", async () => {
    const h = fresh(PREDICTED, "keys");
    staged.discoveryIssuer = "https://evil.example.com";
    staged.holdDiscoveryUntil(PREDICTED);
    expect(await outcome(h, await genuineToken())).toBe("ERR_KEYSET_UNAVAILABLE");
    expect(hitsOf(DISCOVERY, PREDICTED)).toEqual([1, 1]);
    expect(h.logs.find((line) => line.event === "keyset_refresh_failed")).toMatchObject({
      reason: expect.stringMatching(/^discovery issuer "https:\/\/evil\.example\.com" does not equal /) as unknown,
      url: `${staged.url}${DISCOVERY}`,
    });
  });
});
