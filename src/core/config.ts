/**
 * The core's settings, read by every packaging: one valibot entry per setting, and the
 * configuration built from their values, computed here once (issuer, audiences, discovery and
 * resolver URLs). A packaging extends them with its own (src/cloudflare/config.ts,
 * src/aws/config.ts); `Config` is what the core itself reads.
 */
import * as v from "valibot";
import { algorithmList, type Algorithm } from "./algorithms.ts";
import { claimHeadersSchema, createClaimHeaders } from "./claim-headers.ts";
import { issuerConfig, issuersSchema, resourceSchema, type IssuerConfig } from "./issuers.ts";
import { isPathPattern, PATH_PATTERN_MESSAGE } from "./paths.ts";
import { METHOD_OVERRIDE_MODES } from "./overrides.ts";
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, writes, type LogLevel } from "./ports.ts";
import { RESOLVER_COOKIES } from "./resolver.ts";
import { routesSchema, type RouteRule } from "./routes.ts";
import { flagSetting, listSetting, secondsSetting, textOrNumber, TOKEN_PATTERN } from "./setting-schemas.ts";
import { defineSettings, settingsRecord, type ConfigOf, type EnvSettings, type SettingsInput } from "./settings.ts";
import { urlSetting } from "./url-setting.ts";
import { QUERY_PARAMETER_PATTERN } from "./websocket.ts";

export { SUPPORTED_ALGORITHMS, type Algorithm } from "./algorithms.ts";

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
/** Default `JWKS_STALE_SECONDS`: how long past its max age a key set still serves when refreshes fail. */
export const DEFAULT_JWKS_STALE_SECONDS = 3600;

/** Longest accepted `RESOLVER_COOKIE_PREFIX`; a whole name (`<prefix>app_access_token`) then has at most 80. */
export const MAX_COOKIE_PREFIX_LENGTH = 64;

