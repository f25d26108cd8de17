/**
 * The Lambda@Edge function's settings: those of a gate in front of an origin (src/front/config.ts),
 * less what a viewer-request function cannot do, and with the header names CloudFront would refuse
 * to receive from a function refused here. `EdgeConfig` is what `createEdgeHandler` reads. They
 * are baked into the bundle at build time (dev/build-edge.ts): Lambda@Edge has no environment.
 */
import {
  canonicalHeaderName,
  defineSettings,
  extendSettings,
  type ConfigOf,
  type SettingsInput,
} from "../core/index.ts";
import { FRONT_SETTINGS } from "../front/config.ts";
import { SECRET_SOURCE_SETTINGS } from "./secret-settings.ts";

/**
 * Header names CloudFront refuses in a request a viewer-request function returns (it fails the
 * request with a 502): the disallowed and the viewer-request read-only headers of "Restrictions on
 * all edge functions", HTTP headers
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-function-restrictions-all.html).
 * Compared in canonical form.
 */
export const CLOUDFRONT_READ_ONLY_HEADERS: ReadonlySet<string> = new Set(
  ["content-length", "host", "transfer-encoding", "via", "upgrade", "connection", "warning", "retry-after"].map(
    canonicalHeaderName,
  ),
);
const CLOUDFRONT_DISALLOWED_HEADERS = new Set(
  [
    "x-cache",
    "x-real-ip",
    "x-forwarded-proto",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "trailer",
  ].map(canonicalHeaderName),
);
const CLOUDFRONT_DISALLOWED_PREFIXES = ["x-amz-", "x-amzn-", "x-edge-", "x-accel-", "cloudfront-"].map(
  canonicalHeaderName,
);

/** Whether CloudFront would refuse a function's request that adds or changes a header of this name. */
export function isCloudFrontReserved(name: string): boolean {
  const canonical = canonicalHeaderName(name);
  return (
    CLOUDFRONT_READ_ONLY_HEADERS.has(canonical) ||
    CLOUDFRONT_DISALLOWED_HEADERS.has(canonical) ||
    CLOUDFRONT_DISALLOWED_PREFIXES.some((prefix) => canonical.startsWith(prefix))
  );
}

const RESERVED = "is a header CloudFront does not let a viewer-request function set (x-amz-*, x-edge-*, host, ...)";

const { ORIGIN_SECRET_HEADER, ASSERTION_HEADER, CLAIM_HEADERS } = FRONT_SETTINGS.entries;

const EDGE_ONLY = /* @__PURE__ */ defineSettings(
  // Read here again (the front's own entries) to refuse the names CloudFront would.
  { ORIGIN_SECRET_HEADER, ASSERTION_HEADER, CLAIM_HEADERS },
  () => ({}),
  (values) => {
    const problems = new Map<string, string>();
    if (isCloudFrontReserved(values.ORIGIN_SECRET_HEADER)) problems.set("ORIGIN_SECRET_HEADER", RESERVED);
    if (isCloudFrontReserved(values.ASSERTION_HEADER)) problems.set("ASSERTION_HEADER", RESERVED);
    const claims = values.CLAIM_HEADERS.filter(({ header }) => isCloudFrontReserved(header));
    if (claims.length > 0)
      problems.set("CLAIM_HEADERS", `${claims.map(({ header }) => header).join(", ")} ${RESERVED}`);
    return problems;
  },
);

export const EDGE_SETTINGS = /* @__PURE__ */ extendSettings(FRONT_SETTINGS, EDGE_ONLY);

export type EdgeConfig = ConfigOf<typeof EDGE_SETTINGS>;

export type EdgeSettingName = (typeof EDGE_SETTINGS.names)[number];

/** The function's settings as given in code or baked at build time, typed from their schemas. */
export type EdgeSettings = SettingsInput<typeof EDGE_SETTINGS.entries & typeof SECRET_SOURCE_SETTINGS.entries>;

const { ORIGIN_SECRET, ASSERTION_KEY, ASSERTION_SECOND_KEY } = FRONT_SETTINGS.entries;

/**
 * Where the secrets come from (`SECRET_ARN`, `SECRET_SETTINGS`), read with the settings a secret may
 * hold, so that one also baked in is refused.
 */
export const EDGE_SECRET_SOURCE = /* @__PURE__ */ extendSettings(
  SECRET_SOURCE_SETTINGS,
  defineSettings({ ORIGIN_SECRET, ASSERTION_KEY, ASSERTION_SECOND_KEY }, () => ({})),
);

/**
 * Settings of the other packagings that a viewer-request function cannot carry out (refused when
 * set, not ignored), each with what to do instead. `ORIGIN_URL` is not among them: it is
 * CloudFront's origin, which the deployment reads (examples/cdk), not the function.
 */
export const EDGE_FOREIGN_SETTINGS: ReadonlyMap<string, string> = new Map([
  ["SERVER_TIMING", "a viewer-request function cannot add a header to the origin's response"],
  ["HTTP_API_RESPONSE", "it shapes an API Gateway authorizer's answer; the function answers HTTP itself"],
  ["AUTHORIZER_CACHE_SECONDS", "it is API Gateway's result cache; the function decides every request"],
  ["METRICS", "the function's outcome is in its log lines (CloudWatch, in each edge region)"],
]);
