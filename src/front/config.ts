/**
 * The settings of a gate in front of an origin (the Worker, the Lambda@Edge function): the core's,
 * and what allowed requests carry to the origin and what browsers are told. A packaging extends
 * them with its own (src/cloudflare/config.ts, src/aws-edge/config.ts).
 */
import * as v from "valibot";
import {
  ASSERTION_KEY_SETTING,
  ASSERTION_SECOND_KEY_SETTING,
  ASSERTION_SETTINGS,
  ASSERTION_WITHOUT_KEY,
  canonicalHeaderName,
  claimHeaderCollisions,
  CORE_SETTINGS,
  DEFAULT_ASSERTION_HEADER,
  defineSettings,
  extendSettings,
  flagSetting,
  identityHeaderNames,
  isOverrideHeader,
  listSetting,
  TOKEN_PATTERN,
  urlSetting,
  type ConfigOf,
} from "../core/index.ts";

/** Default `ORIGIN_SECRET_HEADER`; `x-authgear-*`, so any copy a client sends is stripped with the identity headers. */
export const DEFAULT_ORIGIN_SECRET_HEADER = "x-authgear-edge-secret";
const RESERVED_SECRET_HEADERS = new Set([
  "authorization",
  "cookie",
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "origin",
]);
// The default `ASSERTION_HEADER` is `x-authgear-*`, so a client's copy goes with the identity headers.
export { DEFAULT_ASSERTION_HEADER };
/**
 * Names the assertion's header must not take, compared in canonical form: what the client sends
 * for itself, hop-by-hop headers (a proxy would drop it), and every header the gate sets itself.
 */
const RESERVED_ASSERTION_HEADERS: ReadonlySet<string> = new Set(
  [
    ...RESERVED_SECRET_HEADERS,
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "x-authgear-edge-report",
    DEFAULT_ORIGIN_SECRET_HEADER,
    ...identityHeaderNames(),
  ].map(canonicalHeaderName),
);

