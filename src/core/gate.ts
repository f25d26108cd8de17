/**
 * What each packaging keeps per isolate or container: the configuration and the decider built
 * from its settings once, or the configuration error every request is then answered with.
 */
import {
  createAuthenticatorFromEnv,
  type Authenticator,
  type AuthenticatorDeps,
  type FromEnvOptions,
} from "./authenticator.ts";
import type { Config } from "./config.ts";
import { createDecider, type Decider, type DeciderOptions } from "./decision.ts";
import type { ConfigError } from "./settings.ts";

export type Gate<C extends Config = Config> =
  | { readonly ok: true; readonly config: C; readonly decider: Decider; readonly authenticator: Authenticator }
  | { readonly ok: false; readonly error: ConfigError };

export interface GateOptions<C extends Config> extends FromEnvOptions<C> {
  /** How this packaging's requests are decided, which may depend on its configuration. */
  readonly decide: DeciderOptions | ((config: C) => DeciderOptions);
}

/** `createAuthenticatorFromEnv`, then `createDecider`: logged and never thrown on a bad configuration. */
export function createGate<C extends Config>(
  env: Readonly<Record<string, unknown>>,
  deps: AuthenticatorDeps,
  options: GateOptions<C> & Required<Pick<GateOptions<C>, "settings">>,
): Gate<C>;
export function createGate(
  env: Readonly<Record<string, unknown>>,
  deps: AuthenticatorDeps,
  options: GateOptions<Config>,
): Gate;
export function createGate(
  env: Readonly<Record<string, unknown>>,
  deps: AuthenticatorDeps,
  options: GateOptions<Config>,
): Gate {
  const built = createAuthenticatorFromEnv(env, deps, options);
  if (!built.ok) return built;
  const decide = typeof options.decide === "function" ? options.decide(built.config) : options.decide;
  // The injected clock times the route rules too, not only the token checks (a maxAuthAge is a time).
  const clock = decide.clock ?? deps.clock;
  const logger = decide.logger ?? deps.logger;
  const withDeps = { ...decide, ...(clock !== undefined && { clock }), ...(logger !== undefined && { logger }) };
  const { config, authenticator } = built;
  return { ok: true, config, decider: createDecider(config, authenticator, withDeps), authenticator };
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
