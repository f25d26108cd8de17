/**
 * The WebSocket credential channels of credentials.ts: the Kubernetes `Sec-WebSocket-Protocol`
 * entry and an upgrade's query token. Encodings in the expected answers come from Node's own
 * base64url (`Buffer`), never from the code under test.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractCredentials, MAX_CREDENTIAL_LENGTH } from "../../src/core/credentials.ts";
import { refusal } from "../helpers.ts";
import { TOKEN_SUBPROTOCOL_PREFIX, withoutTokenSubprotocol } from "../../src/core/token-subprotocol.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";
const encode = (token: string): string => Buffer.from(token, "latin1").toString("base64url");
const entry = (token: string): string => `${TOKEN_SUBPROTOCOL_PREFIX}${encode(token)}`;
const offered = (token: string) => ({ kind: "bearer", token, source: "subprotocol" });
/** As a WebSocket upgrade's credentials are read, with the query token `queryToken`. */
const onUpgrade = (headers: Headers, cookie: string | undefined, queryToken?: string) =>
  extractCredentials(headers, cookie, undefined, { queryToken });
const protocols = (value: string, more: Record<string, string> = {}): Headers =>
  new Headers({ "sec-websocket-protocol": value, ...more });

describe("extractCredentials: Sec-WebSocket-Protocol entry", () => {
  it("reads the token beside the application's protocols, in any position", () => {
    for (const value of [entry(TOKEN), `chat.v1, ${entry(TOKEN)}`, `${entry(TOKEN)}, chat.v1`, `a,${entry(TOKEN)},b`]) {
      expect(onUpgrade(protocols(value), undefined), value).toEqual(offered(TOKEN));
    }
  });

  it("reads the entry from a second header line (joined by a comma)", () => {
    const lines = new Headers([
      ["sec-websocket-protocol", "chat.v1"],
      ["sec-websocket-protocol", entry(TOKEN)],
    ]);
    expect(onUpgrade(lines, undefined)).toMatchObject({ token: TOKEN, source: "subprotocol" });
  });

  it("reads neither the entry nor a query token on a request that is not an upgrade", () => {
    expect(extractCredentials(protocols(entry(TOKEN)), undefined)).toEqual({ kind: "none" });
    const withCookie = protocols(`${TOKEN_SUBPROTOCOL_PREFIX}YR`, { cookie: `at=${TOKEN}` });
    expect(extractCredentials(withCookie, "at")).toEqual({ kind: "bearer", token: TOKEN, source: "cookie" });
  });

  it("reports no credentials for application protocols only", () => {
    expect(onUpgrade(protocols("chat.v1, graphql-ws"), undefined)).toEqual({ kind: "none" });
  });

  it("accepts every token68 token Node's base64url encodes (property)", () => {
    const token68 = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/);
    let checked = 0;
    fc.assert(
      fc.property(token68, (token) => {
        expect(onUpgrade(protocols(`app, ${entry(token)}`), undefined)).toEqual(offered(token));
        checked += 1;
      }),
      { numRuns: 300 },
    );
    expect(checked).toBe(300);
  });

  it.each([
    ["padding", `${entry("abcd")}=`],
    ["standard base64 characters", `${TOKEN_SUBPROTOCOL_PREFIX}YWJj+/`],
    ["an impossible length", `${TOKEN_SUBPROTOCOL_PREFIX}abcde`],
    // "YR" decodes to "a" in a lenient decoder; canonical base64url of "a" is "YQ".
    ["non-zero trailing bits", `${TOKEN_SUBPROTOCOL_PREFIX}YR`],
    ["an empty token", TOKEN_SUBPROTOCOL_PREFIX],
    ["a decoded space", entry("a b")],
    ["a decoded comma", entry("a,b")],
    ["a decoded non-ASCII byte", entry("tök")],
    ["a decoded control character", entry("a\nb")],
    ["padding inside the decoded token", entry("ab=c")],
    ["the prefix in another case", `BASE64URL.bearer.authorization.k8s.io.${encode(TOKEN)}`],
  ])("refuses %s as a malformed request, without echoing it", (_name, value) => {
    const error = refusal(() => onUpgrade(protocols(`chat.v1, ${value}`), undefined));
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
    expect(error.message).not.toContain(value.slice(TOKEN_SUBPROTOCOL_PREFIX.length) || "\u0000");
  });

  it("accepts a token of the longest credential length, refuses a longer one", () => {
    const longest = "a".repeat(MAX_CREDENTIAL_LENGTH);
    expect(onUpgrade(protocols(entry(longest)), undefined)).toEqual(offered(longest));
    const error = refusal(() => onUpgrade(protocols(entry("a".repeat(MAX_CREDENTIAL_LENGTH + 1))), undefined));
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
  });
});

