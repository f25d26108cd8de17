/**
 * `npm run doctor`: checks a gate's configuration against the live issuer, the way the gate itself
 * will meet it, and says what to change for each failure. Node-only tooling: nothing in
 * src/cloudflare or src/aws imports it, so it never reaches the Worker or Lambda bundles.
 *
 * Every check reuses the core's own code: the settings' schemas (the Worker's and the
 * authorizer's, settings.ts), `fetchJson` (with the gate's deadline and size limit, no redirects)
 * for discovery and the key set, `checkJwksUri` and `rejectKey` for what the key set accepts,
 * the core's resolver for the resolver call, and a real authenticator for a token. The doctor
 * only adds the explanation.
 *
 * Nothing it returns holds the token or the value of a setting whose name contains `SECRET`.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import { createAuthenticator, looksLikeJwt, type AuthResult } from "../core/authenticator.ts";
import { MAX_CLOCK_TOLERANCE_SECONDS, SUPPORTED_ALGORITHMS, type Algorithm, type Config } from "../core/config.ts";
import { AuthError, describeError } from "../core/errors.ts";
import { fetchJson, FetchFailure, type FetchLimits } from "../core/http.ts";
import { checkJwksUri, DEFAULT_KEY_SET_TIMING, KID_MISS_COOLDOWN_SECONDS, rejectKey } from "../core/key-set.ts";
import { defaultFetcher, silentLogger, type BodyStream, type Fetcher, type FetchResponse } from "../core/ports.ts";
import { createResolver } from "../core/resolver.ts";
import { lookalikeSettings } from "../core/lookalike.ts";
import { ConfigError } from "../core/settings.ts";
import type { IssuerConfig } from "../core/issuers.ts";
import { explainUntrusted, issuerLabel, issuersSetting, type Trusted } from "./issuers.ts";
import { describeClient, explainAudience } from "./machine.ts";
import { ALL_SETTING_NAMES, ALL_SETTINGS } from "./settings.ts";

export type CheckName =
  "configuration" | "discovery" | "issuer" | "jwks" | "keys" | "algorithms" | "resolver" | "token";

/** One line of the report. A skipped check counts as passed (`ok: true`). */
export interface Check {
  readonly name: CheckName;
  readonly ok: boolean;
  /** What was found; never a token or a secret's value. */
  readonly detail: string;
  /** For a failure: what to change. */
  readonly fix?: string;
  /** The check did not apply (the mode does not use it) or could not run (an earlier check failed). */
  readonly skipped?: boolean;
  /** The issuer this check is about, when several are trusted (discovery, issuer, jwks, keys, algorithms). */
  readonly issuer?: string;
}

export interface DoctorOptions {
  /** Default: the global `fetch`. */
  readonly fetcher?: Fetcher;
  /** An access token (or any credential a client would send as `Bearer`) to verify. */
  readonly token?: string;
  /** Milliseconds since the Unix epoch; default `Date.now`. The token is judged at this moment. */
  readonly now?: () => number;
  /** Limits of the discovery and key-set fetches; default the gate's own (5 s, 64 KiB). */
  readonly limits?: FetchLimits;
}

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

const PORTAL_FIX =
  "JWT mode verifies JWT access tokens only: in the Authgear Portal, enable *Issue JWT as access token* for the client (Applications → your client), then sign in again to get a JWT; or set AUTH_MODE=hybrid to have opaque tokens checked by Authgear's resolver";

/** A published key as the token check describes it. */
interface PublishedKey {
  readonly kid: string | undefined;
  readonly kty: string;
  readonly alg: string | undefined;
}

interface Context {
  readonly fetcher: Fetcher;
  readonly exchanges: Recorder;
  readonly now: () => number;
  readonly limits: FetchLimits;
}

/** Runs every check that applies to the configuration in `env` (the gate's settings) and returns them in order. */
export async function runDoctor(env: Readonly<Record<string, unknown>>, options: DoctorOptions = {}): Promise<Check[]> {
  const exchanges = recorder(options.fetcher ?? defaultFetcher);
  const context: Context = {
    fetcher: exchanges.fetcher,
    exchanges,
    now: options.now ?? Date.now,
    limits: options.limits ?? DEFAULT_KEY_SET_TIMING.fetch,
  };
  const checks = await collect(env, options.token, context);
  return redact(checks, [options.token, ...secretValues(env)]);
}

