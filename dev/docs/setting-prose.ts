/**
 * What each setting means, keyed by its name: the one place the configuration reference's prose
 * lives (dev/docs/generate.ts renders docs/configuration.md from it and the settings schemas). Kept
 * out of src/ so that no bundle carries it. Links are relative to docs/.
 */

export interface SettingProse {
  /** What the setting does, in Markdown on one line. */
  readonly meaning: string;
  /**
   * What an unset setting means when its schema has no default to show (required, derived from
   * other settings, or simply off); default "unset".
   */
  readonly whenUnset?: string;
}

export const SETTING_PROSE: Readonly<Record<string, SettingProse>> = {
  AUTHGEAR_ENDPOINT: {
    meaning:
      "the Authgear endpoint **origin** (`https://myapp.authgear.cloud`, or your custom domain); http only for " +
      "loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`); no path, query, fragment or credentials. It is also " +
      "the `iss` every token must carry. Any OpenID Connect issuer whose issuer is an origin works (set `AUDIENCE` " +
      "and `ALGORITHMS` for it); keys always come from its discovery document's `jwks_uri`",
    whenUnset: "required, unless `ISSUERS` is set (never both)",
  },
  ISSUERS: {
    meaning:
      "several trusted issuers instead of `AUTHGEAR_ENDPOINT`: a JSON array (in code, also an array) of 1–16 " +
      "entries `{issuer, audiences, " +
      "resources, clientIds, algorithms, clientMarks, jwksUri}` (only `issuer` is required; `AUDIENCE`, " +
      "`RESOURCES` and `ALLOWED_CLIENT_IDS` are then refused as settings). A token's `iss` picks its issuer " +
      "exactly, before anything is fetched. The first is the primary issuer (its resolver, the realm); " +
      "`AUTH_MODE=resolver` takes one. See [issuers.md](issuers.md)",
  },
  AUTH_MODE: {
    meaning:
      "`jwt`: verify JWT access tokens locally; `resolver`: every credential goes to Authgear's resolver (a JWT " +
      "after a local check); `hybrid`: a JWT locally, session cookies and opaque tokens through the resolver. " +
      "See [resolver.md](resolver.md)",
  },
  AUDIENCE: {
    meaning: "accepted audiences, comma-separated: a user's token's `aud` must contain one",
    whenUnset: "the endpoint origin (what Authgear puts in `aud`)",
  },
  ALLOWED_CLIENT_IDS: {
    meaning: "accepted `client_id` values, comma-separated: a token without an allowed `client_id` is refused",
    whenUnset: "any client",
  },
  RESOURCES: {
    meaning:
      "the API's resource URIs (RFC 8707), comma-separated: a machine client's token (client-credentials grant) " +
      "must have one in `aud`, compared exactly. See [machine-tokens.md](machine-tokens.md)",
    whenUnset: "none: every machine client's token is refused",
  },
  ALGORITHMS: {
    meaning:
      "accepted JWS algorithms, comma-separated, from `RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 " +
      "EdDSA Ed25519`; `HS*` and `none` are never accepted",
  },
  CLOCK_TOLERANCE_SECONDS: {
    meaning: "leeway for `exp`, `nbf` and `iat`",
  },
  JWT_COOKIE_NAME: {
    meaning:
      "a cookie that carries a JWT access token (one your application sets); the `Authorization` header wins " +
      "over it ([request.md](request.md#credentials))",
    whenUnset: "no cookie is read in JWT mode",
  },
  PUBLIC_PATHS: {
    meaning:
      "comma-separated paths served without authentication: `/healthz` (exact) or `/public/*` (subtree); how " +
      "they match: [request.md](request.md#public-paths-match-narrowly). The authorizer reads the path of the " +
      "method ARN (TOKEN events included)",
  },
  REPORT_ONLY: {
    meaning:
      "`true`: every request is decided as when enforcing; one that would be refused is logged (`would_refuse`) " +
      "and let through without any identity. See [operations.md](operations.md#rolling-out-report-only-first)",
  },
  LOG_DECISIONS: {
    meaning:
      "`true`: every decision is logged with the user id, allowed requests too (`request_allowed`); off by " +
      "default, since a line per request costs log volume and names users",
  },
  LOG_LEVEL: {
    meaning:
      "the least severe log lines written: `error` (traffic refused because something is broken), `warn` " +
      "(degraded: a stale key set, ignored keys or settings, `would_refuse`), `info` (the rest, 4xx refusals " +
      "among them), `debug` (as `info` today). See [operations.md](operations.md#logs)",
  },
  JWKS_MAX_AGE_SECONDS: {
    meaning:
      "a key set younger than this is used without any fetch; the kid-miss cooldown is the smaller of 30 s and " +
      "this ([authentication.md](authentication.md#the-key-set))",
  },
  JWKS_STALE_SECONDS: {
    meaning: "how long past its max age a key set keeps serving while refreshes fail",
  },
  ROUTES: {
    meaning:
      "JSON route rules (in code, also an array): what an authenticated caller needs on a route beyond a " +
      "valid token. See " +
      "[route-rules.md](route-rules.md)",
  },
  CLAIM_HEADERS: {
    meaning:
      'claims of the verified JWT sent to the origin in headers you name: `{"x-user-email": "email"}`, at most 32 ' +
      "entries, custom claims included; the authorizer puts them in its context (`claimXUserEmail`). Refused " +
      "with `AUTH_MODE=resolver`. See [claim-headers.md](claim-headers.md)",
  },
  METHOD_OVERRIDE: {
    meaning:
      "whether the origin may serve a request as another method (`_method`, `X-HTTP-Method-Override`): `any` " +
      "decides every request but a `GET` as every method; `none` (an origin that honours no override) decides " +
      "each as its own method. See [method-override.md](method-override.md)",
  },
  RESOLVER_URL: {
    meaning:
      "the resolver endpoint; its host is the `Host` Authgear sees, which selects the project (use your custom " +
      "domain if you have one)",
    whenUnset: "`<endpoint>/_resolver/resolve`",
  },
  RESOLVER_CACHE_SECONDS: {
    meaning:
      "how long a valid resolver verdict is reused: also the longest a logout, revocation, disabled user or role " +
      "change can go unseen. 0 asks the resolver on every request; negative verdicts are kept at most 5 s",
  },
  RESOLVER_TIMEOUT_MS: {
    meaning: "deadline of one resolver call, in milliseconds; past it the request gets a 503",
  },
  WEBSOCKET_QUERY_TOKEN: {
    meaning:
      "the query parameter (1–64 letters, digits, `.`, `_`, `~`, `-`; say `access_token`) a WebSocket upgrade may " +
      "carry its token in, for a client that can " +
      "set neither a header nor a subprotocol; read on upgrades only, and removed from the URL the Worker " +
      "forwards. A URL lands in logs: prefer the `Sec-WebSocket-Protocol` entry. See [websockets.md](websockets.md)",
    whenUnset: "an upgrade whose query holds `access_token` is refused (400)",
  },
  RESOLVER_COOKIE_PREFIX: {
    meaning:
      "your Authgear project's cookie prefix (`http.cookie_prefix`): the cookies read and sent to the resolver " +
      "become `<prefix>app_session`, `<prefix>app_access_token` and `<prefix>session`; RFC 6265 token characters " +
      "([resolver.md](resolver.md#cookie-prefix))",
    whenUnset: "no prefix",
  },
  ASSERTION_KEY: {
    meaning:
      "a **secret**: the private JWK (EC P-256 for ES256, P-384 for ES384, or OKP Ed25519 for EdDSA; a `kid` " +
      "required) the gate signs the " +
      "[signed identity assertion](assertion.md) with; `npm run assertion-key` makes one. On a Worker also a " +
      "Secrets Store binding",
    whenUnset: "no assertion",
  },
  ASSERTION_ISSUER: {
    meaning: "the assertion's `iss`, an https URL (http for loopback), kept as written; required with `ASSERTION_KEY`",
  },
  ASSERTION_AUDIENCE: {
    meaning: "the assertion's `aud` (the origin, e.g. its URL); required with `ASSERTION_KEY`",
  },
  ASSERTION_LIFETIME_SECONDS: {
    meaning:
      "the longest an assertion lives (never past the access token's `exp`); the authorizer's " +
      "`AUTHORIZER_CACHE_SECONDS` must be at most half of it",
  },
  ORIGIN_URL: {
    meaning:
      "the origin's base URL (`https://origin.example.com`, optionally with a base path); the request's path and " +
      "query are appended",
    whenUnset: "the request goes on to its own URL (a Worker on a route in front of the origin)",
  },
  LOGIN_URL: {
    meaning:
      "a browser navigation (`GET` with `Accept: text/html`) that needs a login is redirected here (302, with " +
      "`return_to`) instead of a bare 401; https, or http for loopback",
    whenUnset: "a 401",
  },
  CORS_ALLOWED_ORIGINS: {
    meaning:
      "exact browser origins (comma-separated; no path, no `*`) whose cross-origin calls the gate answers CORS for, " +
      "its own refusals included; `serverless.yml` reads it for API Gateway's CORS. See [browsers.md](browsers.md)",
  },
  FORWARD_AUTHORIZATION: {
    meaning:
      "`false` removes the client's `Authorization` header (and the `JWT_COOKIE_NAME` cookie) once checked; " +
      "`true` passes it on so the origin can call other APIs with the token",
  },
  SERVER_TIMING: {
    meaning:
      '`true` appends `Server-Timing: authgear-edge;desc="<outcome>";dur=<ms>` to every response (the refusal ' +
      "code, `authenticated` or `public`, and the gate's time): for debugging " +
      "(it tells every client why it was refused, and costs a copy of each response)",
  },
  ORIGIN_SECRET: {
    meaning:
      "a **secret** (`wrangler secret put ORIGIN_SECRET`), 32–512 printable characters, sent to the origin on every " +
      "forwarded request so it can refuse traffic that bypassed the gate; never logged. See " +
      "[operations.md](operations.md#a-locked-origin)",
  },
  ORIGIN_SECRET_HEADER: {
    meaning: "the header `ORIGIN_SECRET` travels in; any copy a client sends, in any spelling, is removed",
  },
  ASSERTION_SECOND_KEY: {
    meaning:
      "a second JWK (public or private, its own `kid`), published in the Worker's JWKS but never used to sign: " +
      "the next key before a switch, the previous one after ([assertion.md](assertion.md#rotating-the-key))",
  },
  ASSERTION_HEADER: {
    meaning:
      "the header the assertion travels in; any copy a client sends is removed. The authorizer puts the assertion " +
      "in its context as `edgeAssertion` instead",
  },
  HTTP_API_RESPONSE: {
    meaning:
      "how HTTP API (payload 2.0) events are answered: `simple` (`{isAuthorized, context}`; set " +
      "`enableSimpleResponses`) or `iam` (a policy)",
  },
  AUTHORIZER_CACHE_SECONDS: {
    meaning:
      "the TTL API Gateway caches the authorizer's answer for (`resultTtlInSeconds`; `serverless.yml` takes both " +
      "from this one value); every answer is compiled to stay right that long on every route; 0: no cache. See " +
      "[authorizer.md](authorizer.md#route-rules-under-api-gateways-cache)",
  },
  METRICS: {
    meaning:
      "`emf` prints one CloudWatch Embedded Metric Format line per invocation ([worker.md](worker.md#metrics) " +
      "gives the Worker's equivalent); `off` prints none",
  },
  SECRET_ARN: {
    meaning:
      "Lambda@Edge: the full ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`) of " +
      "the AWS Secrets Manager secret that holds the settings `SECRET_SETTINGS` names, so that none is baked into " +
      "the code; fetched once per container ([lambda-edge.md](lambda-edge.md#secrets))",
    whenUnset: "nothing is fetched",
  },
  SECRET_SETTINGS: {
    meaning:
      "the settings the secret `SECRET_ARN` holds, comma-separated: any of `ORIGIN_SECRET`, `ASSERTION_KEY`, " +
      "`ASSERTION_SECOND_KEY`; a setting named here must not also be baked in",
    whenUnset: "required with `SECRET_ARN`, refused without it",
  },
};
