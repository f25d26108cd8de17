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
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { createHandler } from "../../src/aws/create-handler.ts";
import { startWorker } from "../cloudflare/miniflare.ts";
import { ATTACKS, LEGITIMATE } from "./differential-cases.ts";
import { createAuthorizerLane, sendRaw, throughWorker, type AuthorizerLane, type Tokens } from "./differential-lanes.ts";
import { PEOPLE, REPORTS_SCOPE, RULES, violation } from "./differential-oracle.ts";
import { FRAMEWORKS, readServed, startFramework, type RunningOrigin, type Served } from "./differential-origins.ts";
import { attackRequests, describeRequest, targetOf, type AttackRequest } from "./differential-requests.ts";

/** Generated requests per framework per lane on every `npm test`. */
export const CASES_PER_FRAMEWORK = 60;
const ROLES_CLAIM = "https://authgear.com/claims/user/roles";
const ROUTES = JSON.stringify(RULES);

let issuer: DevIssuer;
let tokens: Tokens;
let uncached: AuthorizerLane;
let cached: AuthorizerLane;

beforeAll(async () => {
  issuer = await startDevIssuer();
  const mint = async (sub: keyof typeof PEOPLE) => {
    const person = PEOPLE[sub];
    const scope = ["openid", ...person.scopes].join(" ");
    return issuer.mintAccessToken({ sub, claims: { [ROLES_CLAIM]: [...person.roles], scope } });
  };
  tokens = { bob: await mint("bob"), carol: await mint("carol"), alice: await mint("alice") };
  const settings = { AUTHGEAR_ENDPOINT: issuer.origin, ROUTES, HTTP_API_RESPONSE: "iam" };
  const quiet = { log: () => undefined };
  uncached = createAuthorizerLane(createHandler({ env: { ...settings, AUTHORIZER_CACHE_SECONDS: "0" }, logger: quiet }), tokens, false);
  cached = createAuthorizerLane(createHandler({ env: { ...settings, AUTHORIZER_CACHE_SECONDS: "300" }, logger: quiet }), tokens, true);
  expect(PEOPLE.alice.scopes).toContain(REPORTS_SCOPE);
});
afterAll(async () => {
  await issuer.close();
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
    mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ROUTES }, 1, []);
    gate = (await mf.ready).origin;
  }, 30_000);
  afterAll(async () => {
    await mf.dispose();
    await origin.close();
  });

  const viaWorker = (request: AttackRequest) => throughWorker(gate, request, tokens, readServed);

  it(`serves nothing the rules refuse, through the Worker (${CASES_PER_FRAMEWORK} generated requests)`, async () => {
    let served = 0;
    await fc.assert(
      fc.asyncProperty(attackRequests, async (request) => {
        const answer = await viaWorker(request);
        if (answer !== undefined) served++;
        expectAllowed(answer, request, "Worker", true);
      }),
      { numRuns: CASES_PER_FRAMEWORK },
    );
    expect(served).toBeGreaterThan(CASES_PER_FRAMEWORK / 5);
  }, 60_000);

  it(`serves nothing the rules refuse, through the authorizer with its cache off and on (${CASES_PER_FRAMEWORK} generated requests)`, async () => {
    let served = 0;
    await fc.assert(
      fc.asyncProperty(attackRequests, async (request) => {
        const [off, on] = [await uncached.serve(origin.url, request, readServed), await cached.serve(origin.url, request, readServed)];
        if (off !== undefined) served++;
        expectAllowed(off, request, "authorizer, cache off", false);
        expectAllowed(on, request, "authorizer, cache on", false);
      }),
      { numRuns: CASES_PER_FRAMEWORK },
    );
    expect(served).toBeGreaterThan(CASES_PER_FRAMEWORK / 5);
  }, 60_000);

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
      expectAllowed(await uncached.serve(origin.url, request, readServed), request, "authorizer, cache off", false);
      expectAllowed(await cached.serve(origin.url, request, readServed), request, "authorizer, cache on", false);
    });
  });

  it.each(LEGITIMATE)("serves $name through the Worker and the authorizer", async ({ request, served }) => {
    const expected = { route: served.route, method: served.method, user: request.who };
    expect(await viaWorker(request), "Worker").toMatchObject(expected);
    expect(await uncached.serve(origin.url, request, readServed), "authorizer, cache off").toMatchObject(expected);
    expect(await cached.serve(origin.url, request, readServed), "authorizer, cache on").toMatchObject(expected);
  });
});