async function collect(
  env: Readonly<Record<string, unknown>>,
  token: string | undefined,
  context: Context,
): Promise<Check[]> {
  let config: Config;
  try {
    config = ALL_SETTINGS.parse(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fix =
      "correct each setting the message names (README, Configuration); the gate answers every request with 500 until then";
    const rest: CheckName[] = ["discovery", "issuer", "jwks", "keys", "algorithms", "resolver", "token"];
    const detail = [error.message, lookalikeText(env)].filter((part) => part !== undefined).join(" ");
    return [
      { name: "configuration", ok: false, detail, fix },
      ...rest.map((name) => skip(name, "the configuration is invalid")),
    ];
  }
  const listed = typeof env.ISSUERS === "string" && env.ISSUERS.trim() !== "";
  const trusted: Trusted = { config, listed };
  const lookalikes = lookalikeText(env);
  const checks: Check[] = [
    lookalikes === undefined
      ? { name: "configuration", ok: true, detail: describeConfig(trusted, env) }
      : {
          name: "configuration",
          ok: false,
          detail: `${describeConfig(trusted, env)}. ${lookalikes}`,
          fix: LOOKALIKE_FIX,
        },
  ];

  // Every issuer at once: one slow issuer costs its own deadline, not the sum of all.
  const chains = await Promise.all(config.issuers.map((issuer) => checkIssuerChain(trusted, issuer, context)));
  const tag = config.issuers.length > 1;
  for (const chain of chains) {
    checks.push(...chain.checks.map((check) => (tag ? { ...check, issuer: chain.issuer } : check)));
  }
  const published = new Map(chains.map((chain) => [chain.issuer, chain.published]));

  checks.push(
    config.authMode === "jwt"
      ? skip("resolver", "AUTH_MODE=jwt never asks the resolver")
      : await checkResolver(config, context),
  );
  const tokenCheck =
    token === undefined
      ? skip("token", "no token given (--token <access token> checks one)")
      : await checkToken(trusted, token, context, published);
  checks.push(tokenCheck);
  return checks;
}

/** One issuer's checks: discovery, issuer, key set, keys, algorithms; and the keys it publishes, if read. */
async function checkIssuerChain(
  trusted: Trusted,
  entry: IssuerConfig,
  context: Context,
): Promise<{ issuer: string; checks: Check[]; published: readonly PublishedKey[] | undefined }> {
  const label = issuerLabel(trusted, entry);
  const checks: Check[] = [];
  const discovery = await checkDiscovery(entry, label, context);
  checks.push(discovery.check);
  const document = discovery.document;
  const issuerCheck =
    document === undefined ? skip("issuer", "no discovery document") : checkIssuer(entry, label, document.issuer);
  checks.push(issuerCheck);
  const result = (published?: readonly PublishedKey[]) => ({ issuer: entry.issuer, checks, published });
  // Resolver mode verifies machine clients' tokens itself (the resolver judges users' sessions only).
  if (trusted.config.authMode === "resolver" && entry.resources.length === 0) {
    const why = "AUTH_MODE=resolver verifies no JWT itself (but a machine client's, when the issuer has resources)";
    for (const name of ["jwks", "keys", "algorithms"] as const) checks.push(skip(name, why));
    return result();
  }
  if (discovery.document === undefined) {
    for (const name of ["jwks", "keys", "algorithms"] as const) checks.push(skip(name, "no discovery document"));
    return result();
  }
  const jwks = await checkJwks(discovery.document.jwks_uri, context);
  checks.push(jwks.check);
  if (jwks.keys === undefined) {
    checks.push(skip("keys", "no key set"), skip("algorithms", "no key set"));
    return result();
  }
  const keys = checkKeys(jwks.keys);
  checks.push(keys.check);
  const usable = keys.usable.length > 0;
  checks.push(
    usable ? checkAlgorithms(entry.algorithms, keys.usable, discovery.document) : skip("algorithms", "no usable key"),
  );
  return result(jwks.keys.map(describeKey));
}

const LOOKALIKE_FIX = "rename each to the setting it resembles (README, Configuration), or remove it";

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

function skip(name: CheckName, why: string): Check {
  return { name, ok: true, skipped: true, detail: `skipped: ${why}` };
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

// ---------------------------------------------------------------------------------------------
// Fetches: what the core's fetchJson saw, for the explanation.

interface Exchange {
  readonly url: string;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  bytes: number;
}

interface Recorder {
  readonly fetcher: Fetcher;
  /** The answer to the last request sent to `url`, if one came. */
  last(url: string): Exchange | undefined;
}

/** Wraps a fetcher so the status, headers and body size of each answer can be reported. */
function recorder(inner: Fetcher): Recorder {
  const seen = new Map<string, Exchange>();
  const fetcher: Fetcher = async (url, init) => {
    seen.delete(url);
    const response = await inner(url, init);
    const exchange: Exchange = { url, status: response.status, headers: response.headers, bytes: 0 };
    seen.set(url, exchange);
    const body = response.body === null ? null : counting(response.body, (bytes) => (exchange.bytes += bytes));
    const counted: FetchResponse = {
      status: response.status,
      headers: response.headers,
      body,
      get bodyUsed() {
        return response.bodyUsed;
      },
    };
    return counted;
  };
  return { fetcher, last: (url) => seen.get(url) };
}

/** `stream`, with `count` told the size of each chunk read. */
function counting(stream: BodyStream, count: (bytes: number) => void): BodyStream {
  return {
    getReader() {
      const reader = stream.getReader();
      return {
        async read() {
          const chunk = await reader.read();
          if (!chunk.done) count(chunk.value.byteLength);
          return chunk;
        },
        cancel: () => reader.cancel(),
      };
    },
    cancel: () => stream.cancel(),
  };
}

/** `3.2 KiB`, `812 bytes`. */
function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function limitsText(limits: FetchLimits): string {
  return `the gate's limits: ${size(limits.maxBytes)}, ${limits.timeoutMs} ms`;
}

/** What went wrong with one fetch of `url`, and what to do, for discovery or the key set. */
function explainFetch(
  what: "discovery" | "jwks",
  url: string,
  error: FetchFailure,
  context: Context,
  label = "AUTHGEAR_ENDPOINT",
): { detail: string; fix: string } {
  const seen = context.exchanges.last(url);
  const host = new URL(url).host;
  const status = /^answered HTTP (\d+)$/.exec(error.message)?.[1];
  const setting = what === "discovery" ? label : "the issuer's jwks_uri";
  if (status !== undefined) {
    const code = Number(status);
    if (code >= 300 && code < 400) {
      const location = seen?.headers.get("location") ?? null;
      const target = location === null ? "no Location" : resolveLocation(location, url);
      const detail = `GET ${url}: redirect ${code} to ${target}`;
      if (what === "discovery") {
        const origin = location === null ? undefined : originOf(target);
        return {
          detail,
          fix: `the gate follows no redirect: set ${label} to the origin that serves the document itself${origin === undefined ? "" : ` (${origin}, if that is your Authgear endpoint)`}`,
        };
      }
      return {
        detail,
        fix: "the gate follows no redirect: the issuer's jwks_uri must answer with the key set itself (ask its operator)",
      };
    }
    if (code === 404 && what === "discovery") {
      return {
        detail: `GET ${url}: HTTP 404, no discovery document`,
        fix: `set ${label} to your Authgear project's endpoint (https://<project>.authgear.cloud, or its custom domain) — not the Portal, your application, or a URL with a path`,
      };
    }
    if (code >= 500) {
      return {
        detail: `GET ${url}: HTTP ${code}`,
        fix: `the issuer at ${host} is failing: retry later (the gate serves a cached key set meanwhile, and answers 503 when it holds none)`,
      };
    }
    return {
      detail: `GET ${url}: HTTP ${code} (the gate needs 200)`,
      fix: `${setting} must answer a plain GET with 200 and JSON, without credentials`,
    };
  }
  if (error.message.startsWith("timed out")) {
    return {
      detail: `GET ${url}: no complete answer within ${context.limits.timeoutMs} ms (${limitsText(context.limits)})`,
      fix: `check that ${host} is reachable from where the gate runs (DNS, firewall, proxy) and answers promptly; the gate gives up at the same deadline and answers 503`,
    };
  }
  if (error.message === "network error") {
    const code = causeCode(error);
    return {
      detail: `GET ${url}: network error${code === undefined ? "" : ` (${code})`}`,
      fix: networkFix(host, code, setting),
    };
  }
  if (error.message.startsWith("body larger than")) {
    return {
      detail: `GET ${url}: the body is larger than ${size(context.limits.maxBytes)} (${limitsText(context.limits)})`,
      fix:
        what === "discovery"
          ? `the gate reads at most 64 KiB, far more than an Authgear discovery document: point ${label} at the issuer itself`
          : "the key set exceeds the gate's 64 KiB limit: publish fewer keys (an Authgear key set holds one or two)",
    };
  }
  if (error.message === "body is not JSON") {
    const type = seen?.headers.get("content-type");
    return {
      detail: `GET ${url}: 200 but the body is not JSON${type ? ` (content-type ${type})` : ""}`,
      fix:
        what === "discovery"
          ? `${label} serves something else than an OpenID Connect issuer (a web page?): set it to your Authgear endpoint`
          : "the issuer's jwks_uri does not serve a JSON key set (ask its operator)",
    };
  }
  return { detail: `GET ${url}: ${error.message}`, fix: `${setting} must answer 200 with a JSON document` };
}

function resolveLocation(location: string, base: string): string {
  return URL.canParse(location, base) ? new URL(location, base).href : location;
}

function originOf(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).origin : undefined;
}

/**
 * What lies under a fetch failure: the system error code (`ECONNREFUSED`, `ENOTFOUND`, a TLS code)
 * if there is one, else the innermost message (`bad port`, say).
 */
function causeCode(error: unknown): string | undefined {
  let current: unknown = (error as { cause?: unknown } | undefined)?.cause;
  let message: string | undefined;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth += 1) {
    const { code, message: text } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string" && code !== "UND_ERR_SOCKET" && !code.startsWith("ERR_JW")) return code;
    if (typeof text === "string" && text !== "" && text !== "fetch failed") message = text;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}

function networkFix(host: string, code: string | undefined, setting: string): string {
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `${host} does not resolve: check the spelling of ${setting} (and DNS where the gate runs)`;
  if (code === "ECONNREFUSED") return `nothing listens at ${host}: check the host and port of ${setting}`;
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED/.test(code))
    return `the TLS certificate of ${host} is not trusted: the issuer needs a publicly trusted certificate for its name`;
  return `check that ${host} (from ${setting}) is reachable from where the gate runs`;
}

