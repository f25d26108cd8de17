/**
 * Machine-to-machine tokens at the core, against tokens shaped exactly as authgear-server shapes
 * them (test/fixtures/authgear-tokens.ts) and served by a real loopback issuer: a client reaches
 * only what a rule admits it to, with its resource audience, and is refused everywhere else with
 * the right challenge; a user never passes as a client, nor a client as a user.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import {
  authgearProject,
  CLAIM_ROLES,
  clientAccessTokenClaims,
  decodeToken,
  type AuthgearProject,
} from "../fixtures/authgear-tokens.ts";
import { answer, recordingGate } from "../fixtures/gate.ts";
import { clientIdentity } from "../fixtures/identities.ts";

const RESOURCE = "https://api.example.com";
const OTHER_RESOURCE = "https://other.example.com";

/**
 * Clients on /machine (with a scope), /inventory (one client), /shared (anyone); users on /users,
 * /admin (admins) and /machine (operators: a rule for clients says nothing about users).
 */
const ROUTES = JSON.stringify([
  { path: "/machine/*", subject: "client", scopes: ["read:orders"] },
  { path: "/machine/*", roles: ["operator"] },
  { path: "/inventory/*", subject: "client", clientIds: ["inventory"] },
  { path: "/shared/*", subject: "any" },
  { path: "/users/*" },
  { path: "/admin/*", roles: ["admin"] },
]);

let dev: DevIssuer;
let project: AuthgearProject;

beforeAll(async () => {
  dev = await startDevIssuer();
  project = await authgearProject(dev);
});
afterAll(() => dev.close());

/** A token of the `inventory` client, for `resourceUri` (default RESOURCE). */
function inventory(scope = "read:orders", resourceUri = RESOURCE): Promise<string> {
  return project.mintClient({ clientId: "inventory", resourceUri, scope });
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { AUTHGEAR_ENDPOINT: project.issuer, RESOURCES: RESOURCE, ROUTES, ...extra };
}

describe("the fixtures", () => {
  it("have exactly the members authgear-server writes, sorted as jwx writes them", async () => {
    const client = decodeToken(await inventory());
    expect(client.header).toEqual({ alg: "RS256", kid: project.signingKey.kid, typ: "at+jwt" });
    expect(Object.keys(client.payload)).toEqual(["aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"]);
    const expected = { aud: [RESOURCE], client_id: "inventory", iss: dev.origin, sub: "client_id_inventory" };
    expect(client.payload).toMatchObject(expected);
    expect(client.payload.jti).toMatch(/^[0-9a-f]{64}$/);
    const user = decodeToken(await project.mintUser({ userId: "u1", amr: [] }));
    expect(Object.keys(user.payload)).toEqual([
      "aud",
      "auth_time",
      "client_id",
      "exp",
      "https://authgear.com/claims/user/can_reauthenticate",
      "https://authgear.com/claims/user/is_anonymous",
      "https://authgear.com/claims/user/is_verified",
      "https://authgear.com/claims/user/roles",
      "iat",
      "iss",
      "jti",
      "scope",
      "sub",
    ]);
    expect(user.payload).toMatchObject({ aud: [dev.origin], sub: "u1", [CLAIM_ROLES]: [] });
    expect(Object.keys(decodeToken(await project.mintUser({ amr: ["pwd", "otp"] })).payload)).toContain("amr");
  });
});

