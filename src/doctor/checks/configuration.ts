/**
 * The configuration check: the settings parse with the schemas of both packagings (settings.ts),
 * no name looks like a setting without being one, and, for a Lambda authorizer's configuration,
 * the authorizer starts with it (authorizer.ts).
 */
import type { Config } from "../../core/config.ts";
import { lookalikeSettings } from "../../core/lookalike.ts";
import { ConfigError } from "../../core/settings.ts";
import type { Check } from "../check.ts";
import type { Trusted } from "../issuers.ts";
import { authorizerStartup } from "./authorizer.ts";
import { ALL_SETTING_NAMES, ALL_SETTINGS } from "../settings.ts";

/** The names of the settings printed in the configuration line, in order. None is a secret. */
const SHOWN_SETTINGS = [
  "AUTH_MODE",
  "AUTHGEAR_ENDPOINT",
  "ISSUERS",
  "AUDIENCE",
  "RESOURCES",
  "ALGORITHMS",
  "ALLOWED_CLIENT_IDS",
  "CLOCK_TOLERANCE_SECONDS",
  "RESOLVER_URL",
] as const;

const LOOKALIKE_FIX = "rename each to the setting it resembles (docs/configuration.md), or remove it";

/**
 * The names in `env` that look like a setting and are not one (core lookalike.ts): the gate ignores
 * them (it logs `config_unknown_setting` at start-up) and keeps each setting's default.
 */
function lookalikeText(env: Readonly<Record<string, unknown>>): string | undefined {
  const found = lookalikeSettings(env, ALL_SETTING_NAMES);
  if (found.length === 0) return undefined;
  const list = found.map(([name, setting]) => `${name} (did you mean ${setting}?)`).join(", ");
  return `Not settings, so ignored and each setting left at its default: ${list}.`;
}

function describeConfig({ config, listed }: Trusted, env: Readonly<Record<string, unknown>>): string {
  const primary = config.issuers[0];
  const resources = primary === undefined || primary.resources.length === 0 ? undefined : primary.resources.join(",");
  const count = config.issuers.length;
  const origins = config.issuers.map(({ issuer }) => issuer).join(", ");
  const values: Record<(typeof SHOWN_SETTINGS)[number], string | undefined> = {
    AUTH_MODE: config.authMode,
    AUTHGEAR_ENDPOINT: listed ? undefined : config.issuer,
    ISSUERS: listed ? `${count} issuer${count === 1 ? "" : "s"} (${origins})` : undefined,
    AUDIENCE: listed ? undefined : config.audiences.join(","),
    RESOURCES: listed ? undefined : resources,
    ALGORITHMS: config.algorithms.join(","),
    ALLOWED_CLIENT_IDS: listed ? undefined : config.allowedClientIds && [...config.allowedClientIds].join(","),
    CLOCK_TOLERANCE_SECONDS: config.clockToleranceSeconds === 0 ? undefined : String(config.clockToleranceSeconds),
    RESOLVER_URL: config.authMode === "jwt" ? undefined : config.resolverUrl,
  };
  const shown = SHOWN_SETTINGS.flatMap((name) => (values[name] === undefined ? [] : [`${name}=${values[name]}`]));
  const set = ALL_SETTING_NAMES.filter((name) => {
    const value = env[name];
    return typeof value === "string" && value.trim() !== "";
  }).length;
  return `valid (${set} setting${set === 1 ? "" : "s"} set): ${shown.join(", ")}`;
}

/**
 * The first line of the report, and when the settings parse, the configuration and whether its
 * issuers come from `ISSUERS`. A look-alike name fails the check; the other checks still run.
 */
export function checkConfiguration(env: Readonly<Record<string, unknown>>): { check: Check; trusted?: Trusted } {
  let config: Config;
  try {
    config = ALL_SETTINGS.parse(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fix =
      "correct each setting the message names (docs/configuration.md); the gate answers " +
      "every request with 500 until then";
    const detail = [error.message, lookalikeText(env)].filter((part) => part !== undefined).join(" ");
    return { check: { name: "configuration", ok: false, detail, fix } };
  }
  const listed = typeof env.ISSUERS === "string" && env.ISSUERS.trim() !== "";
  const trusted: Trusted = { config, listed };
  const lookalikes = lookalikeText(env);
  const startup = authorizerStartup(env);
  const described =
    startup === undefined ? describeConfig(trusted, env) : `${describeConfig(trusted, env)}; ${startup.detail}`;
  const detail = lookalikes === undefined ? described : `${described}. ${lookalikes}`;
  const fixes = [startup?.fix, lookalikes === undefined ? undefined : LOOKALIKE_FIX].filter((fix) => fix !== undefined);
  const check: Check =
    fixes.length === 0
      ? { name: "configuration", ok: true, detail }
      : { name: "configuration", ok: false, detail, fix: fixes.join("; ") };
  return { check, trusted };
}
