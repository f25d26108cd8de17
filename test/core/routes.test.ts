import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config.ts";
import { AuthError, errorResponse } from "../../src/core/errors.ts";
import type { ClientIdentity, Identity, UserIdentity } from "../../src/core/identity.ts";
import {
  assertAllowed,
  assertAllowedOn,
  compileRoutes,
  routeRefusal,
  ruleOverlapsPublicPath,
  ruleRefusal,
  scopesSupported,
  type RouteRule,
} from "../../src/core/routes.ts";
import { userIdentity } from "../fixtures/identities.ts";

const NOW = 1_800_000_000_000;
const A = "https://a.example.com";
const B = "https://b.example.com";
const alice: UserIdentity = userIdentity({
  issuer: A,
  subject: "alice",
  userId: "alice",
  canReauthenticate: true,
  roles: ["staff"],
  amr: ["pwd"],
  authenticatedAt: NOW / 1000 - 600,
  clientId: "web",
  scopes: ["openid", "orders:read"],
});

/** A rule any of whose roles suffices, and one all of whose scopes are needed. */
const SEVERAL = [
  { path: "/staff/*", roles: ["admin", "staff"] },
  { path: "/orders/*", scopes: ["orders:read", "orders:write"] },
];

/** Rules as written, each governing its own methods only (`METHOD_OVERRIDE=none`); `any` is tested on its own. */
function routes(json: string, mode: "any" | "none" = "none") {
  return compileRoutes(parseConfig({ AUTHGEAR_ENDPOINT: A, ROUTES: json }).routes, mode);
}

function code(rule: RouteRule, identity: Identity): string {
  try {
    assertAllowed(rule, identity, NOW);
    return "ok";
  } catch (error) {
    return (error as AuthError).code;
  }
}

