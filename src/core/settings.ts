/**
 * Settings: one valibot entry per setting name, each reading the string that Worker vars and
 * secrets or a Lambda environment hold, and the function that builds a configuration from their
 * parsed values. The core defines its own (config.ts); a packaging extends them with its own
 * entries and fields (`extendSettings`), so every configuration type is inferred from the schema
 * that produces it. Unknown names are ignored (a Lambda environment holds many); empty strings
 * count as unset.
 */
import * as v from "valibot";
import { AuthError } from "./errors.ts";

/** Raised once for a bad configuration; `message` names every bad key. */
export class ConfigError extends AuthError {
  readonly keys: readonly string[];
  /** Each bad key with the rule it breaks (never its value). */
  readonly problems: ReadonlyMap<string, string>;

  constructor(problems: ReadonlyMap<string, string>) {
    const keys = [...problems.keys()];
    const detail = keys.map((key) => `${key}: ${problems.get(key) ?? ""}`).join("; ");
    super("ERR_CONFIG_INVALID", `Invalid configuration (${keys.join(", ")}). ${detail}`);
    this.keys = keys;
    this.problems = problems;
  }
}

/**
 * What each setting of `E` accepts when given in code, by name: its schema's input, so a name that
 * is no setting, or a value of the wrong type, is a compile error. Text is what an environment
 * holds; a setting whose schema also reads a value takes that too (`ROUTES` an array of rules, a
 * flag a boolean, a number of seconds a number). A schema that reads anything (`unknown`) takes text.
 */
export type SettingsInput<E extends v.ObjectEntries> = {
  readonly [K in keyof E]?: unknown extends v.InferInput<E[K]> ? string | undefined : v.InferInput<E[K]>;
};

const ENV: unique symbol = Symbol("authgear-edge env");

/**
 * The environment a runtime hands over, read by the settings' names like settings given in code
 * but checked at run time only: `fromEnv(env)`. An object of strings by any name (`process.env`)
 * is taken as settings as it is; one typed by name with wider types than the settings' (a Worker's
 * `Env` with `AUTH_MODE: string`) goes through `fromEnv`.
 */
export interface EnvSettings {
  readonly [ENV]: Readonly<Record<string, unknown>>;
}

/**
 * `env` read by name where typed settings are taken: names that are no setting are ignored (an
 * environment holds many).
 */
export function fromEnv(env: object): EnvSettings {
  return { [ENV]: env as Readonly<Record<string, unknown>> };
}

/**
 * Settings given in code, overlaid by the environment's: a variable wins only when it is set. A blank
 * one (empty or whitespace, which `parse` reads as unset) does not hide the code's value: a blank
 * `ROUTES` var must not cancel the rules given in code and leave every route to the default.
 */
export function overlaySettings(
  settings: object | undefined,
  env: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  const set = Object.entries(env).filter(([, value]) =>
    typeof value === "string" ? value.trim() !== "" : value !== undefined,
  );
  return { ...settings, ...Object.fromEntries(set) };
}

/** The names and values that `settings` (typed, or an environment by `fromEnv`) give. */
export function settingsRecord(settings: object): Readonly<Record<string, unknown>> {
  return ENV in settings ? (settings as EnvSettings)[ENV] : (settings as Readonly<Record<string, unknown>>);
}

/** The parsed value of each setting of `E`, by name. */
export type SettingValues<E extends v.ObjectEntries> = v.InferOutput<v.ObjectSchema<E, undefined>>;

export interface Settings<E extends v.ObjectEntries, C> {
  /** Each setting's schema, by name; a bad configuration's keys are named in this order. */
  readonly entries: E;
  readonly names: ReadonlyArray<keyof E & string>;
  /** Kept beside `parse` so that `extendSettings` builds both configurations from one parse. */
  readonly build: (values: SettingValues<E>) => C;
  /**
   * Combinations of valid values that would leave a setting without effect (a setting silently
   * ignored fails open): each bad key with its message, refused by `parse` like a bad value.
   */
  readonly check: (values: SettingValues<E>) => ReadonlyMap<string, string>;
  /**
   * Settings missing from the input that no single entry can tell are required (one of two that
   * may stand for each other): checked on the raw input, so they are named beside bad values.
   */
  readonly missing: (input: Readonly<Record<string, unknown>>) => ReadonlyMap<string, string>;
  /**
   * Parses and validates once. Throws a `ConfigError` naming every bad key with the first rule
   * it breaks: an entry's messages state the rule and never quote the value, a secret's included.
   */
  readonly parse: (env: Readonly<Record<string, unknown>>) => C;
  /**
   * A setting's default as it would be spelled in the environment (`"jwt"`, `"300"`, `""` for an
   * empty list), or `undefined` when it has none: required, unset, or derived from other settings.
   */
  readonly defaultOf: (name: keyof E & string) => string | undefined;
}

