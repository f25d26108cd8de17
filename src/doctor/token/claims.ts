/**
 * A token refused for a claim: its issuer, a missing or bad time claim, its audience, its times
 * against the clock, its client, a machine client's marks.
 */
import { MAX_CLOCK_TOLERANCE_SECONDS, type Config } from "../../core/config.ts";
import type { AuthError } from "../../core/errors.ts";
import type { IssuerConfig } from "../../core/issuers.ts";
import { duration, time } from "../format.ts";
import { issuerDifference } from "../issuer-difference.ts";
import { explainUntrusted, issuerLabel, issuersSetting } from "../issuers.ts";
import { explainAudience } from "../machine.ts";
import type { RefusalContext } from "./refusal.ts";
import type { TokenView } from "./view.ts";

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

export function explainClaim(
  error: AuthError,
  cause: { claim: string | undefined; reason: string | undefined },
  token: TokenView,
  context: RefusalContext,
): { detail: string; fix: string } {
  const { config, trusted, issuer } = context;
  const payload = token.payload ?? {};
  const nowSeconds = Math.floor(context.nowMs / 1000);
  const tolerance = config.clockToleranceSeconds;
  const clockFix =
    "sync the clocks (NTP) here and at the issuer, or allow for skew with CLOCK_TOLERANCE_SECONDS " +
    `(now ${tolerance}, at most ${MAX_CLOCK_TOLERANCE_SECONDS})`;
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
      detail:
        `not yet valid: nbf ${time(nbf)}, now ${time(nowSeconds)}, ${duration(nbf - nowSeconds)} ` +
        `early (CLOCK_TOLERANCE_SECONDS=${tolerance})`,
      fix: clockFix,
    };
  }
  // The core's own checks after jose's: iat in the future, no exp, client_id, a machine client's marks.
  if (typeof payload.iat === "number" && payload.iat > nowSeconds + tolerance) {
    return {
      detail:
        `issued in the future: iat ${time(payload.iat)}, now ${time(nowSeconds)}, ${duration(payload.iat - nowSeconds)} ` +
        `ahead (CLOCK_TOLERANCE_SECONDS=${tolerance})`,
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
      fix:
        `send a token as ${source} issues it; a user id starting with client_id_ cannot be ` +
        "told from a machine client",
    };
  }
  return { detail: error.message, fix: `send an access token of ${source}` };
}
