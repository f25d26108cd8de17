/**
 * The Worker's settings: those of a gate in front of an origin (src/front/config.ts), and those
 * only a Worker carries out (where allowed requests go, `Server-Timing` on every response).
 * `WorkerConfig` is what `createWorker` reads.
 */
import * as v from "valibot";
import {
  ASSERTION_SETTINGS,
  CORE_SETTINGS,
  defineSettings,
  extendSettings,
  flagSetting,
  urlSetting,
  type ConfigOf,
  type SecretBinding,
  type SettingsInput,
} from "../core/index.ts";
import { FRONT_ONLY } from "../front/config.ts";

export { DEFAULT_ASSERTION_HEADER, DEFAULT_ORIGIN_SECRET_HEADER } from "../front/config.ts";

const { LOGIN_URL, CORS_ALLOWED_ORIGINS, FORWARD_AUTHORIZATION } = FRONT_ONLY.entries;

const WORKER_ONLY = /* @__PURE__ */ defineSettings(
  {
    ORIGIN_URL: v.optional(urlSetting({ http: "any", form: "base" })),
    // The front's own entries, named here only to keep the order the settings have always had.
    LOGIN_URL,
    CORS_ALLOWED_ORIGINS,
    FORWARD_AUTHORIZATION,
    SERVER_TIMING: v.optional(flagSetting(), "false"),
  },
  (values) => ({
    /** Where allowed requests go, their path and query appended; unset = the request's own URL. */
    originUrl: values.ORIGIN_URL,
    /** Whether responses carry `Server-Timing` (the gate's outcome and duration); off by default. */
    serverTiming: values.SERVER_TIMING,
  }),
);

export const WORKER_SETTINGS = /* @__PURE__ */ extendSettings(
  extendSettings(extendSettings(CORE_SETTINGS, ASSERTION_SETTINGS), WORKER_ONLY),
  FRONT_ONLY,
);

export type WorkerConfig = ConfigOf<typeof WORKER_SETTINGS>;

export type WorkerSettingName = (typeof WORKER_SETTINGS.names)[number];

/**
 * The Worker's settings as given in code (`createWorker({ settings })`), typed from their schemas:
 * a name that is no setting, or a value of the wrong type, is a compile error. `ASSERTION_KEY` may
 * also be a Secrets Store binding.
 */
export type WorkerSettings = Omit<SettingsInput<typeof WORKER_SETTINGS.entries>, "ASSERTION_KEY"> & {
  readonly ASSERTION_KEY?: string | SecretBinding | undefined;
};

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
  [
    "SECRET_ARN",
    "it is the Lambda@Edge function's secret; a Worker's secrets are Worker secrets (wrangler secret put)",
  ],
  ["SECRET_SETTINGS", "it names what the Lambda@Edge function's secret holds; a Worker reads its own secrets"],
]);
