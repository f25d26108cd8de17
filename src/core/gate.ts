/**
 * What each packaging keeps per isolate or container: the configuration and the decider built
 * from its settings once, or the configuration error every request is then answered with.
 */
import type { ObjectEntries } from "valibot";
import {
  createAuthenticatorFromEnv,
  type Authenticator,
  type AuthenticatorDeps,
  type FromEnvOptions,
} from "./authenticator.ts";
import type { Config, CoreSettings } from "./config.ts";
import { createDecider, type Decider, type DeciderOptions } from "./decision.ts";
import { atLevel, DEFAULT_LOG_LEVEL, jsonLogger, LOG_LEVELS, type Logger, type LogLevel } from "./ports.ts";
import { settingsRecord, type ConfigError, type EnvSettings, type Settings, type SettingsInput } from "./settings.ts";

/**
 * `logger`: the one given (or the default), passing on only the lines `LOG_LEVEL` writes; a
 * packaging writes its own lines there too.
 */
export type Gate<C extends Config = Config> =
  | {
      readonly ok: true;
      readonly config: C;
      readonly decider: Decider;
      readonly authenticator: Authenticator;
      readonly logger: Logger;
    }
  | { readonly ok: false; readonly error: ConfigError; readonly logger: Logger };

/**
 * What a bad configuration does: `respond` (the default) logs it once (`config_invalid`) and
 * answers every request with it (500, naming every bad key); `throw` throws the `ConfigError` as
 * soon as the settings are read (where they are given in code, when the gate is built).
 */
export type OnInvalidConfig = "respond" | "throw";

export interface GateOptions<C extends Config> extends FromEnvOptions<C> {
  /** How this packaging's requests are decided, which may depend on its configuration. */
  readonly decide: DeciderOptions | ((config: C) => DeciderOptions);
  /** Default `respond`. */
  readonly onInvalidConfig?: OnInvalidConfig;
}

/**
 * `createAuthenticatorFromEnv`, then `createDecider`. `settings`: typed, as given in code, or the
 * runtime's environment by `fromEnv(env)`. A bad configuration is logged, and returned (or thrown,
 * with `onInvalidConfig: "throw"`).
 */
export function createGate<E extends ObjectEntries, C extends Config>(
  settings: NoInfer<SettingsInput<E>> | EnvSettings,
  deps: AuthenticatorDeps,
  options: GateOptions<C> & { readonly settings: Pick<Settings<E, C>, "names" | "parse" | "entries"> },
): Gate<C>;
export function createGate(
  settings: CoreSettings | EnvSettings,
  deps: AuthenticatorDeps,
  options: GateOptions<Config>,
): Gate;
export function createGate(settings: object, deps: AuthenticatorDeps, options: GateOptions<Config>): Gate {
  const env = settingsRecord(settings);
  const logger = atLevel(deps.logger ?? jsonLogger, logLevelOf(env));
  const built = createAuthenticatorFromEnv(env, { ...deps, logger }, options);
  if (!built.ok) {
    if (options.onInvalidConfig === "throw") throw built.error;
    return { ...built, logger };
  }
  const decide = typeof options.decide === "function" ? options.decide(built.config) : options.decide;
  // The injected clock times the route rules too, not only the token checks (a maxAuthAge is a time).
  const clock = decide.clock ?? deps.clock;
  const decideLogger = decide.logger === undefined ? logger : atLevel(decide.logger, built.config.logLevel);
  const withDeps = { ...decide, ...(clock !== undefined && { clock }), logger: decideLogger };
  const { config, authenticator } = built;
  return { ok: true, config, decider: createDecider(config, authenticator, withDeps), authenticator, logger };
}

/**
 * `LOG_LEVEL`, read before the rest so that it governs the lines parsing writes too; a bad one
 * counts as the default here, and parsing refuses it.
 */
export function logLevelOf(env: Readonly<Record<string, unknown>>): LogLevel {
  const raw = env.LOG_LEVEL;
  const value = typeof raw === "string" ? raw.trim() : undefined;
  return LOG_LEVELS.find((level) => level === value) ?? DEFAULT_LOG_LEVEL;
}

/**
 * `build`, run again only when its settings object changes: a Worker's `env` is one object for
 * every request of an isolate.
 */
export function oncePerSettings<S, G>(build: (settings: S) => G): (settings: S) => G {
  let current: { readonly settings: S; readonly built: G } | undefined;
  return (settings) => {
    if (current?.settings !== settings) current = { settings, built: build(settings) };
    return current.built;
  };
}
