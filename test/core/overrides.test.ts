import { describe, expect, it } from "vitest";
import { canonicalHeaderName, isOverrideHeader, requestOverrides } from "../../src/core/overrides.ts";

describe("override channels", () => {
  it.each(["X-HTTP-Method-Override", "x_http_method_override", "X.HTTP.Method.Override", "X_Original_URL", "x.original.uri", "X-Rewrite-Url", "x_forwarded_prefix"])(
    "knows %s in every spelling",
    (name) => {
      expect(isOverrideHeader(name)).toBe(true);
    },
  );

  it("leaves other headers alone", () => {
    expect(isOverrideHeader("x-forwarded-for")).toBe(false);
    expect(canonicalHeaderName("X_Foo.Bar")).toBe("x-foo-bar");
  });

  it("reads the methods and paths headers name, only when they reach the origin", () => {
    const headers = new Headers({ X_HTTP_Method_Override: "delete", "x.original.url": "https://example.com/admin?x=1" });
    expect(requestOverrides("POST", undefined, headers, true, false)).toEqual({ methods: ["DELETE"], paths: ["/admin"] });
    expect(requestOverrides("POST", undefined, headers, false, false)).toEqual({ methods: [], paths: [] });
  });

  it("reads _method from a POST's query string, in any case and encoding, and only from a POST", () => {
    expect(requestOverrides("POST", "?a=1&_method=delete", new Headers(), false, false).methods).toEqual(["DELETE"]);
    expect(requestOverrides("POST", "_METHOD=put", new Headers(), false, false).methods).toEqual(["PUT"]);
    expect(requestOverrides("POST", "%5Fmethod=patch", new Headers(), false, false).methods).toEqual(["PATCH"]);
    expect(requestOverrides("GET", "_method=delete", new Headers(), false, false).methods).toEqual([]);
  });

  it("counts a POST with a body a framework parses for _method as every method it can name, since the body is not read", () => {
    const every = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];
    for (const type of ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "Application/X-WWW-Form-Urlencoded; charset=utf-8", "multipart/mixed; boundary=b"]) {
      expect(requestOverrides("POST", undefined, new Headers({ "content-type": type }), false, true).methods).toEqual(every);
    }
    // Rack reads an untyped body too; without a body there is nothing to read.
    expect(requestOverrides("POST", undefined, new Headers(), false, true).methods).toEqual(every);
    expect(requestOverrides("POST", undefined, new Headers(), false, false).methods).toEqual([]);
    expect(requestOverrides("POST", undefined, new Headers(), false, undefined).methods).toEqual(every);
    expect(requestOverrides("POST", undefined, new Headers({ "content-type": "application/json" }), false, true).methods).toEqual([]);
  });
});
