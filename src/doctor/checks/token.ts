/**
 * The token check (`--token`): a real authenticator's verdict on `Authorization: Bearer <token>`,
 * who it names when it passes, and why the gate refuses it when it does not.
 */
import { createAuthenticator, looksLikeJwt, type AuthResult } from "../../core/authenticator.ts";
import type { Config } from "../../core/config.ts";
import { describeError } from "../../core/errors.ts";
import { silentLogger } from "../../core/ports.ts";
import type { Check, Context } from "../check.ts";
import { duration, time } from "../format.ts";
import type { Trusted } from "../issuers.ts";
import { describeClient } from "../machine.ts";
import { explainRefusal } from "../token/refusal.ts";
import { describeToken, type TokenView } from "../token/view.ts";
import type { PublishedKey } from "./keys.ts";

export async function checkToken(
  trusted: Trusted,
  raw: string,
  context: Context,
  publishedBy: ReadonlyMap<string, readonly PublishedKey[] | undefined>,
): Promise<Check> {
  const { config } = trusted;
  const token = raw.trim().replace(/^bearer[ \t]+/i, "");
  if (token === "")
    return {
      name: "token",
      ok: false,
      detail: "the token is empty",
      fix: "pass the access token the client sends after `Bearer `",
    };
  let headers: Headers;
  try {
    headers = new Headers({ authorization: `Bearer ${token}` });
  } catch {
    return {
      name: "token",
      ok: false,
      detail: "the token holds characters an HTTP header cannot carry (a line break?)",
      fix: "pass the token alone, exactly as the client sends it after `Bearer `",
    };
  }
  const opaque = !looksLikeJwt(token);
  const viaResolver = config.authMode === "resolver" || (config.authMode === "hybrid" && opaque);
  const authenticator = createAuthenticator(config, {
    fetcher: context.fetcher,
    clock: context.now,
    logger: silentLogger,
    keySetTiming: { fetch: context.limits },
  });
  const result = await authenticator.authenticate(headers);
  const token2 = describeToken(token);
  if (result.ok && result.identity.kind === "client") {
    // A machine client's JWT is verified by the gate itself in every mode.
    const client = describeClient(trusted, result.identity, token2.payload ?? {}, context.now());
    const { how, expiry } = localVerification(token2, context.now());
    const detail = `${client.ok ? "valid" : "valid, but useless here"}: ${how}${expiry}; ${client.detail}`;
    return { name: "token", ok: client.ok, detail, ...(client.fix !== undefined && { fix: client.fix }) };
  }
  if (result.ok)
    return { name: "token", ok: true, detail: describeSuccess(result, token2, viaResolver, config, context.now()) };
  const iss = token2.payload?.iss;
  const issuer = config.issuers.find((each) => each.issuer === iss);
  const published = issuer === undefined ? undefined : publishedBy.get(issuer.issuer);
  const refusal = { trusted, issuer, config, opaque, viaResolver, published, nowMs: context.now() };
  const { detail, fix } = explainRefusal(result.error, token2, refusal);
  const { status } = describeError(result.error.code);
  return { name: "token", ok: false, detail: `${detail} — the gate answers ${status} ${result.error.code}`, fix };
}

function describeSuccess(
  result: Extract<AuthResult, { ok: true }>,
  token: TokenView,
  viaResolver: boolean,
  config: Config,
  nowMs: number,
): string {
  const { identity } = result;
  const who: string[] = [];
  if (identity.kind === "user") {
    who.push(`user ${identity.userId}`);
    if (identity.clientId !== undefined) who.push(`client_id ${identity.clientId}`);
    who.push(identity.roles.length === 0 ? "no roles" : `roles ${identity.roles.join(",")}`);
    if (identity.amr.length > 0) who.push(`amr ${identity.amr.join(",")}`);
    if (config.issuers.length > 1) who.push(`issuer ${identity.issuer}`);
  }
  if (viaResolver) return `valid: Authgear's resolver accepted it (AUTH_MODE=${config.authMode}); ${who.join(", ")}`;
  const { how, expiry } = localVerification(token, nowMs);
  return `valid: ${how}; ${who.join(", ")}${expiry}`;
}

/** How the gate verified a JWT itself (its alg and kid), and when it expires. */
function localVerification(token: TokenView, nowMs: number): { how: string; expiry: string } {
  const exp = token.payload?.exp;
  const expiry =
    typeof exp === "number" ? `, expires in ${duration(exp - Math.floor(nowMs / 1000))}, at ${time(exp)}` : "";
  const alg = typeof token.header?.alg === "string" ? `${token.header.alg}, ` : "";
  const kid = typeof token.header?.kid === "string" ? `kid ${token.header.kid}` : "no kid";
  return { how: `verified by the gate itself (${alg}${kid})`, expiry };
}
