/**
 * `runDoctor` against the dev issuer on 127.0.0.1, in each failure mode the issuer can be put in:
 * every failing check names what is wrong and the fix, and no output holds the token or a secret.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { runDoctor, type Check, type CheckName, type DoctorOptions } from "../../src/doctor/doctor.ts";
import type { Fetcher } from "../../src/core/ports.ts";
import { freePort } from "../helpers.ts";

/** Shorter than the gate's 5 s, so a hang costs the test one second. */
const LIMITS = { timeoutMs: 1000, maxBytes: 64 * 1024 };

let issuer: DevIssuer;

beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());
beforeEach(() => {
  issuer.setFailure("none");
  issuer.setDiscoveryIssuer(undefined);
  issuer.setExtraJwks([]);
  issuer.setResolverFailure("none");
});

async function doctor(env: Record<string, string> = {}, options: DoctorOptions = {}): Promise<Check[]> {
  const checks = await runDoctor({ AUTHGEAR_ENDPOINT: issuer.origin, ...env }, { limits: LIMITS, ...options });
  if (options.token !== undefined) expect(JSON.stringify(checks)).not.toContain(options.token.trim());
  return checks;
}

function find(checks: readonly Check[], name: CheckName): Check {
  const check = checks.find((candidate) => candidate.name === name);
  if (check === undefined) throw new Error(`no ${name} check`);
  return check;
}

function failed(checks: readonly Check[]): CheckName[] {
  return checks.filter((check) => !check.ok).map((check) => check.name);
}

function expectText(text: string | undefined, expected: string | RegExp): void {
  if (typeof expected === "string") expect(text).toContain(expected);
  else expect(text).toMatch(expected);
}

function expectFailure(check: Check, detail: string | RegExp, fix?: string | RegExp): void {
  expect(check.ok, check.detail).toBe(false);
  expectText(check.detail, detail);
  if (fix !== undefined) expectText(check.fix, fix);
}

function expectPass(check: Check, detail: string | RegExp): void {
  expect(check.ok, `${check.detail} — ${check.fix ?? ""}`).toBe(true);
  expectText(check.detail, detail);
}

describe("a healthy configuration", () => {
  it("passes every check that applies in JWT mode, in order, and skips the resolver", async () => {
    const checks = await doctor();
    expect(checks.map((check) => check.name)).toEqual([
      "configuration",
      "discovery",
      "issuer",
      "jwks",
      "keys",
      "algorithms",
      "resolver",
      "token",
    ]);
    expect(failed(checks)).toEqual([]);
    expect(find(checks, "discovery").detail).toContain(`${issuer.origin}/.well-known/openid-configuration: 200`);
    expect(find(checks, "keys").detail).toContain(issuer.signingKid);
    expect(find(checks, "resolver")).toMatchObject({ skipped: true });
    expect(find(checks, "token")).toMatchObject({ skipped: true });
  });

  it("asks the resolver in resolver mode, naming the Host it sends, and skips the key set", async () => {
    const checks = await doctor({ AUTH_MODE: "resolver" });
    expect(failed(checks)).toEqual([]);
    expect(find(checks, "resolver").detail).toContain(`(Host: ${new URL(issuer.origin).host})`);
    expect(find(checks, "jwks")).toMatchObject({ skipped: true });
  });
});

describe("the configuration", () => {
  it("fails with the one message naming every bad key, skips the rest, and never shows a secret's value", async () => {
    const secret = "short-secret-value";
    const checks = await runDoctor({ AUTH_MODE: "bogus", ORIGIN_SECRET: secret }, { limits: LIMITS });
    const configuration = find(checks, "configuration");
    expect(configuration.ok).toBe(false);
    expect(configuration.detail).toMatch(/AUTHGEAR_ENDPOINT.*AUTH_MODE.*ORIGIN_SECRET/);
    expect(configuration.fix).toContain("docs/configuration.md");
    expect(checks.slice(1).every((check) => check.skipped === true)).toBe(true);
    expect(JSON.stringify(checks)).not.toContain(secret);
  });
});

