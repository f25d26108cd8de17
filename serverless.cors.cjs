/**
 * API Gateway's CORS configuration for serverless.yml, from CORS_ALLOWED_ORIGINS: the Worker's
 * setting, with the Worker's rule (exact origins, `scheme://host[:port]`, comma-separated; no
 * path, no `*`, no `null`). Unset or empty: no CORS anywhere, as in the Worker. Serverless
 * variables can neither split a list nor branch, so serverless.yml reads each value here
 * (`${file(./serverless.cors.cjs):<name>}`); a bad value stops `serverless package`/`deploy`.
 */
"use strict";

const REQUEST_HEADERS = ["Authorization", "Content-Type"];
/** What a page must read of a refusal: the challenge (refresh the token or log in again) and when to retry. */
const EXPOSED_HEADERS = ["WWW-Authenticate", "Retry-After"];
/** Seconds a browser may reuse a preflight answer, as the Worker's. */
const MAX_AGE = 600;

function allowedOrigins() {
  const raw = (process.env.CORS_ALLOWED_ORIGINS || "").trim();
  if (raw === "") return [];
  const origins = raw.split(",").map((origin) => origin.trim());
  const bad = origins.filter(
    (origin) => !(URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin)),
  );
  if (bad.length > 0) {
    throw new Error(
      `CORS_ALLOWED_ORIGINS: ${bad.map((origin) => JSON.stringify(origin)).join(", ")}: each comma-separated entry must be an exact origin, scheme://host[:port] (no path, no trailing slash, no *)`,
    );
  }
  return origins;
}

const origins = allowedOrigins();
const on = origins.length > 0;

module.exports = {
  /** For the CloudFormation condition `CorsAllowed` of the gateway responses. */
  enabled: String(on),
  /** `provider.httpApi.cors`: API Gateway answers preflights and adds the grant for each listed origin. */
  httpApi: on && {
    allowedOrigins: origins,
    allowedHeaders: REQUEST_HEADERS,
    allowCredentials: true,
    exposedResponseHeaders: EXPOSED_HEADERS,
    maxAge: MAX_AGE,
  },
  /** `cors` of a REST `http` event: an OPTIONS method (MOCK) answering the listed origins' preflights. */
  rest: on && { origins, headers: REQUEST_HEADERS, allowCredentials: true, maxAge: MAX_AGE },
  /**
   * The REST gateway responses' `Access-Control-Allow-Origin`: one static value (a gateway response
   * cannot choose among origins, and mapping the request's Origin would grant every origin), so
   * the REST API takes one origin. Read only when CORS is on.
   */
  restGatewayOrigin() {
    if (origins.length > 1) {
      throw new Error(
        `CORS_ALLOWED_ORIGINS names ${origins.length} origins, but the REST API's gateway responses (its 401/403/503) can name only one: list one origin, or remove the REST API (the \`http\` events) and keep the HTTP API, whose CORS configuration matches each origin`,
      );
    }
    return `'${origins[0] || ""}'`;
  },
};
