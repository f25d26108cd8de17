/**
 * The issuer check: the discovery document's `issuer` is exactly the configured one, as the gate
 * compares them before it trusts the key set.
 */
import type { IssuerConfig } from "../../core/issuers.ts";
import type { Check } from "../check.ts";
import { issuerDifference } from "../issuer-difference.ts";

/** `AUTHGEAR_ENDPOINT https://…`, or `the ISSUERS entry https://…`, which names its value already. */
function named(label: string, endpoint: string): string {
  return label === "AUTHGEAR_ENDPOINT" ? `${label} ${endpoint}` : label;
}

export function checkIssuer(entry: IssuerConfig, label: string, issuer: string): Check {
  const endpoint = entry.issuer;
  if (issuer === endpoint)
    return { name: "issuer", ok: true, detail: `the discovery issuer ${issuer} equals ${label}` };
  const { difference, fix } = issuerDifference(endpoint, issuer, "the discovery document", label);
  return {
    name: "issuer",
    ok: false,
    detail:
      `the discovery issuer ${JSON.stringify(issuer)} is not ${named(label, endpoint)} ` +
      `(${difference}); the gate compares them exactly and refuses the key set (503)`,
    fix,
  };
}