describe("route rules", () => {
  const compiled = routes(
    JSON.stringify([
      { path: "/admin/*", roles: ["admin"] },
      { path: "/orders/*", methods: ["POST", "DELETE"], scopes: ["orders:write"] },
      { path: "/orders/*", scopes: ["orders:read"] },
      { path: "/account/delete", maxAuthAge: 300, anonymous: false, verified: true },
    ]),
  );

  function outcome(identity: Identity, method: string, path: string): string {
    try {
      assertAllowedOn(compiled, identity, method, path, NOW);
      return "ok";
    } catch (error) {
      return (error as AuthError).code;
    }
  }

  it("applies every rule that matches the method and path", () => {
    expect(outcome(alice, "GET", "/admin")).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(outcome(alice, "GET", "/admin/users")).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(outcome(alice, "GET", "/administrator")).toBe("ok");
    expect(outcome(alice, "GET", "/orders/1")).toBe("ok");
    expect(outcome(alice, "POST", "/orders/1")).toBe("ERR_INSUFFICIENT_SCOPE");
    const writer = { ...alice, scopes: ["orders:write"] };
    // Both /orders/* rules apply to a POST: write alone is not enough.
    expect(outcome(writer, "POST", "/orders/1")).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(outcome({ ...alice, scopes: ["orders:write", "orders:read"] }, "POST", "/orders/1")).toBe("ok");
    expect(outcome(alice, "GET", "/elsewhere")).toBe("ok");
  });

  it("governs HEAD with a GET rule", () => {
    const getOnly = routes(JSON.stringify([{ path: "/reports/*", methods: ["GET"], roles: ["auditor"] }]));
    expect(() => {
      assertAllowedOn(getOnly, alice, "HEAD", "/reports/q3", NOW);
    }).toThrow(AuthError);
    expect(() => {
      assertAllowedOn(getOnly, alice, "POST", "/reports/q3", NOW);
    }).not.toThrow();
  });

  it("under METHOD_OVERRIDE=any governs every method but GET with any rule, since such a request could be served as it", () => {
    const json = JSON.stringify([{ path: "/orders/*", methods: ["DELETE"], roles: ["admin"] }]);
    const deleteOnly = routes(json, "any");
    expect(() => {
      assertAllowedOn(deleteOnly, alice, "GET", "/orders/1", NOW);
    }).not.toThrow();
    for (const method of ["HEAD", "POST", "PUT", "PATCH", "OPTIONS", "DELETE", "PURGE"]) {
      expect(() => {
        assertAllowedOn(deleteOnly, alice, method, "/orders/1", NOW);
      }, method).toThrow(AuthError);
      expect(() => {
        assertAllowedOn(deleteOnly, alice, method, "/other/1", NOW);
      }, method).not.toThrow();
    }
    const getOnly = routes(JSON.stringify([{ path: "/reports/*", methods: ["GET"], roles: ["auditor"] }]), "any");
    expect(() => {
      assertAllowedOn(getOnly, alice, "GET", "/reports/q3", NOW);
    }).toThrow(AuthError);
    expect(() => {
      assertAllowedOn(getOnly, alice, "POST", "/reports/q3", NOW);
    }).toThrow(AuthError);
  });

  it("checks roles (any), scopes (all), verification, anonymity and authentication age", () => {
    const [admin, writeOrders, readOrders, sensitive] = compiled.map((route) => route.rule) as [
      RouteRule,
      RouteRule,
      RouteRule,
      RouteRule,
    ];
    expect(code(admin, alice)).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(code(admin, { ...alice, roles: ["x", "admin"] })).toBe("ok");
    expect(code(writeOrders, alice)).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(code(readOrders, alice)).toBe("ok");
    expect(code(sensitive, alice)).toBe("ERR_AUTHENTICATION_TOO_OLD");
    expect(code(sensitive, { ...alice, authenticatedAt: NOW / 1000 - 60 })).toBe("ok");
    expect(code(sensitive, { ...alice, authenticatedAt: undefined })).toBe("ERR_AUTHENTICATION_TOO_OLD");
    expect(code(sensitive, { ...alice, authenticatedAt: NOW / 1000 - 60, isVerified: false })).toBe(
      "ERR_INSUFFICIENT_SCOPE",
    );
    expect(code(sensitive, { ...alice, authenticatedAt: NOW / 1000 - 60, isAnonymous: true })).toBe(
      "ERR_INSUFFICIENT_SCOPE",
    );
  });

  it("meets a rule with several roles by any one of them, and one with several scopes only by all of them", () => {
    const rules = routes(JSON.stringify(SEVERAL));
    const decide = (identity: Identity, path: string) => {
      try {
        assertAllowedOn(rules, identity, "GET", path, NOW);
        return "ok";
      } catch (error) {
        return (error as AuthError).message;
      }
    };
    for (const roles of [["admin"], ["staff"], ["x", "staff"], ["admin", "staff"]]) {
      expect(decide({ ...alice, roles }, "/staff/1"), roles.join("+")).toBe("ok");
    }
    for (const roles of [[], ["x"], ["Admin"]]) {
      expect(decide({ ...alice, roles }, "/staff/1"), roles.join("+")).toBe("A role this route requires is missing.");
    }
    for (const scopes of [
      ["orders:read", "orders:write"],
      ["openid", "orders:write", "orders:read"],
    ]) {
      expect(decide({ ...alice, scopes }, "/orders/1"), scopes.join(" ")).toBe("ok");
    }
    const missing = "A scope this route requires is missing.";
    for (const scopes of [[], ["orders:read"], ["orders:write"], ["openid", "orders:write"], ["orders:read:write"]]) {
      expect(decide({ ...alice, scopes }, "/orders/1"), scopes.join(" ")).toBe(missing);
    }
  });

  it("answers 403 insufficient_scope, and 401 insufficient_user_authentication with max_age (RFC 9470)", () => {
    const forbidden = errorResponse(
      new AuthError("ERR_INSUFFICIENT_SCOPE", "A role this route requires is missing."),
      "r",
    );
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers["www-authenticate"]).toBe(
      'Bearer realm="r", error="insufficient_scope", error_description="A role this route requires is missing."',
    );
    let tooOld: AuthError | undefined;
    try {
      assertAllowedOn(compiled, alice, "GET", "/account/delete", NOW);
    } catch (error) {
      tooOld = error as AuthError;
    }
    const response = errorResponse(tooOld!, "r");
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe(
      'Bearer realm="r", error="insufficient_user_authentication", error_description="This route requires a more recent login.", max_age=300',
    );
  });
});

/** A machine client of issuer A (a client-credentials token). */
const svc: ClientIdentity = {
  kind: "client",
  issuer: A,
  subject: "client_id_svc",
  clientId: "svc",
  scopes: ["orders:read"],
  source: "jwt",
  claims: {},
  expiresAt: undefined,
};