// ---------------------------------------------------------------------------------------------
// Discovery, issuer, key set.

interface Discovery {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly [member: string]: unknown;
}

async function checkDiscovery(
  entry: IssuerConfig,
  label: string,
  context: Context,
): Promise<{ check: Check; document?: Discovery }> {
  const url = entry.discoveryUrl;
  const started = performance.now();
  let body: unknown;
  try {
    body = await fetchJson(context.fetcher, url, context.limits);
  } catch (error) {
    if (!(error instanceof FetchFailure)) throw error;
    return { check: { name: "discovery", ok: false, ...explainFetch("discovery", url, error, context, label) } };
  }
  const ms = Math.round(performance.now() - started);
  const document =
    typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (typeof document.issuer !== "string" || typeof document.jwks_uri !== "string") {
    const missing = ["issuer", "jwks_uri"].filter((member) => typeof document[member] !== "string");
    return {
      check: {
        name: "discovery",
        ok: false,
        detail: `GET ${url}: 200 JSON, but without ${missing.join(" and ")}: not an OpenID Connect discovery document`,
        fix: `set ${label} to your Authgear endpoint (https://<project>.authgear.cloud, or its custom domain)`,
      },
    };
  }
  const bytes = context.exchanges.last(url)?.bytes ?? 0;
  return {
    check: { name: "discovery", ok: true, detail: `GET ${url}: 200, ${size(bytes)} in ${ms} ms` },
    document: document as Discovery,
  };
}

/** `AUTHGEAR_ENDPOINT https://…`, or `the ISSUERS entry https://…`, which names its value already. */
function named(label: string, endpoint: string): string {
  return label === "AUTHGEAR_ENDPOINT" ? `${label} ${endpoint}` : label;
}

function setTo(label: string, value: string): string {
  return label === "AUTHGEAR_ENDPOINT" ? `set ${label}=${value}` : `change ${label} to ${value}`;
}

function checkIssuer(entry: IssuerConfig, label: string, issuer: string): Check {
  const endpoint = entry.issuer;
  if (issuer === endpoint)
    return { name: "issuer", ok: true, detail: `the discovery issuer ${issuer} equals ${label}` };
  const { difference, fix } = issuerDifference(endpoint, issuer, "the discovery document", label);
  return {
    name: "issuer",
    ok: false,
    detail: `the discovery issuer ${JSON.stringify(issuer)} is not ${named(label, endpoint)} (${difference}); the gate compares them exactly and refuses the key set (503)`,
    fix,
  };
}

/** How `other` (an issuer from a discovery document or a token) differs from the endpoint origin, and what to do. */
function issuerDifference(
  endpoint: string,
  other: string,
  source: string,
  label = "AUTHGEAR_ENDPOINT",
): { difference: string; fix: string; usable: boolean } {
  const ours = new URL(endpoint);
  if (!URL.canParse(other)) {
    return {
      difference: "it is not a URL",
      fix: `${source} names no usable issuer: ${label} must be an OpenID Connect issuer`,
      usable: false,
    };
  }
  const theirs = new URL(other);
  const originOnly = (theirs.pathname === "/" || theirs.pathname === "") && theirs.search === "" && theirs.hash === "";
  if (other === `${endpoint}/`) {
    return {
      difference: "a trailing slash",
      fix: `the gate accepts issuers that are origins (no path, no trailing slash), compared exactly: this issuer's identifier ends with '/', which no ${label} can equal — it is not an Authgear issuer`,
      usable: false,
    };
  }
  if (!originOnly) {
    return {
      difference: `it has the path ${theirs.pathname}`,
      fix: "the gate accepts issuers that are origins only (Authgear's are): an issuer with a path cannot be used",
      usable: false,
    };
  }
  const parts: string[] = [];
  if (theirs.protocol !== ours.protocol)
    parts.push(`scheme ${theirs.protocol.slice(0, -1)} instead of ${ours.protocol.slice(0, -1)}`);
  if (theirs.hostname !== ours.hostname) parts.push(`host ${theirs.hostname} instead of ${ours.hostname}`);
  if (theirs.port !== ours.port) parts.push(`port ${theirs.port || "default"} instead of ${ours.port || "default"}`);
  if (other !== theirs.origin) parts.push(`spelled ${JSON.stringify(other)}, not as an origin`);
  const hostHint =
    theirs.hostname !== ours.hostname
      ? ` (Authgear names its issuer after the project's public origin: with a custom domain, ${label} is that domain)`
      : "";
  const exact = other === theirs.origin;
  return {
    difference: parts.join(", ") || "spelled differently",
    fix: exact
      ? `if ${other} is your project's endpoint, ${setTo(label, other)}${hostHint}; otherwise ${label} points at another issuer`
      : `the gate compares the issuer exactly: ${source} must name it as ${theirs.origin}`,
    usable: exact,
  };
}

