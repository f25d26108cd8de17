/**
 * The Worker's settings under `npm start`: every setting of the Worker's schema
 * (`WORKER_SETTING_NAMES`) is taken from npm start's environment, except those that point the
 * Worker at the stack npm start runs (`ISSUERS`: the two dev issuers, the first accepting machine
 * tokens for the Worker's URL as resource; `AUTHGEAR_ENDPOINT`, its one-issuer shorthand, left
 * unset, and the environment's `AUDIENCE`, `RESOURCES` and `ALLOWED_CLIENT_IDS` moved into the first
 * issuer's entry; `ORIGIN_URL`: the demo origin), which it always sets itself; `PUBLIC_PATHS` defaults to
 * `/healthz,/public/*`, `ROUTES` to a rule admitting machine clients on `/m2m/*`,
 * `CORS_ALLOWED_ORIGINS` to the SPA demo's origin and, in resolver and hybrid mode, `LOGIN_URL` to
 * the first dev issuer's login page. `AUTH_MODE=resolver` trusts one issuer (the core refuses
 * more), so there `ISSUERS` lists the first alone.
 * Every one of them is passed to the Worker, the unset ones empty (which the Worker reads as
 * unset), so wrangler.toml's `[vars]` (the deployment's settings) and `.dev.vars`/`.env` files do
 * not apply to them, and the printed configuration is the whole of it. The Lambda authorizer's
 * own settings are not the Worker's, and are not passed.
 */
import { WORKER_SETTING_NAMES, WORKER_SETTINGS, type WorkerSettingName } from "../src/cloudflare/config.ts";

export const DEV_PUBLIC_PATHS = "/healthz,/public/*";
/** Where npm start's machine client may go, and the scope it needs there. */
export const DEV_MACHINE_PATH = "/m2m";
export const DEV_MACHINE_SCOPE = "orders:read";
export const DEV_ROUTES = JSON.stringify([
  { path: `${DEV_MACHINE_PATH}/*`, subject: "client", scopes: [DEV_MACHINE_SCOPE] },
]);

export interface WorkerSetting {
  readonly name: string;
  /** As passed to the Worker, trimmed; `""` when unset (the Worker applies the default). */
  readonly value: string;
  /** The schema's default, spelled as a value (`WORKER_SETTINGS.defaultOf`). */
  readonly fallback: string | undefined;
  /** What npm start says about the value, printed after it. */
  readonly note?: string;
}

/** The dev stack's URLs, which the Worker must trust and forward to. */
export interface DevStack {
  /** The dev issuers' origins, the primary first (its resolver judges sessions); resolver mode trusts it alone. */
  readonly issuers: readonly string[];
  /** The API's resource URI: the `aud` of the machine tokens the first issuer accepts. */
  readonly resource: string;
  readonly origin: string;
  /** The SPA demo's origin, which `CORS_ALLOWED_ORIGINS` names unless the environment sets it. */
  readonly spa: string;
}

/** A name containing `SECRET`, or `ASSERTION_KEY` (a private key), names a secret: its value is never printed. */
function isSecret(name: string): boolean {
  return name.toUpperCase().includes("SECRET") || name.toUpperCase() === "ASSERTION_KEY";
}

/** A value as printed: `(set)` for a secret, otherwise on one line. */
function shown(name: string, value: string): string {
  return isSecret(name) ? "(set)" : value.replace(/\s*[\r\n]+\s*/g, " ");
}

/** An environment variable, trimmed; empty counts as unset, as for the Worker. */
function fromEnv(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
}

/** Whether the Worker trusts a second dev issuer: in every mode but resolver, which the core allows one issuer. */
export function trustsSecondIssuer(env: Readonly<Record<string, string | undefined>>): boolean {
  return fromEnv(env, "AUTH_MODE") !== "resolver";
}

/** The one-issuer settings that an `ISSUERS` entry says per issuer: the environment's go to the first dev issuer. */
const PER_ISSUER = { AUDIENCE: "audiences", RESOURCES: "resources", ALLOWED_CLIENT_IDS: "clientIds" } as const;

