/**
 * The doctor's explanations of audiences and of machine clients' tokens: what a client token is,
 * which `ROUTES` rules admit it, and, when its `aud` is refused, whether the token is a machine
 * client's (its `aud` is a resource URI, accepted among the issuer's resources) or a user's (whose
 * `aud` must be one of the issuer's audiences, never a resource), with the exact setting to change.
 */
import type { JWTPayload } from "jose";
import { identityFromClaims, type ClientIdentity } from "../core/identity.ts";
import type { IssuerConfig } from "../core/issuers.ts";
import { meetsRule, ruleRefusal } from "../core/routes.ts";
import { issuersSetting, type Trusted } from "./issuers.ts";

/** The token's `aud`, as a list of strings. */
export function audiencesOf(payload: JWTPayload): string[] {
  const { aud } = payload;
  if (typeof aud === "string") return [aud];
  return Array.isArray(aud) ? aud.filter((item): item is string => typeof item === "string") : [];
}

/** The setting that holds this issuer's `member` (`resources` or `audiences`), as a message names it. */
function settingName(trusted: Trusted, issuer: IssuerConfig, member: "resources" | "audiences"): string {
  if (trusted.listed) return `the "${member}" of the ISSUERS entry ${issuer.issuer}`;
  return member === "resources" ? "RESOURCES" : "AUDIENCE";
}

type Member = "resources" | "audiences";

/** The exact setting that adds `values` to this issuer's `member`. */
function addTo(trusted: Trusted, issuer: IssuerConfig, member: Member, values: readonly string[]): string {
  const current = member === "resources" ? issuer.resources : issuer.audiences;
  const merged = [...new Set([...current, ...values])];
  if (!trusted.listed) return `${member === "resources" ? "RESOURCES" : "AUDIENCE"}=${merged.join(",")}`;
  const change = (each: IssuerConfig, entry: Record<string, unknown>) =>
    each.issuer === issuer.issuer ? { ...entry, [member]: merged } : entry;
  return issuersSetting(trusted, change);
}

/** What each rule that admits clients makes of this client, and whether one admits it at all. */
function rulesFor(trusted: Trusted, identity: ClientIdentity, nowMs: number): { admitted: boolean; text: string } {
  const lines: string[] = [];
  let admitted = false;
  trusted.config.routes.forEach((rule, index) => {
    if ((rule.subject ?? "user") === "user") return;
    const where = `ROUTES[${index}] ${rule.path}${rule.methods === undefined ? "" : ` (${rule.methods.join(",")})`}`;
    if (meetsRule(rule, identity, nowMs)) {
      admitted = true;
      lines.push(`${where} admits it`);
    } else {
      lines.push(`${where} does not: ${ruleRefusal(rule, identity, nowMs)?.message ?? "unmet"}`);
    }
  });
  if (lines.length === 0) return { admitted, text: "no ROUTES rule admits clients (subject client or any)" };
  return { admitted, text: lines.join("; ") };
}

/**
 * A valid machine client's token: its kind, client, scope and resource, and the rules that admit it.
 * Not ok when no rule admits it: the gate then answers 403 on every path.
 */
export function describeClient(
  trusted: Trusted,
  identity: ClientIdentity,
  payload: JWTPayload,
  nowMs: number,
): { ok: boolean; detail: string; fix?: string } {
  const issuer = trusted.config.issuers.find((each) => each.issuer === identity.issuer);
  const resources = issuer === undefined ? [] : audiencesOf(payload).filter((aud) => issuer.resources.includes(aud));
  const scope = identity.scopes.length === 0 ? "no scope" : `scope ${identity.scopes.join(" ")}`;
  const where = issuer === undefined ? "" : ` (${settingName(trusted, issuer, "resources")})`;
  const rules = rulesFor(trusted, identity, nowMs);
  const detail =
    "a machine client's token (client-credentials grant): " +
    `client ${identity.clientId}, issuer ${identity.issuer}, ${scope}, ` +
    `resource ${resources.join(", ")}${where}; ${rules.text}`;
  if (rules.admitted) return { ok: true, detail };
  const scopes = identity.scopes.length === 0 ? "" : `,"scopes":${JSON.stringify(identity.scopes)}`;
  return {
    ok: false,
    detail: `${detail} — the gate answers 403 ERR_INSUFFICIENT_SCOPE on every path`,
    fix:
      "a machine client reaches only paths a rule admits it to: add one to ROUTES, " +
      `e.g. {"path":"/api/*","subject":"client"${scopes}}`,
  };
}