async function checkJwks(
  rawUri: string,
  context: Context,
): Promise<{ check: Check; keys?: ReadonlyArray<Record<string, unknown>> }> {
  let uri: string;
  try {
    uri = checkJwksUri(rawUri);
  } catch (error) {
    if (!(error instanceof FetchFailure)) throw error;
    return {
      check: {
        name: "jwks",
        ok: false,
        detail: `jwks_uri ${JSON.stringify(rawUri)}: ${error.message}`,
        fix: "the gate fetches keys over https only (http only for localhost and 127.0.0.0/8): the issuer must publish an https jwks_uri",
      },
    };
  }
  const started = performance.now();
  let body: unknown;
  try {
    body = await fetchJson(context.fetcher, uri, context.limits);
  } catch (error) {
    if (!(error instanceof FetchFailure)) throw error;
    return { check: { name: "jwks", ok: false, ...explainFetch("jwks", uri, error, context) } };
  }
  const ms = Math.round(performance.now() - started);
  const keys = typeof body === "object" && body !== null ? (body as { keys?: unknown }).keys : undefined;
  if (
    !Array.isArray(keys) ||
    !keys.every((key) => typeof key === "object" && key !== null && typeof (key as { kty?: unknown }).kty === "string")
  ) {
    return {
      check: {
        name: "jwks",
        ok: false,
        detail: `GET ${uri}: 200 JSON, but not a key set (a "keys" array of JWKs with kty)`,
        fix: "the issuer's jwks_uri must serve a JWK Set (RFC 7517)",
      },
    };
  }
  const bytes = context.exchanges.last(uri)?.bytes ?? 0;
  const close =
    bytes > context.limits.maxBytes * 0.75 || ms > context.limits.timeoutMs * 0.5 ? "; close to a limit" : "";
  return {
    check: {
      name: "jwks",
      ok: true,
      detail: `GET ${uri}: 200, ${size(bytes)} in ${ms} ms (${limitsText(context.limits)}${close})`,
    },
    keys: keys as Array<Record<string, unknown>>,
  };
}

function kidOf(jwk: Readonly<Record<string, unknown>>): string | undefined {
  return typeof jwk.kid === "string" ? jwk.kid : undefined;
}

function describeKey(jwk: Readonly<Record<string, unknown>>): PublishedKey {
  return { kid: kidOf(jwk), kty: String(jwk.kty), alg: typeof jwk.alg === "string" ? jwk.alg : undefined };
}

function keyName(jwk: Readonly<Record<string, unknown>>): string {
  const kid = kidOf(jwk);
  const kind = [
    String(jwk.kty),
    typeof jwk.alg === "string" ? jwk.alg : typeof jwk.crv === "string" ? jwk.crv : undefined,
  ]
    .filter(Boolean)
    .join(" ");
  return `${kid === undefined ? "a key without kid" : `kid ${JSON.stringify(kid)}`} (${kind})`;
}

function checkKeys(keys: ReadonlyArray<Record<string, unknown>>): {
  check: Check;
  usable: ReadonlyArray<Record<string, unknown>>;
} {
  const usable = keys.filter((jwk) => rejectKey(jwk) === undefined);
  const ignored = keys.flatMap((jwk) => {
    const reason = rejectKey(jwk);
    return reason === undefined ? [] : [`${keyName(jwk)}: ${reason}`];
  });
  const ignoredText = ignored.length === 0 ? "" : `; ignored ${ignored.length}: ${ignored.join("; ")}`;
  if (usable.length === 0) {
    return {
      check: {
        name: "keys",
        ok: false,
        detail: `${keys.length} key${keys.length === 1 ? "" : "s"} published, none usable${ignoredText}`,
        fix: "the gate verifies with public signature keys only (RSA of 2048 bits or more, EC P-256/384/521, Ed25519; use sig): the issuer must publish one (an Authgear project publishes an RSA key)",
      },
      usable,
    };
  }
  return {
    check: {
      name: "keys",
      ok: true,
      detail: `${usable.length} usable: ${usable.map(keyName).join(", ")}${ignoredText}`,
    },
    usable,
  };
}

/** The algorithms a usable key can verify, as jose selects keys (an `alg` on the key narrows it to that one). */
function keyAlgorithms(jwk: Readonly<Record<string, unknown>>): Algorithm[] {
  const supported = SUPPORTED_ALGORITHMS as readonly string[];
  if (typeof jwk.alg === "string") return supported.includes(jwk.alg) ? [jwk.alg as Algorithm] : [];
  switch (jwk.kty) {
    case "RSA":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
    case "EC":
      return jwk.crv === "P-256" ? ["ES256"] : jwk.crv === "P-384" ? ["ES384"] : jwk.crv === "P-521" ? ["ES512"] : [];
    case "OKP":
      return jwk.crv === "Ed25519" ? ["EdDSA", "Ed25519"] : [];
    default:
      return [];
  }
}

function checkAlgorithms(
  algorithms: readonly Algorithm[],
  usable: ReadonlyArray<Record<string, unknown>>,
  discovery: Discovery,
): Check {
  const offered = new Set(usable.flatMap(keyAlgorithms));
  const accepted = algorithms.filter((alg) => offered.has(alg));
  const unmatched = algorithms.filter((alg) => !offered.has(alg));
  if (accepted.length > 0) {
    const note =
      unmatched.length === 0
        ? ""
        : `; ${unmatched.join(", ")} ha${unmatched.length === 1 ? "s" : "ve"} no published key`;
    return {
      name: "algorithms",
      ok: true,
      detail: `ALGORITHMS=${algorithms.join(",")}: ${accepted.join(", ")} verif${accepted.length === 1 ? "ies" : "y"} with the published keys${note}`,
    };
  }
  // What the issuer signs with: the keys' own alg, else what discovery says it signs ID tokens with, else the usual one per key type.
  const explicit = usable.flatMap((jwk) =>
    typeof jwk.alg === "string" && offered.has(jwk.alg as Algorithm) ? [jwk.alg as Algorithm] : [],
  );
  const advertised = Array.isArray(discovery.id_token_signing_alg_values_supported)
    ? discovery.id_token_signing_alg_values_supported.filter(
        (alg): alg is Algorithm => typeof alg === "string" && offered.has(alg as Algorithm),
      )
    : [];
  const usual = usable.flatMap((jwk) => keyAlgorithms(jwk).slice(0, 1));
  const suggestion = [...new Set(explicit.length > 0 ? explicit : advertised.length > 0 ? advertised : usual)];
  const keys = usable.map(keyName).join(", ");
  return {
    name: "algorithms",
    ok: false,
    detail: `ALGORITHMS=${algorithms.join(",")}, but the published key${usable.length === 1 ? "" : "s"} (${keys}) verif${usable.length === 1 ? "ies" : "y"} only ${[...offered].join(", ")}: no token of this issuer can verify`,
    fix: `set ALGORITHMS=${suggestion.join(",")} (what the issuer signs with${suggestion.includes("RS256") ? "; Authgear signs with RS256" : ""})`,
  };
}

