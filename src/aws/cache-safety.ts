/**
 * Settings API Gateway cannot carry out safely, refused at start-up rather than found in
 * production. API Gateway reuses an authorizer's answer for every request with the same identity
 * source, on every route, for `resultTtlInSeconds` (`AUTHORIZER_CACHE_SECONDS`); with caching off
 * (0) every request is decided on its own and none of this applies.
 */
import { ruleOverlapsPublicPath } from "../core/index.ts";
import type { LambdaConfig } from "./config.ts";

/**
 * Seconds between the decision and the moment API Gateway starts counting the TTL (the Lambda's
 * answer in flight): a cached answer is made to hold for `AUTHORIZER_CACHE_SECONDS` plus this.
 */
export const CACHE_MARGIN_SECONDS = 1;

/** How long the authorizer's answers are reused, in seconds: 0 when API Gateway does not cache. */
export function answerLifetime(config: LambdaConfig): number {
  return config.authorizerCacheSeconds === 0 ? 0 : config.authorizerCacheSeconds + CACHE_MARGIN_SECONDS;
}

/** Each setting that cannot be used with the authorizer cache, with why and what to do instead. */
export function cacheSafetyProblems(config: LambdaConfig): ReadonlyMap<string, string> {
  const problems = new Map<string, string>();
  const ttl = config.authorizerCacheSeconds;
  if (ttl === 0) return problems;
  const off = "or AUTHORIZER_CACHE_SECONDS=0 (no authorizer cache)";
  if (config.httpApiResponse === "simple" && (config.routes.length > 0 || config.publicPaths.length > 0)) {
    problems.set(
      "HTTP_API_RESPONSE",
      `a simple response is one verdict for one route, which API Gateway reuses for every route for ${ttl} s, so it cannot carry ROUTES or PUBLIC_PATHS: set HTTP_API_RESPONSE=iam (and enableSimpleResponses: false), ${off}`,
    );
  }
  if (config.jwtCookieName !== undefined || config.authMode !== "jwt") {
    problems.set(
      "AUTHORIZER_CACHE_SECONDS",
      `cookie credentials (JWT_COOKIE_NAME, AUTH_MODE=resolver or hybrid) cannot be cached safely: API Gateway keys the cache on identity sources, and a cached answer for a cookie could be served to a request that carries the same Authorization header, or the same Cookie header with another bearer token; set AUTHORIZER_CACHE_SECONDS=0`,
    );
  }
  if (config.reportOnly) {
    problems.set(
      "REPORT_ONLY",
      `with the authorizer cache on, API Gateway answers 401 itself to a request without the identity source (the authorizer never sees it, so it cannot let it through), and reuses one answer for every route for ${ttl} s; roll out with AUTHORIZER_CACHE_SECONDS=0, then turn the cache on when enforcing`,
    );
  }
  if (config.assertion !== undefined && ttl * 2 > config.assertion.lifetimeSeconds) {
    const { lifetimeSeconds } = config.assertion;
    problems.set(
      "AUTHORIZER_CACHE_SECONDS",
      `API Gateway hands a cached context, and the signed assertion in it, to requests for ${ttl} s, which ` +
        `must be at most half of ASSERTION_LIFETIME_SECONDS (${lifetimeSeconds}) so that the assertion outlives ` +
        `the cache: lower AUTHORIZER_CACHE_SECONDS (and resultTtlInSeconds) to ` +
        `${Math.floor(lifetimeSeconds / 2)} or less`,
    );
  }
  const overlaps = config.publicPaths.flatMap((pattern) =>
    config.routes.flatMap((rule, index) =>
      ruleOverlapsPublicPath(rule.path, pattern) ? [`${pattern} overlaps rule ${index} (${rule.path})`] : [],
    ),
  );
  if (overlaps.length > 0) {
    problems.set(
      "PUBLIC_PATHS",
      `${overlaps.join(", ")}: a cached policy cannot exempt a public path from a rule that covers it, nor apply a rule to a path that is public; leave the public route without an authorizer in API Gateway (and out of PUBLIC_PATHS), ${off}`,
    );
  }
  const lifetime = answerLifetime(config);
  const tooShort = config.routes.flatMap((rule, index) =>
    rule.maxAuthAge !== undefined && rule.maxAuthAge < lifetime
      ? [`rule ${index} has maxAuthAge ${rule.maxAuthAge}`]
      : [],
  );
  if (tooShort.length > 0) {
    problems.set(
      "ROUTES",
      `${tooShort.join(", ")}, shorter than the ${lifetime} s a cached policy must hold (AUTHORIZER_CACHE_SECONDS + ${CACHE_MARGIN_SECONDS}): no cached policy could ever allow such a route; raise maxAuthAge, or lower AUTHORIZER_CACHE_SECONDS`,
    );
  }
  return problems;
}
