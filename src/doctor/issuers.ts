/**
 * The doctor's words for the trusted issuers: what names an issuer's configuration (`AUTHGEAR_ENDPOINT`,
 * or its entry in `ISSUERS`), the exact `ISSUERS` value that trusts one more issuer or changes one
 * entry, and the explanation of a token whose `iss` is not trusted.
 */
import type { Config } from "../core/config.ts";
import type { IssuerConfig } from "../core/issuers.ts";

/** The configuration, and whether its issuers come from `ISSUERS` (else `AUTHGEAR_ENDPOINT`). */
export interface Trusted {
  readonly config: Config;
  readonly listed: boolean;
}

/** What names this issuer's configuration in a message: `AUTHGEAR_ENDPOINT`, or its `ISSUERS` entry. */
export function issuerLabel(trusted: Trusted, issuer: IssuerConfig): string {
  return trusted.listed ? `the ISSUERS entry ${issuer.issuer}` : "AUTHGEAR_ENDPOINT";
}

/** One issuer as an `ISSUERS` entry: only the members that differ from their defaults. */
function entryOf(config: Config, issuer: IssuerConfig): Record<string, unknown> {
  const ownAudience = issuer.audiences.length === 1 && issuer.audiences[0] === issuer.issuer;
  const sameAlgorithms = issuer.algorithms.join(",") === config.algorithms.join(",");
  return {
    issuer: issuer.issuer,
    ...(!ownAudience && { audiences: [...issuer.audiences] }),
    ...(issuer.resources.length > 0 && { resources: [...issuer.resources] }),
    ...(issuer.allowedClientIds !== undefined && { clientIds: [...issuer.allowedClientIds] }),
    ...(!sameAlgorithms && { algorithms: [...issuer.algorithms] }),
    ...(issuer.clientMarks !== "authgear" && { clientMarks: issuer.clientMarks }),
  };
}

/**
 * The `ISSUERS` setting equivalent to the configuration, each entry changed by `change` (which may
 * add to it), plus `extra` entries; with `AUTHGEAR_ENDPOINT`, what replaces it and its
 * one-issuer settings.
 */
export function issuersSetting(
  { config, listed }: Trusted,
  change: (issuer: IssuerConfig, entry: Record<string, unknown>) => Record<string, unknown> = (_, entry) => entry,
  extra: ReadonlyArray<Record<string, unknown>> = [],
): string {
  const entries = [...config.issuers.map((issuer) => change(issuer, entryOf(config, issuer))), ...extra];
  const value = `ISSUERS='${JSON.stringify(entries)}'`;
  if (listed) return value;
  return `${value} (in place of AUTHGEAR_ENDPOINT, and of AUDIENCE, RESOURCES and ALLOWED_CLIENT_IDS if set)`;
}

/** The trusted issuers, as a message names them. */
export function trustedList({ config, listed }: Trusted): string {
  const origins = config.issuers.map(({ issuer }) => issuer);
  return listed ? `ISSUERS trusts ${origins.join(", ")}` : `AUTHGEAR_ENDPOINT is ${origins[0] ?? "?"}`;
}

/**
 * A token whose `iss` is no trusted issuer: the gate refuses it before any fetch. `nearMiss`
 * describes how it differs from the closest trusted one (issuer-difference.ts), when
 * that explains it.
 */
export function explainUntrusted(
  trusted: Trusted,
  iss: unknown,
  nearMiss: { readonly difference: string; readonly fix: string; readonly usable: boolean } | undefined,
): { detail: string; fix: string } {
  const named = typeof iss === "string" ? JSON.stringify(iss) : "missing";
  const near = nearMiss === undefined ? "" : ` (${nearMiss.difference})`;
  const detail =
    `untrusted issuer: the token's iss ${named} is not a trusted issuer${near}; ${trustedList(trusted)}; ` +
    "the gate refuses it before any fetch";
  if (typeof iss !== "string" || (nearMiss !== undefined && !nearMiss.usable)) {
    return { detail, fix: nearMiss?.fix ?? "send an access token of a trusted issuer" };
  }
  const own = trusted.config.issuers.map(({ issuer }) => issuer).join(" or ");
  const added = issuersSetting(trusted, undefined, [{ issuer: iss }]);
  return {
    detail,
    fix:
      `the token comes from another issuer: get one from ${own}; ` +
      `or, if ${iss} is an issuer this API should trust, add it: ${added}`,
  };
}