// ---------------------------------------------------------------------------------------------
// Resolver.

async function checkResolver(config: Config, context: Context): Promise<Check> {
  const url = config.resolverUrl;
  const host = new URL(url).host;
  const reasons: string[] = [];
  const resolver = createResolver({
    resolverUrl: url,
    fetcher: context.fetcher,
    clock: Date.now,
    logger: { log: (_event, fields) => reasons.push(String(fields.reason)) },
    cacheSeconds: 0,
    issuer: config.issuer,
    timeoutMs: config.resolverTimeoutMs,
    maxEntries: 0,
  });
  const asked = `GET ${url} (Host: ${host}) without credentials`;
  const setting = "RESOLVER_URL";
  try {
    const verdict = await resolver.resolve({ authorization: undefined, cookies: [] });
    switch (verdict.kind) {
      case "none":
        return {
          name: "resolver",
          ok: true,
          detail: `${asked}: 200 without X-Authgear-Session-Valid (no session), as Authgear's resolver answers`,
        };
      case "invalid":
        return { name: "resolver", ok: true, detail: `${asked}: 200, X-Authgear-Session-Valid: false` };
      case "valid":
        return {
          name: "resolver",
          ok: false,
          detail: `${asked}: X-Authgear-Session-Valid: true for a request with no credentials at all — not how Authgear's resolver answers`,
          fix: `${setting} must be Authgear's resolver endpoint (https://<your Authgear endpoint>/_resolver/resolve): whatever answers there lets everyone in`,
        };
    }
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    return {
      name: "resolver",
      ok: false,
      ...explainResolverFailure(
        reasons[0] ?? error.message,
        error.cause,
        { url, host, asked, setting },
        config,
        context,
      ),
    };
  }
}

function explainResolverFailure(
  reason: string,
  seenError: unknown,
  call: { readonly url: string; readonly host: string; readonly asked: string; readonly setting: string },
  config: Config,
  context: Context,
): { detail: string; fix: string } {
  const { url, host, asked, setting } = call;
  const seen = context.exchanges.last(url);
  const status = /^answered HTTP (\d+)$/.exec(reason)?.[1];
  if (status !== undefined) {
    const code = Number(status);
    if (code >= 300 && code < 400) {
      const location = seen?.headers.get("location") ?? null;
      return {
        detail: `${asked}: redirect ${code} to ${location === null ? "no Location" : resolveLocation(location, url)}`,
        fix: `the gate follows no redirect: set ${setting} to the URL that answers itself`,
      };
    }
    if (code === 404) {
      return {
        detail: `${asked}: HTTP 404 — Authgear selects the project by Host, and none answers for ${host}`,
        fix: `set RESOLVER_URL to https://<your project's Authgear endpoint or custom domain>/_resolver/resolve: its host is the Host the gate sends`,
      };
    }
    if (code >= 500) {
      return {
        detail: `${asked}: HTTP ${code}`,
        fix: `the resolver at ${host} is failing: every request that needs it gets 503 until it recovers`,
      };
    }
    return {
      detail: `${asked}: HTTP ${code} (Authgear's resolver always answers 200)`,
      fix: `${setting} must be Authgear's resolver endpoint, reachable without any other authentication`,
    };
  }
  if (reason.startsWith("timed out")) {
    return {
      detail: `${asked}: no answer within RESOLVER_TIMEOUT_MS=${config.resolverTimeoutMs} ms`,
      fix: `check that ${host} is reachable from where the gate runs; if it is only slow, raise RESOLVER_TIMEOUT_MS (at most 30000)`,
    };
  }
  if (reason === "network error") {
    const code = causeCode(seenError);
    return {
      detail: `${asked}: network error${code === undefined ? "" : ` (${code})`}`,
      fix: networkFix(host, code, setting),
    };
  }
  const valid = seen?.headers.get("x-authgear-session-valid");
  return {
    detail: `${asked}: an unusable answer (${reason}${valid === null || valid === undefined ? "" : `, X-Authgear-Session-Valid: ${JSON.stringify(valid)}`})`,
    fix: `${setting} must be Authgear's resolver endpoint: what answers there does not speak its protocol`,
  };
}

// ---------------------------------------------------------------------------------------------
// Token.

async function checkToken(
  trusted: Trusted,
  raw: string,
  context: Context,
  publishedBy: ReadonlyMap<string, readonly PublishedKey[] | undefined>,
): Promise<Check> {
  const { config } = trusted;
  const token = raw.trim().replace(/^bearer[ \t]+/i, "");
  if (token === "")
    return {
      name: "token",
      ok: false,
      detail: "the token is empty",
      fix: "pass the access token the client sends after `Bearer `",
    };
  let headers: Headers;
  try {
    headers = new Headers({ authorization: `Bearer ${token}` });
  } catch {
    return {
      name: "token",
      ok: false,
      detail: "the token holds characters an HTTP header cannot carry (a line break?)",
      fix: "pass the token alone, exactly as the client sends it after `Bearer `",
    };
  }
  const opaque = !looksLikeJwt(token);
  const viaResolver = config.authMode === "resolver" || (config.authMode === "hybrid" && opaque);
  const authenticator = createAuthenticator(config, {
    fetcher: context.fetcher,
    clock: context.now,
    logger: silentLogger,
    keySetTiming: { fetch: context.limits },
  });
  const result = await authenticator.authenticate(headers);
  const token2 = describeToken(token);
  if (result.ok && result.identity.kind === "client") {
    // A machine client's JWT is verified by the gate itself in every mode.
    const client = describeClient(trusted, result.identity, token2.payload ?? {}, context.now());
    const { how, expiry } = localVerification(token2, context.now());
    const detail = `${client.ok ? "valid" : "valid, but useless here"}: ${how}${expiry}; ${client.detail}`;
    return { name: "token", ok: client.ok, detail, ...(client.fix !== undefined && { fix: client.fix }) };
  }
  if (result.ok)
    return { name: "token", ok: true, detail: describeSuccess(result, token2, viaResolver, config, context.now()) };
  const iss = token2.payload?.iss;
  const issuer = config.issuers.find((each) => each.issuer === iss);
  const published = issuer === undefined ? undefined : publishedBy.get(issuer.issuer);
  const refusal = { trusted, issuer, config, opaque, viaResolver, published, nowMs: context.now() };
  const { detail, fix } = explainRefusal(result.error, token2, refusal);
  const { status } = describeError(result.error.code);
  return { name: "token", ok: false, detail: `${detail} — the gate answers ${status} ${result.error.code}`, fix };
}

