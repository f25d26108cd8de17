/**
 * A token's parts, decoded without verification, for the explanation only; and the details jose
 * gives of a refusal.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import type { AuthError } from "../../core/errors.ts";

export interface TokenView {
  readonly segments: number;
  readonly length: number;
  readonly header: ProtectedHeaderParameters | undefined;
  readonly payload: JWTPayload | undefined;
}

/** The token's parts, decoded without verification, for the explanation only. */
export function describeToken(token: string): TokenView {
  let header: ProtectedHeaderParameters | undefined;
  let payload: JWTPayload | undefined;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    header = undefined;
  }
  try {
    payload = decodeJwt(token);
  } catch {
    payload = undefined;
  }
  return { segments: token.split(".").length, length: token.length, header, payload };
}

export function joseCause(error: AuthError): {
  claim: string | undefined;
  reason: string | undefined;
  code: string | undefined;
} {
  const cause = error.cause;
  if (typeof cause !== "object" || cause === null) return { claim: undefined, reason: undefined, code: undefined };
  const { claim, reason, code } = cause as { claim?: unknown; reason?: unknown; code?: unknown };
  return {
    claim: typeof claim === "string" ? claim : undefined,
    reason: typeof reason === "string" ? reason : undefined,
    code: typeof code === "string" ? code : undefined,
  };
}