/** What parsing `S` builds. */
export type ConfigOf<S extends Pick<Settings<v.ObjectEntries, unknown>, "parse">> = ReturnType<S["parse"]>;

const NO_PROBLEMS: ReadonlyMap<string, string> = new Map();

/**
 * The configuration's type is what `build` returns, from the values `entries` parse to; `check`
 * (default: none) names the combinations of valid values that are refused.
 */
export function defineSettings<const E extends v.ObjectEntries, C>(
  entries: E,
  build: (values: SettingValues<E>) => C,
  check: (values: SettingValues<E>) => ReadonlyMap<string, string> = () => NO_PROBLEMS,
  missing: (input: Readonly<Record<string, unknown>>) => ReadonlyMap<string, string> = () => NO_PROBLEMS,
): Settings<E, Readonly<C>> {
  const schema = v.object(entries);
  const names = Object.keys(entries) as Array<keyof E & string>;
  return {
    entries,
    names,
    build,
    check,
    missing,
    parse(env) {
      const input = readSettings(env, names);
      const absent = missing(input);
      const result = v.safeParse(schema, input);
      if (!result.success) throw new ConfigError(inOrder(names, new Map([...absent, ...problemsOf(result.issues)])));
      const problems = new Map([...absent, ...check(result.output)]);
      if (problems.size > 0) throw new ConfigError(inOrder(names, problems));
      return build(result.output);
    },
    defaultOf(name) {
      const entry = entries[name];
      const fallback: unknown = entry === undefined ? undefined : v.getDefault(entry);
      return typeof fallback === "string" ? fallback : undefined;
    },
  };
}

/**
 * `base` and then `extension`'s settings, building both configurations into one. The two may
 * hold the same entry (two packagings' extensions of the core, read together), but never two
 * schemas under one name.
 */
export function extendSettings<E1 extends v.ObjectEntries, C1, E2 extends v.ObjectEntries, C2>(
  base: Settings<E1, C1>,
  extension: Settings<E2, C2>,
): Settings<E1 & E2, Readonly<C1 & C2>> {
  for (const name of extension.names) {
    const own: unknown = base.entries[name];
    if (own !== undefined && own !== extension.entries[name])
      throw new TypeError(`${name} is defined twice, differently`);
  }
  // Sound casts: the values of E1 & E2 hold those of E1 and those of E2.
  return defineSettings(
    { ...base.entries, ...extension.entries },
    (values) => ({
      ...base.build(values as SettingValues<E1>),
      ...extension.build(values as SettingValues<E2>),
    }),
    (values) => new Map([...base.check(values as SettingValues<E1>), ...extension.check(values as SettingValues<E2>)]),
    (input) => new Map([...base.missing(input), ...extension.missing(input)]),
  );
}

/** `problems` in the schema's order of names (a key that is no setting name last). */
function inOrder(names: readonly string[], problems: ReadonlyMap<string, string>): Map<string, string> {
  const rank = (key: string): number => {
    const index = names.indexOf(key);
    return index === -1 ? names.length : index;
  };
  return new Map([...problems].sort(([a], [b]) => rank(a) - rank(b)));
}

/** The input of the schema: each setting trimmed, an empty one unset. */
function readSettings(env: Readonly<Record<string, unknown>>, names: readonly string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of names) {
    const value = env[name];
    input[name] = typeof value === "string" ? value.trim() || undefined : value;
  }
  return input;
}

/** What one item of a JSON list setting is called in a problem's location. */
const ITEM_NAMES: Readonly<Record<string, string>> = { ROUTES: "rule", ISSUERS: "issuer" };

/** The first problem of each bad setting, in the schema's order. */
function problemsOf(issues: readonly v.BaseIssue<unknown>[]): Map<string, string> {
  const problems = new Map<string, string>();
  for (const issue of issues) {
    // The setting is the first path segment; deeper segments (ROUTES' rules) locate the problem within it.
    const [setting, ...inner] = (v.getDotPath(issue) ?? "configuration").split(".");
    const key = setting ?? "configuration";
    const where = inner.length === 0 ? "" : `${ITEM_NAMES[key] ?? "item"} ${inner.join(".")}: `;
    if (!problems.has(key)) problems.set(key, `${where}${issue.message}`);
  }
  return problems;
}
