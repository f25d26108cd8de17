/**
 * Every setting of every deployment, the Worker's, the Lambda authorizer's and the Lambda@Edge
 * function's: the doctor checks a configuration meant for any, so a bad value of any setting is
 * reported.
 */
import { SECRET_SOURCE_SETTINGS } from "../aws-edge/secret-settings.ts";
import { LAMBDA_SETTINGS } from "../aws/config.ts";
import { WORKER_SETTINGS } from "../cloudflare/config.ts";
import { extendSettings } from "../core/settings.ts";

export const ALL_SETTINGS = extendSettings(extendSettings(WORKER_SETTINGS, LAMBDA_SETTINGS), SECRET_SOURCE_SETTINGS);

/** In the schemas' order: the core's, the Worker's, the authorizer's, the Lambda@Edge function's. */
export const ALL_SETTING_NAMES = ALL_SETTINGS.names;
