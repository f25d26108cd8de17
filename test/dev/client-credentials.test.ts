/**
 * The dev issuer's token endpoint for machine clients, over real HTTP on loopback, against what
 * authgear-server (commit fa7a7d5) answers and issues; and `amr` on user tokens as Authgear sets it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { startDevIssuer } from "../../dev/issuer.ts";
import type { DevIssuer } from "../../dev/issuer.ts";

const API = "https://api.example.local";
const OTHER_API = "https://reports.example.local";
const CLIENTS = [
  { id: "inventory", secret: "inventory-secret", resources: { [API]: ["orders:read", "orders:write"] } },
  { id: "reporting", secret: "reporting-secret", resources: { [OTHER_API]: ["reports:read"] } },
];

let issuer: DevIssuer;

beforeAll(async () => {
  issuer = await startDevIssuer({ machineClients: CLIENTS });
});

afterAll(async () => {
  await issuer.close();
});

async function token(fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(issuer.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

const GOOD = {
  grant_type: "client_credentials",
  client_id: "inventory",
  client_secret: "inventory-secret",
  resource: API,
};
/** token_encoding.go lines 233-250: jti, iss, aud, iat, exp, client_id, scope, sub; nothing else. */
const CLIENT_CLAIMS = ["aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"];

/** The request's answer is Authgear's error: 400, no-store, `{error, error_description}`. */
async function expectError(fields: Record<string, string>, error: string, description: string): Promise<void> {
  const response = await token(fields);
  expect(response.status).toBe(400);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(await response.json()).toEqual({ error, error_description: description });
}

describe("POST /oauth2/token, grant_type=client_credentials", () => {
  it("is advertised in discovery as Authgear's metadata.go does", async () => {
    const discovery = await fetch(`${issuer.origin}/.well-known/openid-configuration`);
    const document = (await discovery.json()) as Record<string, unknown>;
    expect(document.token_endpoint).toBe(issuer.tokenEndpoint);
    expect(document.grant_types_supported).toEqual(["authorization_code", "refresh_token", "client_credentials"]);
    const methods = ["none", "client_secret_post", "client_secret_basic"];
    expect(document.token_endpoint_auth_methods_supported).toEqual(methods);
  });

  it("issues a token for a good request, with the scopes asked for", async () => {
    const response = await token({ ...GOOD, scope: "orders:read" });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const body = (await response.json()) as Record<string, unknown>;
    const anyString = expect.any(String) as unknown;
    expect(body).toEqual({ access_token: anyString, token_type: "Bearer", expires_in: 1800, scope: "orders:read" });
    const { payload } = await jwtVerify(body.access_token as string, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      algorithms: ["RS256"],
      typ: "at+jwt",
      issuer: issuer.origin,
      audience: API,
    });
    expect(payload).toMatchObject({ sub: "client_id_inventory", client_id: "inventory", scope: "orders:read" });
  });

  it("shapes the token exactly as authgear-server's EncodeClientAccessToken", async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await token({ ...GOOD, scope: "orders:read orders:write" });
    const { access_token: jwt } = (await response.json()) as { access_token: string };
    // token_encoding.go lines 252-257: typ at+jwt set by hand; jwtutil.SignWithHeader adds alg RS256 and the key's kid.
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: "RS256", kid: issuer.signingKid, typ: "at+jwt" });
    const claims = decodeJwt(jwt);
    expect(Object.keys(claims).sort()).toEqual(CLIENT_CLAIMS);
    expect(claims.jti).toMatch(/^[0-9a-f]{64}$/); // HashToken: SHA-256 hex (token.go line 17-18)
    expect(claims.iss).toBe(issuer.origin);
    // jwx v2 writes a one-value audience as an array unless FlattenAudience is on (it is not for these tokens).
    expect(claims.aud).toEqual([API]);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe((claims.iat as number) + 1800);
    expect(claims.client_id).toBe("inventory");
    expect(claims.scope).toBe("orders:read orders:write");
    expect(claims.sub).toBe("client_id_inventory");
  });

  it("grants every scope allowed on the resource when none is asked for (handleClientCredentials)", async () => {
    const body = (await (await token(GOOD)).json()) as { scope: string; access_token: string };
    expect(body.scope).toBe("orders:read orders:write");
    expect(decodeJwt(body.access_token).scope).toBe("orders:read orders:write");
  });

  it("takes client credentials from HTTP Basic when the body has none", async () => {
    const basic = Buffer.from("inventory:inventory-secret").toString("base64");
    const fields = { grant_type: "client_credentials", resource: API };
    const response = await token(fields, { authorization: `Basic ${basic}` });
    expect(response.status).toBe(200);
    expect(decodeJwt(((await response.json()) as { access_token: string }).access_token).client_id).toBe("inventory");
  });

  it("refuses a wrong secret with invalid_request, as validateClientSecret does", async () => {
    await expectError({ ...GOOD, client_secret: "reporting-secret" }, "invalid_request", "invalid client secret");
  });

  it("refuses a missing secret and an unknown client with invalid_client", async () => {
    await expectError({ ...GOOD, client_secret: "" }, "invalid_client", "client secret is required");
    await expectError({ ...GOOD, client_id: "nobody" }, "invalid_client", "invalid client ID");
  });

  it("refuses a missing, unknown or other client's resource, or one under the issuer: invalid_target", async () => {
    await expectError({ ...GOOD, resource: "" }, "invalid_target", "resource is required");
    await expectError({ ...GOOD, resource: "https://nowhere.example.local" }, "invalid_target", "resource not found");
    const notOurs = "client is not associated with the resource";
    await expectError({ ...GOOD, resource: OTHER_API }, "invalid_target", notOurs);
    await expectError(
      { ...GOOD, resource: `${issuer.origin}/api` },
      "invalid_target",
      "resource URI must not be a prefixed by authgear endpoint",
    );
  });

  it("refuses a scope not allowed on the resource with invalid_scope", async () => {
    const refused = "specified scope is not allowed: reports:read";
    await expectError({ ...GOOD, scope: "orders:read reports:read" }, "invalid_scope", refused);
  });

  it("refuses the user-facing client (no secret) with unauthorized_client, and another grant type", async () => {
    const publicClient = { ...GOOD, client_id: "dev-client", client_secret: "x" };
    await expectError(publicClient, "unauthorized_client", "grant type is not allowed for this client");
    await expectError({ ...GOOD, grant_type: "password" }, "unsupported_grant_type", "grant type is not supported");
    const get = await fetch(issuer.tokenEndpoint);
    expect(get.status).toBe(405);
    await get.arrayBuffer();
  });

  it("mints the same shape without the grant through mintClientAccessToken", async () => {
    const jwt = await issuer.mintClientAccessToken({ clientId: "inventory", resource: API, scope: "orders:read" });
    expect(Object.keys(decodeJwt(jwt)).sort()).toEqual(CLIENT_CLAIMS);
    expect(decodeJwt(jwt)).toMatchObject({ aud: [API], sub: "client_id_inventory", scope: "orders:read" });
  });
});

