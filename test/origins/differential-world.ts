/**
 * The setting every differential test shares: the dev issuer, one token per person, the authorizer
 * with its cache off and on.
 */
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { createHandler } from "../../src/aws/create-handler.ts";
import { createAuthorizerLane, type AuthorizerLane, type Tokens } from "./differential-lanes.ts";
import { PEOPLE, RULES } from "./differential-oracle.ts";

const ROLES_CLAIM = "https://authgear.com/claims/user/roles";
/** `ROUTES` of the Worker and the authorizer. */
export const ROUTES = JSON.stringify(RULES);
/** API Gateway's default `resultTtlInSeconds`. */
const CACHE_SECONDS = "300";

export type AuthorizerMode = "cache off" | "cache on";
/** `METHOD_OVERRIDE`: `any` before frameworks as they are by default, `none` before them with overriding off. */
export type OverrideMode = "any" | "none";

export interface World {
  readonly issuer: DevIssuer;
  readonly tokens: Tokens;
  readonly authorizer: Readonly<Record<AuthorizerMode, AuthorizerLane>>;
  /** The Worker's bindings in front of `originUrl`. */
  workerBindings(originUrl: string): Record<string, string>;
  close(): Promise<void>;
}

export async function createWorld(mode: OverrideMode): Promise<World> {
  const issuer = await startDevIssuer();
  const mint = (sub: keyof typeof PEOPLE) => {
    const person = PEOPLE[sub];
    const scope = ["openid", ...person.scopes].join(" ");
    return issuer.mintAccessToken({ sub, claims: { [ROLES_CLAIM]: [...person.roles], scope } });
  };
  const tokens: Tokens = { bob: await mint("bob"), carol: await mint("carol"), alice: await mint("alice") };
  // `iam`: a simple response cannot carry ROUTES with the cache on (a start-up error says so).
  const settings = { AUTHGEAR_ENDPOINT: issuer.origin, ROUTES, METHOD_OVERRIDE: mode, HTTP_API_RESPONSE: "iam" };
  const quiet = { log: () => undefined };
  const lane = (seconds: string) => {
    const handler = createHandler({ env: { ...settings, AUTHORIZER_CACHE_SECONDS: seconds }, logger: quiet });
    return createAuthorizerLane(handler, tokens, seconds !== "0");
  };
  return {
    issuer,
    tokens,
    authorizer: { "cache off": lane("0"), "cache on": lane(CACHE_SECONDS) },
    workerBindings: (ORIGIN_URL) => ({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL, ROUTES, METHOD_OVERRIDE: mode }),
    close: () => issuer.close(),
  };
}