describe("names that look like a setting", () => {
  it("fail the configuration check, each named with the setting it resembles, and the other checks still run", async () => {
    const checks = await doctor({ AUTH_MOD: "hybrid", ALGORITHM: "ES256" });
    const configuration = find(checks, "configuration");
    expect(configuration.ok).toBe(false);
    expect(configuration.detail).toContain("AUTH_MODE=jwt");
    expect(configuration.detail).toContain("AUTH_MOD (did you mean AUTH_MODE?), ALGORITHM (did you mean ALGORITHMS?)");
    expect(configuration.fix).toContain("rename");
    expect(find(checks, "keys").ok).toBe(true);
    expect(find(checks, "configuration")).not.toHaveProperty("skipped");
  });

  it("are named beside an invalid configuration's message too", async () => {
    const checks = await runDoctor({ AUTHGEAR_ENDPOINTS: issuer.origin }, { limits: LIMITS });
    const configuration = find(checks, "configuration");
    expect(configuration.ok).toBe(false);
    expect(configuration.detail).toMatch(/AUTHGEAR_ENDPOINT.*AUTHGEAR_ENDPOINTS \(did you mean AUTHGEAR_ENDPOINT\?\)/);
  });
});

describe("discovery", () => {
  it.each([
    ["http500", /HTTP 500/, /failing/],
    [
      "redirect",
      /redirect 302 to http:\/\/127\.0\.0\.1:\d+\/redirected\/\.well-known\/openid-configuration/,
      /follows no redirect/,
    ],
    ["invalid-json", /not JSON \(content-type application\/json\)/, /AUTHGEAR_ENDPOINT serves something else/],
    ["oversize", /larger than 64\.0 KiB/, /64 KiB/],
    ["reset", /network error/, /reachable/],
    ["hang", /no complete answer within 1000 ms/, /reachable/],
  ] as const)("names a %s failure and its fix, within the deadline, following nothing", async (mode, detail, fix) => {
    issuer.setFailure(mode);
    const redirected = issuer.hits.redirected;
    const started = Date.now();
    const checks = await doctor();
    expect(Date.now() - started).toBeLessThan(3000);
    expectFailure(find(checks, "discovery"), detail, fix);
    expect(find(checks, "issuer")).toMatchObject({ skipped: true });
    expect(find(checks, "jwks")).toMatchObject({ skipped: true });
    expect(issuer.hits.redirected).toBe(redirected);
  });

  it("names a refused connection", async () => {
    const port = await freePort();
    const checks = await doctor({ AUTHGEAR_ENDPOINT: `http://127.0.0.1:${port}` });
    expectFailure(find(checks, "discovery"), "ECONNREFUSED", "nothing listens");
  });
});

describe("the discovery issuer", () => {
  it("names another host and hints at a custom domain", async () => {
    issuer.setDiscoveryIssuer("https://auth.example.com");
    const check = find(await doctor(), "issuer");
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("host auth.example.com instead of 127.0.0.1");
    expect(check.fix).toContain("AUTHGEAR_ENDPOINT=https://auth.example.com");
    expect(check.fix).toContain("custom domain");
  });

  it("names a trailing slash", async () => {
    issuer.setDiscoveryIssuer(`${issuer.origin}/`);
    const check = find(await doctor(), "issuer");
    expectFailure(check, "a trailing slash");
    expect(check.fix).toContain("no trailing slash");
  });

  it("names another scheme", async () => {
    issuer.setDiscoveryIssuer(issuer.origin.replace("http:", "https:"));
    const check = find(await doctor(), "issuer");
    expectFailure(check, "scheme https instead of http");
  });
});

