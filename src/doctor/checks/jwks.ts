/**
 * The jwks check: the issuer's `jwks_uri` is one the gate fetches (`checkJwksUri`), and answers a
 * JWK Set within the gate's limits.
 */
import { fetchJson, FetchFailure } from "../../core/http.ts";
import { checkJwksUri } from "../../core/key-set.ts";
import type { Check, Context } from "../check.ts";
import { explainFetch } from "../fetch-failure.ts";
import { limitsText, size } from "../format.ts";

export async function checkJwks(
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
        fix:
          "the gate fetches keys over https only (http only for localhost and 127.0.0.0/8): " +
          "the issuer must publish an https jwks_uri",
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
