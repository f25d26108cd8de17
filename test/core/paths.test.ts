import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/core/errors.ts";
import {
  assertUnambiguousPath,
  canonicalPath,
  createPublicPathMatcher,
  isMalformedPath,
  ruleReadings,
} from "../../src/core/paths.ts";

describe("createPublicPathMatcher", () => {
  const isPublic = createPublicPathMatcher(["/healthz", "/public/*", "/docs/"]);

  it.each([
    ["/healthz", true],
    ["/healthz/", false],
    ["/healthzz", false],
    ["/public", true],
    ["/public/", true],
    ["/public/a/b", true],
    ["/publicity", false],
    ["/PUBLIC/a", false],
    ["/Healthz", false],
    ["/docs/", true],
    ["/docs", false],
    ["/admin", false],
    ["/", false],
  ])("%s is public: %s", (path, expected) => {
    expect(isPublic(path)).toBe(expected);
  });

  it("treats /* as everything and no patterns as nothing", () => {
    expect(createPublicPathMatcher(["/*"])("/anything/at/all")).toBe(true);
    expect(createPublicPathMatcher([])("/")).toBe(false);
  });
});

describe("assertUnambiguousPath", () => {
  it.each([
    "/",
    "/public/a",
    "/a/..b",
    "/a/.well-known",
    "/a/b..",
    "/a-b_c.d~e",
    "/files/report%20final.pdf",
    "/caf%C3%A9",
    "/a/b.json",
    "/.well-known/x",
    "/a:b@c",
  ])("accepts %s", (path) => {
    expect(() => {
      assertUnambiguousPath(path);
    }).not.toThrow();
  });

  it.each([
    "/public/..%2fadmin",
    "/public/..%2Fadmin",
    "/public/%2e%2e/admin",
    "/public/%2E./admin",
    "/public/..%5cadmin",
    "/public/x%00",
    "/public/%252e%252e/admin",
    "/public/%25252f",
    "//admin",
    "/public//x",
    "/admin;/public",
    "/public;jsessionid=1",
    "/a b",
    "/a\u0000",
    "/caf\u00e9",
    "admin",
    "",
    "/public/../admin",
    "/public/..",
    "/public/./x",
    "/public/.",
    "/public\\..\\admin",
  ])("refuses %j as ambiguous", (path) => {
    let error: unknown;
    try {
      assertUnambiguousPath(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("ERR_REQUEST_MALFORMED");
  });
});

describe("canonicalPath (RFC 3986 §6.2.2)", () => {
  it.each([
    ["/%61dmin/x", "/admin/x"],
    ["/account/delet%65", "/account/delete"],
    ["/%7e/%7E", "/~/~"],
    ["/a%2eb", "/a.b"],
    ["/a%3a%3A", "/a%3A%3A"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/plain/path", "/plain/path"],
  ])("reads %s as %s", (path, canonical) => {
    expect(canonicalPath(path)).toBe(canonical);
  });

  it.each([
    ["a % without two hex digits", "/a%"],
    ["a % without two hex digits", "/a%zz"],
    ["an IIS %u escape", "/public/%u002e%u002e/admin"],
    ["an overlong UTF-8 dot", "/public/%c0%ae%c0%ae/admin"],
    ["an overlong UTF-8 slash", "/a%c0%af"],
    ["a UTF-16 surrogate", "/a%ed%a0%80"],
    ["a truncated sequence", "/a%e2%80"],
    ["a lone continuation byte", "/a%80"],
    ["a double encoding", "/%2561dmin"],
    ["a fullwidth solidus (NFKC /)", "/public/%EF%BC%8F..%EF%BC%8Fadmin"],
    ["fullwidth full stops (NFKC .)", "/public/%EF%BC%8E%EF%BC%8E/admin"],
    ["encoded dot segments", "/public/%2e%2e/admin"],
    ["an encoded slash", "/admin%2Fx"],
  ])("has no single reading with %s: %s", (_name, path) => {
    expect(canonicalPath(path)).toBeUndefined();
  });

  it("tells malformed escapes (refused everywhere) from readable ambiguity", () => {
    expect(isMalformedPath("/a%zz")).toBe(true);
    expect(isMalformedPath("/a%c0%ae")).toBe(true);
    expect(isMalformedPath("/a%2e%2e/b")).toBe(false);
    expect(isMalformedPath("/my file")).toBe(false);
  });
});

describe("ruleReadings", () => {
  it.each([
    ["/ADMIN/", ["/admin"]],
    ["/%61dmin", ["/admin"]],
    ["/Account/Delete/", ["/account/delete"]],
  ])("folds %s to %j", (path, readings) => {
    expect(ruleReadings(path)).toEqual(readings);
  });

  it("folds Unicode letters that case-insensitive origins compare as ASCII", () => {
    expect(ruleReadings("/%C5%BFettings")).toContain("/settings");
    expect(ruleReadings("/%E2%84%AAey")).toContain("/key");
  });

  it("reads an ambiguous path every way an origin could", () => {
    const readings = ruleReadings("/public/%2e%2e/admin");
    expect(readings).toContain("/admin");
    expect(ruleReadings("/public\\..\\admin")).toContain("/admin");
    expect(ruleReadings("/admin;jsessionid=1/x")).toContain("/admin/x");
  });
});