export const FRONT_ONLY = /* @__PURE__ */ defineSettings(
  {
    LOGIN_URL: v.optional(urlSetting({ http: "loopback", form: "url" })),
    CORS_ALLOWED_ORIGINS: v.optional(
      v.pipe(
        listSetting(),
        v.check(
          (origins) =>
            origins.every(
              (origin) => URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin),
            ),
          "each comma-separated entry must be an exact origin, scheme://host[:port] (no path, no trailing slash, no *)",
        ),
        v.transform((origins): ReadonlySet<string> => new Set(origins)),
      ),
      "",
    ),
    FORWARD_AUTHORIZATION: v.optional(flagSetting(), "true"),
    // The value is never echoed: a message names the key and the rule only.
    ORIGIN_SECRET: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          /^[\x21-\x7e]{32,512}$/,
          "must be 32 to 512 printable ASCII characters without spaces (a random secret, e.g. `openssl rand -hex 32`)",
        ),
      ),
    ),
    ORIGIN_SECRET_HEADER: v.optional(
      v.pipe(
        v.string(),
        v.regex(TOKEN_PATTERN, "must be a header name (an RFC 9110 token)"),
        v.transform((name) => name.toLowerCase()),
        v.check(
          (name) => !RESERVED_SECRET_HEADERS.has(name),
          "must not be a header the client or the gate already uses (authorization, cookie, host, ...)",
        ),
      ),
      DEFAULT_ORIGIN_SECRET_HEADER,
    ),
    // Read here again (the same schema as the core's) to tell whether ASSERTION_HEADER does anything.
    ASSERTION_KEY: ASSERTION_KEY_SETTING,
    ASSERTION_SECOND_KEY: ASSERTION_SECOND_KEY_SETTING,
    ASSERTION_HEADER: v.optional(
      v.pipe(
        v.string(),
        v.regex(TOKEN_PATTERN, "must be a header name (an RFC 9110 token)"),
        v.transform((name) => name.toLowerCase()),
        v.check(
          (name) => !RESERVED_ASSERTION_HEADERS.has(canonicalHeaderName(name)) && !isOverrideHeader(name),
          "must not be a header the client, a proxy or the gate already uses (authorization, cookie, host, " +
            "hop-by-hop, x-authgear-user-id, ..., a method or path override)",
        ),
      ),
      DEFAULT_ASSERTION_HEADER,
    ),
    // The core's own entry, read here too: its names must not be the gate's other headers.
    CLAIM_HEADERS: CORE_SETTINGS.entries.CLAIM_HEADERS,
  },
  (values) => ({
    /** Where a browser navigation that needs a login is redirected; unset = a bare 401. */
    loginUrl: values.LOGIN_URL,
    /** Browser origins whose cross-origin calls the gate answers CORS for; empty = the gate adds nothing. */
    corsAllowedOrigins: values.CORS_ALLOWED_ORIGINS,
    /** Whether the origin still receives the `Authorization` header. */
    forwardAuthorization: values.FORWARD_AUTHORIZATION,
    /** The shared secret sent to the origin on every forwarded request, and the header it goes in. */
    originSecret:
      values.ORIGIN_SECRET === undefined
        ? undefined
        : { header: values.ORIGIN_SECRET_HEADER, value: values.ORIGIN_SECRET },
    /** The header the signed identity assertion travels in (with `ASSERTION_KEY`). */
    assertionHeader: values.ASSERTION_HEADER,
    /** Published beside the signing key, never used to sign: the next key, or the previous one. */
    assertionSecondKey: values.ASSERTION_SECOND_KEY,
    /**
     * Headers only the gate sends, in canonical form (`canonicalHeaderName`): a client's copy, in
     * any spelling, never reaches the origin.
     */
    gateHeaders: new Set([
      ...values.CLAIM_HEADERS.map(({ header }) => canonicalHeaderName(header)),
      ...(values.ORIGIN_SECRET === undefined ? [] : [canonicalHeaderName(values.ORIGIN_SECRET_HEADER)]),
      ...(values.ASSERTION_KEY === undefined ? [] : [canonicalHeaderName(values.ASSERTION_HEADER)]),
    ]),
  }),
  (values) => {
    const problems = new Map<string, string>();
    // A header name with nothing to carry would do nothing.
    if (values.ORIGIN_SECRET === undefined && values.ORIGIN_SECRET_HEADER !== DEFAULT_ORIGIN_SECRET_HEADER) {
      const message =
        "names the header ORIGIN_SECRET travels in, and ORIGIN_SECRET is not set: set it too, or unset this";
      problems.set("ORIGIN_SECRET_HEADER", message);
    }
    const key = values.ASSERTION_KEY;
    if (key === undefined && values.ASSERTION_SECOND_KEY !== undefined) {
      problems.set("ASSERTION_SECOND_KEY", ASSERTION_WITHOUT_KEY);
    }
    if (key === undefined && values.ASSERTION_HEADER !== DEFAULT_ASSERTION_HEADER) {
      problems.set("ASSERTION_HEADER", ASSERTION_WITHOUT_KEY);
    }
    if (key !== undefined && "kid" in key && key.kid === values.ASSERTION_SECOND_KEY?.kid) {
      problems.set("ASSERTION_SECOND_KEY", "has the kid of ASSERTION_KEY: each key needs its own kid");
    }
    const secret = values.ORIGIN_SECRET === undefined ? undefined : canonicalHeaderName(values.ORIGIN_SECRET_HEADER);
    if (key !== undefined && canonicalHeaderName(values.ASSERTION_HEADER) === secret) {
      const message = "is the header ORIGIN_SECRET travels in (ORIGIN_SECRET_HEADER): give each its own";
      problems.set("ASSERTION_HEADER", message);
    }
    // The other headers the gate itself sends under a configured name.
    const named = {
      ORIGIN_SECRET_HEADER: values.ORIGIN_SECRET_HEADER,
      ASSERTION_HEADER: key === undefined ? undefined : values.ASSERTION_HEADER,
    };
    for (const [name, problem] of claimHeaderCollisions(values.CLAIM_HEADERS, named)) problems.set(name, problem);
    return problems;
  },
);

export const FRONT_SETTINGS = /* @__PURE__ */ extendSettings(
  extendSettings(CORE_SETTINGS, ASSERTION_SETTINGS),
  FRONT_ONLY,
);

export type FrontConfig = ConfigOf<typeof FRONT_SETTINGS>;
