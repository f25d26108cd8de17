import { describe, expect, it } from "vitest";
import { extractCredentials, MAX_CREDENTIAL_LENGTH } from "../../src/core/credentials.ts";
import { refusal } from "../helpers.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";

function headers(init: Record<string, string> | Array<[string, string]>): Headers {
  return new Headers(init);
}

describe("extractCredentials: Authorization", () => {
  it.each(["Bearer", "bearer", "BEARER", "bEaReR"])("accepts the scheme in any case: %s", (scheme) => {
    expect(extractCredentials(headers({ authorization: `${scheme} ${TOKEN}` }), undefined)).toEqual({
      kind: "bearer",
      token: TOKEN,
      source: "header",
    });
  });

  it("accepts several spaces after the scheme and b64token characters", () => {
    expect(extractCredentials(headers({ authorization: "Bearer   abc-._~+/==" }), undefined)).toMatchObject({
      token: "abc-._~+/==",
    });
  });

  it("reports no credentials without the header or with another scheme", () => {
    expect(extractCredentials(headers({}), undefined)).toEqual({ kind: "none" });
    expect(extractCredentials(headers({ authorization: "Basic dXNlcjpwYXNz" }), undefined)).toEqual({ kind: "none" });
    expect(extractCredentials(headers({ authorization: 'Digest username="a", realm="b"' }), undefined)).toEqual({
      kind: "none",
    });
  });

  it.each([
    ["an empty token", "Bearer"],
    ["an empty token after a space", "Bearer "],
    ["a space inside the token", `Bearer ${TOKEN} extra`],
    ["a tab as separator", `Bearer\t${TOKEN}`],
    ["a tab after the space", `Bearer \t${TOKEN}`],
    ["a no-break space after the space", `Bearer \u00a0${TOKEN}`],
    ["a quoted token", `Bearer "${TOKEN}"`],
    ["padding inside the token", "Bearer ab=c"],
    ["a non-ASCII token", "Bearer tökén"],
  ])("refuses %s as a malformed request", (_name, value) => {
    expect(refusal(() => extractCredentials(headers({ authorization: value }), undefined)).code).toBe(
      "ERR_REQUEST_MALFORMED",
    );
  });

  it("skips the syntax scan only for a token verified before, never the separator checks", () => {
    const known = (token: string): boolean => token === TOKEN;
    expect(extractCredentials(headers({ authorization: `bearer  ${TOKEN}` }), undefined, known)).toEqual({
      kind: "bearer",
      token: TOKEN,
      source: "header",
    });
    for (const value of [`Bearer\t${TOKEN}`, `Bearer ${TOKEN} `, `Bearer ${TOKEN}, Bearer ${TOKEN}`, "Bearer tökén"]) {
      // A plain reader: `Headers` would trim the trailing space away, an API Gateway event does not.
      const reader = { get: (name: string) => (name === "authorization" ? value : null) };
      expect(refusal(() => extractCredentials(reader, undefined, known)).code).toBe("ERR_REQUEST_MALFORMED");
    }
  });

  it("refuses two credentials (a duplicated header arrives joined by a comma)", () => {
    const duplicated = headers([
      ["authorization", `Bearer ${TOKEN}`],
      ["authorization", "Bearer other"],
    ]);
    expect(duplicated.get("authorization")).toContain(", ");
    expect(refusal(() => extractCredentials(duplicated, undefined)).code).toBe("ERR_REQUEST_MALFORMED");
    const basicThenBearer = headers([
      ["authorization", "Basic dXNlcjpwYXNz"],
      ["authorization", `Bearer ${TOKEN}`],
    ]);
    expect(refusal(() => extractCredentials(basicThenBearer, undefined)).code).toBe("ERR_REQUEST_MALFORMED");
  });

  it("refuses an oversize header before parsing it, without echoing it", () => {
    const huge = `Bearer ${"a".repeat(MAX_CREDENTIAL_LENGTH)}`;
    const error = refusal(() => extractCredentials(headers({ authorization: huge }), undefined));
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
    expect(error.message).not.toContain("aaaa");
    expect(
      extractCredentials(headers({ authorization: `Bearer ${"a".repeat(MAX_CREDENTIAL_LENGTH - 7)}` }), undefined).kind,
    ).toBe("bearer");
  });
});