/** The settings every packaging reads, and the configuration the core builds from them. */
export const CORE_SETTINGS = /* @__PURE__ */ defineSettings(
  {
    // Required unless ISSUERS is set (`issuerProblems`).
    AUTHGEAR_ENDPOINT: v.optional(urlSetting({ http: "loopback", form: "origin" })),
    ISSUERS: v.optional(issuersSchema),
    AUTH_MODE: v.optional(v.picklist(AUTH_MODES, `must be one of ${AUTH_MODES.join(", ")}`), "jwt"),
    AUDIENCE: v.optional(v.pipe(listSetting(), v.minLength(1, "must name at least one audience"))),
    ALLOWED_CLIENT_IDS: v.optional(
      v.pipe(
        listSetting(),
        v.minLength(1, "must name at least one client id, or be unset to accept any"),
        v.transform((ids): ReadonlySet<string> => new Set(ids)),
      ),
    ),
    RESOURCES: v.optional(v.pipe(listSetting(), v.minLength(1), v.array(resourceSchema))),
    ALGORITHMS: v.optional(v.pipe(listSetting(), algorithmList()), "RS256"),
    CLOCK_TOLERANCE_SECONDS: v.optional(secondsSetting(0, MAX_CLOCK_TOLERANCE_SECONDS), "0"),
    JWT_COOKIE_NAME: v.optional(
      v.pipe(v.string(), v.regex(TOKEN_PATTERN, "must be a cookie name (an RFC 6265 token)")),
    ),
    PUBLIC_PATHS: v.optional(
      v.pipe(
        listSetting(),
        v.check((patterns) => patterns.every(isPathPattern), `each comma-separated entry ${PATH_PATTERN_MESSAGE}`),
      ),
      "",
    ),
    REPORT_ONLY: v.optional(flagSetting(), "false"),
    LOG_DECISIONS: v.optional(flagSetting(), "false"),
    LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`), DEFAULT_LOG_LEVEL),
    JWKS_MAX_AGE_SECONDS: v.optional(secondsSetting(1, 86_400), String(DEFAULT_JWKS_MAX_AGE_SECONDS)),
    JWKS_STALE_SECONDS: v.optional(secondsSetting(0, 86_400), String(DEFAULT_JWKS_STALE_SECONDS)),
    ROUTES: v.optional(v.pipe(routesSchema, v.readonly()), "[]"),
    CLAIM_HEADERS: v.optional(claimHeadersSchema, "{}"),
    METHOD_OVERRIDE: v.optional(
      v.picklist(METHOD_OVERRIDE_MODES, `must be one of ${METHOD_OVERRIDE_MODES.join(", ")}`),
      "any",
    ),
    RESOLVER_URL: v.optional(urlSetting({ http: "loopback", form: "url" })),
    RESOLVER_CACHE_SECONDS: v.optional(secondsSetting(0, 3600), String(DEFAULT_RESOLVER_CACHE_SECONDS)),
    RESOLVER_TIMEOUT_MS: v.optional(
      v.pipe(
        textOrNumber("must be a whole number of milliseconds from 100 to 30000"),
        v.regex(/^\d{1,6}$/, "must be a whole number of milliseconds from 100 to 30000"),
        v.transform(Number),
        v.minValue(100, "must be at least 100"),
        v.maxValue(30_000, "must be at most 30000"),
      ),
      String(DEFAULT_RESOLVER_TIMEOUT_MS),
    ),
    // Unset: an upgrade's query is never read, and one holding `access_token` is refused (websocket.ts).
    WEBSOCKET_QUERY_TOKEN: v.optional(
      v.pipe(
        v.string(),
        v.regex(QUERY_PARAMETER_PATTERN, "must be a query parameter name: 1-64 letters, digits, '.', '_', '~', '-'"),
      ),
    ),
    // No default: unset (or empty) means no prefix, Authgear's own default.
    RESOLVER_COOKIE_PREFIX: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          TOKEN_PATTERN,
          "must be a cookie-name prefix: RFC 6265 token characters only (letters, digits and !#$%&'*+-.^_`|~; no space, `=`, `;`, `,` or quote)",
        ),
        v.maxLength(MAX_COOKIE_PREFIX_LENGTH, `must be at most ${MAX_COOKIE_PREFIX_LENGTH} characters`),
      ),
    ),
  },
  (values) => {
    const issuers = issuersOf(values);
    // `issuerProblems` refuses a configuration without any issuer.
    const primary = issuers[0] as IssuerConfig;
    const { issuer, audiences } = primary;
    const prefix = values.RESOLVER_COOKIE_PREFIX ?? "";
    const resolverCookies: readonly string[] = RESOLVER_COOKIES.map((name) => `${prefix}${name}`);
    return {
      /**
       * Every trusted issuer (1 to `MAX_ISSUERS`), in order: `ISSUERS`, or `AUTHGEAR_ENDPOINT`
       * with `AUDIENCE`, `RESOURCES`, `ALLOWED_CLIENT_IDS` and `ALGORITHMS`. The first is the
       * primary one: its resolver judges opaque tokens and cookies, and it names the realm.
       */
      issuers,
      /** The primary issuer's origin, `scheme://host[:port]`. */
      issuer,
      discoveryUrl: primary.discoveryUrl,
      authMode: values.AUTH_MODE,
      /** The primary issuer's user-token audiences. */
      audiences,
      /** The primary issuer's client allow-list. */
      allowedClientIds: primary.allowedClientIds,
      algorithms: primary.algorithms,
      clockToleranceSeconds: values.CLOCK_TOLERANCE_SECONDS,
      jwtCookieName: values.JWT_COOKIE_NAME,
      publicPaths: values.PUBLIC_PATHS,
      /** `ROUTES`, in order; see routes.ts. */
      routes: values.ROUTES,
      /** `CLAIM_HEADERS`: the claims each identity's token sends in headers (claim-headers.ts). */
      claimHeaders: createClaimHeaders(values.CLAIM_HEADERS),
      /** `any`: a request that is not a GET is decided as every method (overrides.ts); `none`: as its own. */
      methodOverride: values.METHOD_OVERRIDE,
      /** Refusals are logged and reported to the origin, but the request proceeds (a rollout mode). */
      reportOnly: values.REPORT_ONLY,
      /** Every decision is logged with the user id (allowed requests too); off by default. */
      logDecisions: values.LOG_DECISIONS,
      /** The least severe line written (ports.ts `logLevel` says each line's level). */
      logLevel: values.LOG_LEVEL,
      resolverUrl: values.RESOLVER_URL ?? `${issuer}/_resolver/resolve`,
      resolverCacheSeconds: values.RESOLVER_CACHE_SECONDS,
      resolverTimeoutMs: values.RESOLVER_TIMEOUT_MS,
      /**
       * `RESOLVER_COOKIE_PREFIX` (Authgear's `http.cookie_prefix`), `""` when unset: prepended to each
       * name of `RESOLVER_COOKIES`.
       */
      resolverCookiePrefix: prefix,
      /** The cookies read and sent to the resolver: the prefixed `RESOLVER_COOKIES`, in their order of precedence. */
      resolverCookies,
      /** The query parameter a WebSocket upgrade may carry its token in; unset = never read (websocket.ts). */
      websocketQueryToken: values.WEBSOCKET_QUERY_TOKEN,
      jwksMaxAgeSeconds: values.JWKS_MAX_AGE_SECONDS,
      jwksStaleSeconds: values.JWKS_STALE_SECONDS,
      /** The `realm` of every challenge: the first accepted audience. */
      realm: audiences[0] ?? issuer,
    };
  },
  (values) =>
    new Map([
      ...issuerProblems(values),
      ...logProblems(values.LOG_DECISIONS, values.LOG_LEVEL),
      ...modeProblems(values.AUTH_MODE, {
        JWT_COOKIE_NAME: values.JWT_COOKIE_NAME !== undefined,
        RESOLVER_URL: values.RESOLVER_URL !== undefined,
        RESOLVER_CACHE_SECONDS: values.RESOLVER_CACHE_SECONDS !== DEFAULT_RESOLVER_CACHE_SECONDS,
        RESOLVER_TIMEOUT_MS: values.RESOLVER_TIMEOUT_MS !== DEFAULT_RESOLVER_TIMEOUT_MS,
        RESOLVER_COOKIE_PREFIX: values.RESOLVER_COOKIE_PREFIX !== undefined,
        CLAIM_HEADERS: values.CLAIM_HEADERS.length > 0,
      }),
    ]),
  (input) =>
    input.AUTHGEAR_ENDPOINT === undefined && input.ISSUERS === undefined
      ? new Map([["AUTHGEAR_ENDPOINT", "is required (or ISSUERS, to trust several issuers)"]])
      : new Map(),
);

