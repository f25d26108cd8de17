/** The one decision, with the dev issuer on loopback and an injected clock. */
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/core/authenticator.ts";
import { parseConfig } from "../../src/core/config.ts";
import { createDecider, type DeciderOptions, type Decision } from "../../src/core/decision.ts";
import { silentLogger } from "../../src/core/ports.ts";
import { useDevIssuer } from "../helpers.ts";
import { userIdentity } from "../fixtures/identities.ts";
import { authorizerDecider, WORKER_DECIDER } from "../fixtures/gate.ts";

const issuer = useDevIssuer();

const WORKER = WORKER_DECIDER;
const AUTHORIZER = authorizerDecider(301);

function deciderWith(env: Record<string, string>, options: DeciderOptions, clock = () => Date.now()) {
  const config = parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/public/*", ...env });
  return createDecider(config, createAuthenticator(config, { logger: silentLogger, clock }), { ...options, clock });
}

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

function summary(decision: Decision): string {
  const who = decision.identity?.subject ?? "anonymous";
  if (decision.allowed) return `allowed ${who}${decision.isPublic ? " public" : ""}`;
  return `refused ${decision.error.code}${decision.identity === undefined ? "" : ` (${decision.identity.subject})`}`;
}

describe("decide", () => {
  it("refuses an ambiguous path in the Worker; in the authorizer it is never public but an authenticated caller passes", async () => {
    const token = await issuer.mintAccessToken({ sub: "alice" });
    const bearer = headers({ authorization: `Bearer ${token}` });
    const worker = deciderWith({}, WORKER);
    const authorizer = deciderWith({}, AUTHORIZER);
    expect(summary(await worker.decide({ method: "GET", path: "/public/%2e%2e/admin", headers: bearer }))).toBe(
      "refused ERR_REQUEST_MALFORMED",
    );
    expect(summary(await authorizer.decide({ method: "GET", path: "/public/%2e%2e/admin", headers: bearer }))).toBe(
      "allowed alice",
    );
    expect(
      summary(await authorizer.decide({ method: "GET", path: "/public/%2e%2e/admin", headers: headers({}) })),
    ).toBe("refused ERR_CREDENTIALS_MISSING");
  });

  it("lets a public path through anonymously, or with the identity of a valid token; ignores an invalid one", async () => {
    const worker = deciderWith({}, WORKER);
    const token = await issuer.mintAccessToken({ sub: "alice" });
    expect(summary(await worker.decide({ method: "GET", path: "/public/a", headers: headers({}) }))).toBe(
      "allowed anonymous public",
    );
    expect(
      summary(
        await worker.decide({ method: "GET", path: "/public/a", headers: headers({ authorization: "Bearer a.b.c" }) }),
      ),
    ).toBe("allowed anonymous public");
    expect(
      summary(
        await worker.decide({
          method: "GET",
          path: "/public/a",
          headers: headers({ authorization: `Bearer ${token}` }),
        }),
      ),
    ).toBe("allowed alice public");
    expect(summary(await worker.decide({ method: "GET", path: "/private", headers: headers({}) }))).toBe(
      "refused ERR_CREDENTIALS_MISSING",
    );
  });

  it("treats a CORS preflight as public only where the packaging says so", async () => {
    const preflight = {
      method: "OPTIONS",
      path: "/private",
      headers: headers({ origin: "https://app.example.com", "access-control-request-method": "GET" }),
    };
    expect(summary(await deciderWith({}, WORKER).decide(preflight))).toBe("allowed anonymous public");
    expect(summary(await deciderWith({}, AUTHORIZER).decide(preflight))).toBe("refused ERR_CREDENTIALS_MISSING");
  });

  it("applies route rules after authentication, with the identity on the refusal", async () => {
    const decider = deciderWith({ ROUTES: JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]) }, WORKER);
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    expect(
      summary(
        await decider.decide({ method: "GET", path: "/admin/x", headers: headers({ authorization: `Bearer ${bob}` }) }),
      ),
    ).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
    expect(summary(await decider.decide({ method: "GET", path: "/admin/x", headers: headers({}) }))).toBe(
      "refused ERR_CREDENTIALS_MISSING",
    );
    // No path to check the rules against (a TOKEN event with an ARN of another shape): refused, never waved through.
    expect(
      summary(
        await decider.decide({ method: "GET", path: undefined, headers: headers({ authorization: `Bearer ${bob}` }) }),
      ),
    ).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
  });

  it("admits a machine client only by a rule: never with no ROUTES, off its rules, or without a path", async () => {
    const userClaims = ["is_anonymous", "is_verified", "can_reauthenticate", "roles"].map(
      (name): [string, undefined] => [`https://authgear.com/claims/user/${name}`, undefined],
    );
    // As authgear-server's EncodeClientAccessToken: sub client_id_<id>, aud the resource, no user claim.
    const token = await issuer.mintAccessToken({
      sub: "client_id_svc",
      claims: {
        client_id: "svc",
        aud: ["https://api.example.com"],
        auth_time: undefined,
        amr: undefined,
        ...Object.fromEntries(userClaims),
      },
    });
    const client = headers({ authorization: `Bearer ${token}` });
    const resources = { RESOURCES: "https://api.example.com" };
    const none = deciderWith(resources, WORKER);
    const refused = "refused ERR_INSUFFICIENT_SCOPE (client_id_svc)";
    expect(summary(await none.decide({ method: "GET", path: "/anything", headers: client }))).toBe(refused);
    // A public path needs no rule.
    const publicPath = await none.decide({ method: "GET", path: "/public/a", headers: client });
    expect(summary(publicPath)).toBe("allowed client_id_svc public");
    const rules = [
      { path: "/sync/*", subject: "client" },
      { path: "/admin/*", roles: ["admin"] },
    ];
    const ruled = deciderWith({ ...resources, ROUTES: JSON.stringify(rules) }, AUTHORIZER);
    const admitted = await ruled.decide({ method: "GET", path: "/sync/1", headers: client });
    expect(summary(admitted)).toBe("allowed client_id_svc");
    for (const path of ["/admin/x", "/other", undefined]) {
      expect(summary(await ruled.decide({ method: "GET", path, headers: client })), String(path)).toBe(refused);
    }
    const decision = await ruled.decide({ method: "GET", path: "/sync/1", headers: client });
    const identity = decision.identity!;
    expect(identity.kind).toBe("client");
    // The rule for users neither admits nor refuses it.
    expect(ruled.admittingRules(identity, decision.at).map((rule) => rule.path)).toEqual(["/sync/*"]);
    expect(ruled.failedRules(identity, decision.at)).toEqual([]);
    // Without RESOURCES its audience is no accepted one.
    const unconfigured = deciderWith({ ROUTES: JSON.stringify(rules) }, WORKER);
    const unconfiguredDecision = await unconfigured.decide({ method: "GET", path: "/sync/1", headers: client });
    expect(summary(unconfiguredDecision)).toBe("refused ERR_JWT_CLAIM_INVALID");
  });

  it("decides at the injected clock's moment, looking ahead over the validity window", async () => {
    const loginAt = Math.floor(Date.now() / 1000) - 600;
    const token = await issuer.mintAccessToken({ sub: "carol", issuedAt: loginAt });
    const rules = JSON.stringify([{ path: "/account/*", maxAuthAge: 1000 }]);
    const request = { method: "POST", path: "/account/delete", headers: headers({ authorization: `Bearer ${token}` }) };
    const at = (age: number) => () => (loginAt + age) * 1000;
    // 700 s now: the Worker allows; the authorizer's answer would outlive the 1000 s by the end of its 301 s.
    expect(summary(await deciderWith({ ROUTES: rules }, WORKER, at(700)).decide(request))).toBe("allowed carol");
    expect(summary(await deciderWith({ ROUTES: rules }, AUTHORIZER, at(700)).decide(request))).toBe(
      "refused ERR_AUTHENTICATION_TOO_OLD (carol)",
    );
    expect(summary(await deciderWith({ ROUTES: rules }, AUTHORIZER, at(699)).decide(request))).toBe("allowed carol");
    const decision = await deciderWith({ ROUTES: rules }, AUTHORIZER, at(699)).decide(request);
    expect(decision.at).toBe((loginAt + 699) * 1000);
    expect(summary(await deciderWith({ ROUTES: rules }, WORKER, at(1001)).decide(request))).toBe(
      "refused ERR_AUTHENTICATION_TOO_OLD (carol)",
    );
  });

  it("lists the rules an identity fails during the window, for the cached policy", () => {
    const rules = [
      { path: "/a/*", roles: ["admin"] },
      { path: "/b", maxAuthAge: 1000 },
      { path: "/c", scopes: ["openid"] },
    ];
    const loginAt = Math.floor(Date.now() / 1000);
    const decider = deciderWith({ ROUTES: JSON.stringify(rules) }, AUTHORIZER, () => (loginAt + 800) * 1000);
    const identity = userIdentity({ authenticatedAt: loginAt, scopes: ["openid"] });
    expect(decider.failedRules(identity, (loginAt + 699) * 1000).map((rule) => rule.path)).toEqual(["/a/*"]);
    expect(decider.failedRules(identity, (loginAt + 700) * 1000).map((rule) => rule.path)).toEqual(["/a/*", "/b"]);
  });
});

describe("decide: hardening", () => {
  const rules = JSON.stringify([
    { path: "/admin/*", roles: ["admin"] },
    { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
  ]);

  it.each(["/ADMIN/x", "/%61dmin/x", "/admin.json", "/Admin/", "/%C3%A0dmin"])(
    "applies /admin/* broadly, or refuses: %s",
    async (path) => {
      const bob = await issuer.mintAccessToken({ sub: "bob" });
      const decision = await deciderWith({ ROUTES: rules }, WORKER).decide({
        method: "GET",
        path,
        headers: headers({ authorization: `Bearer ${bob}` }),
      });
      if (path === "/%C3%A0dmin") expect(summary(decision)).toBe("allowed bob");
      else expect(summary(decision)).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
    },
  );

  it("under METHOD_OVERRIDE=any (the default) decides every request but a GET as every method it could be served as", async () => {
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    const anyMode = deciderWith({ ROUTES: rules }, WORKER);
    const noneMode = deciderWith({ ROUTES: rules, METHOD_OVERRIDE: "none" }, WORKER);
    const send = (decider: typeof anyMode, method: string) =>
      decider.decide({
        method,
        path: "/orders/1",
        headers: headers({ authorization: `Bearer ${bob}` }),
        hasBody: method !== "GET",
      });
    expect(summary(await send(anyMode, "GET"))).toBe("allowed bob");
    for (const method of ["HEAD", "POST", "PUT", "PATCH", "OPTIONS", "PURGE"]) {
      const refused = await send(anyMode, method);
      expect(summary(refused), method).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
      expect(!refused.allowed && refused.error.message, method).toMatch(/rule is for DELETE.*METHOD_OVERRIDE/);
      expect(summary(await send(noneMode, method)), method).toBe("allowed bob");
    }
    expect(summary(await send(anyMode, "DELETE"))).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
    expect(summary(await send(noneMode, "DELETE"))).toBe("refused ERR_INSUFFICIENT_SCOPE (bob)");
    const alice = await issuer.mintAccessToken({
      sub: "alice",
      claims: { "https://authgear.com/claims/user/roles": ["admin"] },
    });
    const asAdmin = await anyMode.decide({
      method: "POST",
      path: "/orders/1",
      headers: headers({ authorization: `Bearer ${alice}` }),
      hasBody: true,
    });
    expect(summary(asAdmin)).toBe("allowed alice");
  });

  it("counts path-override headers where they reach the origin (the authorizer), not where they are stripped (the Worker)", async () => {
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    const request = {
      method: "GET",
      path: "/x",
      headers: headers({ authorization: `Bearer ${bob}`, x_original_url: "/orders/1" }),
    };
    const adminOnly = JSON.stringify([{ path: "/orders/*", roles: ["admin"] }]);
    expect(summary(await deciderWith({ ROUTES: adminOnly }, WORKER).decide(request))).toBe("allowed bob");
    expect(summary(await deciderWith({ ROUTES: adminOnly }, AUTHORIZER).decide(request))).toBe(
      "refused ERR_INSUFFICIENT_SCOPE (bob)",
    );
    const publicWithRewrite = { method: "GET", path: "/public/x", headers: headers({ "x.original.url": "/admin/x" }) };
    expect(summary(await deciderWith({}, WORKER).decide(publicWithRewrite))).toBe("allowed anonymous public");
    expect(summary(await deciderWith({}, AUTHORIZER).decide(publicWithRewrite))).toBe(
      "refused ERR_CREDENTIALS_MISSING",
    );
  });

  it("lets only a real preflight through, without authenticating it", async () => {
    const decider = deciderWith({}, WORKER);
    const base = { origin: "https://app.example.com" };
    const preflight = (extra: Record<string, string>, hasBody = false) =>
      decider.decide({ method: "OPTIONS", path: "/api/secret", headers: headers({ ...base, ...extra }), hasBody });
    const real = await preflight({ "access-control-request-method": "PUT" });
    expect(real).toMatchObject({ allowed: true, identity: undefined, isPreflight: true });
    const token = await issuer.mintAccessToken({ sub: "alice" });
    expect(await preflight({ "access-control-request-method": "PUT", cookie: `session=${token}` })).toMatchObject({
      allowed: true,
      identity: undefined,
      isPreflight: true,
    });
    for (const fake of [
      { "access-control-request-method": "" },
      { "access-control-request-method": "GET POST" },
      { "access-control-request-method": "PUT", authorization: `Bearer ${token}` },
    ]) {
      expect((await preflight(fake)).allowed && (await preflight(fake)).identity === undefined).toBe(false);
    }
    expect(summary(await preflight({ "access-control-request-method": "PUT" }, true))).toBe(
      "refused ERR_CREDENTIALS_MISSING",
    );
    const ambiguous = await decider.decide({
      method: "OPTIONS",
      path: "/api;x/secret",
      headers: headers({ ...base, "access-control-request-method": "PUT" }),
    });
    expect(summary(ambiguous)).toBe("refused ERR_REQUEST_MALFORMED");
  });
});
