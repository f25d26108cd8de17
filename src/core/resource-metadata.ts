/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata: how a client learns, from the resource itself,
 * which authorization server issues its tokens and which scopes its routes ask for.
 */
import type { Config } from "./config.ts";
import { scopesSupported } from "./routes.ts";

/** RFC 9728 §3: the well-known path, for a resource identifier without a path component. */
export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly string[];
}

/**
 * The document for the resource `resource` (an origin, `https://api.example.com`): every trusted
 * issuer as its authorization servers (the primary one first), the scopes `ROUTES` asks for (left
 * out when none), and the one bearer method a client can rely on, the `Authorization` header
 * (RFC 6750 §2.1).
 */
export function protectedResourceMetadata(config: Config, resource: string): ProtectedResourceMetadata {
  const scopes = scopesSupported(config.routes);
  return {
    resource,
    authorization_servers: config.issuers.map((issuer) => issuer.issuer),
    ...(scopes.length > 0 && { scopes_supported: scopes }),
    bearer_methods_supported: ["header"],
  };
}