describe("extractCredentials: two credentials (RFC 6750 §2: one method per request)", () => {
  const twice = "The request carries more than one credential.";

  it("refuses two entries, equal or not", () => {
    for (const value of [`${entry(TOKEN)}, ${entry(TOKEN)}`, `${entry(TOKEN)}, chat, ${entry("other")}`]) {
      expect(refusal(() => onUpgrade(protocols(value), undefined)).message).toBe(twice);
    }
  });

  it("refuses an entry beside a Bearer Authorization header (two deliberate credentials)", () => {
    const both = protocols(entry(TOKEN), { authorization: `Bearer ${TOKEN}` });
    expect(refusal(() => onUpgrade(both, undefined)).message).toBe(twice);
  });

  it("uses the entry beside another scheme's Authorization header", () => {
    const basic = protocols(entry(TOKEN), { authorization: "Basic dXNlcjpwYXNz" });
    expect(onUpgrade(basic, undefined)).toMatchObject({ token: TOKEN, source: "subprotocol" });
  });

  it("uses the entry and ignores the JWT cookie (ambient), as it does for the header", () => {
    const withCookie = protocols(entry(TOKEN), { cookie: "at=cookie-token" });
    expect(onUpgrade(withCookie, "at")).toEqual({ kind: "bearer", token: TOKEN, source: "subprotocol" });
    const bad = protocols(`${TOKEN_SUBPROTOCOL_PREFIX}YR`, { cookie: `at=${TOKEN}` });
    expect(refusal(() => onUpgrade(bad, "at")).code).toBe("ERR_REQUEST_MALFORMED");
  });

  it("refuses a query token beside a header or an entry; uses it over the cookie", () => {
    const bearer = new Headers({ authorization: `Bearer ${TOKEN}` });
    expect(refusal(() => onUpgrade(bearer, undefined, TOKEN)).message).toBe(twice);
    expect(refusal(() => onUpgrade(protocols(entry(TOKEN)), undefined, TOKEN)).message).toBe(twice);
    const withCookie = onUpgrade(new Headers({ cookie: "at=x" }), "at", TOKEN);
    expect(withCookie).toEqual({ kind: "bearer", token: TOKEN, source: "query" });
  });
});

describe("extractCredentials: an upgrade's query token", () => {
  it.each([
    ["a space", "a b"],
    ["a comma", "a,b"],
    ["a non-ASCII character", "tök"],
    ["an oversize token", "a".repeat(MAX_CREDENTIAL_LENGTH + 1)],
  ])("refuses %s as a malformed request", (_name, token) => {
    const error = refusal(() => onUpgrade(new Headers(), undefined, token));
    expect(error.code).toBe("ERR_REQUEST_MALFORMED");
  });
});

describe("withoutTokenSubprotocol", () => {
  it.each([
    ["the token entry last", `chat.v1, ${entry(TOKEN)}`, "chat.v1"],
    ["the token entry first", `${entry(TOKEN)}, chat.v1,  v2`, " chat.v1,  v2"],
    ["the token entry between", `a,${entry(TOKEN)} ,b`, "a,b"],
    ["a malformed entry", `chat, ${TOKEN_SUBPROTOCOL_PREFIX}YR=`, "chat"],
    ["an entry in another case", `Base64url.Bearer.Authorization.K8s.Io.${encode(TOKEN)}, chat`, " chat"],
    ["two entries", `${entry(TOKEN)}, chat, ${entry("other")}`, " chat"],
  ])("removes %s and keeps every other byte", (_name, value, expected) => {
    expect(withoutTokenSubprotocol(value)).toBe(expected);
  });

  it("gives undefined (drop the header) when nothing else is left", () => {
    expect(withoutTokenSubprotocol(entry(TOKEN))).toBeUndefined();
    expect(withoutTokenSubprotocol(`${entry(TOKEN)}, ${entry("b")}`)).toBeUndefined();
    expect(withoutTokenSubprotocol(` ${entry(TOKEN)} ,`)).toBeUndefined();
  });

  it("returns the value itself when it holds no token entry", () => {
    const lookalikes = ["base64url.bearer.authorization.k8s.io", "x.base64url.bearer.authorization.k8s.io.YQ"];
    for (const value of ["chat.v1", "a, b,c", ...lookalikes]) {
      expect(withoutTokenSubprotocol(value)).toBe(value);
    }
  });
});