type Explanation = { detail: string; fix: string };

/** A machine client's token whose resource is not among the issuer's resources. */
function clientAudience(
  trusted: Trusted,
  issuer: IssuerConfig,
  payload: JWTPayload,
  auds: readonly string[],
): Explanation {
  const setting = settingName(trusted, issuer, "resources");
  const accepted =
    issuer.resources.length === 0
      ? `${setting} is unset, so no machine token of ${issuer.issuer} passes`
      : `${setting} is ${JSON.stringify(issuer.resources)}`;
  const client = `client_id ${String(payload.client_id)}`;
  if (auds.length === 0) {
    return {
      detail: `resource audience: a machine client's token (${client}) without aud; ${accepted}`,
      fix: "a machine token carries the resource it was requested for (resource=... in the token request)",
    };
  }
  return {
    detail: `resource audience: a machine client's token (${client}) for the resource ${JSON.stringify(auds)}; ${
      accepted
    }`,
    fix: `a machine token's aud is the resource URI its client asked for: if that is this API, ${addTo(
      trusted,
      issuer,
      "resources",
      auds,
    )}`,
  };
}

/** A user's token for none of the issuer's audiences: for a resource of this API, or for something else. */
function userAudience(trusted: Trusted, issuer: IssuerConfig, auds: readonly string[]): Explanation {
  const setting = settingName(trusted, issuer, "audiences");
  const asResource = auds.filter((aud) => issuer.resources.includes(aud));
  if (asResource.length > 0) {
    const resources = settingName(trusted, issuer, "resources");
    return {
      detail:
        `a user's token whose aud ${JSON.stringify(auds)} is a resource of this API (${resources}), ` +
        `the audience of machine clients' tokens, and none of ${setting} ${JSON.stringify(issuer.audiences)}`,
      fix:
        `a user's token passes with one of ${setting} (Authgear's carry its origin, ${issuer.issuer}); ` +
        `if users' tokens for this resource should pass, ${addTo(trusted, issuer, "audiences", asResource)}`,
    };
  }
  const accepted = JSON.stringify(issuer.audiences);
  const wrong = `wrong audience: the token's aud ${JSON.stringify(auds)} holds none of ${setting} ${accepted}`;
  if (auds.length === 0) return { detail: wrong, fix: "send an access token: it carries the API's audience" };
  return {
    detail: wrong,
    fix:
      `if this API should accept these tokens, ${addTo(trusted, issuer, "audiences", auds)} ` +
      "(unset, the audience is the issuer itself, which Authgear's access tokens carry)",
  };
}

/**
 * A token refused for its `aud`: a machine client's whose resource is not among the issuer's
 * resources, a user's whose `aud` is a resource (the audience of machine tokens), or a user's for
 * another audience.
 */
export function explainAudience(trusted: Trusted, issuer: IssuerConfig, payload: JWTPayload): Explanation {
  const auds = audiencesOf(payload);
  let kind: "user" | "client" = "user";
  try {
    kind = identityFromClaims(payload, issuer.issuer, issuer.clientMarks).kind;
  } catch {
    // Not a consistent identity: explained as a user's audience, the default.
  }
  return kind === "client" ? clientAudience(trusted, issuer, payload, auds) : userAudience(trusted, issuer, auds);
}
