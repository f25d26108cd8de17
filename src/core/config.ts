/**
 * The configuration: one valibot schema over the string record that Worker `[vars]`/secrets and
 * the Lambda environment both provide. Everything derived from it (issuer, audiences, discovery
 * and resolver URLs) is computed here, once. Unknown keys are ignored (a Lambda environment holds
 * many); empty strings count as unset.
 */
import * as v from "valibot";
import { AuthError } from "./errors.ts";
import { isPathPattern, PATH_PATTERN_MESSAGE } from "./paths.ts";
import { RESOLVER_COOKIES } from "./resolver.ts";
import { routesSchema, type RouteRule } from "./routes.ts";

/** Asymmetric JWS algorithms the core can verify. `HS*` and `none` are not in this list, ever. */
export const SUPPORTED_ALGORITHMS = [
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const AUTH_MODES = ["jwt", "resolver", "hybrid"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Largest accepted `CLOCK_TOLERANCE_SECONDS`: leeway beyond five minutes hides a broken clock. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/** Default `RESOLVER_CACHE_SECONDS`: how long a resolver verdict is reused. */
export const DEFAULT_RESOLVER_CACHE_SECONDS = 60;
/** Default `RESOLVER_TIMEOUT_MS`: the deadline of one resolver call. */
export const DEFAULT_RESOLVER_TIMEOUT_MS = 3000;
/** Default `JWKS_MAX_AGE_SECONDS`: a key set younger than this is used without any fetch. */
export const DEFAULT_JWKS_MAX_AGE_SECONDS = 300;
/** Default `AUTHORIZER_CACHE_SECONDS`: API Gateway's default `resultTtlInSeconds`. */
export const DEFAULT_AUTHORIZER_CACHE_SECONDS = 300;
/** Default `JWKS_STALE_SECONDS`: how long past its max age a key set still serves when refreshes fail. */
export const DEFAULT_JWKS_STALE_SECONDS = 3600;

export interface Config {
  /** The endpoint origin, `scheme://host[:port]`; also the issuer every token must carry. */
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly authMode: AuthMode;
  /** A token's `aud` must contain one of these. */
  readonly audiences: readonly string[];
  /** When set, a token's `client_id` must be one of these. */
  readonly allowedClientIds: ReadonlySet<string> | undefined;
  readonly algorithms: readonly Algorithm[];
  readonly clockToleranceSeconds: number;
  readonly jwtCookieName: string | undefined;
  readonly publicPaths: readonly string[];
  /** `ROUTES`, in order; see routes.ts. */
  readonly routes: readonly RouteRule[];
  readonly originUrl: string | undefined;
  /** Worker: where a browser navigation that needs a login is redirected; unset = a bare 401. */
  readonly loginUrl: string | undefined;
  /** Worker: browser origins whose cross-origin calls the gate answers CORS for; empty = the gate adds nothing. */
  readonly corsAllowedOrigins: ReadonlySet<string>;
  /** Worker: whether the origin still receives the `Authorization` header. */
  readonly forwardAuthorization: boolean;
  /** Worker: whether responses carry `Server-Timing` (the gate's outcome and duration); off by default. */
  readonly serverTiming: boolean;
  /** Worker: the shared secret sent to the origin on every forwarded request, and the header it goes in. */
  readonly originSecret: { readonly header: string; readonly value: string } | undefined;
  /** Both: refusals are logged and reported to the origin, but the request proceeds (a rollout mode). */
  readonly reportOnly: boolean;
  /** Both: every decision is logged with the user id (allowed requests too); off by default. */
  readonly logDecisions: boolean;
  /** Lambda authorizer: `emf` prints one CloudWatch Embedded Metric Format line per invocation. */
  readonly metrics: "emf" | "off";
  readonly resolverUrl: string;
  readonly resolverCacheSeconds: number;
  readonly resolverTimeoutMs: number;
  /**
   * `RESOLVER_COOKIE_PREFIX` (Authgear's `http.cookie_prefix`), `""` when unset: prepended to each
   * name of `RESOLVER_COOKIES`.
   */
  readonly resolverCookiePrefix: string;
  /** The cookies read and sent to the resolver: the prefixed `RESOLVER_COOKIES`, in their order of precedence. */
  readonly resolverCookies: readonly string[];
  /** Lambda authorizer: how HTTP API (payload 2.0) events are answered. */
  readonly httpApiResponse: "simple" | "iam";
  /** Lambda authorizer: API Gateway's `resultTtlInSeconds`; every answer must stay right that long. */
  readonly authorizerCacheSeconds: number;
  readonly jwksMaxAgeSeconds: number;
  readonly jwksStaleSeconds: number;
  /** The `realm` of every challenge: the first accepted audience. */
  readonly realm: string;
}

/** Raised once for a bad configuration; `message` names every bad key. */
export class ConfigError extends AuthError {
  readonly keys: readonly string[];

  constructor(problems: ReadonlyMap<string, string>) {
    const keys = [...problems.keys()];
    const detail = keys.map((key) => `${key}: ${problems.get(key) ?? ""}`).join("; ");
    super("ERR_CONFIG_INVALID", `Invalid configuration (${keys.join(", ")}). ${detail}`);
    this.keys = keys;
  }
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;
/** RFC 6265 §4.1.1 cookie-name: an RFC 9110 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Longest accepted `RESOLVER_COOKIE_PREFIX`; a whole name (`<prefix>app_access_token`) then has at most 80. */
export const MAX_COOKIE_PREFIX_LENGTH = 64;
/** An RFC 9110 field name: a token. */
const HEADER_NAME = COOKIE_NAME;
/** Default `ORIGIN_SECRET_HEADER`; `x-authgear-*`, so any copy a client sends is stripped with the identity headers. */
export const DEFAULT_ORIGIN_SECRET_HEADER = "x-authgear-edge-secret";
const RESERVED_SECRET_HEADERS = new Set(["authorization", "cookie", "host", "content-length", "content-type", "transfer-encoding", "connection", "origin"]);

function parseUrl(raw: string): URL | string {
  if (!URL.canParse(raw)) return "is not an absolute URL";
  const url = new URL(raw);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname))) {
    return "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])";
  }
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  if (url.hash !== "" || raw.includes("#")) return "must not contain a fragment";
  return url;
}