/** Rules trusting issuers A and B, as written (`METHOD_OVERRIDE=none` unless told). */
function rulesOf(rules: readonly object[], mode: "any" | "none" = "none") {
  const settings = { ISSUERS: JSON.stringify([{ issuer: A }, { issuer: B }]), ROUTES: JSON.stringify(rules) };
  return compileRoutes(parseConfig(settings).routes, mode);
}

/** `ok`, or the refusal's code and message. */
function verdict(compiled: ReturnType<typeof rulesOf>, identity: Identity, path: string, method = "GET"): string {
  const refusal = routeRefusal(compiled, identity, method, path, NOW);
  return refusal === undefined ? "ok" : `${refusal.code}: ${refusal.message}`;
}

const NOT_FOR_CLIENTS_MESSAGE = "This route is not open to machine clients.";
const NOT_FOR_CLIENTS = `ERR_INSUFFICIENT_SCOPE: ${NOT_FOR_CLIENTS_MESSAGE}`;

describe("route rules: who they admit (subject), issuers, amr", () => {
  it("admits a machine client only by a rule with subject client or any, never by one for users (the default)", () => {
    const compiled = rulesOf([
      { path: "/default/*", scopes: ["none"] },
      { path: "/users/*", subject: "user", scopes: ["none"] },
      { path: "/clients/*", subject: "client", scopes: ["none"] },
      { path: "/both/*", subject: "any", scopes: ["none"] },
    ]);
    const paths = ["/default/1", "/users/1", "/clients/1", "/both/1"];
    const table = (identity: Identity) => paths.map((path) => verdict(compiled, identity, path));
    const missing = "ERR_INSUFFICIENT_SCOPE: A scope this route requires is missing.";
    // Each rule concerns the kinds its subject names: it refuses those, and says nothing about the others.
    expect(table(alice)).toEqual([missing, missing, "ok", missing]);
    expect(table(svc)).toEqual([NOT_FOR_CLIENTS, NOT_FOR_CLIENTS, missing, missing]);
    const scoped = { ...svc, scopes: ["none"] };
    expect(table(scoped)).toEqual([NOT_FOR_CLIENTS, NOT_FOR_CLIENTS, "ok", "ok"]);
  });

  it("serves users and machine clients on one path by a rule for each", () => {
    const compiled = rulesOf([
      { path: "/orders/*", roles: ["staff"] },
      { path: "/orders/*", subject: "client", scopes: ["orders:read"] },
    ]);
    expect(verdict(compiled, alice, "/orders/1")).toBe("ok");
    const noRole = "ERR_INSUFFICIENT_SCOPE: A role this route requires is missing.";
    expect(verdict(compiled, { ...alice, roles: [] }, "/orders/1")).toBe(noRole);
    // A user holding no scope the client rule asks for: that rule is not about users.
    expect(verdict(compiled, { ...alice, scopes: [] }, "/orders/1")).toBe("ok");
    expect(verdict(compiled, svc, "/orders/1")).toBe("ok");
    const noScope = "ERR_INSUFFICIENT_SCOPE: A scope this route requires is missing.";
    expect(verdict(compiled, { ...svc, scopes: [] }, "/orders/1")).toBe(noScope);
  });

  it("refuses a machine client where no rule applies, and everywhere when there are no rules, but not a user", () => {
    const compiled = rulesOf([{ path: "/clients/*", subject: "client", methods: ["GET"] }]);
    const requests = [
      ["GET", "/elsewhere"],
      ["GET", "/"],
      ["POST", "/clients/1"],
      ["GET", "/clientsx"],
    ] as const;
    for (const [method, path] of requests) {
      expect(verdict(compiled, svc, path, method), `${method} ${path}`).toBe(NOT_FOR_CLIENTS);
      expect(verdict(compiled, alice, path, method), `${method} ${path}`).toBe("ok");
    }
    const none = rulesOf([]);
    for (const path of ["/", "/anything", "/clients/1"]) {
      expect(verdict(none, svc, path)).toBe(NOT_FOR_CLIENTS);
      expect(verdict(none, alice, path)).toBe("ok");
    }
    const refusal = routeRefusal(none, svc, "GET", "/", NOW);
    expect(refusal).toBeDefined();
    const response = errorResponse(refusal!, "r");
    expect(response.status).toBe(403);
    expect(response.headers["www-authenticate"]).toBe(
      `Bearer realm="r", error="insufficient_scope", error_description="${NOT_FOR_CLIENTS_MESSAGE}"`,
    );
  });

  it("under METHOD_OVERRIDE=any admits a client's non-GET request only by a rule covering every method", () => {
    const postOnly = [{ path: "/c/*", subject: "client", methods: ["POST"] }];
    const getOnly = [{ path: "/c/*", subject: "client", methods: ["GET"] }];
    const every = [{ path: "/c/*", subject: "client" }];
    // The origin may serve a POST as a DELETE, which no rule admits the client to.
    expect(verdict(rulesOf(postOnly, "any"), svc, "/c/1", "POST")).toBe(NOT_FOR_CLIENTS);
    expect(verdict(rulesOf(postOnly, "none"), svc, "/c/1", "POST")).toBe("ok");
    expect(verdict(rulesOf(getOnly, "any"), svc, "/c/1", "GET")).toBe("ok");
    expect(verdict(rulesOf(getOnly, "any"), svc, "/c/1", "POST")).toBe(NOT_FOR_CLIENTS);
    for (const method of ["GET", "POST", "DELETE", "PATCH"]) {
      expect(verdict(rulesOf(every, "any"), svc, "/c/1", method), method).toBe("ok");
    }
  });

  it("never lets a machine client meet a user's requirement, while scopes and clientIds apply to it", () => {
    const userMembers = [
      { roles: ["staff"] },
      { verified: true },
      { anonymous: false },
      { maxAuthAge: 600 },
      { amr: ["pwd"] },
    ];
    for (const member of userMembers) {
      // Alone, a rule with a user's requirement concerns users only: it admits no client.
      const alone = rulesOf([{ path: "/users/*", ...member }]);
      expect(verdict(alone, svc, "/users/1"), JSON.stringify(member)).toBe(NOT_FOR_CLIENTS);
      // Written in code, past the schema that refuses it: a rule admitting clients with a user's requirement.
      for (const subject of ["client", "any"]) {
        const rule = { path: "/x", subject, ...member } as RouteRule;
        const label = `${subject} ${JSON.stringify(member)}`;
        expect(ruleRefusal(rule, svc, NOW)?.message, label).toBe(NOT_FOR_CLIENTS_MESSAGE);
        expect(verdict(compileRoutes([rule], "none"), svc, "/x"), label).toBe(NOT_FOR_CLIENTS);
      }
    }
    const scoped = rulesOf([
      { path: "/orders/*", subject: "client", scopes: ["orders:read"] },
      { path: "/orders/1", subject: "any", scopes: ["orders:write"] },
    ]);
    expect(verdict(scoped, svc, "/orders/2")).toBe("ok");
    expect(verdict(scoped, svc, "/orders/1")).toBe("ERR_INSUFFICIENT_SCOPE: A scope this route requires is missing.");
    expect(verdict(scoped, { ...svc, scopes: ["orders:read", "orders:write"] }, "/orders/1")).toBe("ok");
    const allowList = rulesOf([{ path: "/svc/*", subject: "client", clientIds: ["svc"] }]);
    expect(verdict(allowList, svc, "/svc/1")).toBe("ok");
    expect(verdict(allowList, { ...svc, subject: "client_id_other", clientId: "other" }, "/svc/1")).toBe(
      "ERR_INSUFFICIENT_SCOPE: This route is not open to this client.",
    );
  });

  it("admits only the tokens of the issuers a rule lists", () => {
    const compiled = rulesOf([
      { path: "/b/*", issuers: [B] },
      { path: "/b-clients/*", subject: "client", issuers: [B] },
      { path: "/ab/*", issuers: [A, B] },
    ]);
    const wrongIssuer = "ERR_INSUFFICIENT_SCOPE: This route does not accept tokens of this issuer.";
    expect(verdict(compiled, alice, "/b/1")).toBe(wrongIssuer);
    expect(verdict(compiled, { ...alice, issuer: B }, "/b/1")).toBe("ok");
    expect(verdict(compiled, svc, "/b-clients/1")).toBe(wrongIssuer);
    expect(verdict(compiled, { ...svc, issuer: B }, "/b-clients/1")).toBe("ok");
    expect(verdict(compiled, alice, "/ab/1")).toBe("ok");
    expect(verdict(compiled, { ...alice, issuer: B }, "/ab/1")).toBe("ok");
    // Compared exactly: another spelling of an issuer is another issuer.
    expect(verdict(compiled, { ...alice, issuer: `${B}/` }, "/b/1")).toBe(wrongIssuer);
    expect(verdict(compiled, { ...alice, issuer: "https://B.example.com" }, "/b/1")).toBe(wrongIssuer);
  });

  it("requires any one of a rule's authentication methods (amr), case-sensitively", () => {
    const compiled = rulesOf([{ path: "/pay/*", amr: ["otp", "mfa"] }]);
    const unmet = "ERR_AUTHENTICATION_METHOD: This route requires a login with one of: otp, mfa.";
    for (const amr of [["otp"], ["mfa"], ["pwd", "otp"], ["mfa", "otp", "pwd"]]) {
      expect(verdict(compiled, { ...alice, amr }, "/pay/1"), amr.join(" ")).toBe("ok");
    }
    for (const amr of [[], ["pwd"], ["OTP"], ["otp2"], ["pwd", "sms"]]) {
      expect(verdict(compiled, { ...alice, amr }, "/pay/1"), amr.join(" ")).toBe(unmet);
    }
    expect(verdict(compiled, alice, "/elsewhere")).toBe("ok");
  });

  it("answers an unmet amr with 401 insufficient_user_authentication (RFC 9470), without max_age", () => {
    const refusal = routeRefusal(rulesOf([{ path: "/pay/*", amr: ["mfa"] }]), alice, "GET", "/pay/1", NOW);
    expect(refusal?.code).toBe("ERR_AUTHENTICATION_METHOD");
    const response = errorResponse(refusal!, "r");
    expect(response.status).toBe(401);
    const description = "This route requires a login with one of: mfa.";
    expect(response.headers["www-authenticate"]).toBe(
      `Bearer realm="r", error="insufficient_user_authentication", error_description="${description}"`,
    );
    expect(JSON.parse(response.body)).toEqual({
      error: "insufficient_user_authentication",
      error_description: description,
      code: "ERR_AUTHENTICATION_METHOD",
    });
  });
});