type CoreValues = Parameters<typeof issuerProblems>[0];

/** The trusted issuers, from `ISSUERS` or the one-issuer shorthand. */
function issuersOf(values: CoreValues): IssuerConfig[] {
  if (values.ISSUERS !== undefined) return values.ISSUERS.map((entry) => issuerConfig(entry, values.ALGORITHMS));
  if (values.AUTHGEAR_ENDPOINT === undefined) return [];
  const entry = {
    issuer: values.AUTHGEAR_ENDPOINT,
    ...(values.AUDIENCE !== undefined && { audiences: [...values.AUDIENCE] }),
    ...(values.RESOURCES !== undefined && { resources: [...values.RESOURCES] }),
    ...(values.ALLOWED_CLIENT_IDS !== undefined && { clientIds: [...values.ALLOWED_CLIENT_IDS] }),
  };
  return [issuerConfig(entry, values.ALGORITHMS)];
}

/** The one-issuer settings that `ISSUERS` says per issuer instead. */
const PER_ISSUER = { AUDIENCE: "audiences", RESOURCES: "resources", ALLOWED_CLIENT_IDS: "clientIds" } as const;

/**
 * Exactly one of `AUTHGEAR_ENDPOINT` and `ISSUERS`; with `ISSUERS`, no one-issuer setting (which
 * one issuer would it be?); route rules naming only issuers that are trusted; and in resolver
 * mode, one issuer (the resolver judges its own project's tokens only).
 */
function issuerProblems(values: {
  readonly AUTHGEAR_ENDPOINT?: string | undefined;
  readonly ISSUERS?: v.InferOutput<typeof issuersSchema> | undefined;
  readonly AUDIENCE?: readonly string[] | undefined;
  readonly RESOURCES?: readonly string[] | undefined;
  readonly ALLOWED_CLIENT_IDS?: ReadonlySet<string> | undefined;
  readonly ALGORITHMS: readonly Algorithm[];
  readonly AUTH_MODE: AuthMode;
  readonly ROUTES: readonly RouteRule[];
}): ReadonlyMap<string, string> {
  const problems = new Map<string, string>();
  const { ISSUERS: list } = values;
  if (values.AUTHGEAR_ENDPOINT === undefined && list === undefined) return problems;
  const trusted = new Set(list?.map((entry) => entry.issuer) ?? [values.AUTHGEAR_ENDPOINT]);
  const unknown = values.ROUTES.flatMap((rule, index) =>
    (rule.issuers ?? []).filter((issuer) => !trusted.has(issuer)).map((issuer) => `rule ${index} names ${issuer}`),
  );
  if (unknown.length > 0) problems.set("ROUTES", `${unknown.join(", ")}, which is not a trusted issuer`);
  if (list === undefined) return problems;
  if (values.AUTHGEAR_ENDPOINT !== undefined) {
    const message = "is the one-issuer shorthand of ISSUERS: set one of the two (list this issuer in ISSUERS)";
    problems.set("AUTHGEAR_ENDPOINT", message);
  }
  for (const [name, member] of Object.entries(PER_ISSUER)) {
    if (values[name as keyof typeof PER_ISSUER] === undefined) continue;
    problems.set(name, `is for AUTHGEAR_ENDPOINT alone; with ISSUERS, give each issuer its own "${member}"`);
  }
  if (values.AUTH_MODE === "resolver" && list.length > 1) {
    const message =
      "AUTH_MODE=resolver asks the first issuer's resolver, which cannot judge the other issuers' tokens: " +
      "use AUTH_MODE=hybrid (JWTs verified locally, opaque tokens and cookies through the resolver), or one issuer";
    problems.set("ISSUERS", message);
  }
  return problems;
}