/** An absolute https URL (http for loopback hosts), without credentials or fragment. */
function secureUrl() {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const url = parseUrl(dataset.value);
      if (typeof url === "string") {
        addIssue({ message: url });
        return NEVER;
      }
      return url.href;
    }),
  );
}

/** A whole number of seconds within [min, max], from its decimal spelling. */
function seconds(min: number, max: number) {
  const message = `must be a whole number of seconds from ${min} to ${max}`;
  return v.pipe(v.string(), v.regex(/^\d{1,9}$/, message), v.transform(Number), v.minValue(min, message), v.maxValue(max, message));
}

function flag() {
  return v.pipe(v.picklist(["true", "false"], "must be true or false"), v.transform((value) => value === "true"));
}

function list(raw: string): string[] {
  return raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

const schema = v.object({
  AUTHGEAR_ENDPOINT: v.pipe(
    v.string("is required"),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const url = parseUrl(dataset.value);
      if (typeof url === "string") {
        addIssue({ message: url });
        return NEVER;
      }
      if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || dataset.value.includes("?")) {
        addIssue({ message: "must be an origin (scheme://host[:port]) without a path or query" });
        return NEVER;
      }
      return url.origin;
    }),
  ),
  AUTH_MODE: v.optional(v.picklist(AUTH_MODES, `must be one of ${AUTH_MODES.join(", ")}`), "jwt"),
  AUDIENCE: v.optional(v.pipe(v.string(), v.transform(list), v.minLength(1, "must name at least one audience"))),
  ALLOWED_CLIENT_IDS: v.optional(
    v.pipe(v.string(), v.transform(list), v.minLength(1, "must name at least one client id, or be unset to accept any")),
  ),
  ALGORITHMS: v.optional(
    v.pipe(
      v.string(),
      v.transform(list),
      v.minLength(1, "must name at least one algorithm"),
      v.check(
        (algs) => algs.every((alg) => (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)),
        `must be a comma-separated subset of ${SUPPORTED_ALGORITHMS.join(", ")} (symmetric algorithms and none are never accepted)`,
      ),
      v.transform((algs) => [...new Set(algs)] as Algorithm[]),
    ),
    "RS256",
  ),
  CLOCK_TOLERANCE_SECONDS: v.optional(seconds(0, MAX_CLOCK_TOLERANCE_SECONDS), "0"),
  JWT_COOKIE_NAME: v.optional(v.pipe(v.string(), v.regex(COOKIE_NAME, "must be a cookie name (an RFC 6265 token)"))),
  PUBLIC_PATHS: v.optional(
    v.pipe(
      v.string(),
      v.transform(list),
      v.check((patterns) => patterns.every(isPathPattern), `each comma-separated entry ${PATH_PATTERN_MESSAGE}`),
    ),
    "",
  ),
  FORWARD_AUTHORIZATION: v.optional(flag(), "true"),
  SERVER_TIMING: v.optional(flag(), "false"),
  REPORT_ONLY: v.optional(flag(), "false"),
  LOG_DECISIONS: v.optional(flag(), "false"),
  METRICS: v.optional(v.picklist(["emf", "off"], "must be emf or off"), "off"),
  // The value is never echoed: a message names the key and the rule only.
  ORIGIN_SECRET: v.optional(v.pipe(v.string(), v.regex(/^[\x21-\x7e]{32,512}$/, "must be 32 to 512 printable ASCII characters without spaces (a random secret, e.g. `openssl rand -hex 32`)"))),
  ORIGIN_SECRET_HEADER: v.optional(
    v.pipe(
      v.string(),
      v.regex(HEADER_NAME, "must be a header name (an RFC 9110 token)"),
      v.transform((name) => name.toLowerCase()),
      v.check((name) => !RESERVED_SECRET_HEADERS.has(name), "must not be a header the client or the gate already uses (authorization, cookie, host, ...)"),
    ),
    DEFAULT_ORIGIN_SECRET_HEADER,
  ),
  HTTP_API_RESPONSE: v.optional(v.picklist(["simple", "iam"], "must be simple or iam"), "simple"),
  AUTHORIZER_CACHE_SECONDS: v.optional(seconds(0, 3600), String(DEFAULT_AUTHORIZER_CACHE_SECONDS)),
  JWKS_MAX_AGE_SECONDS: v.optional(seconds(1, 86_400), String(DEFAULT_JWKS_MAX_AGE_SECONDS)),
  JWKS_STALE_SECONDS: v.optional(seconds(0, 86_400), String(DEFAULT_JWKS_STALE_SECONDS)),
  ROUTES: v.optional(routesSchema, "[]"),
  ORIGIN_URL: v.optional(
    v.pipe(
      v.string(),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        if (!URL.canParse(dataset.value)) {
          addIssue({ message: "is not an absolute URL" });
          return NEVER;
        }
        const url = new URL(dataset.value);
        if (url.protocol !== "https:" && url.protocol !== "http:") {
          addIssue({ message: "must be an http or https URL" });
          return NEVER;
        }
        if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
          addIssue({ message: "must not contain a query, fragment or credentials" });
          return NEVER;
        }
        return url.href.replace(/\/$/, "");
      }),
    ),
  ),
  LOGIN_URL: v.optional(secureUrl()),
  CORS_ALLOWED_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.transform(list),
      v.check(
        (origins) => origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin)),
        "each comma-separated entry must be an exact origin, scheme://host[:port] (no path, no trailing slash, no *)",
      ),
    ),
    "",
  ),
  RESOLVER_URL: v.optional(secureUrl()),
  RESOLVER_CACHE_SECONDS: v.optional(seconds(0, 3600), String(DEFAULT_RESOLVER_CACHE_SECONDS)),
  RESOLVER_TIMEOUT_MS: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,6}$/, "must be a whole number of milliseconds from 100 to 30000"), v.transform(Number), v.minValue(100, "must be at least 100"), v.maxValue(30_000, "must be at most 30000")),
    String(DEFAULT_RESOLVER_TIMEOUT_MS),
  ),
  // No default: unset (or empty) means no prefix, Authgear's own default.
  RESOLVER_COOKIE_PREFIX: v.optional(
    v.pipe(
      v.string(),
      v.regex(COOKIE_NAME, "must be a cookie-name prefix: RFC 6265 token characters only (letters, digits and !#$%&'*+-.^_`|~; no space, `=`, `;`, `,` or quote)"),
      v.maxLength(MAX_COOKIE_PREFIX_LENGTH, `must be at most ${MAX_COOKIE_PREFIX_LENGTH} characters`),
    ),
  ),
});

