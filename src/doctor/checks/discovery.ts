/**
 * The discovery check: the issuer's OpenID Connect discovery document, fetched as the gate fetches
 * it (`fetchJson`: its deadline and size limit, no redirects), has an `issuer` and a `jwks_uri`.
 */
import { fetchJson, FetchFailure } from "../../core/http.ts";
import type { IssuerConfig } from "../../core/issuers.ts";
import type { Check, Context } from "../check.ts";
import { explainFetch } from "../fetch-failure.ts";
import { size } from "../format.ts";

export interface Discovery {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly [member: string]: unknown;
}

export async function checkDiscovery(
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
