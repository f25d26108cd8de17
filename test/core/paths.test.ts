import { describe, expect, it } from "vitest";
import { AuthError } from "../../src/core/errors.ts";
import { assertUnambiguousPath, createPublicPathMatcher } from "../../src/core/paths.ts";

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
  it.each(["/", "/public/a", "/a/..b", "/a/.well-known", "/a/b..", "/a-b_c.d~e", "/files/report%20final.pdf", "/caf%C3%A9", "/a/b.json", "/.well-known/x", "/a:b@c"])(
    "accepts %s",
    (path) => {
      expect(() => { assertUnambiguousPath(path); }).not.toThrow();
    },
  );

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
