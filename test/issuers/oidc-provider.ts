/**
 * panva's oidc-provider (a certified OpenID provider, not written for this project) on 127.0.0.1,
 * configured to issue RFC 9068 JWT access tokens for resource indicators (RFC 8707): a machine
 * client's by the client-credentials grant, a user's by the authorization code flow with PKCE,
 * driven through oidc-provider's own development login and consent forms.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { errors, type Configuration } from "oidc-provider";
import { listenOnLoopback } from "../../dev/loopback-server.ts";

/** The resource servers it knows, each offering the scopes `read` and `write`. */
export const OP_RESOURCE = "https://api.example.com";
export const OP_OTHER_RESOURCE = "https://other-api.example.com";
export const OP_M2M_CLIENT = "inventory-sync";
export const OP_WEB_CLIENT = "web-app";
const SECRET = "not-a-secret-only-a-test";
const REDIRECT_URI = "http://127.0.0.1/callback";
const RESOURCE_SCOPES = "read write";

export interface OidcProvider {
  /** `http://127.0.0.1:<port>`: the issuer identifier and every token's `iss`. */
  readonly issuer: string;
  /** Requests to its discovery document and key set. */
  readonly hits: { readonly discovery: number; readonly jwks: number };
  /** A client-credentials access token of `OP_M2M_CLIENT`. */
  clientToken(options?: { scope?: string; resource?: string }): Promise<string>;
  /** A user's access token: `login` signs in at the login form, the consent form grants `scope`. */
  userToken(login: string, options?: { scope?: string; resource?: string }): Promise<string>;
  /**
   * Restarts the provider (same port, same stored state) with a new signing key first and the
   * previous keys still published, as a provider rolling out a key does; returns the new kid.
   */
  rotateKey(): Promise<string>;
  /** Restarts the provider publishing its signing key only. */
  retireOldKeys(): Promise<void>;
  close(): Promise<void>;
}

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: "RS256", use: "sig" };
}

function configuration(keys: JWK[], cookieKey: string): Configuration {
  return {
    jwks: { keys },
    cookies: { keys: [cookieKey] },
    clients: [
      {
        client_id: OP_M2M_CLIENT,
        client_secret: SECRET,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: OP_WEB_CLIENT,
        client_secret: SECRET,
        grant_types: ["authorization_code"],
        redirect_uris: [REDIRECT_URI],
      },
    ],
    scopes: ["openid"],
    pkce: { required: () => true, methods: ["S256"] },
    // Set, so that oidc-provider does not warn that it uses its defaults.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => OP_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== OP_RESOURCE && indicator !== OP_OTHER_RESOURCE) throw new errors.InvalidTarget();
          // accessTokenFormat "jwt": RFC 9068 access tokens (oidc-provider's default is opaque).
          const jwt = { sign: { alg: "RS256" as const } };
          return { scope: RESOURCE_SCOPES, audience: indicator, accessTokenFormat: "jwt", jwt };
        },
      },
    },
  };
}

/** Form-encoded POST to the token endpoint, the client authenticating with HTTP Basic. */
async function tokenRequest(issuer: string, clientId: string, form: Record<string, string>): Promise<string> {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString("base64")}` },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (body.access_token === undefined) {
    throw new Error(`oidc-provider refused the token request: ${body.error ?? response.status}`);
  }
  return body.access_token;
}

/** A browser's part, cut to what the flow needs: one cookie jar (paths ignored), no redirect followed. */
function createBrowser(issuer: string) {
  const jar = new Map<string, string>();
  return async (url: string, form?: Record<string, string>): Promise<Response> => {
    const response = await fetch(new URL(url, issuer), {
      method: form === undefined ? "GET" : "POST",
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; ") },
      ...(form !== undefined && { body: new URLSearchParams(form) }),
      redirect: "manual",
      signal: AbortSignal.timeout(5000),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const pair = cookie.split(";")[0] ?? "";
      jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
    return response;
  };
}

/**
 * The authorization code flow through oidc-provider's development forms: each interaction page
 * (login, then consent) is answered with its own form, at most 6 hops, until the redirect to the
 * client carries a code.
 */
async function authorizationCode(issuer: string, login: string, scope: string, resource: string, challenge: string) {
  const browse = createBrowser(issuer);
  const query = new URLSearchParams({
    client_id: OP_WEB_CLIENT,
    response_type: "code",
    redirect_uri: REDIRECT_URI,
    scope: `openid ${scope}`,
    resource,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  let url = `${issuer}/auth?${query}`;
  for (let hop = 0; hop < 12; hop += 1) {
    const response = await browse(url);
    const location = response.headers.get("location");
    if (response.status === 200) {
      const page = await response.text();
      const action = /action="([^"]+)"/.exec(page)?.[1];
      if (action === undefined) throw new Error("oidc-provider's interaction page has no form");
      const form = page.includes('name="login"') ? { prompt: "login", login, password: "any" } : { prompt: "consent" };
      url = (await browse(action, form)).headers.get("location") ?? "";
    } else if (location?.startsWith(REDIRECT_URI)) {
      const params = new URL(location).searchParams;
      const code = params.get("code");
      if (code === null) throw new Error(`oidc-provider refused the authorization: ${params.get("error")}`);
      return code;
    } else {
      await response.arrayBuffer();
      if (location === null) throw new Error(`oidc-provider answered ${response.status} in the authorization flow`);
      url = location;
    }
  }
  throw new Error("the authorization flow did not end in 12 hops");
}

export async function startOidcProvider(): Promise<OidcProvider> {
  const hits = { discovery: 0, jwks: 0 };
  let keys = [await signingKey()];
  const cookieKey = randomBytes(16).toString("hex");
  let handle: ReturnType<Provider["callback"]> | undefined;
  const server = await listenOnLoopback("oidc-provider", 0, async (req, res) => {
    if (req.url === "/.well-known/openid-configuration") hits.discovery += 1;
    if (req.url === "/jwks") hits.jwks += 1;
    await handle?.(req, res);
  });
  const issuer = server.url;
  const restart = () => {
    handle = new Provider(issuer, configuration(keys, cookieKey)).callback();
  };
  restart();
  return {
    issuer,
    hits,
    clientToken: ({ scope = "read", resource = OP_RESOURCE } = {}) =>
      tokenRequest(issuer, OP_M2M_CLIENT, { grant_type: "client_credentials", scope, resource }),
    async userToken(login, { scope = "read", resource = OP_RESOURCE } = {}) {
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const code = await authorizationCode(issuer, login, scope, resource, challenge);
      const form = {
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource,
      };
      return tokenRequest(issuer, OP_WEB_CLIENT, form);
    },
    async rotateKey() {
      const key = await signingKey();
      keys = [key, ...keys];
      restart();
      return key.kid ?? "";
    },
    retireOldKeys() {
      keys = keys.slice(0, 1);
      restart();
      return Promise.resolve();
    },
    close: () => server.close(),
  };
}