describe("a machine client's token (EncodeClientAccessToken)", () => {
  it("is accepted only where a rule admits clients, with the rule's scopes and client ids", async () => {
    const gate = recordingGate(env());
    const inventoryToken = await inventory("read:orders write:orders");
    const billing = await project.mintClient({ clientId: "billing", resourceUri: RESOURCE });
    const table: Record<string, [string, string]> = {};
    for (const path of ["/machine/1", "/inventory/1", "/shared/1", "/users/1", "/admin/1", "/unruled", "/"]) {
      table[path] = [answer(await gate.decide(path, inventoryToken)), answer(await gate.decide(path, billing))];
    }
    const refused = "403 ERR_INSUFFICIENT_SCOPE insufficient_scope";
    expect(table).toEqual({
      "/machine/1": ["200 client", refused],
      "/inventory/1": ["200 client", refused],
      "/shared/1": ["200 client", "200 client"],
      "/users/1": [refused, refused],
      "/admin/1": [refused, refused],
      "/unruled": [refused, refused],
      "/": [refused, refused],
    });
  });

  it("becomes a client identity: its issuer, sub, client id and scopes, and no user field", async () => {
    const gate = recordingGate(env());
    const token = await inventory();
    const decision = await gate.decide("/machine/1", token);
    expect(decision.allowed).toBe(true);
    expect(decision.identity).toEqual({
      ...clientIdentity(dev.origin, "inventory"),
      scopes: ["read:orders"],
      claims: decodeJwt(token),
      expiresAt: decodeJwt(token).exp,
    });
  });

  it("is refused everywhere when no rule exists at all, or RESOURCES leaves its audience out", async () => {
    const token = await inventory();
    const user = await project.mintUser();
    const noRules = recordingGate({ AUTHGEAR_ENDPOINT: project.issuer, RESOURCES: RESOURCE });
    expect(answer(await noRules.decide("/anything", token))).toBe("403 ERR_INSUFFICIENT_SCOPE insufficient_scope");
    expect(answer(await noRules.decide("/anything", user))).toBe("200 user");
    const invalid = "401 ERR_JWT_CLAIM_INVALID invalid_token";
    const noResources = recordingGate({ AUTHGEAR_ENDPOINT: project.issuer, ROUTES });
    const otherResource = recordingGate(env({ RESOURCES: OTHER_RESOURCE }));
    for (const gate of [noResources, otherResource]) {
      for (const path of ["/machine/1", "/shared/1", "/users/1"]) {
        expect(answer(await gate.decide(path, token)), path).toBe(invalid);
      }
      expect(answer(await gate.decide("/users/1", user))).toBe("200 user");
    }
  });

  it("is refused with the Authgear origin as its audience, accepted with a resource in aud as a string", async () => {
    const gate = recordingGate(env());
    const base = { issuer: dev.origin, clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" };
    const times = { createdAt: Math.floor(Date.now() / 1000), expireAt: Math.floor(Date.now() / 1000) + 600 };
    const asUser = await project.sign({ ...clientAccessTokenClaims({ ...base, ...times }), aud: [dev.origin] });
    expect(answer(await gate.decide("/machine/1", asUser))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
    const flattened = await project.sign({ ...clientAccessTokenClaims({ ...base, ...times }), aud: RESOURCE });
    expect(answer(await gate.decide("/machine/1", flattened))).toBe("200 client");
    // A resource URI is compared exactly as written.
    const slashed = await project.sign({ ...clientAccessTokenClaims({ ...base, ...times }), aud: [`${RESOURCE}/`] });
    expect(answer(await gate.decide("/machine/1", slashed))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
  });

  it("is refused when its sub is not client_id_ + its client_id, or it carries a user claim", async () => {
    const gate = recordingGate(env());
    const createdAt = Math.floor(Date.now() / 1000);
    const claims = clientAccessTokenClaims({
      issuer: dev.origin,
      clientId: "inventory",
      resourceUri: RESOURCE,
      scope: "read:orders",
      createdAt,
      expireAt: createdAt + 600,
    });
    const cases: Record<string, Record<string, unknown>> = {
      "another client's sub": { ...claims, sub: "client_id_billing" },
      "a prefix without the id": { ...claims, sub: "client_id_" },
      "no client_id": { ...claims, client_id: undefined },
      roles: { ...claims, [CLAIM_ROLES]: [] },
      auth_time: { ...claims, auth_time: createdAt },
      amr: { ...claims, amr: ["pwd"] },
      // RFC 9068's mark (sub = client_id) is not Authgear's: read as a user, whose audience a resource is not.
      "sub equal to client_id": { ...claims, sub: "inventory" },
    };
    for (const [name, payload] of Object.entries(cases)) {
      const token = await project.sign(JSON.parse(JSON.stringify(payload)) as Record<string, unknown>);
      for (const path of ["/machine/1", "/shared/1", "/users/1"]) {
        const expected = "401 ERR_JWT_CLAIM_INVALID invalid_token";
        expect(answer(await gate.decide(path, token)), `${name} on ${path}`).toBe(expected);
      }
    }
  });

  it("meets the issuer's client allow-list like a user's token does", async () => {
    const gate = recordingGate(env({ ALLOWED_CLIENT_IDS: "portal-app" }));
    const token = await inventory();
    expect(answer(await gate.decide("/machine/1", token))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
    expect(answer(await gate.decide("/users/1", await project.mintUser({ clientId: "portal-app" })))).toBe("200 user");
  });
});

describe("a user's token (PrepareUserAccessToken + PopulateUserClaimsInIDToken)", () => {
  it("never passes as a client, whatever its client_id, scope or roles", async () => {
    const gate = recordingGate(env());
    const lookalike = await project.mintUser({ clientId: "inventory", scopes: ["read:orders"], roles: ["admin"] });
    // The client rule on /machine would admit a client with this client_id and scope; the user's rule refuses.
    expect(answer(await gate.decide("/machine/1", lookalike))).toBe("403 ERR_INSUFFICIENT_SCOPE insufficient_scope");
    expect(answer(await gate.decide("/inventory/1", lookalike))).toBe("200 user");
    expect(answer(await gate.decide("/shared/1", lookalike))).toBe("200 user");
    expect(answer(await gate.decide("/admin/1", lookalike))).toBe("200 user");
    expect(answer(await gate.decide("/unruled", lookalike))).toBe("200 user");
    const decision = await gate.decide("/users/1", lookalike);
    expect(decision.identity).toMatchObject({ kind: "user", clientId: "inventory", roles: ["admin"], amr: ["pwd"] });
  });

  it("naming a client as its sub is refused, as is one with a resource as its only audience", async () => {
    const gate = recordingGate(env());
    const posing = await project.mintUser({ userId: "client_id_inventory", clientId: "inventory" });
    expect(answer(await gate.decide("/machine/1", posing))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
    const { payload } = decodeToken(await project.mintUser());
    const forResource = await project.sign({ ...payload, aud: [RESOURCE] });
    expect(answer(await gate.decide("/users/1", forResource))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
  });
});

describe("resolver and hybrid modes", () => {
  it.each(["resolver", "hybrid"])("%s: a client's JWT is verified locally, the resolver never called", async (mode) => {
    const gate = recordingGate(env({ AUTH_MODE: mode }));
    const before = dev.resolverHits;
    const token = await inventory();
    const elsewhere = await inventory("read:orders", OTHER_RESOURCE);
    expect(answer(await gate.decide("/machine/1", token))).toBe("200 client");
    expect(answer(await gate.decide("/machine/1", token))).toBe("200 client");
    expect(answer(await gate.decide("/users/1", token))).toBe("403 ERR_INSUFFICIENT_SCOPE insufficient_scope");
    expect(answer(await gate.decide("/machine/1", elsewhere))).toBe("401 ERR_JWT_CLAIM_INVALID invalid_token");
    expect(dev.resolverHits - before).toBe(0);
    expect(gate.fetched.filter((url) => url.includes("/_resolver/"))).toEqual([]);
  });

  it("resolver: a user's JWT still goes to the resolver (the control for the count above)", async () => {
    const gate = recordingGate(env({ AUTH_MODE: "resolver" }));
    const before = dev.resolverHits;
    const session = dev.createSession("resolver-user");
    const token = await dev.mintAccessToken({ sessionId: session.id });
    expect(answer(await gate.decide("/users/1", token))).toBe("200 user");
    expect(dev.resolverHits - before).toBe(1);
  });
});