describe("the key set", () => {
  it("refuses a jwks_uri that is not https, without fetching it", async () => {
    const requested: string[] = [];
    const fetcher: Fetcher = async (url, init) => {
      requested.push(url);
      const response = await fetch(url, init);
      if (!url.endsWith("/.well-known/openid-configuration")) return response;
      const document = (await response.json()) as Record<string, unknown>;
      return new Response(JSON.stringify({ ...document, jwks_uri: "http://keys.example.com/jwks" }), { status: 200 });
    };
    const check = find(await doctor({}, { fetcher }), "jwks");
    expectFailure(check, "must use https", "https");
    expect(requested).not.toContain("http://keys.example.com/jwks");
  });

  it("names a key set over the size limit", async () => {
    const modulus = Buffer.alloc(256, 0xc5).toString("base64url");
    issuer.setExtraJwks(
      Array.from({ length: 200 }, (_, index) => ({
        kty: "RSA",
        kid: `padding-${index}`,
        use: "sig",
        alg: "RS256",
        n: modulus,
        e: "AQAB",
      })),
    );
    const checks = await doctor();
    expect(find(checks, "discovery").ok).toBe(true);
    expectFailure(find(checks, "jwks"), "larger than 64.0 KiB", "fewer keys");
  });

  it("lists the keys it ignores and why, and fails when none is usable", async () => {
    const lone = await startDevIssuer();
    try {
      lone.removeKey(lone.signingKid);
      lone.setExtraJwks([
        { kty: "oct", k: "c2VjcmV0", kid: "hmac" },
        { kty: "RSA", kid: "weak", n: Buffer.alloc(128, 0xff).toString("base64url"), e: "AQAB" },
      ]);
      const checks = await runDoctor({ AUTHGEAR_ENDPOINT: lone.origin }, { limits: LIMITS });
      const keys = find(checks, "keys");
      expect(keys.ok).toBe(false);
      expect(keys.detail).toContain('kid "hmac" (oct): not a public key');
      expect(keys.detail).toContain('kid "weak" (RSA): RSA modulus shorter than 2048 bits');
      expect(keys.fix).toContain("RSA of 2048 bits or more");
      expect(find(checks, "algorithms")).toMatchObject({ skipped: true });
    } finally {
      await lone.close();
    }
  });

  it("still passes with an ignored key next to a usable one, and names it", async () => {
    issuer.setExtraJwks([{ kty: "RSA", kid: "enc", use: "enc", n: "AQAB", e: "AQAB" }]);
    const keys = find(await doctor(), "keys");
    expectPass(keys, 'ignored 1: kid "enc" (RSA): use is not sig');
  });

  it("fails when ALGORITHMS matches no published key, and names the algorithm to set", async () => {
    const checks = await doctor({ ALGORITHMS: "ES256" });
    expectFailure(find(checks, "algorithms"), "ALGORITHMS=ES256, but the published key", "set ALGORITHMS=RS256");
  });
});

describe("the resolver (resolver mode)", () => {
  it("names a failing resolver", async () => {
    issuer.setResolverFailure("http500");
    const check = find(await doctor({ AUTH_MODE: "resolver" }), "resolver");
    expectFailure(check, "HTTP 500", "failing");
  });

  it("names a resolver that does not answer within RESOLVER_TIMEOUT_MS", async () => {
    issuer.setResolverFailure("hang");
    const check = find(await doctor({ AUTH_MODE: "resolver", RESOLVER_TIMEOUT_MS: "200" }), "resolver");
    expectFailure(check, "RESOLVER_TIMEOUT_MS=200", "RESOLVER_TIMEOUT_MS");
  });

  it("names a redirect, which the gate does not follow", async () => {
    issuer.setResolverFailure("redirect");
    const check = find(await doctor({ AUTH_MODE: "hybrid" }), "resolver");
    expectFailure(check, "redirect 302 to", "follows no redirect");
  });

  it("explains a 404 by the Host, which selects the project", async () => {
    const port = new URL(issuer.origin).port;
    const check = find(
      await doctor({ AUTH_MODE: "resolver", RESOLVER_URL: `http://localhost:${port}/_resolver/resolve` }),
      "resolver",
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`Host: localhost:${port}`);
    expect(check.detail).toContain("HTTP 404");
    expect(check.fix).toContain("set RESOLVER_URL");
  });

  it("names an answer that does not speak the resolver's protocol", async () => {
    issuer.setResolverFailure("malformed");
    const check = find(await doctor({ AUTH_MODE: "resolver" }), "resolver");
    expectFailure(check, 'X-Authgear-Session-Valid: "yes"');
  });

  it("refuses a resolver that calls a request without credentials valid", async () => {
    const fetcher: Fetcher = (url, init) =>
      url.endsWith("/_resolver/resolve")
        ? Promise.resolve(
            new Response(null, {
              status: 200,
              headers: {
                "x-authgear-session-valid": "true",
                "x-authgear-user-id": "someone",
                "x-authgear-user-anonymous": "false",
                "x-authgear-user-verified": "true",
                "x-authgear-user-can-reauthenticate": "true",
                "x-authgear-session-amr": "",
              },
            }),
          )
        : fetch(url, init);
    const check = find(await doctor({ AUTH_MODE: "resolver" }, { fetcher }), "resolver");
    expectFailure(check, "no credentials at all", "lets everyone in");
  });
});