describe("rules over a validity window (a cached answer)", () => {
  const rule: RouteRule = { path: "/account/*", maxAuthAge: 300 };
  const at = (age: number): Identity => ({ ...alice, authenticatedAt: Math.floor(NOW / 1000) - age });

  it("meets maxAuthAge only if the login is still fresh enough when the answer expires", () => {
    expect(ruleRefusal(rule, at(200), NOW, 0)).toBeUndefined();
    expect(ruleRefusal(rule, at(200), NOW, 100)).toBeUndefined();
    expect(ruleRefusal(rule, at(200), NOW, 101)?.code).toBe("ERR_AUTHENTICATION_TOO_OLD");
    expect(ruleRefusal(rule, at(0), NOW, 301)?.maxAge).toBe(300);
  });

  it("does not change the answer for what time does not change", () => {
    const staffOnly: RouteRule = { path: "/x", roles: ["staff"], clientIds: ["web"] };
    expect(ruleRefusal(staffOnly, alice, NOW, 3600)).toBeUndefined();
    expect(ruleRefusal(staffOnly, { ...alice, clientId: "cli" }, NOW, 0)?.code).toBe("ERR_INSUFFICIENT_SCOPE");
    expect(ruleRefusal(staffOnly, { ...alice, clientId: undefined }, NOW, 0)?.message).toBe(
      "This route is not open to this client.",
    );
  });

  it("collects the scopes rules ask for, once each (RFC 9728 scopes_supported)", () => {
    expect(
      scopesSupported([
        { path: "/a", scopes: ["r", "w"] },
        { path: "/b", scopes: ["w"] },
        { path: "/c", roles: ["x"] },
      ]),
    ).toEqual(["r", "w"]);
  });
});

describe("ruleOverlapsPublicPath", () => {
  it.each([
    ["/a/*", "/a", true],
    ["/a/*", "/a/", true],
    ["/a/*", "/a/b/*", true],
    ["/a/b", "/a/*", true],
    ["/*", "/healthz", true],
    ["/", "/*", true],
    ["/a", "/a", true],
    ["/a", "/a/", true],
    ["/a", "/a.json", true],
    ["/A/b", "/a/*", true],
    ["/admin", "/Admin", true],
    ["/a/*", "/ab", false],
    ["/a/*", "/b/*", false],
    ["/a", "/ab", false],
    ["/", "/a", false],
  ])("rule %s and public path %s: %s", (rule, pattern, expected) => {
    expect(ruleOverlapsPublicPath(rule, pattern)).toBe(expected);
  });
});
