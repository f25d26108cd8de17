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
import { sendRaw, throughWorker, type HeaderLines } from "./differential-lanes.ts";
import { violation } from "./differential-oracle.ts";
import { cacheCovers, type AttackRequest } from "./differential-requests.ts";
import { attackRequests, cachedAttackRequests, describeRequest, targetOf } from "./differential-requests.ts";
import { createWorld, type World } from "./differential-world.ts";
import { FRAMEWORKS, readServed, startFramework, type RunningOrigin, type Served } from "./frameworks.ts";

/**
 * Generated requests per framework on every `npm test`: through the Worker, and through the
 * authorizer with its cache off and again with it on (a refused request costs the authorizer lanes
 * no round trip, so they run more). A run must assert on enough of them: requests a framework
 * served to someone a rule could refuse (not alice, who meets every rule).
 */
export const WORKER_CASES = 300;
export const AUTHORIZER_CASES = 1000;

type Lane = "Worker" | "cache off" | "cache on";

let world: World;

beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world.close();
});

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

  /** What the framework served for `request` through `lane` (`undefined`: refused before it). */
  function through(lane: Lane, request: AttackRequest): Promise<Served | undefined> {
    if (lane === "Worker") return throughWorker(gate, request, world.tokens, readServed);
    return world.authorizer[lane].serve(origin.url, request, readServed);
  }

  /** Sends `request` through `lane` and asserts the rules allow what was served; whether something was. */
  async function expectAllowed(lane: Lane, request: AttackRequest): Promise<boolean> {
    const served = await through(lane, request);
    if (served === undefined) return false;
    // Only the Worker forwards a CORS preflight without credentials.
    const reason = violation(served.route, served.method, served.user, lane === "Worker");
    expect(reason, `${lane}: ${describeRequest(request)} -> ${reason ?? ""} (path ${served.path})`).toBeUndefined();
    return true;
  }

  // With the cache on, only what a cached answer is documented to decide right (cacheCovers).
  const properties = [
    { lane: "Worker", requests: attackRequests, runs: WORKER_CASES, floor: WORKER_CASES / 10 },
    { lane: "cache off", requests: attackRequests, runs: AUTHORIZER_CASES, floor: AUTHORIZER_CASES / 20 },
    { lane: "cache on", requests: cachedAttackRequests, runs: AUTHORIZER_CASES, floor: AUTHORIZER_CASES / 20 },
  ] as const;
  it.each(properties)("serves nothing the rules refuse through $lane ($runs generated requests)", async (property) => {
    let asserted = 0;
    await fc.assert(
      fc.asyncProperty(property.requests, async (request) => {
        const served = await expectAllowed(property.lane, request);
        if (served && request.who !== "alice") asserted++;
      }),
      { numRuns: property.runs },
    );
    expect(asserted).toBeGreaterThan(property.floor);
  }, 60_000);

  describe.each(ATTACKS.filter((attack) => attack.honouredBy.includes(name)))("$name", ({ request }) => {
    it("is honoured by the framework reached directly", async () => {
      const identity: HeaderLines = request.who === "anonymous" ? [] : [["x-authgear-user-id", request.who]];
      const headers = [...request.headers, ...identity];
      const answer = await sendRaw(origin.url, request.method, targetOf(request), headers, request.body);
      const served = readServed(answer.headers);
      const reason = served && violation(served.route, served.method, served.user, true);
      expect(reason, describeRequest(request)).toBeDefined();
    });

    it("is not served so through the Worker", async () => {
      await expectAllowed("Worker", request);
    });

    it("is not served so through the authorizer, cache off and on", async () => {
      await expectAllowed("cache off", request);
      if (cacheCovers(request)) await expectAllowed("cache on", request);
    });
  });

  it.each(COUNTEREXAMPLES)("serves nothing the rules refuse for the counterexample of $found", async ({ request }) => {
    await expectAllowed("Worker", request);
    await expectAllowed("cache off", request);
    if (cacheCovers(request)) await expectAllowed("cache on", request);
  });

  it.each(LEGITIMATE)("serves $name through the Worker and the authorizer", async ({ request, served }) => {
    const expected = { route: served.route, method: served.method, user: request.who };
    for (const lane of ["Worker", "cache off", "cache on"] as const) {
      expect(await through(lane, request), lane).toMatchObject(expected);
    }
  });
});