/** `LOG_DECISIONS=true` writes `info` lines (`request_allowed`), which a less verbose `LOG_LEVEL` would drop. */
function logProblems(logDecisions: boolean, level: LogLevel): ReadonlyMap<string, string> {
  if (!logDecisions || writes(level, "info")) return new Map();
  const message =
    `logs every decision at level info, which LOG_LEVEL=${level} leaves out: ` +
    "set LOG_LEVEL=info (or debug), or unset LOG_DECISIONS";
  return new Map([["LOG_DECISIONS", message]]);
}

/** The settings only the resolver reads. */
const RESOLVER_ONLY = [
  "RESOLVER_URL",
  "RESOLVER_CACHE_SECONDS",
  "RESOLVER_TIMEOUT_MS",
  "RESOLVER_COOKIE_PREFIX",
] as const;

/**
 * The settings a mode would leave without effect, refused at start-up (docs/configuration.md, "Every setting in
 * every mode"). `set`: whether each is set (to a value other than its default). Every other core
 * setting binds in every mode: see authenticator.ts for how the JWT settings bind what the
 * resolver judges.
 */
function modeProblems(
  mode: AuthMode,
  set: Readonly<Record<"JWT_COOKIE_NAME" | "CLAIM_HEADERS" | (typeof RESOLVER_ONLY)[number], boolean>>,
): ReadonlyMap<string, string> {
  const problems = new Map<string, string>();
  if (mode === "jwt") {
    for (const name of RESOLVER_ONLY) {
      if (!set[name]) continue;
      const message = "AUTH_MODE=jwt never asks the resolver, so this does nothing: use another mode, or unset it";
      problems.set(name, message);
    }
  }
  if (mode === "resolver" && set.JWT_COOKIE_NAME) {
    problems.set(
      "JWT_COOKIE_NAME",
      "AUTH_MODE=resolver reads no JWT cookie (the resolver reads only Authgear's cookies), so it would be ignored: " +
        "set AUTH_MODE=hybrid to verify it locally, or unset it",
    );
  }
  if (mode === "resolver" && set.CLAIM_HEADERS) {
    problems.set(
      "CLAIM_HEADERS",
      "AUTH_MODE=resolver takes every user's identity from the resolver, which states no claims, so no claim header " +
        "would be sent: set AUTH_MODE=hybrid (JWTs verified locally, with their claims), or unset it",
    );
  }
  return problems;
}

/**
 * The core's settings as given in code (`createGate`, `authgear()`), typed from their schemas: a
 * name that is no setting, or a value of the wrong type, is a compile error.
 */
export type CoreSettings = SettingsInput<typeof CORE_SETTINGS.entries>;

/** The configuration the core reads; a packaging's extends it. */
export type Config = ConfigOf<typeof CORE_SETTINGS>;

export type SettingName = (typeof CORE_SETTINGS.names)[number];

/** The core's settings' names, in the schema's order; each packaging reads these and its own. */
export const SETTING_NAMES = CORE_SETTINGS.names;

/** `CORE_SETTINGS.defaultOf`: a core setting's default as spelled in the environment, if it has one. */
export function settingDefault(name: SettingName): string | undefined {
  return CORE_SETTINGS.defaultOf(name);
}

/**
 * Parses and validates the core's settings once: typed, as given in code, or an environment (by
 * `fromEnv` when its type names settings with wider types). Throws a `ConfigError` naming every bad key; a
 * packaging keeps that error and answers every request with it, so nothing is ever let through.
 */
export function parseConfig(settings: CoreSettings | EnvSettings): Config {
  return CORE_SETTINGS.parse(settingsRecord(settings));
}
