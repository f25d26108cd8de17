/**
 * What a token that is not a well-formed access token is: a malformed spelling, or an ID token.
 */
import type { JWTPayload, ProtectedHeaderParameters } from "jose";
import type { Config } from "../../core/config.ts";
import type { AuthError } from "../../core/errors.ts";
import { audiencesOf } from "../machine.ts";
import { joseCause, type TokenView } from "./view.ts";

export function malformedReason(error: AuthError, token: TokenView): string {
  const cause = joseCause(error);
  if (cause.code === "ERR_JOSE_NOT_SUPPORTED" && Array.isArray(token.header?.crit))
    return `the header's crit names ${JSON.stringify(token.header.crit)}, which the gate does not understand`;
  if (token.header === undefined) return "the header is not base64url-encoded JSON";
  if (token.payload === undefined) return "the payload is not a base64url-encoded JSON object";
  return "a segment is not canonical unpadded base64url (padding, whitespace, the + and / alphabet, or stray bits)";
}

export function idTokenEvidence(
  header: ProtectedHeaderParameters | undefined,
  payload: JWTPayload | undefined,
  config: Config,
): { idToken: boolean; reasons: string[] } {
  const reasons: string[] = [];
  let strong = false;
  const typ = header?.typ;
  if (typeof typ === "string" && typ.toUpperCase() === "JWT") reasons.push(`typ is ${JSON.stringify(typ)}, not at+jwt`);
  else
    reasons.push(
      typ === undefined ? "no typ (access tokens carry at+jwt)" : `typ is ${JSON.stringify(typ)}, not at+jwt`,
    );
  if (payload !== undefined) {
    if ("nonce" in payload) {
      reasons.push("it has a nonce");
      strong = true;
    }
    if ("at_hash" in payload) {
      reasons.push("it has at_hash");
      strong = true;
    }
    const clients = audiencesOf(payload).filter((aud) => !config.audiences.includes(aud) && !URL.canParse(aud));
    if (clients.length > 0) {
      reasons.push(
        `aud ${JSON.stringify(clients)} names a client, not this API (AUDIENCE ${config.audiences.join(",")})`,
      );
      strong = true;
    }
  }
  return { idToken: strong || (typeof typ === "string" && typ.toUpperCase() === "JWT"), reasons };
}
