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
 * This module runs the checks (checks/*.ts) in order, each issuer's chain at the same time as the
 * others', and skips those an earlier failure leaves without input. Nothing it returns holds the
 * token or the value of a setting whose name contains `SECRET` (redact.ts).
 */
import { DEFAULT_KEY_SET_TIMING } from "../core/key-set.ts";
import { defaultFetcher, type Fetcher } from "../core/ports.ts";
import type { FetchLimits } from "../core/http.ts";
import type { IssuerConfig } from "../core/issuers.ts";
import { skip, type Check, type CheckName, type Context } from "./check.ts";
import { checkAlgorithms } from "./checks/algorithms.ts";
import { checkConfiguration } from "./checks/configuration.ts";
import { checkDiscovery } from "./checks/discovery.ts";
import { checkIssuer } from "./checks/issuer.ts";
import { checkJwks } from "./checks/jwks.ts";
import { checkKeys, describeKey, type PublishedKey } from "./checks/keys.ts";
import { checkResolver } from "./checks/resolver.ts";
import { checkToken } from "./checks/token.ts";
import { issuerLabel, type Trusted } from "./issuers.ts";
import { recorder } from "./recorder.ts";
import { redact, secretValues } from "./redact.ts";

export type { Check, CheckName } from "./check.ts";

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
  const configuration = checkConfiguration(env);
  const { trusted } = configuration;
  if (trusted === undefined) {
    const rest: CheckName[] = ["discovery", "issuer", "jwks", "keys", "algorithms", "resolver", "token"];
    return [configuration.check, ...rest.map((name) => skip(name, "the configuration is invalid"))];
  }
  const { config } = trusted;
  const checks: Check[] = [configuration.check];

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