interface TokenView {
  readonly segments: number;
  readonly length: number;
  readonly header: ProtectedHeaderParameters | undefined;
  readonly payload: JWTPayload | undefined;
}

/** The token's parts, decoded without verification, for the explanation only. */
function describeToken(token: string): TokenView {
  let header: ProtectedHeaderParameters | undefined;
  let payload: JWTPayload | undefined;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    header = undefined;
  }
  try {
    payload = decodeJwt(token);
  } catch {
    payload = undefined;
  }
  return { segments: token.split(".").length, length: token.length, header, payload };
}

function describeSuccess(
  result: Extract<AuthResult, { ok: true }>,
  token: TokenView,
  viaResolver: boolean,
  config: Config,
  nowMs: number,
): string {
  const { identity } = result;
  const who: string[] = [];
  if (identity.kind === "user") {
    who.push(`user ${identity.userId}`);
    if (identity.clientId !== undefined) who.push(`client_id ${identity.clientId}`);
    who.push(identity.roles.length === 0 ? "no roles" : `roles ${identity.roles.join(",")}`);
    if (identity.amr.length > 0) who.push(`amr ${identity.amr.join(",")}`);
    if (config.issuers.length > 1) who.push(`issuer ${identity.issuer}`);
  }
  if (viaResolver) return `valid: Authgear's resolver accepted it (AUTH_MODE=${config.authMode}); ${who.join(", ")}`;
  const { how, expiry } = localVerification(token, nowMs);
  return `valid: ${how}; ${who.join(", ")}${expiry}`;
}

/** How the gate verified a JWT itself (its alg and kid), and when it expires. */
function localVerification(token: TokenView, nowMs: number): { how: string; expiry: string } {
  const exp = token.payload?.exp;
  const expiry =
    typeof exp === "number" ? `, expires in ${duration(exp - Math.floor(nowMs / 1000))}, at ${time(exp)}` : "";
  const alg = typeof token.header?.alg === "string" ? `${token.header.alg}, ` : "";
  const kid = typeof token.header?.kid === "string" ? `kid ${token.header.kid}` : "no kid";
  return { how: `verified by the gate itself (${alg}${kid})`, expiry };
}

interface RefusalContext {
  readonly trusted: Trusted;
  /** The trusted issuer the token's `iss` names, if any. */
  readonly issuer: IssuerConfig | undefined;
  readonly config: Config;
  readonly opaque: boolean;
  readonly viaResolver: boolean;
  readonly published: readonly PublishedKey[] | undefined;
  readonly nowMs: number;
}

function explainRefusal(error: AuthError, token: TokenView, context: RefusalContext): { detail: string; fix: string } {
  const { config } = context;
  const { header, payload } = token;
  const nowSeconds = Math.floor(context.nowMs / 1000);
  const tolerance = `CLOCK_TOLERANCE_SECONDS=${config.clockToleranceSeconds}`;
  const cause = joseCause(error);
  switch (error.code) {
    case "ERR_JWT_MALFORMED":
    case "ERR_REQUEST_MALFORMED": {
      if (context.opaque && !context.viaResolver) {
        if (token.segments === 5) {
          return {
            detail: "an encrypted token (JWE: five dot-separated segments), not a signed JWT",
            fix: "the gate verifies signed JWT access tokens (JWS) only: configure the issuer to sign its access tokens, not encrypt them",
          };
        }
        return {
          detail: `an opaque token, not a JWT (${token.segments === 1 ? "no dots" : `${token.segments} dot-separated segments`}, ${token.length} characters)`,
          fix: PORTAL_FIX,
        };
      }
      if (error.code === "ERR_REQUEST_MALFORMED") {
        return {
          detail: error.message,
          fix: "pass the token alone (at most 8192 characters of base64url), exactly as the client sends it after `Bearer `",
        };
      }
      return {
        detail: `not a well-formed JWT: ${malformedReason(error, token)}`,
        fix: "send the token exactly as the issuer issued it: three segments of unpadded base64url, nothing added or cut",
      };
    }
    case "ERR_JWT_ALGORITHM": {
      const alg = typeof header?.alg === "string" ? header.alg : "(none)";
      const supported = (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg);
      return {
        detail: `alg ${JSON.stringify(alg)} is not in ALGORITHMS (${config.algorithms.join(",")})`,
        fix: supported
          ? `if the issuer signs with ${alg}, accept it: ALGORITHMS=${[...config.algorithms, alg].join(",")}`
          : `${alg} is never accepted (symmetric or none): this token was not signed with an issuer's published key`,
      };
    }
    case "ERR_JWT_TYPE": {
      const evidence = idTokenEvidence(header, payload, config);
      if (evidence.idToken) {
        return {
          detail: `an ID token, not an access token: ${evidence.reasons.join(", ")}`,
          fix: "send the access_token of the token response, not the id_token (with *Issue JWT as access token* on, Authgear's access tokens are JWTs with typ at+jwt)",
        };
      }
      return {
        detail: `typ ${header?.typ === undefined ? "is missing" : JSON.stringify(header.typ)}; access tokens carry typ at+jwt (RFC 9068)`,
        fix: "send an access token of AUTHGEAR_ENDPOINT's project: the gate accepts RFC 9068 JWT access tokens only",
      };
    }
    case "ERR_JWT_KEY_NOT_FOUND":
      return explainUnknownKey(token, context);
    case "ERR_JWT_SIGNATURE": {
      const kid = typeof header?.kid === "string" ? ` kid ${JSON.stringify(header.kid)}` : "";
      return {
        detail: `the signature does not verify with the published key${kid}`,
        fix: "the token was altered or cut short (copy it whole), or signed by another issuer under the same kid: get a new token from AUTHGEAR_ENDPOINT's project",
      };
    }
    case "ERR_JWT_EXPIRED": {
      const exp = payload?.exp;
      const ago = typeof exp === "number" ? `, ${duration(nowSeconds - exp)} ago` : "";
      return {
        detail: `expired: exp ${typeof exp === "number" ? time(exp) : "?"}, now ${time(nowSeconds)}${ago} (${tolerance})`,
        fix: "get a fresh access token (a client refreshes it before exp); if it was just issued, the clock here or the issuer's is wrong",
      };
    }
    case "ERR_JWT_CLAIM_INVALID":
      return explainClaim(error, cause, token, context);
    case "ERR_IDENTITY_CLAIM_INVALID":
      return {
        detail: `it verifies, but ${error.message.replace(/^The token's /, "its ").replace(/\.$/, "")}: a claim that cannot become an identity header`,
        fix: "sub must be printable ASCII, the user claims booleans, roles an array of strings without spaces or commas: correct the claim at the issuer (Authgear: the role keys)",
      };
    case "ERR_KEYSET_UNAVAILABLE":
      return {
        detail: "it cannot be verified: the key set cannot be fetched (see the checks above)",
        fix: "fix the failing discovery, issuer or jwks check",
      };
    case "ERR_SESSION_INVALID":
      return {
        detail: `${context.opaque ? "an opaque token" : "a JWT"}, sent to Authgear's resolver (AUTH_MODE=${config.authMode}), which says it is not valid: expired, revoked or logged out, a token of another project, or the user is disabled`,
        fix: "sign in again for a fresh token or session",
      };
    case "ERR_RESOLVER_UNAVAILABLE":
      return {
        detail: `${context.opaque ? "an opaque token" : "a JWT"}, sent to Authgear's resolver (AUTH_MODE=${config.authMode}), which cannot be asked (see the resolver check)`,
        fix: "fix the failing resolver check",
      };
    case "ERR_CREDENTIALS_MISSING":
      return {
        detail: "the resolver found no credential in it (no verdict)",
        fix: "pass the access token the client sends after `Bearer `",
      };
    default:
      return { detail: error.message, fix: "an unforeseen failure: report it, with this output" };
  }
}

