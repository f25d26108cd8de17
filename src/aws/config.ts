/**
 * The Lambda authorizer's settings: the core's, and those only an API Gateway authorizer carries
 * out (its answer's shape, how long API Gateway reuses it, its metrics). `LambdaConfig` is what
 * `createHandler` reads.
 */
import * as v from "valibot";
import {
  ASSERTION_SETTINGS,
  CORE_SETTINGS,
  defineSettings,
  extendSettings,
  secondsSetting,
  type ConfigOf,
  type SettingsInput,
} from "../core/index.ts";

/** Default `AUTHORIZER_CACHE_SECONDS`: API Gateway's default `resultTtlInSeconds`. */
export const DEFAULT_AUTHORIZER_CACHE_SECONDS = 300;

const LAMBDA_ONLY = /* @__PURE__ */ defineSettings(
  {
    HTTP_API_RESPONSE: v.optional(v.picklist(["simple", "iam"], "must be simple or iam"), "simple"),
    AUTHORIZER_CACHE_SECONDS: v.optional(secondsSetting(0, 3600), String(DEFAULT_AUTHORIZER_CACHE_SECONDS)),
    METRICS: v.optional(v.picklist(["emf", "off"], "must be emf or off"), "off"),
  },
  (values) => ({
    /** How HTTP API (payload 2.0) events are answered. */
    httpApiResponse: values.HTTP_API_RESPONSE,
    /** API Gateway's `resultTtlInSeconds`; every answer must stay right that long. */
    authorizerCacheSeconds: values.AUTHORIZER_CACHE_SECONDS,
    /** `emf` prints one CloudWatch Embedded Metric Format line per invocation. */
    metrics: values.METRICS,
  }),
);

export const LAMBDA_SETTINGS = /* @__PURE__ */ extendSettings(
  extendSettings(CORE_SETTINGS, ASSERTION_SETTINGS),
  LAMBDA_ONLY,
);

export type LambdaConfig = ConfigOf<typeof LAMBDA_SETTINGS>;

export type LambdaSettingName = (typeof LAMBDA_SETTINGS.names)[number];

/**
 * The authorizer's settings as given in code (`createHandler({ settings })`), typed from their
 * schemas: a name that is no setting, or a value of the wrong type, is a compile error.
 */
export type LambdaSettings = SettingsInput<typeof LAMBDA_SETTINGS.entries>;

/** The authorizer's settings' names, in the schema's order: the core's, then its own. */
export const LAMBDA_SETTING_NAMES = LAMBDA_SETTINGS.names;

/**
 * The Worker's own settings, which an authorizer cannot carry out (refused when set, not
 * ignored), each with what to do instead. `CORS_ALLOWED_ORIGINS` is not among them: serverless.yml
 * reads it to configure API Gateway's CORS, and the example function's environment holds it.
 */
export const LAMBDA_FOREIGN_SETTINGS: ReadonlyMap<string, string> = new Map([
  ["ORIGIN_URL", "API Gateway's integration decides where a request goes"],
  ["LOGIN_URL", "an authorizer cannot redirect; API Gateway's 401 gateway response can"],
  [
    "FORWARD_AUTHORIZATION",
    "API Gateway passes the Authorization header on whatever the authorizer says; " +
      "remove it in the integration's request mapping",
  ],
  ["SERVER_TIMING", "an authorizer adds no response header"],
  [
    "ORIGIN_SECRET",
    "an authorizer adds no request header; lock the backend to API Gateway (a resource policy, a private integration)",
  ],
  ["ORIGIN_SECRET_HEADER", "an authorizer adds no request header"],
  [
    "ASSERTION_SECOND_KEY",
    "an authorizer publishes no key set; put both keys' public parts in the JWKS your origins fetch " +
      "(docs/assertion.md)",
  ],
  [
    "ASSERTION_HEADER",
    "the authorizer puts the assertion in its context (edgeAssertion); the integration's request mapping " +
      "names the header (serverless.yml, docs/assertion.md)",
  ],
  [
    "SECRET_ARN",
    "it is the Lambda@Edge function's secret; an authorizer reads its settings from its environment " +
      "(encrypted at rest, or resolved by the deployment)",
  ],
  ["SECRET_SETTINGS", "it names what the Lambda@Edge function's secret holds"],
]);
