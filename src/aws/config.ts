/**
 * The Lambda authorizer's settings: the core's, and those only an API Gateway authorizer carries
 * out (its answer's shape, how long API Gateway reuses it, its metrics). `LambdaConfig` is what
 * `createHandler` reads.
 */
import * as v from "valibot";
import { CORE_SETTINGS, defineSettings, extendSettings, secondsSetting, type ConfigOf } from "../core/index.ts";

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

export const LAMBDA_SETTINGS = /* @__PURE__ */ extendSettings(CORE_SETTINGS, LAMBDA_ONLY);

export type LambdaConfig = ConfigOf<typeof LAMBDA_SETTINGS>;

export type LambdaSettingName = (typeof LAMBDA_SETTINGS.names)[number];

/** The authorizer's settings' names, in the schema's order: the core's, then its own. */
export const LAMBDA_SETTING_NAMES = LAMBDA_SETTINGS.names;
