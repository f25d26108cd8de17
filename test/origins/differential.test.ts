/**
 * Differential, property-based: real frameworks are the oracle of what an origin serves. Generated
 * requests (test/origins/differential-requests.ts: every method and an unknown one, paths in the
 * spellings of the path tests, override headers, `_method` under keys PHP rewrites, bodies of every
 * media type) go to each framework (test/origins/frameworks.ts) through the built Worker in workerd
 * and, as API Gateway would hand them over, through the authorizer with its cache off and on.
 * Whenever a framework served route R with method M to identity I, the README's route rules allow
 * I for M on R (test/origins/differential-oracle.ts). Named cases: each class of issue 18's table
 * against the frameworks that honour it, and legitimate requests that must be served.
 */
import fc from "fast-check";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../cloudflare/miniflare.ts";
import { ATTACKS, COUNTEREXAMPLES, LEGITIMATE } from "./differential-cases.ts";
import { sendRaw, throughWorker } from "./differential-lanes.ts";
import { violation } from "./differential-oracle.ts";
import { createWorld, type World } from "./differential-world.ts";
import { FRAMEWORKS, readServed, startFramework, type RunningOrigin, type Served } from "./frameworks.ts";
import { attackRequests, describeRequest, cacheCovers, cachedAttackRequests, targetOf, type AttackRequest } from "./differential-requests.ts";

/**
 * Generated requests per framework on every `npm test`: through the Worker, and through the
 * authorizer with its cache off and again with it on (a refused request costs the authorizer lanes
 * no round trip, so they run more). A run asserts at least a tenth of them on a request a framework
 * served to someone a rule could refuse (not alice, who meets every rule).
 */
export const WORKER_CASES = 300;
export const AUTHORIZER_CASES = 1000;

let world: World;

beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world.close();
});

function expectAllowed(served: Served | undefined, request: AttackRequest, lane: string, preflightsForwarded: boolean): void {
  if (served === undefined) return;
  const reason = violation(served.route, served.method, served.user, preflightsForwarded);
  expect(reason, `${lane}: ${describeRequest(request)} -> ${reason ?? ""} (path ${served.path})`).toBeUndefined();
}

describe.each(FRAMEWORKS)("%s behind the gate", (name) => {
  let origin: RunningOrigin;
  let mf: Miniflare;
  let gate: string;

  beforeAll(async () => {
    origin = await startFramework(name);
    mf = startWorker(world.workerBindings(origin.url), 1, []);
    gate = (await mf.ready).origin;
  }, 30_000);
  afterAll(async () => {
    await mf.dispose();
    await origin.close();
  });

  const viaWorker = (request: AttackRequest) => throughWorker(gate, request, world.tokens, readServed);

  it(`serves nothing the rules refuse, through the Worker (${WORKER_CASES} generated requests)`, async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(attackRequests, async (request) => {
        const answer = await viaWorker(request);
        if (answer !== undefined && request.who !== "alice") checked++;
        expectAllowed(answer, request, "Worker", true);
      }),
      { numRuns: WORKER_CASES },
    );
    expect(checked).toBeGreaterThan(WORKER_CASES / 10);
  }, 60_000);

  // With the cache on, only what a cached answer is documented to decide right (cacheCovers).
  for (const [lane, requests] of [["cache off", attackRequests], ["cache on", cachedAttackRequests]] as const) {
    it(`serves nothing the rules refuse, through the authorizer with its ${lane} (${AUTHORIZER_CASES} generated requests)`, async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(requests, async (request) => {
          const answer = await world.authorizer[lane].serve(origin.url, request, readServed);
          if (answer !== undefined && request.who !== "alice") checked++;
          expectAllowed(answer, request, `authorizer, ${lane}`, false);
        }),
        { numRuns: AUTHORIZER_CASES },
      );
      expect(checked).toBeGreaterThan(AUTHORIZER_CASES / 20);
    }, 60_000);
  }

  describe.each(ATTACKS.filter((attack) => attack.honouredBy.includes(name)))("$name", ({ request }) => {
    it("is honoured by the framework reached directly", async () => {
      const identity: Array<readonly [string, string]> = request.who === "anonymous" ? [] : [["x-authgear-user-id", request.who]];
      const answer = await sendRaw(origin.url, request.method, targetOf(request), [...request.headers, ...identity], request.body);
      const served = readServed(answer.headers);
      expect(served && violation(served.route, served.method, served.user, true), describeRequest(request)).toBeDefined();
    });

    it("is not served so through the Worker", async () => {
      expectAllowed(await viaWorker(request), request, "Worker", true);
    });

    it("is not served so through the authorizer, cache off and on", async () => {
      expectAllowed(await world.authorizer["cache off"].serve(origin.url, request, readServed), request, "authorizer, cache off", false);
      if (!cacheCovers(request)) return;
      expectAllowed(await world.authorizer["cache on"].serve(origin.url, request, readServed), request, "authorizer, cache on", false);
    });
  });

  it.each(COUNTEREXAMPLES)("serves nothing the rules refuse for a kept counterexample ($found)", async ({ request }) => {
    expectAllowed(await viaWorker(request), request, "Worker", true);
    expectAllowed(await world.authorizer["cache off"].serve(origin.url, request, readServed), request, "authorizer, cache off", false);
    if (cacheCovers(request)) {
      expectAllowed(await world.authorizer["cache on"].serve(origin.url, request, readServed), request, "authorizer, cache on", false);
    }
  });

  it.each(LEGITIMATE)("serves $name through the Worker and the authorizer", async ({ request, served }) => {
    const expected = { route: served.route, method: served.method, user: request.who };
    expect(await viaWorker(request), "Worker").toMatchObject(expected);
    expect(await world.authorizer["cache off"].serve(origin.url, request, readServed), "authorizer, cache off").toMatchObject(expected);
    expect(await world.authorizer["cache on"].serve(origin.url, request, readServed), "authorizer, cache on").toMatchObject(expected);
  });
});
