/**
 * The dev issuer's token endpoint for machine clients: the client-credentials grant with a
 * resource indicator (RFC 6749 §4.4, RFC 8707), answering as Authgear's does. authgear-server
 * `pkg/lib/oauth/handler/handler_token.go`: `Handle` (client authentication in the body, else
 * HTTP Basic; an unknown client is `invalid_client`), `validateRequestWithoutTx` (no `resource`:
 * `invalid_target`; no secret: `invalid_client`), `doHandleWithTx` (a grant the client may not use:
 * `unauthorized_client`), `handleClientCredentials` and `validateClientSecret` (a wrong secret is
 * `invalid_request`; a resource under the issuer, unknown or not the client's: `invalid_target`;
 * a scope not allowed: `invalid_scope`, `pkg/lib/oauth/scope.go` `ValidateScopes`; no scope: every
 * allowed one). Every error is 400 (`result_token.go`). The token itself is `clientAccessTokenClaims`.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A confidential client allowed the client-credentials grant, with the resources (and their scopes) it may ask for. */
export interface MachineClient {
  readonly id: string;
  readonly secret: string;
  /** Resource URI → the scopes this client may ask for on it. */
  readonly resources: Readonly<Record<string, readonly string[]>>;
}

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface ClientTokenRequest {
  readonly clientId: string;
  readonly resource: string;
  readonly scope: string;
  /** Unix seconds. */
  readonly issuedAt: number;
  readonly expiresIn: number;
}

/** Authgear's default `access_token_lifetime_seconds` of a client. */
export const CLIENT_ACCESS_TOKEN_LIFETIME = 1800;

/**
 * The claims of Authgear's client access token, exactly: authgear-server
 * `pkg/lib/oauth/token_encoding.go` `EncodeClientAccessToken` (lines 233-250 at fa7a7d5): jti (the
 * SHA-256 hex of the opaque token, `HashToken`), iss, aud (the resource URI), iat, exp, client_id,
 * scope (space-separated, possibly empty), sub `client_id_<client id>`; no other claim. `aud` is set
 * from one string into jwx v2's `jwt.Token`, whose JSON form is an array unless `FlattenAudience` is
 * enabled, which authgear-server never does for these tokens: on the wire, `["<resource URI>"]`
 * (also so in `docs/specs/m2m.md`).
 */
export function clientAccessTokenClaims(issuer: string, request: ClientTokenRequest): Record<string, unknown> {
  const opaque = randomBytes(32).toString("base64url");
  return {
    jti: createHash("sha256").update(opaque).digest("hex"),
    iss: issuer,
    aud: [request.resource],
    iat: request.issuedAt,
    exp: request.issuedAt + request.expiresIn,
    client_id: request.clientId,
    scope: request.scope,
    sub: `client_id_${request.clientId}`,
  };
}

function error(code: string, description: string): TokenAnswer {
  return { status: 400, body: { error: code, error_description: description } };
}

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 6749 Appendix B: Basic credentials are form-encoded before base64. `undefined` when malformed. */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined | "malformed" {
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)$/i.exec(authorization?.trim() ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return undefined;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return "malformed";
  }
}

export interface ClientCredentialsGrant {
  /** Answers one `POST /oauth2/token`: its form body and `Authorization` header. */
  answer(form: URLSearchParams, authorization: string | undefined): Promise<TokenAnswer>;
}

export function createClientCredentialsGrant(deps: {
  readonly issuer: () => string;
  readonly clients: readonly MachineClient[];
  /** Known clients without a secret (the dev issuer's user-facing client): `unauthorized_client` here. */
  readonly publicClientIds: ReadonlySet<string>;
  readonly sign: (claims: Record<string, unknown>) => Promise<string>;
}): ClientCredentialsGrant {
  const byId = new Map(deps.clients.map((client) => [client.id, client]));
  const knownResources = new Set(deps.clients.flatMap((client) => Object.keys(client.resources)));

  const validate = (form: URLSearchParams, client: MachineClient | undefined): TokenAnswer | undefined => {
    const grantType = form.get("grant_type") ?? "";
    if (grantType !== "client_credentials") {
      return error("unsupported_grant_type", "grant type is not supported");
    }
    if ((form.get("resource") ?? "") === "") return error("invalid_target", "resource is required");
    if ((form.get("client_secret") ?? "") === "") return error("invalid_client", "client secret is required");
    if (client === undefined) return error("unauthorized_client", "grant type is not allowed for this client");
    if (!secretMatches(form.get("client_secret") ?? "", client.secret)) {
      return error("invalid_request", "invalid client secret");
    }
    return undefined;
  };

  const scopesFor = (form: URLSearchParams, allowed: readonly string[]): string[] | TokenAnswer => {
    const requested = (form.get("scope") ?? "").split(" ").filter((scope) => scope !== "");
    if (requested.length === 0) return [...allowed];
    const refused = requested.find((scope) => !allowed.includes(scope));
    return refused === undefined ? requested : error("invalid_scope", `specified scope is not allowed: ${refused}`);
  };

  return {
    async answer(form, authorization) {
      if ((form.get("client_id") ?? "") === "" && (form.get("client_secret") ?? "") === "") {
        const basic = basicCredentials(authorization);
        if (basic === "malformed") return error("invalid_request", "invalid client_id in Authorization header");
        if (basic !== undefined) {
          form.set("client_id", basic.id);
          form.set("client_secret", basic.secret);
        }
      }
      const clientId = form.get("client_id") ?? "";
      const client = byId.get(clientId);
      if (client === undefined && !deps.publicClientIds.has(clientId)) {
        return error("invalid_client", "invalid client ID");
      }
      const invalid = validate(form, client);
      if (invalid !== undefined) return invalid;
      // Never taken (validate refused a client that is not a machine client); narrows the type.
      if (client === undefined) return error("unauthorized_client", "grant type is not allowed for this client");
      const resource = form.get("resource") ?? "";
      if (resource.startsWith(deps.issuer())) {
        return error("invalid_target", "resource URI must not be a prefixed by authgear endpoint");
      }
      const allowed = client.resources[resource];
      if (allowed === undefined) {
        const known = knownResources.has(resource);
        return error("invalid_target", known ? "client is not associated with the resource" : "resource not found");
      }
      const scopes = scopesFor(form, allowed);
      if (!Array.isArray(scopes)) return scopes;
      const scope = scopes.join(" ");
      const issuedAt = Math.floor(Date.now() / 1000);
      const request = { clientId: client.id, resource, scope, issuedAt, expiresIn: CLIENT_ACCESS_TOKEN_LIFETIME };
      const accessToken = await deps.sign(clientAccessTokenClaims(deps.issuer(), request));
      return {
        status: 200,
        body: { access_token: accessToken, token_type: "Bearer", expires_in: CLIENT_ACCESS_TOKEN_LIFETIME, scope },
      };
    },
  };
}