function joseCause(error: AuthError): {
  claim: string | undefined;
  reason: string | undefined;
  code: string | undefined;
} {
  const cause = error.cause;
  if (typeof cause !== "object" || cause === null) return { claim: undefined, reason: undefined, code: undefined };
  const { claim, reason, code } = cause as { claim?: unknown; reason?: unknown; code?: unknown };
  return {
    claim: typeof claim === "string" ? claim : undefined,
    reason: typeof reason === "string" ? reason : undefined,
    code: typeof code === "string" ? code : undefined,
  };
}

function malformedReason(error: AuthError, token: TokenView): string {
  const cause = joseCause(error);
  if (cause.code === "ERR_JOSE_NOT_SUPPORTED" && Array.isArray(token.header?.crit))
    return `the header's crit names ${JSON.stringify(token.header.crit)}, which the gate does not understand`;
  if (token.header === undefined) return "the header is not base64url-encoded JSON";
  if (token.payload === undefined) return "the payload is not a base64url-encoded JSON object";
  return "a segment is not canonical unpadded base64url (padding, whitespace, the + and / alphabet, or stray bits)";
}

function audiences(payload: JWTPayload | undefined): string[] {
  const aud = payload?.aud;
  return typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud.filter((item) => typeof item === "string") : [];
}

function idTokenEvidence(
  header: ProtectedHeaderParameters | undefined,
  payload: JWTPayload | undefined,
  config: Config,
): { idToken: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let strong = false;
  const typ = header?.typ;
  if (typeof typ === "string" && typ.toUpperCase() === "JWT") reasons.push(`typ is ${JSON.stringify(typ)}, not at+jwt`);
  else
    reasons.push(
      typ === undefined ? "no typ (access tokens carry at+jwt)" : `typ is ${JSON.stringify(typ)}, not at+jwt`,
    );
  if (payload !== undefined) {
    if ("nonce" in payload) {
      reasons.push("it has a nonce");
      strong = true;
    }
    if ("at_hash" in payload) {
      reasons.push("it has at_hash");
      strong = true;
    }
    const clients = audiences(payload).filter((aud) => !config.audiences.includes(aud) && !URL.canParse(aud));
    if (clients.length > 0) {
      reasons.push(
        `aud ${JSON.stringify(clients)} names a client, not this API (AUDIENCE ${config.audiences.join(",")})`,
      );
      strong = true;
    }
  }
  return { idToken: strong || (typeof typ === "string" && typ.toUpperCase() === "JWT"), reasons };
}

function explainUnknownKey(token: TokenView, context: RefusalContext): { detail: string; fix: string } {
  const { header, payload } = token;
  const { config } = context;
  const alg = typeof header?.alg === "string" ? header.alg : "?";
  const kid = typeof header?.kid === "string" ? header.kid : undefined;
  const kids = context.published?.map((key) => (key.kid === undefined ? "(no kid)" : key.kid));
  const label = context.issuer === undefined ? "AUTHGEAR_ENDPOINT" : issuerLabel(context.trusted, context.issuer);
  const listed =
    kids === undefined ? "the published keys could not be read" : `${label} publishes kid ${JSON.stringify(kids)}`;
  const iss = payload?.iss;
  const foreign = typeof iss === "string" && context.issuer === undefined;
  const sameKid = kid === undefined ? undefined : context.published?.find((key) => key.kid === kid);
  let detail: string;
  if (kid === undefined) detail = `the token has no kid and no single published key matches alg ${alg}; ${listed}`;
  else if (sameKid !== undefined)
    detail = `kid ${JSON.stringify(kid)} is published, but as ${sameKid.kty}${sameKid.alg === undefined ? "" : ` ${sameKid.alg}`}, and the token says alg ${alg}`;
  else detail = `no published key has the token's kid ${JSON.stringify(kid)} (alg ${alg}); ${listed}`;
  if (foreign) detail += `; the token's iss is ${JSON.stringify(iss)}, not AUTHGEAR_ENDPOINT ${config.issuer}`;
  const fix = foreign
    ? `the token comes from another issuer: get one from ${config.issuer}, or, if ${iss} is your project, point AUTHGEAR_ENDPOINT at it`
    : `signed by a key ${config.issuer} does not publish (another project or environment, a key rotated out, or a forgery): get a new token; a key the issuer has just added is picked up within ${KID_MISS_COOLDOWN_SECONDS} s`;
  return { detail, fix };
}

