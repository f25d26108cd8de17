/**
 * What went wrong with a fetch the gate makes (discovery, the key set, the resolver), in words: the
 * status, the redirect it does not follow, the deadline, the size limit, the network error beneath.
 */
import type { FetchFailure } from "../core/http.ts";
import type { Context } from "./check.ts";
import { limitsText, size } from "./format.ts";

/** What went wrong with one fetch of `url`, and what to do, for discovery or the key set. */
export function explainFetch(
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
        fix:
          "the gate follows no redirect: the issuer's jwks_uri must answer with the key set " +
          "itself (ask its operator)",
      };
    }
    if (code === 404 && what === "discovery") {
      return {
        detail: `GET ${url}: HTTP 404, no discovery document`,
        fix:
          `set ${label} to your Authgear project's endpoint (https://<project>.authgear.cloud, ` +
          "or its custom domain) — not the Portal, your application, or a URL with a path",
      };
    }
    if (code >= 500) {
      return {
        detail: `GET ${url}: HTTP ${code}`,
        fix:
          `the issuer at ${host} is failing: retry later (the gate serves a cached key set ` +
          "meanwhile, and answers 503 when it holds none)",
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
      fix:
        `check that ${host} is reachable from where the gate runs (DNS, firewall, proxy) ` +
        "and answers promptly; the gate gives up at the same deadline and answers 503",
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
          ? "the gate reads at most 64 KiB, far more than an Authgear discovery document: point " +
            `${label} at the issuer itself`
          : "the key set exceeds the gate's 64 KiB limit: publish fewer keys (an Authgear key set holds one or two)",
    };
  }
  if (error.message === "body is not JSON") {
    const type = seen?.headers.get("content-type");
    return {
      detail: `GET ${url}: 200 but the body is not JSON${type ? ` (content-type ${type})` : ""}`,
      fix:
        what === "discovery"
          ? `${label} serves something else than an OpenID Connect issuer (a web page?): set ` +
            "it to your Authgear endpoint"
          : "the issuer's jwks_uri does not serve a JSON key set (ask its operator)",
    };
  }
  return { detail: `GET ${url}: ${error.message}`, fix: `${setting} must answer 200 with a JSON document` };
}

export function resolveLocation(location: string, base: string): string {
  return URL.canParse(location, base) ? new URL(location, base).href : location;
}

function originOf(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).origin : undefined;
}

/**
 * What lies under a fetch failure: the system error code (`ECONNREFUSED`, `ENOTFOUND`, a TLS code)
 * if there is one, else the innermost message (`bad port`, say).
 */
export function causeCode(error: unknown): string | undefined {
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

export function networkFix(host: string, code: string | undefined, setting: string): string {
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `${host} does not resolve: check the spelling of ${setting} (and DNS where the gate runs)`;
  if (code === "ECONNREFUSED") return `nothing listens at ${host}: check the host and port of ${setting}`;
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED/.test(code))
    return (
      `the TLS certificate of ${host} is not trusted: the issuer needs a publicly trusted ` + "certificate for its name"
    );
  return `check that ${host} (from ${setting}) is reachable from where the gate runs`;
}