export type SettingName = keyof typeof schema.entries;

/**
 * Every setting's name, in the schema's order: the names of the README's "Configuration" table,
 * read from the Worker's vars and secrets and from the Lambda's environment.
 */
export const SETTING_NAMES = /* @__PURE__ */ Object.keys(schema.entries) as readonly SettingName[];

/**
 * A setting's default as it would be spelled in the environment (`"jwt"`, `"300"`, `""` for an
 * empty list), or `undefined` when it has none: required, unset, or derived from other settings.
 */
export function settingDefault(name: SettingName): string | undefined {
  const fallback: unknown = v.getDefault(schema.entries[name]);
  return typeof fallback === "string" ? fallback : undefined;
}

/** Levenshtein distance, capped: `limit + 1` as soon as it exceeds `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/**
 * Names in `env` that are not settings but look like one (`PUBLIC_PATH`, `JWKS_MAX_AGE`,
 * `routes`): same first word as a setting, and at most two edits from it or a prefix of it. Each
 * with the setting it resembles, to be warned about once: unknown names are otherwise ignored (a
 * Lambda environment holds many).
 */
export function lookalikeSettings(env: Readonly<Record<string, unknown>>): Array<readonly [string, SettingName]> {
  const found: Array<readonly [string, SettingName]> = [];
  for (const name of Object.keys(env)) {
    if ((SETTING_NAMES as readonly string[]).includes(name)) continue;
    const upper = name.toUpperCase().replace(/[-.]/g, "_");
    const word = upper.split("_", 1)[0];
    const match = SETTING_NAMES.find(
      (setting) => setting.split("_", 1)[0] === word && (setting === upper || setting.startsWith(upper) || distance(upper, setting, 2) <= 2),
    );
    if (match !== undefined) found.push([name, match]);
  }
  return found;
}

