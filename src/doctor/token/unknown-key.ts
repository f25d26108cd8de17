/**
 * A token signed by no published key: its kid (or none) against the kids the issuer publishes.
 */
import { KID_MISS_COOLDOWN_SECONDS } from "../../core/key-set.ts";
import { issuerLabel } from "../issuers.ts";
import type { RefusalContext } from "./refusal.ts";
import type { TokenView } from "./view.ts";

export function explainUnknownKey(token: TokenView, context: RefusalContext): { detail: string; fix: string } {
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
    ? `the token comes from another issuer: get one from ${config.issuer}, or, if ${iss} ` +
      "is your project, point AUTHGEAR_ENDPOINT at it"
    : `signed by a key ${config.issuer} does not publish (another project or environment, ` +
      "a key rotated out, or a forgery): get a new token; a key the issuer has just added " +
      `is picked up within ${KID_MISS_COOLDOWN_SECONDS} s`;
  return { detail, fix };
}
