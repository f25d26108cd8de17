/**
 * The authorizer's settings for the CDK stack, checked at synth time with the authorizer's own
 * schema (`LAMBDA_SETTINGS`) and its start-up cache-safety checks, so that `cdk synth` fails on a
 * configuration the authorizer would refuse at run time (every request a 503) or that API Gateway
 * would reject (a result TTL above 3600 s). The names and defaults are serverless.yml's.
 *
 * Outside this repository, import them from "authgear-edge/aws" instead of ../../src/aws/index.ts.
 */
import {
  cacheSafetyProblems,
  DEFAULT_AUTHORIZER_CACHE_SECONDS,
  LAMBDA_FOREIGN_SETTINGS,
  LAMBDA_SETTING_NAMES,
  LAMBDA_SETTINGS,
  type LambdaConfig,
} from "../../src/aws/index.ts";

/** Settings as the shell's environment holds them: a name, and its value (empty or absent: unset). */
export type SettingsInput = Readonly<Record<string, string | undefined>>;

export interface DeploymentSettings {
  /** The authorizer function's environment: every authorizer setting that is set, and the defaults below. */
  readonly environment: Readonly<Record<string, string>>;
  /** What the authorizer will make of `environment`. */
  readonly config: LambdaConfig;
  /** API Gateway's `resultTtlInSeconds` for every authorizer: `AUTHORIZER_CACHE_SECONDS`, in seconds. */
  readonly cacheSeconds: number;
  /** The realm of the gateway responses' challenges and the metadata's authorization server. */
  readonly realm: string;
  /** `CORS_ALLOWED_ORIGINS`: the exact origins whose pages may call the APIs; empty: no CORS. */
  readonly corsOrigins: readonly string[];
}

/** Thrown at synth time for settings the authorizer or API Gateway would refuse; names each bad setting. */
export class DeploymentSettingsError extends Error {
  override readonly name = "DeploymentSettingsError";
}

/**
 * serverless.yml's default HTTP API answer: `iam` works with every setting (a cached simple answer
 * cannot carry ROUTES or PUBLIC_PATHS); the authorizer's own default is `simple`.
 */
const DEFAULT_HTTP_API_RESPONSE = "iam";

/**
 * Reads and checks the settings: the authorizer's (its own names, docs/configuration.md),
 * `AUTHGEAR_REALM` (default: the primary issuer, `AUTHGEAR_ENDPOINT` or the first of `ISSUERS`) and
 * `CORS_ALLOWED_ORIGINS`. `AUTHORIZER_CACHE_SECONDS` defaults to 300 for `AUTH_MODE=jwt` without
 * `JWT_COOKIE_NAME` and to 0 otherwise, as in serverless.yml: cookie credentials cannot be cached.
 */
export function readDeploymentSettings(input: SettingsInput): DeploymentSettings {
  const value = (name: string): string | undefined => {
    const raw = input[name];
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const foreign = [...LAMBDA_FOREIGN_SETTINGS].filter(([name]) => value(name) !== undefined);
  if (foreign.length > 0) {
    throw new DeploymentSettingsError(
      `Settings an authorizer cannot carry out: ${foreign.map(([name, instead]) => `${name} (${instead})`).join("; ")}`,
    );
  }

  const environment: Record<string, string> = { HTTP_API_RESPONSE: DEFAULT_HTTP_API_RESPONSE };
  for (const name of LAMBDA_SETTING_NAMES) {
    const setting = value(name);
    if (setting !== undefined) environment[name] = setting;
  }
  const cacheable = (value("AUTH_MODE") ?? "jwt") === "jwt" && value("JWT_COOKIE_NAME") === undefined;
  environment.AUTHORIZER_CACHE_SECONDS =
    value("AUTHORIZER_CACHE_SECONDS") ?? (cacheable ? String(DEFAULT_AUTHORIZER_CACHE_SECONDS) : "0");

  let config: LambdaConfig;
  try {
    config = LAMBDA_SETTINGS.parse(environment);
  } catch (error) {
    throw new DeploymentSettingsError(`The authorizer would refuse these settings. ${(error as Error).message}`);
  }
  const unsafe = cacheSafetyProblems(config);
  if (unsafe.size > 0) {
    const detail = [...unsafe].map(([name, problem]) => `${name}: ${problem}`).join("; ");
    throw new DeploymentSettingsError(`The authorizer would refuse to start with these settings. ${detail}`);
  }

  return {
    environment,
    config,
    cacheSeconds: config.authorizerCacheSeconds,
    realm: value("AUTHGEAR_REALM") ?? config.issuer,
    corsOrigins: corsOrigins(value("CORS_ALLOWED_ORIGINS")),
  };
}

/** `CORS_ALLOWED_ORIGINS` by the Worker's rule: exact origins, `scheme://host[:port]`, comma-separated. */
function corsOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return [];
  const origins = raw.split(",").map((origin) => origin.trim());
  const bad = origins.filter(
    (origin) => !(URL.canParse(origin) && new URL(origin).origin === origin && /^https?:/.test(origin)),
  );
  if (bad.length > 0) {
    throw new DeploymentSettingsError(
      `CORS_ALLOWED_ORIGINS: ${bad.map((origin) => JSON.stringify(origin)).join(", ")}: each comma-separated entry must be an exact origin, scheme://host[:port] (no path, no trailing slash, no *)`,
    );
  }
  return origins;
}