/**
 * Parses and validates the configuration once. Throws a `ConfigError` naming every bad key; a
 * packaging keeps that error and answers every request with it, so nothing is ever let through.
 */
export function parseConfig(env: Readonly<Record<string, unknown>>): Config {
  const input: Record<string, unknown> = {};
  for (const key of SETTING_NAMES) {
    const value = env[key];
    input[key] = typeof value === "string" && value.trim() === "" ? undefined : typeof value === "string" ? value.trim() : value;
  }
  const result = v.safeParse(schema, input);
  if (!result.success) {
    const problems = new Map<string, string>();
    for (const issue of result.issues) {
      // The setting is the first path segment; deeper segments (ROUTES' rules) locate the problem within it.
      const [setting, ...inner] = (v.getDotPath(issue) ?? "configuration").split(".");
      const key = setting ?? "configuration";
      const where = inner.length === 0 ? "" : `rule ${inner.join(".")}: `;
      if (!problems.has(key)) problems.set(key, `${where}${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const env2 = result.output;
  const issuer = env2.AUTHGEAR_ENDPOINT;
  const audiences = env2.AUDIENCE ?? [issuer];
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    authMode: env2.AUTH_MODE,
    audiences,
    allowedClientIds: env2.ALLOWED_CLIENT_IDS && new Set(env2.ALLOWED_CLIENT_IDS),
    algorithms: env2.ALGORITHMS,
    clockToleranceSeconds: env2.CLOCK_TOLERANCE_SECONDS,
    jwtCookieName: env2.JWT_COOKIE_NAME,
    publicPaths: env2.PUBLIC_PATHS,
    routes: env2.ROUTES,
    originUrl: env2.ORIGIN_URL,
    forwardAuthorization: env2.FORWARD_AUTHORIZATION,
    serverTiming: env2.SERVER_TIMING,
    originSecret: env2.ORIGIN_SECRET === undefined ? undefined : { header: env2.ORIGIN_SECRET_HEADER, value: env2.ORIGIN_SECRET },
    reportOnly: env2.REPORT_ONLY,
    logDecisions: env2.LOG_DECISIONS,
    metrics: env2.METRICS,
    loginUrl: env2.LOGIN_URL,
    corsAllowedOrigins: new Set(env2.CORS_ALLOWED_ORIGINS),
    resolverUrl: env2.RESOLVER_URL ?? `${issuer}/_resolver/resolve`,
    resolverCacheSeconds: env2.RESOLVER_CACHE_SECONDS,
    resolverTimeoutMs: env2.RESOLVER_TIMEOUT_MS,
    resolverCookiePrefix: env2.RESOLVER_COOKIE_PREFIX ?? "",
    resolverCookies: RESOLVER_COOKIES.map((name) => `${env2.RESOLVER_COOKIE_PREFIX ?? ""}${name}`),
    httpApiResponse: env2.HTTP_API_RESPONSE,
    authorizerCacheSeconds: env2.AUTHORIZER_CACHE_SECONDS,
    jwksMaxAgeSeconds: env2.JWKS_MAX_AGE_SECONDS,
    jwksStaleSeconds: env2.JWKS_STALE_SECONDS,
    realm: audiences[0] ?? issuer,
  };
}