/** How a message names the source of good tokens: AUTHGEAR_ENDPOINT's project, or a trusted issuer. */
function goodTokenSource(context: RefusalContext): string {
  return context.trusted.listed ? "a trusted issuer (ISSUERS)" : "AUTHGEAR_ENDPOINT's project";
}

/** The trusted issuer an untrusted `iss` most likely meant: the only one, or the one on the same host. */
function closestIssuer(config: Config, iss: string): IssuerConfig | undefined {
  if (config.issuers.length === 1) return config.issuers[0];
  const host = URL.canParse(iss) ? new URL(iss).hostname : undefined;
  return config.issuers.find((each) => new URL(each.issuer).hostname === host);
}

function explainClaim(
  error: AuthError,
  cause: { claim: string | undefined; reason: string | undefined },
  token: TokenView,
  context: RefusalContext,
): { detail: string; fix: string } {
  const { config, trusted, issuer } = context;
  const payload = token.payload ?? {};
  const nowSeconds = Math.floor(context.nowMs / 1000);
  const tolerance = config.clockToleranceSeconds;
  const clockFix = `sync the clocks (NTP) here and at the issuer, or allow for skew with CLOCK_TOLERANCE_SECONDS (now ${tolerance}, at most ${MAX_CLOCK_TOLERANCE_SECONDS})`;
  const source = goodTokenSource(context);
  if (issuer === undefined) {
    // The token's iss picks its issuer before anything else: none matched.
    const { iss } = payload;
    const closest = typeof iss === "string" ? closestIssuer(config, iss) : undefined;
    const label = closest === undefined ? "AUTHGEAR_ENDPOINT" : issuerLabel(trusted, closest);
    const known = closest !== undefined && typeof iss === "string";
    const nearMiss = known ? issuerDifference(closest.issuer, iss, "the token", label) : undefined;
    return explainUntrusted(trusted, iss, nearMiss);
  }
  if (cause.reason === "missing") {
    const detail = `the token has no ${cause.claim ?? "required"} claim (access tokens carry exp, iat and sub)`;
    return { detail, fix: `send an access token of ${source}` };
  }
  if (cause.reason === "invalid") {
    return { detail: `its ${cause.claim ?? "time"} claim is not a number`, fix: `send an access token of ${source}` };
  }
  // jose checks aud against every audience and resource of the issuer; the core, by the token's kind.
  if (cause.claim === "aud" || /\baud\b/.test(error.message)) return explainAudience(trusted, issuer, payload);
  if (cause.claim === "nbf") {
    const nbf = typeof payload.nbf === "number" ? payload.nbf : nowSeconds;
    return {
      detail: `not yet valid: nbf ${time(nbf)}, now ${time(nowSeconds)}, ${duration(nbf - nowSeconds)} early (CLOCK_TOLERANCE_SECONDS=${tolerance})`,
      fix: clockFix,
    };
  }
  // The core's own checks after jose's: iat in the future, no exp, client_id, a machine client's marks.
  if (typeof payload.iat === "number" && payload.iat > nowSeconds + tolerance) {
    return {
      detail: `issued in the future: iat ${time(payload.iat)}, now ${time(nowSeconds)}, ${duration(payload.iat - nowSeconds)} ahead (CLOCK_TOLERANCE_SECONDS=${tolerance})`,
      fix: clockFix,
    };
  }
  const allowed = issuer.allowedClientIds;
  if (allowed !== undefined && (typeof payload.client_id !== "string" || !allowed.has(payload.client_id))) {
    const clientId =
      typeof payload.client_id === "string" ? `client_id ${JSON.stringify(payload.client_id)}` : "no client_id";
    const setting = trusted.listed ? `the "clientIds" of the ISSUERS entry ${issuer.issuer}` : "ALLOWED_CLIENT_IDS";
    const added = [...allowed, String(payload.client_id)];
    const change = trusted.listed
      ? issuersSetting(trusted, (each, entry) => (each === issuer ? { ...entry, clientIds: added } : entry))
      : `ALLOWED_CLIENT_IDS=${added.join(",")}`;
    return {
      detail: `${clientId}, and ${setting} is ${[...allowed].join(",")}`,
      fix:
        typeof payload.client_id === "string"
          ? `if this client may call the API, add it: ${change}`
          : "send an access token issued to an allowed client",
    };
  }
  if (/names a client/.test(error.message)) {
    const clientId = `its client_id is ${JSON.stringify(payload.client_id)}`;
    const but = error.message.includes("user claims") ? "it carries user claims" : clientId;
    return {
      detail:
        `its sub ${JSON.stringify(payload.sub)} names a machine client, but ${but}: ` +
        "no issuer's client-credentials token looks so (Authgear's: sub client_id_<client_id>, no user claim)",
      fix: `send a token as ${source} issues it; a user id starting with client_id_ cannot be told from a machine client`,
    };
  }
  return { detail: error.message, fix: `send an access token of ${source}` };
}

/** `2026-11-28T20:00:00Z (1795896000)`. */
function time(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime())
    ? String(seconds)
    : `${date.toISOString().replace(/\.\d{3}Z$/, "Z")} (${seconds})`;
}

/** `1 h 2 min`, `5 min 3 s`, `12 s`. */
function duration(totalSeconds: number): string {
  const seconds = Math.abs(Math.round(totalSeconds));
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${seconds} s`;
}

// ---------------------------------------------------------------------------------------------
// Redaction: a safety net under the rule that no detail ever holds a token or a secret.

function secretValues(env: Readonly<Record<string, unknown>>): string[] {
  const secret = (name: string) => name.toUpperCase().includes("SECRET") || name.toUpperCase() === "ASSERTION_KEY";
  return Object.entries(env).flatMap(([name, value]) =>
    secret(name) && typeof value === "string" && value.trim().length >= 4 ? [value.trim()] : [],
  );
}

function redact(checks: Check[], values: ReadonlyArray<string | undefined>): Check[] {
  const hidden = values
    .filter((value): value is string => value !== undefined && value.trim().length >= 4)
    .map((value) => value.trim());
  if (hidden.length === 0) return checks;
  const clean = (text: string): string =>
    hidden.reduce((result, value) => result.split(value).join("(redacted)"), text);
  return checks.map((check) => ({
    ...check,
    detail: clean(check.detail),
    ...(check.fix !== undefined && { fix: clean(check.fix) }),
  }));
}