function listFromEnv(env: Readonly<Record<string, string | undefined>>, name: keyof typeof PER_ISSUER): string[] {
  return (fromEnv(env, name) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

type Env = Readonly<Record<string, string | undefined>>;

function issuersValue(env: Env, issuers: readonly string[], resource: string): string {
  const audiences = listFromEnv(env, "AUDIENCE");
  const clientIds = listFromEnv(env, "ALLOWED_CLIENT_IDS");
  const first = {
    issuer: issuers[0],
    ...(audiences.length > 0 && { audiences }),
    resources: [resource, ...listFromEnv(env, "RESOURCES")],
    ...(clientIds.length > 0 && { clientIds }),
  };
  return JSON.stringify([first, ...issuers.slice(1).map((issuer) => ({ issuer }))]);
}

/** Every setting's value for the Worker, in the schema's order. */
export function workerSettings(env: Readonly<Record<string, string | undefined>>, stack: DevStack): WorkerSetting[] {
  const issuers = trustsSecondIssuer(env) ? stack.issuers : stack.issuers.slice(0, 1);
  const endpoint = fromEnv(env, "AUTHGEAR_ENDPOINT");
  const replaced = endpoint === undefined ? "" : `; AUTHGEAR_ENDPOINT=${endpoint} of the environment is overridden`;
  const what = issuers.length === 1 ? "the dev issuer (AUTH_MODE=resolver trusts one)" : "the two dev issuers";
  const folded = Object.keys(PER_ISSUER).filter((name) => fromEnv(env, name) !== undefined);
  const into = folded.length === 0 ? "" : `; ${folded.join(", ")} of the environment go to the first`;
  const own: Partial<Record<WorkerSettingName, { value: string; what: string }>> = {
    ISSUERS: { value: issuersValue(env, issuers, stack.resource), what: `${what}${into}${replaced}` },
    AUTHGEAR_ENDPOINT: { value: "", what: "ISSUERS instead" },
    AUDIENCE: { value: "", what: "in ISSUERS" },
    RESOURCES: { value: "", what: "in ISSUERS" },
    ALLOWED_CLIENT_IDS: { value: "", what: "in ISSUERS" },
    ORIGIN_URL: { value: stack.origin, what: "the demo origin" },
  };
  return WORKER_SETTING_NAMES.map((name): WorkerSetting => {
    const given = fromEnv(env, name);
    const fallback = WORKER_SETTINGS.defaultOf(name);
    const forced = own[name];
    if (forced !== undefined) {
      const overridden =
        given === undefined || given === forced.value
          ? ""
          : `; ${name}=${shown(name, given)} of the environment is overridden`;
      return { name, value: forced.value, fallback, note: `npm start: ${forced.what}${overridden}` };
    }
    if (given === undefined && name === "PUBLIC_PATHS")
      return { name, value: DEV_PUBLIC_PATHS, fallback, note: "npm start's default" };
    if (given === undefined && name === "ROUTES") {
      return { name, value: DEV_ROUTES, fallback, note: "npm start's default: machine clients on /m2m/*" };
    }
    if (given === undefined && name === "CORS_ALLOWED_ORIGINS")
      return { name, value: stack.spa, fallback, note: "npm start: the SPA demo" };
    // Session cookies need a person to sign in: the dev issuer's login page, for browser navigations.
    const mode = fromEnv(env, "AUTH_MODE");
    if (given === undefined && name === "LOGIN_URL" && (mode === "resolver" || mode === "hybrid")) {
      const note = "npm start: the dev issuer's login page";
      return { name, value: `${stack.issuers[0]}/_dev/login`, fallback, note };
    }
    return { name, value: given ?? "", fallback };
  });
}

/** The settings as the Worker's configuration reads them (unset ones empty). */
export function settingsRecord(settings: readonly WorkerSetting[]): Record<string, string> {
  return Object.fromEntries(settings.map(({ name, value }) => [name, value]));
}

/**
 * The effective configuration, as printed at start: one line per setting that differs from its
 * default, with its value (never a secret's).
 */
export function describeSettings(settings: readonly WorkerSetting[]): string {
  const lines = settings
    .filter(({ value, fallback }) => value !== "" && value !== fallback)
    .map(({ name, value, note }) => `  ${name}=${shown(name, value)}${note === undefined ? "" : ` (${note})`}`);
  return `authgear-edge: the Worker's settings, from this environment (every other setting has its default; docs/configuration.md):\n${lines.join("\n")}`;
}
