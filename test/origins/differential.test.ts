/**
 * Differential, property-based: real frameworks are the oracle of what an origin serves. Generated
 * requests (test/origins/differential-requests.ts: every method and an unknown one, paths in the
 * spellings of the path tests, override headers, `_method` under keys PHP rewrites, bodies of every
 * media type) go to each framework (test/origins/frameworks.ts) through the built Worker in workerd
 * and, as API Gateway would hand them over, through the authorizer with its cache off and on:
 * under `METHOD_OVERRIDE=any` to the frameworks as they are by default, under `none` to the same
 * frameworks with overriding switched off as docs/method-override.md says. Whenever a framework
 * served route R with method M to identity I, I is the caller and the README's route rules allow I
 * for M on R (test/origins/differential-oracle.ts). Named cases: each class of issue 18's table against the
 * frameworks that honour it, every counterexample found, and legitimate requests that must be served.
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
import { createWorld, type OverrideMode, type World } from "./differential-world.ts";
import { FRAMEWORKS, readServed, startFramework } from "./frameworks.ts";
import type { RunningOrigin, Served } from "./frameworks.ts";

/**
 * Generated requests per framework on every `npm test`: through the Worker, and through the
 * authorizer with its cache off and again with it on (a refused request costs the authorizer lanes
 * no round trip, so they run more); fewer under `none`, where no framework honours a channel. A run
 * must assert on enough of them: requests a framework served to someone a rule could refuse (not
 * alice, who meets every rule).
 */
export const CASES: Readonly<Record<OverrideMode, { readonly worker: number; readonly authorizer: number }>> = {
  any: { worker: 300, authorizer: 1000 },
  none: { worker: 150, authorizer: 400 },
};

type Lane = "Worker" | "cache off" | "cache on";

describe.each(["any", "none"] as const)("METHOD_OVERRIDE=%s", (mode) => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld(mode);
  });
  afterAll(async () => {
    await world.close();
  });

  describe.each(FRAMEWORKS)("%s behind the gate", (name) => {
    let origin: RunningOrigin;
    let mf: Miniflare;
    let gate: string;

    beforeAll(async () => {
      origin = await startFramework(name, { methodOverride: mode === "any" ? "on" : "off" });
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

    /** Sends `request` through `lane`; asserts it was served to its caller and the rules allow that; whether it was. */
    async function expectAllowed(lane: Lane, request: AttackRequest): Promise<boolean> {
      const served = await through(lane, request);
      if (served === undefined) return false;
      const message = `${lane}: ${describeRequest(request)} -> ${JSON.stringify(served)}`;
      expect(served.user, message).toBe(request.who === "anonymous" ? undefined : request.who);
      // Only the Worker forwards a CORS preflight without credentials.
      const reason = violation(served.route, served.method, served.user, lane === "Worker");
      expect(reason, `${message}: ${reason ?? ""}`).toBeUndefined();
      return true;
    }

    // With the cache on, only what a cached answer is documented to decide right (cacheCovers).
    const { worker, authorizer } = CASES[mode];
    const properties = [
      { lane: "Worker", requests: attackRequests, runs: worker, floor: worker / 10 },
      { lane: "cache off", requests: attackRequests, runs: authorizer, floor: authorizer / 20 },
      { lane: "cache on", requests: cachedAttackRequests(mode), runs: authorizer, floor: authorizer / 20 },
    ] as const;
    it.each(properties)(
      "serves nothing the rules refuse through $lane ($runs requests)",
      async (property) => {
        let asserted = 0;
        await fc.assert(
          fc.asyncProperty(property.requests, async (request) => {
            const served = await expectAllowed(property.lane, request);
            if (served && request.who !== "alice") asserted++;
          }),
          { numRuns: property.runs },
        );
        expect(asserted).toBeGreaterThan(property.floor);
      },
      60_000,
    );

    const attacks = ATTACKS.filter((attack) => attack.mode === mode && attack.honouredBy.includes(name));
    describe.each(attacks)("$name", ({ request }) => {
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
        if (cacheCovers(request, mode)) await expectAllowed("cache on", request);
      });
    });

    it.each(COUNTEREXAMPLES)("serves nothing the rules refuse for the counterexample of $found", async (kept) => {
      const { request } = kept;
      await expectAllowed("Worker", request);
      await expectAllowed("cache off", request);
      if (cacheCovers(request, mode)) await expectAllowed("cache on", request);
    });

    it.each(LEGITIMATE.filter((legitimate) => legitimate.modes.includes(mode)))(
      "serves $name through the Worker and the authorizer",
      async ({ request, served }) => {
        const expected = { route: served.route, method: served.method, user: request.who };
        for (const lane of ["Worker", "cache off", "cache on"] as const) {
          expect(await through(lane, request), lane).toMatchObject(expected);
        }
      },
    );
  });
});