describe("a token (--token)", () => {
  async function tokenCheck(
    token: string,
    env: Record<string, string> = {},
    options: DoctorOptions = {},
  ): Promise<Check> {
    return find(await doctor(env, { ...options, token }), "token");
  }

  it("verifies a valid access token and describes it, without printing it", async () => {
    const check = await tokenCheck(
      await issuer.mintAccessToken({ sub: "alice", claims: { "https://authgear.com/claims/user/roles": ["admin"] } }),
    );
    expect(check.ok).toBe(true);
    expect(check.detail).toMatch(
      /^valid: verified by the gate itself \(RS256, kid .+\); user alice, client_id dev-client, roles admin, amr pwd, expires in (29|30) min \d+ s, at \d{4}-/,
    );
  });

  it("diagnoses an opaque token in JWT mode: Issue JWT as access token", async () => {
    const check = await tokenCheck(issuer.createSession("bob").opaqueAccessToken);
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(
      /^an opaque token, not a JWT \(no dots, \d+ characters\) — the gate answers 401 ERR_JWT_MALFORMED$/,
    );
    expect(check.fix).toContain("enable *Issue JWT as access token* for the client");
  });

  it("sends an opaque token to the resolver in hybrid mode", async () => {
    const session = issuer.createSession("carol");
    expectPass(
      await tokenCheck(session.opaqueAccessToken, { AUTH_MODE: "hybrid" }),
      "Authgear's resolver accepted it (AUTH_MODE=hybrid); user carol",
    );
    issuer.logout(session.id);
    const check = await tokenCheck(session.opaqueAccessToken, { AUTH_MODE: "hybrid" });
    expectFailure(check, "an opaque token, sent to Authgear's resolver");
    expect(check.detail).toContain("401 ERR_SESSION_INVALID");
  });

  it("diagnoses an ID token", async () => {
    const check = await tokenCheck(await issuer.mintIdToken({ claims: { nonce: "n-0S6_WzA2Mj" } }));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(
      'an ID token, not an access token: typ is "JWT", not at+jwt, it has a nonce, aud ["dev-client"] names a client',
    );
    expect(check.detail).toContain("401 ERR_JWT_TYPE");
    expect(check.fix).toContain("not the id_token");
  });

  it("diagnoses a wrong audience, showing the token's aud and AUDIENCE", async () => {
    const check = await tokenCheck(await issuer.mintAccessToken(), { AUDIENCE: "https://api.example.com" });
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(
      `wrong audience: the token's aud ["${issuer.origin}"] holds none of AUDIENCE ["https://api.example.com"]`,
    );
    expect(check.fix).toContain(`AUDIENCE=https://api.example.com,${issuer.origin}`);
  });

  it("diagnoses an expired token, with exp and now", async () => {
    const check = await tokenCheck(await issuer.mintAccessToken({ expiresIn: -120 }));
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(
      /^expired: exp \d{4}-\d\d-\d\dT[\d:]+Z \(\d+\), now .+, 2 min [0-2] s ago \(CLOCK_TOLERANCE_SECONDS=0\) — the gate answers 401 ERR_JWT_EXPIRED$/,
    );
    expect(check.fix).toContain("fresh access token");
  });

  it("judges the token at the moment given", async () => {
    const token = await issuer.mintAccessToken();
    const check = await tokenCheck(token, {}, { now: () => Date.now() + 3 * 3600_000 });
    expectFailure(check, "expired");
  });

  it("diagnoses a token not yet valid", async () => {
    const check = await tokenCheck(
      await issuer.mintAccessToken({ claims: { nbf: Math.floor(Date.now() / 1000) + 600 } }),
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain("not yet valid: nbf");
    expect(check.fix).toContain("CLOCK_TOLERANCE_SECONDS");
  });

  it("diagnoses an unknown kid, showing it and the kids published", async () => {
    const kid = await issuer.addKey();
    const token = await issuer.mintAccessToken({ kid });
    issuer.removeKey(kid);
    const check = await tokenCheck(token);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(
      `no published key has the token's kid "${kid}" (alg RS256); AUTHGEAR_ENDPOINT publishes kid ["${issuer.signingKid}"]`,
    );
    expect(check.detail).toContain("401 ERR_JWT_KEY_NOT_FOUND");
    expect(check.fix).toContain("get a new token");
  });

  it("names the other issuer of a token signed elsewhere", async () => {
    const other = await startDevIssuer();
    try {
      const check = await tokenCheck(await other.mintAccessToken());
      expect(check.detail).toContain(
        `untrusted issuer: the token's iss "${other.origin}" is not a trusted issuer (port `,
      );
      expect(check.detail).toContain(`; AUTHGEAR_ENDPOINT is ${issuer.origin}; the gate refuses it before any fetch`);
      expect(check.fix).toContain(
        `the token comes from another issuer: get one from ${issuer.origin}; or, if ${other.origin} is an issuer this API should trust, add it: `,
      );
      expect(check.fix).toContain(
        `ISSUERS='[{"issuer":"${issuer.origin}"},{"issuer":"${other.origin}"}]' (in place of AUTHGEAR_ENDPOINT`,
      );
    } finally {
      await other.close();
    }
  });

  it("diagnoses a wrong issuer, showing both", async () => {
    const check = await tokenCheck(await issuer.mintAccessToken({ claims: { iss: "https://other.example.com" } }));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(
      `untrusted issuer: the token's iss "https://other.example.com" is not a trusted issuer (scheme https instead of http`,
    );
    expect(check.detail).toContain(`AUTHGEAR_ENDPOINT is ${issuer.origin}`);
    expect(check.detail).toContain("401 ERR_JWT_CLAIM_INVALID");
  });

  it("diagnoses an algorithm outside ALGORITHMS", async () => {
    const check = await tokenCheck(await issuer.mintAccessToken({ header: { alg: "PS256" } }));
    expectFailure(check, 'alg "PS256" is not in ALGORITHMS (RS256)', "ALGORITHMS=RS256,PS256");
  });

  it("diagnoses a bad signature", async () => {
    const [header, payload] = (await issuer.mintAccessToken({ sub: "mallory" })).split(".");
    const signature = (await issuer.mintAccessToken()).split(".")[2];
    const check = await tokenCheck(`${header}.${payload}.${signature}`);
    expectFailure(check, "signature does not verify with the published key", "altered");
  });

  it("diagnoses a non-canonical spelling", async () => {
    const check = await tokenCheck(`${await issuer.mintAccessToken()}==`);
    expectFailure(check, "not canonical unpadded base64url");
  });

  it("diagnoses a client outside ALLOWED_CLIENT_IDS", async () => {
    const check = await tokenCheck(await issuer.mintAccessToken(), { ALLOWED_CLIENT_IDS: "mobile-app" });
    expectFailure(
      check,
      'client_id "dev-client", and ALLOWED_CLIENT_IDS is mobile-app',
      "ALLOWED_CLIENT_IDS=mobile-app,dev-client",
    );
  });

  it("says the key set is the problem when it cannot be fetched", async () => {
    const token = await issuer.mintAccessToken();
    issuer.setFailure("http500");
    const check = await tokenCheck(token);
    expectFailure(check, "the key set cannot be fetched");
    expect(check.detail).toContain("503 ERR_KEYSET_UNAVAILABLE");
  });

  it("accepts the token with its Bearer prefix", async () => {
    expect(await tokenCheck(`Bearer ${await issuer.mintAccessToken()}`)).toMatchObject({ ok: true });
  });
});

describe("several issuers (ISSUERS), machine clients, resources", () => {
  const API = "https://api.example.local";
  const ROUTES = JSON.stringify([
    { path: "/m2m/*", subject: "client", scopes: ["orders:read"] },
    { path: "/admin/*", subject: "any", scopes: ["orders:write"] },
  ]);
  let second: DevIssuer;

  beforeAll(async () => {
    second = await startDevIssuer({
      machineClients: [
        { id: "inventory", secret: "inventory-secret", resources: { [API]: ["orders:read", "orders:write"] } },
      ],
    });
  });
  afterAll(() => second.close());
  beforeEach(() => {
    second.setFailure("none");
  });

  /** ISSUERS: the shared issuer, then `second`, which accepts machine tokens for {@link API}. */
  function issuersEnv(extra: Record<string, string> = {}): Record<string, string> {
    const ISSUERS = JSON.stringify([{ issuer: issuer.origin }, { issuer: second.origin, resources: [API] }]);
    return { AUTHGEAR_ENDPOINT: "", ISSUERS, ROUTES, ...extra };
  }

  async function tokenCheck(token: string, env: Record<string, string> = issuersEnv()): Promise<Check> {
    return find(await doctor(env, { token }), "token");
  }

  async function grant(scope: string): Promise<string> {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: "inventory",
      client_secret: "inventory-secret",
      resource: API,
      scope,
    });
    const response = await fetch(second.tokenEndpoint, { method: "POST", body });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it("checks every issuer's discovery and key set, each check naming its issuer", async () => {
    const checks = await doctor(issuersEnv());
    expect(failed(checks)).toEqual([]);
    const chain = ["discovery", "issuer", "jwks", "keys", "algorithms"];
    expect(checks.map((check) => check.name)).toEqual(["configuration", ...chain, ...chain, "resolver", "token"]);
    expect(checks.slice(1, 6).map((check) => check.issuer)).toEqual(Array(5).fill(issuer.origin));
    expect(checks.slice(6, 11).map((check) => check.issuer)).toEqual(Array(5).fill(second.origin));
    expect(checks[0]!.detail).toContain(`ISSUERS=2 issuers (${issuer.origin}, ${second.origin})`);
    expect(checks[2]!.detail).toBe(`the discovery issuer ${issuer.origin} equals the ISSUERS entry ${issuer.origin}`);
    expect(checks[9]!.detail).toContain(second.signingKid);
  });

  it("fetches the issuers at the same time, not one after the other", async () => {
    const started = new Map<string, number>();
    const finished = new Map<string, number>();
    const slow: Fetcher = async (url, init) => {
      const origin = new URL(url).origin;
      if (url.endsWith("/.well-known/openid-configuration")) started.set(origin, performance.now());
      await new Promise((resume) => setTimeout(resume, 300));
      const response = await fetch(url, init);
      if (url.endsWith("/.well-known/openid-configuration")) finished.set(origin, performance.now());
      return response;
    };
    expect(failed(await doctor(issuersEnv(), { fetcher: slow }))).toEqual([]);
    expect(started.get(second.origin)!).toBeLessThan(finished.get(issuer.origin)!);
    expect(started.get(issuer.origin)!).toBeLessThan(finished.get(second.origin)!);
  });

  it("fails only the failing issuer's checks, naming its ISSUERS entry", async () => {
    second.setFailure("http500");
    const checks = await doctor(issuersEnv());
    expect(failed(checks)).toEqual(["discovery"]);
    const discovery = checks.find((check) => check.name === "discovery" && !check.ok)!;
    expect(discovery.issuer).toBe(second.origin);
    const first = checks.filter((check) => check.issuer === issuer.origin);
    expect(first.every((check) => check.ok && check.skipped !== true)).toBe(true);
    issuer.setDiscoveryIssuer(`${issuer.origin}/`);
    const mismatch = find(await doctor(issuersEnv()), "issuer");
    expectFailure(mismatch, `is not the ISSUERS entry ${issuer.origin} (a trailing slash)`);
  });

  it("explains a machine token: its client, scope and resource, and which rules admit it", async () => {
    const check = await tokenCheck(await grant("orders:read"));
    expectPass(
      check,
      "; a machine client's token (client-credentials grant): " +
        `client inventory, issuer ${second.origin}, scope orders:read, ` +
        `resource ${API} (the "resources" of the ISSUERS entry ${second.origin}); ROUTES[0] /m2m/* admits it; ` +
        "ROUTES[1] /admin/* does not: A scope this route requires is missing.",
    );
    expect(check.detail).toMatch(
      /^valid: verified by the gate itself \(RS256, kid [\w-]+\), expires in (29|30) min \d+ s, at [^;]+; a machine/,
    );
    expect(check.detail).toMatch(/is missing\.$/);
  });

  it("fails a machine token no rule admits, and says which rule to add", async () => {
    const check = await tokenCheck(await grant("orders:read"), issuersEnv({ ROUTES: "" }));
    const rule = 'ROUTES, e.g. {"path":"/api/*","subject":"client","scopes":["orders:read"]}';
    expectFailure(check, "no ROUTES rule admits clients (subject client or any)", rule);
    expect(check.detail).toContain("the gate answers 403 ERR_INSUFFICIENT_SCOPE on every path");
  });

  it("explains a machine token for another resource (resource audience), with the exact ISSUERS to set", async () => {
    const reports = "https://reports.example.local";
    const token = await second.mintClientAccessToken({ clientId: "inventory", resource: reports, scope: "r" });
    const check = await tokenCheck(token);
    expectFailure(
      check,
      `resource audience: a machine client's token (client_id inventory) for the resource ["${reports}"]; ` +
        `the "resources" of the ISSUERS entry ${second.origin} is ["${API}"]`,
    );
    expect(check.detail).toContain("401 ERR_JWT_CLAIM_INVALID");
    const fixed = JSON.stringify([{ issuer: issuer.origin }, { issuer: second.origin, resources: [API, reports] }]);
    const why = "a machine token's aud is the resource URI its client asked for";
    expect(check.fix).toBe(`${why}: if that is this API, ISSUERS='${fixed}'`);
  });

  it("explains a machine token when RESOURCES is unset (AUTHGEAR_ENDPOINT), with the RESOURCES to set", async () => {
    const token = await second.mintClientAccessToken({ clientId: "inventory", resource: API });
    const check = await tokenCheck(token, { AUTHGEAR_ENDPOINT: second.origin });
    const unset = `RESOURCES is unset, so no machine token of ${second.origin} passes`;
    expectFailure(check, unset, `if that is this API, RESOURCES=${API}`);
  });

  it("names the trusted issuers for a token of an untrusted one, and the ISSUERS that adds it", async () => {
    const stranger = await startDevIssuer();
    try {
      const check = await tokenCheck(await stranger.mintAccessToken());
      expectFailure(check, `untrusted issuer: the token's iss "${stranger.origin}" is not a trusted issuer`);
      expect(check.detail).toContain(
        `ISSUERS trusts ${issuer.origin}, ${second.origin}; the gate refuses it before any fetch`,
      );
      const added = JSON.stringify([
        { issuer: issuer.origin },
        { issuer: second.origin, resources: [API] },
        { issuer: stranger.origin },
      ]);
      expect(check.fix).toContain(
        `if ${stranger.origin} is an issuer this API should trust, add it: ISSUERS='${added}'`,
      );
      expect(stranger.hits).toEqual({ discovery: 0, jwks: 0, redirected: 0 });
    } finally {
      await stranger.close();
    }
  });

  it("explains a user's token whose aud is a resource of this API, not one of its audiences", async () => {
    const check = await tokenCheck(await second.mintAccessToken({ sub: "alice", claims: { aud: [API] } }));
    expectFailure(
      check,
      `a user's token whose aud ["${API}"] is a resource of this API (the "resources" of the ISSUERS entry ${second.origin}), ` +
        "the audience of machine clients' tokens, " +
        `and none of the "audiences" of the ISSUERS entry ${second.origin} ["${second.origin}"]`,
    );
    const fixed = JSON.stringify([
      { issuer: issuer.origin },
      { issuer: second.origin, resources: [API], audiences: [second.origin, API] },
    ]);
    expect(check.fix).toContain(`if users' tokens for this resource should pass, ISSUERS='${fixed}'`);
  });

  it("describes a user's token of the second issuer, with its amr and issuer", async () => {
    const check = await tokenCheck(await second.mintAccessToken({ sub: "bob", amr: ["pwd", "otp", "mfa"] }));
    expectPass(check, `user bob, client_id dev-client, no roles, amr pwd,otp,mfa, issuer ${second.origin}`);
  });
});

describe("the bundles", () => {
  it("never import the doctor", () => {
    const root = fileURLToPath(new URL("../../src", import.meta.url));
    for (const dir of ["cloudflare", "aws", "core"]) {
      for (const file of readdirSync(join(root, dir)).filter((name) => name.endsWith(".ts"))) {
        expect(readFileSync(join(root, dir, file), "utf8"), `src/${dir}/${file}`).not.toMatch(/from ["'][^"']*doctor/);
      }
    }
  });
});
