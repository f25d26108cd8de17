import { describe, expect, it } from "vitest";
import { METHODS } from "../../src/core/methods.ts";
import {
  canonicalHeaderName,
  isOverrideHeader,
  mayMeanOtherMethods,
  overridePaths,
  wireMethodsGoverned,
} from "../../src/core/overrides.ts";

describe("override channels", () => {
  it.each([
    "X-HTTP-Method-Override",
    "x_http_method_override",
    "X.HTTP.Method.Override",
    "X_Original_URL",
    "x.original.uri",
    "X-Rewrite-Url",
    "x_forwarded_prefix",
  ])("knows %s in every spelling", (name) => {
    expect(isOverrideHeader(name)).toBe(true);
  });

  it("leaves other headers alone", () => {
    expect(isOverrideHeader("x-forwarded-for")).toBe(false);
    expect(canonicalHeaderName("X_Foo.Bar")).toBe("x-foo-bar");
  });

  it("reads the paths path-override headers name, as a path, a path with a query or a whole URL", () => {
    const headers = new Headers({
      X_HTTP_Method_Override: "delete",
      "x.original.url": "https://example.com/admin?x=1",
      "x-rewrite-url": "b/c#f",
    });
    expect(overridePaths(headers).sort()).toEqual(["/admin", "/b/c"]);
  });

  it("under any, counts every method but GET as one that may be served as another; under none, none", () => {
    for (const method of [...METHODS, "PURGE"]) {
      expect(mayMeanOtherMethods(method, "any"), method).toBe(method !== "GET");
      expect(mayMeanOtherMethods(method, "none"), method).toBe(false);
    }
  });

  it("lists the wire methods a rule governs: its own, and under any every method but GET", () => {
    expect(wireMethodsGoverned(["DELETE"], "none")).toEqual(["DELETE"]);
    expect(wireMethodsGoverned(["DELETE"], "any")).toEqual(["HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    expect(wireMethodsGoverned(["GET", "HEAD"], "any")).toEqual([...METHODS]);
  });
});
