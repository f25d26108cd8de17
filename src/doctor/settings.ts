/**
 * Every setting of either deployment, the Worker's and the Lambda authorizer's: the doctor checks
 * a configuration meant for either, so a bad value of any setting is reported.
 */
import { LAMBDA_SETTINGS } from "../aws/config.ts";
import { WORKER_SETTINGS } from "../cloudflare/config.ts";
import { extendSettings } from "../core/settings.ts";

export const ALL_SETTINGS = extendSettings(WORKER_SETTINGS, LAMBDA_SETTINGS);

/** In the schemas' order: the core's, the Worker's, the authorizer's. */
export const ALL_SETTING_NAMES = ALL_SETTINGS.names;