describe("extractCredentials: cookie", () => {
  it("reads the configured cookie, only when configured", () => {
    const h = headers({ cookie: `theme=dark; at=${TOKEN}; other=1` });
    expect(extractCredentials(h, "at")).toEqual({ kind: "bearer", token: TOKEN, source: "cookie" });
    expect(extractCredentials(h, undefined)).toEqual({ kind: "none" });
    expect(extractCredentials(h, "missing")).toEqual({ kind: "none" });
  });

  it("unwraps a quoted value, matches names case-sensitively and ignores an empty value", () => {
    expect(extractCredentials(headers({ cookie: `at="${TOKEN}"` }), "at")).toMatchObject({ token: TOKEN });
    expect(extractCredentials(headers({ cookie: `AT=${TOKEN}` }), "at")).toEqual({ kind: "none" });
    expect(extractCredentials(headers({ cookie: "at=" }), "at")).toEqual({ kind: "none" });
    expect(extractCredentials(headers({ cookie: `xat=1;at=${TOKEN}` }), "at")).toMatchObject({ token: TOKEN });
  });

  it("refuses a duplicated cookie name", () => {
    const error = refusal(() => extractCredentials(headers({ cookie: `at=${TOKEN}; at=other` }), "at"));
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
    expect(error.message).not.toContain(TOKEN);
  });

  it("splits pairs on ';' only (RFC 6265): a ',' belongs to a value", () => {
    expect(extractCredentials(headers({ cookie: `recent=12,34,56; at=${TOKEN}; prefs="x, y"` }), "at")).toMatchObject({
      token: TOKEN,
    });
    expect(extractCredentials(headers({ cookie: "recent=12,34,56" }), "recent")).toMatchObject({ token: "12,34,56" });
    expect(extractCredentials(headers({ cookie: 'prefs="x, y"; a=1' }), "prefs")).toMatchObject({ token: "x, y" });
  });

  it("refuses the cookie's name after a ',' inside another pair (x=1,at=..., a second Cookie line): a reader may or may not see it", () => {
    for (const cookie of [`x=1,at=${TOKEN}`, `x=1, at=${TOKEN}`, `theme=dark, at=${TOKEN}`, `at=${TOKEN}, at=other`]) {
      const error = refusal(() => extractCredentials(headers({ cookie }), "at"));
      expect(error.code, cookie).toBe("ERR_REQUEST_MALFORMED");
      expect(error.message).not.toContain(TOKEN);
    }
    // Another name after a comma is just part of a value.
    expect(extractCredentials(headers({ cookie: `x=1,y=2; at=${TOKEN}` }), "at")).toMatchObject({ token: TOKEN });
  });

  it("refuses an oversize cookie value", () => {
    const error = refusal(() =>
      extractCredentials(headers({ cookie: `at=${"a".repeat(MAX_CREDENTIAL_LENGTH + 1)}` }), "at"),
    );
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
  });
});

describe("extractCredentials: both header and cookie (RFC 6750 §2)", () => {
  const both = headers({ authorization: `Bearer ${TOKEN}`, cookie: "at=cookie-token" });

  it("uses the Bearer header and ignores the cookie", () => {
    expect(extractCredentials(both, "at")).toEqual({ kind: "bearer", token: TOKEN, source: "header" });
  });

  it("does not fall back to the cookie when the header is malformed", () => {
    const bad = headers({ authorization: "Bearer a b", cookie: `at=${TOKEN}` });
    expect(refusal(() => extractCredentials(bad, "at")).code).toBe("ERR_REQUEST_MALFORMED");
  });

  it("uses the cookie when the Authorization header holds another scheme", () => {
    const basic = headers({ authorization: "Basic dXNlcjpwYXNz", cookie: `at=${TOKEN}` });
    expect(extractCredentials(basic, "at")).toEqual({ kind: "bearer", token: TOKEN, source: "cookie" });
  });
});
