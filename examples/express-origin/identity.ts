/**
 * Reading the gate's identity in an Express origin behind the Worker (docs/recipes.md): the
 * `x-authgear-*` headers of docs/authgear-contract.md §4, which the Worker sets after removing any
 * copy a client sent. They are only as trustworthy as the path to the origin: lock it to the gate
 * (`lockedToGate`, with the Worker's ORIGIN_SECRET) or verify the signed assertion (server.ts).
 */
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

/** Who the gate let in: a user (Authgear's headers) or a machine client (`x-authgear-edge-*` only). */
export type GateIdentity =
  | {
      readonly kind: "user";
      readonly userId: string;
      readonly anonymous: boolean;
      readonly verified: boolean;
      readonly canReauthenticate: boolean;
      /** Empty when the user has none (the header is then left out). */
      readonly roles: readonly string[];
      readonly amr: readonly string[];
      /** Unix seconds; `undefined` when the token does not say. */
      readonly authenticatedAt: number | undefined;
      /** The token's `iss`. */
      readonly issuer: string;
    }
  | {
      readonly kind: "client";
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly issuer: string;
    };

/** The identity the gate forwarded, or `undefined` when it forwarded none (a public path, REPORT_ONLY). */
export function gateIdentity(req: Request): GateIdentity | undefined {
  const header = (name: string): string | undefined => req.get(name);
  const list = (value: string | undefined, separator: string): string[] =>
    value === undefined || value === "" ? [] : value.split(separator);
  const issuer = header("x-authgear-edge-issuer") ?? "";
  switch (header("x-authgear-edge-kind")) {
    case "user": {
      const authenticatedAt = header("x-authgear-session-authenticated-at");
      return {
        kind: "user",
        userId: header("x-authgear-user-id") ?? "",
        anonymous: header("x-authgear-user-anonymous") === "true",
        verified: header("x-authgear-user-verified") === "true",
        canReauthenticate: header("x-authgear-user-can-reauthenticate") === "true",
        roles: list(header("x-authgear-user-roles"), ","),
        amr: list(header("x-authgear-session-amr"), " "),
        authenticatedAt: authenticatedAt === undefined ? undefined : Number(authenticatedAt),
        issuer,
      };
    }
    case "client":
      return {
        kind: "client",
        clientId: header("x-authgear-edge-client-id") ?? "",
        scopes: list(header("x-authgear-edge-scope"), " "),
        issuer,
      };
    default:
      return undefined;
  }
}

/**
 * Refuses (401) every request that does not carry the Worker's ORIGIN_SECRET in `header` (the
 * Worker's ORIGIN_SECRET_HEADER): one that went around the gate could carry any `x-authgear-*`.
 */
export function lockedToGate(secret: string, header = "x-authgear-edge-secret") {
  const expected = Buffer.from(secret);
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = Buffer.from(req.get(header) ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.status(401).json({ error: "not_through_the_gate" });
      return;
    }
    next();
  };
}