describe("amr on user access tokens (token_encoding.go lines 115-118: set only when non-empty)", () => {
  async function devToken(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${issuer.origin}/_dev/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return decodeJwt(((await response.json()) as { access_token: string }).access_token);
  }

  it('is ["pwd"] by default', async () => {
    expect((await devToken({ sub: "alice" })).amr).toEqual(["pwd"]);
    expect(decodeJwt(await issuer.mintAccessToken({ sub: "alice" })).amr).toEqual(["pwd"]);
  });

  it("is what /_dev/token and mintAccessToken are given, e.g. a second factor", async () => {
    expect((await devToken({ sub: "alice", amr: ["pwd", "otp", "mfa"] })).amr).toEqual(["pwd", "otp", "mfa"]);
    const minted = await issuer.mintAccessToken({ sub: "alice", amr: ["pwd", "otp", "mfa"] });
    expect(decodeJwt(minted).amr).toEqual(["pwd", "otp", "mfa"]);
  });

  it("is left out when empty, as Authgear leaves it out", async () => {
    expect(await devToken({ sub: "alice", amr: [] })).not.toHaveProperty("amr");
    const session = issuer.createSession("bob", { amr: [] });
    expect(decodeJwt(await issuer.mintAccessToken({ sessionId: session.id }))).not.toHaveProperty("amr");
  });

  it("refuses an amr that is not a list of strings", async () => {
    const body = JSON.stringify({ amr: "pwd" });
    const response = await fetch(`${issuer.origin}/_dev/token`, { method: "POST", body });
    expect(response.status).toBe(400);
    await response.arrayBuffer();
  });
});
