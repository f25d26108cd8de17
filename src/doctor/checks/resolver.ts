/**
 * The resolver check (resolver and hybrid modes): the core's resolver asks `RESOLVER_URL` about a
 * request without credentials, which Authgear's resolver answers with 200 and no session.
 */
import type { Config } from "../../core/config.ts";
import { AuthError } from "../../core/errors.ts";
import { createResolver } from "../../core/resolver.ts";
import type { Check, Context } from "../check.ts";
import { causeCode, networkFix, resolveLocation } from "../fetch-failure.ts";

export async function checkResolver(config: Config, context: Context): Promise<Check> {
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
          detail:
            `${asked}: X-Authgear-Session-Valid: true for a request with no credentials at all ` +
            "— not how Authgear's resolver answers",
          fix:
            `${setting} must be Authgear's resolver endpoint (https://<your Authgear endpoint>/_resolver/resolve): ` +
            "whatever answers there lets everyone in",
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
        fix:
          "set RESOLVER_URL to https://<your project's Authgear endpoint or custom domain>/_resolver/resolve: " +
          "its host is the Host the gate sends",
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
      fix:
        `check that ${host} is reachable from where the gate runs; if it is only slow, raise ` +
        "RESOLVER_TIMEOUT_MS (at most 30000)",
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
