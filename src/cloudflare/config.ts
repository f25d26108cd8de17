/**
 * The Worker's settings: the core's, and those only a Worker carries out (where allowed requests
 * go, what they carry, what browsers are told). `WorkerConfig` is what `createWorker` reads.
 */
import * as v from "valibot";
import {
  canonicalHeaderName, claimHeaderCollisions, CORE_SETTINGS, defineSettings, extendSettings, flagSetting, listSetting,
  TOKEN_PATTERN, urlSetting, type ConfigOf,
} from "../core/index.ts";

/** Default `ORIGIN_SECRET_HEADER`; `x-authgear-*`, so any copy a client sends is stripped with the identity headers. */
export const DEFAULT_ORIGIN_SECRET_HEADER = "x-authgear-edge-secret";
const RESERVED_SECRET_HEADERS = new Set(["authorization", "cookie", "host", "content-length", "content-type", "transfer-encoding", "connection", "origin"]);

const WORKER_ONLY = /* @__PURE__ */ defineSettings(
  {
    ORIGIN_URL: v.optional(urlSetting({ http: "any", form: "base" })),
    LOGIN_URL: v.optional(urlSetting({ http: "loopback", form: "url" })),
    CORS_ALLOWED_ORIGINS: v.optional(
      v.pipe(
        listSetting(),
        v.check(
          (origins) => origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin)),
          "each comma-separated entry must be an exact origin, scheme://host[:port] (no path, no trailing slash, no *)",
        ),
        v.transform((origins): ReadonlySet<string> => new Set(origins)),
      ),
      "",
    ),
    FORWARD_AUTHORIZATION: v.optional(flagSetting(), "true"),
    SERVER_TIMING: v.optional(flagSetting(), "false"),
    // The value is never echoed: a message names the key and the rule only.
    ORIGIN_SECRET: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[\x21-\x7e]{32,512}$/, "must be 32 to 512 printable ASCII characters without spaces (a random secret, e.g. `openssl rand -hex 32`)"),
      ),
    ),
    ORIGIN_SECRET_HEADER: v.optional(
      v.pipe(
        v.string(),
        v.regex(TOKEN_PATTERN, "must be a header name (an RFC 9110 token)"),
        v.transform((name) => name.toLowerCase()),
        v.check((name) => !RESERVED_SECRET_HEADERS.has(name), "must not be a header the client or the gate already uses (authorization, cookie, host, ...)"),
      ),
      DEFAULT_ORIGIN_SECRET_HEADER,
    ),
    // The core's own entry, read here too: its names must not be the gate's other headers.
    CLAIM_HEADERS: CORE_SETTINGS.entries.CLAIM_HEADERS,
  },
  (values) => ({
    /** Where allowed requests go, their path and query appended; unset = the request's own URL. */
    originUrl: values.ORIGIN_URL,
    /** Where a browser navigation that needs a login is redirected; unset = a bare 401. */
    loginUrl: values.LOGIN_URL,
    /** Browser origins whose cross-origin calls the gate answers CORS for; empty = the gate adds nothing. */
    corsAllowedOrigins: values.CORS_ALLOWED_ORIGINS,
    /** Whether the origin still receives the `Authorization` header. */
    forwardAuthorization: values.FORWARD_AUTHORIZATION,
    /** Whether responses carry `Server-Timing` (the gate's outcome and duration); off by default. */
    serverTiming: values.SERVER_TIMING,
    /** The shared secret sent to the origin on every forwarded request, and the header it goes in. */
    originSecret: values.ORIGIN_SECRET === undefined ? undefined : { header: values.ORIGIN_SECRET_HEADER, value: values.ORIGIN_SECRET },
    /**
     * Headers only the gate sends, besides `x-authgear-*`, in `canonicalHeaderName` spelling: a
     * client's copy in any spelling is removed from every request (forwarding.ts `isForwarded`).
     */
    gateHeaders: new Set([
      ...values.CLAIM_HEADERS.map(({ header }) => canonicalHeaderName(header)),
      ...(values.ORIGIN_SECRET === undefined ? [] : [canonicalHeaderName(values.ORIGIN_SECRET_HEADER)]),
    ]),
  }),
  (values) =>
    new Map([
      // A header name with no secret to carry would do nothing.
      ...(values.ORIGIN_SECRET === undefined && values.ORIGIN_SECRET_HEADER !== DEFAULT_ORIGIN_SECRET_HEADER
        ? [
            [
              "ORIGIN_SECRET_HEADER",
              "names the header ORIGIN_SECRET travels in, and ORIGIN_SECRET is not set: set it too, or unset this",
            ] as const,
          ]
        : []),
      // Every other header the gate itself sends under a configured name: ASSERTION_HEADER joins
      // here (and `gateHeaders` above) when it exists.
      ...claimHeaderCollisions(values.CLAIM_HEADERS, { ORIGIN_SECRET_HEADER: values.ORIGIN_SECRET_HEADER }),
    ]),
);

export const WORKER_SETTINGS = /* @__PURE__ */ extendSettings(CORE_SETTINGS, WORKER_ONLY);

export type WorkerConfig = ConfigOf<typeof WORKER_SETTINGS>;

export type WorkerSettingName = (typeof WORKER_SETTINGS.names)[number];

/** The Worker's settings' names, in the schema's order: the core's, then its own. */
export const WORKER_SETTING_NAMES = WORKER_SETTINGS.names;

/**
 * The authorizer's own settings, which a Worker cannot carry out (refused when set, not ignored),
 * each with what to do instead.
 */
export const WORKER_FOREIGN_SETTINGS: ReadonlyMap<string, string> = new Map([
  ["HTTP_API_RESPONSE", "it shapes an API Gateway authorizer's answer; a Worker answers HTTP itself"],
  ["AUTHORIZER_CACHE_SECONDS", "it is API Gateway's result cache; a Worker decides every request"],
  ["METRICS", "a Worker's metrics come from an Analytics Engine binding named ANALYTICS"],
]);
