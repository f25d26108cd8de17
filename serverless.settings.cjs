/**
 * Checks for serverless.yml (`${file(./serverless.settings.cjs):<name>}`): settings API Gateway
 * would reject, or the authorizer would refuse at start-up (every request a 503), stop
 * `serverless package`/`deploy` with the reason, instead of being deployed.
 */
"use strict";

/** API Gateway's largest `resultTtlInSeconds` for a Lambda authorizer. */
const MAX_TTL_SECONDS = 3600;

module.exports = {
  /**
   * `custom.authorizerCacheSeconds`: `custom.authorizerCacheSetting` (AUTHORIZER_CACHE_SECONDS, or
   * the default per AUTH_MODE) as a number of seconds, 0 to 3600, and 0 whenever cookie credentials
   * or REPORT_ONLY are on, as the authorizer requires.
   */
  async authorizerCacheSeconds({ resolveVariable }) {
    const value = String(await resolveVariable("self:custom.authorizerCacheSetting")).trim();
    if (!/^\d{1,9}$/.test(value) || Number(value) > MAX_TTL_SECONDS) {
      throw new Error(
        `AUTHORIZER_CACHE_SECONDS=${JSON.stringify(value)}: must be a whole number of seconds from 0 to ${MAX_TTL_SECONDS} (API Gateway's largest authorizer result TTL)`,
      );
    }
    const ttl = Number(value);
    if (ttl === 0) return ttl;
    const setting = async (name) => String((await resolveVariable(`self:provider.environment.${name}`)) ?? "");
    const mode = await setting("AUTH_MODE");
    if (mode === "resolver" || mode === "hybrid" || (await setting("JWT_COOKIE_NAME")) !== "") {
      throw new Error(
        `AUTHORIZER_CACHE_SECONDS=${ttl}: cookie credentials (JWT_COOKIE_NAME, AUTH_MODE=resolver or hybrid) cannot be cached safely, and the authorizer refuses to start with them under a cache; set AUTHORIZER_CACHE_SECONDS=0`,
      );
    }
    if ((await setting("REPORT_ONLY")) === "true") {
      throw new Error(
        `AUTHORIZER_CACHE_SECONDS=${ttl}: REPORT_ONLY=true needs the authorizer cache off (API Gateway answers 401 itself to a request without the identity source); set AUTHORIZER_CACHE_SECONDS=0`,
      );
    }
    return ttl;
  },
};
