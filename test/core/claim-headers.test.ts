/**
 * CLAIM_HEADERS in the core: the documented encoding (docs/claim-headers.md) case by case, the
 * names refused at start-up, and a property whose oracle is the documented rule written below
 * (never the code's own function): a value that is sent is a valid header value within the
 * limits and decodes back to the claim, and a value the rule can spell is sent.
 */
import fc from "fast-check";
import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { WORKER_SETTINGS } from "../../src/cloudflare/config.ts";
import { createClaimHeaders, logOmittedClaimHeaders, type ClaimHeader } from "../../src/core/claim-headers.ts";
import { parseConfig } from "../../src/core/config.ts";
import { identityFromClaims, type Identity } from "../../src/core/identity.ts";
import { ConfigError } from "../../src/core/settings.ts";

const ISSUER = "https://project.authgear.cloud";
const BASE = { AUTHGEAR_ENDPOINT: ISSUER };

function identityWith(claims: Record<string, unknown>): Identity {
  const payload: JWTPayload = { sub: "u1", ...claims };
  return identityFromClaims(payload, ISSUER);
}

function mapping(entries: Record<string, string>): readonly ClaimHeader[] {
  return parseConfig({ ...BASE, CLAIM_HEADERS: JSON.stringify(entries) }).claimHeaders.entries;
}

/** What one claim `value` gives the header `x-c`: its value, or the omission's reason. */
function sent(value: unknown): { value: string } | { omitted: string } {
  const values = createClaimHeaders(mapping({ "x-c": "c" })).valuesOf(identityWith({ c: value }));
  const header = values.headers.find(([name]) => name === "x-c");
  if (header !== undefined) return { value: header[1] };
  return { omitted: values.omitted[0]?.reason ?? "absent" };
}

type Parse = (env: Record<string, string>) => unknown;

function configProblem(settings: Record<string, string>, parse: Parse = parseConfig): string {
  try {
    parse({ ...BASE, ...settings });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "accepted";
}

describe("the encoding of one claim", () => {
  it.each([
    ["a visible-ASCII string as it is", "Alice Smith <a@b.example>", { value: "Alice Smith <a@b.example>" }],
    ["a string with a comma as it is (one string, not a list)", "a,b", { value: "a,b" }],
    ["a one-character string", "x", { value: "x" }],
    ["an integer as its JSON text", 42, { value: "42" }],
    ["a negative fraction as its JSON text", -1.5, { value: "-1.5" }],
    ["a large number as its JSON text", 1e21, { value: "1e+21" }],
    ["a small number as its JSON text", 5e-7, { value: "5e-7" }],
    ["true", true, { value: "true" }],
    ["false", false, { value: "false" }],
    ["an array of scalars joined by ,", ["admin", 7, false, "a b"], { value: "admin,7,false,a b" }],
    ["a one-item array as its item", ["admin"], { value: "admin" }],
    ["an empty array: left out", [], { omitted: "empty" }],
    ["an array item holding a comma: left out", ["a,b", "c"], { omitted: "comma_in_item" }],
    ["an array holding an array: left out", [["a"]], { omitted: "nested" }],
    ["an array holding an object: left out", [{ a: 1 }], { omitted: "nested" }],
    ["an array holding null: left out", ["a", null], { omitted: "nested" }],
    ["an array item with a space around it: left out", ["a", " b"], { omitted: "surrounding_space" }],
    ["an array item that is empty: left out", ["a", ""], { omitted: "empty" }],
    ["an array item with CR LF: left out", ["a", "b\r\nx-authgear-user-id: admin"], { omitted: "control_character" }],
    ["an object: left out", { org: "acme" }, { omitted: "object" }],
    ["null: left out", null, { omitted: "null" }],
    ["the empty string: left out", "", { omitted: "empty" }],
    ["a leading space: left out", " a", { omitted: "surrounding_space" }],
    ["a trailing space: left out", "a ", { omitted: "surrounding_space" }],
    ["CR LF (header injection): left out", "a\r\nx-authgear-user-id: admin", { omitted: "control_character" }],
    ["a lone LF: left out", "a\nb", { omitted: "control_character" }],
    ["NUL: left out", "a\u0000b", { omitted: "control_character" }],
    ["TAB: left out", "a\tb", { omitted: "control_character" }],
    ["DEL: left out", "a\u007fb", { omitted: "control_character" }],
    ["non-ASCII: left out", "Zoë", { omitted: "not_ascii" }],
    ["a C1 control (non-ASCII): left out", "a\u0085b", { omitted: "not_ascii" }],
    ["a line separator (non-ASCII): left out", "a\u2028b", { omitted: "not_ascii" }],
    ["exactly 1024 bytes: sent", "a".repeat(1024), { value: "a".repeat(1024) }],
    ["1025 bytes: left out", "a".repeat(1025), { omitted: "too_long" }],
    ["an array over 1024 bytes joined: left out", Array<string>(206).fill("abcd"), { omitted: "too_long" }],
    ["an array of 1024 bytes joined: sent", Array<string>(205).fill("abcd"), { value: `${"abcd,".repeat(204)}abcd` }],
  ])("%s", (_, value, expected) => {
    expect(sent(value)).toEqual(expected);
  });

  it("sends no header for an absent claim, and logs nothing for it", () => {
    const values = createClaimHeaders(mapping({ "x-c": "c" })).valuesOf(identityWith({}));
    expect(values).toEqual({ headers: [], context: {}, omitted: [] });
  });

  it("reads a claim named __proto__ or constructor as the token's own claim, never Object's", () => {
    const claims = JSON.parse('{"__proto__": "proto-value", "constructor": "ctor"}') as Record<string, unknown>;
    const headers = createClaimHeaders(
      mapping({ "x-proto": "__proto__", "x-ctor": "constructor", "x-tostring": "toString" }),
    );
    const values = headers.valuesOf(identityWith(claims));
    expect(values.headers).toEqual([
      ["x-proto", "proto-value"],
      ["x-ctor", "ctor"],
    ]);
    // Absent claims are left out silently: toString is Object's, not the token's.
    expect(values.omitted).toEqual([]);
    // A header named __proto__ is a header like any other.
    const named = createClaimHeaders(mapping(JSON.parse('{"__proto__": "email"}') as Record<string, string>));
    expect(named.valuesOf(identityWith({ email: "a@b.example" })).context).toEqual({ claimProto: "a@b.example" });
  });

  it("leaves out the headers past 8192 bytes in all, in CLAIM_HEADERS' order, and keeps a later one that fits", () => {
    const names = ["x-a", "x-b", "x-c", "x-d", "x-e", "x-f", "x-g", "x-h", "x-i"];
    const entries = { ...Object.fromEntries(names.map((name) => [name, "big"])), "x-small": "small" };
    const headers = createClaimHeaders(mapping(entries));
    const values = headers.valuesOf(identityWith({ big: "b".repeat(1000), small: "s" }));
    // 8 headers of 3 + 1000 bytes = 8024; the 9th would pass 8192; "x-small" + "s" fits.
    expect(values.headers.map(([name]) => name)).toEqual([...names.slice(0, 8), "x-small"]);
    expect(values.omitted).toEqual([{ header: "x-i", claim: "big", reason: "total_too_long" }]);
  });

  it("computes once per identity object: a repeated token gets the same frozen values", () => {
    const headers = createClaimHeaders(mapping({ "x-user-email": "email" }));
    const identity = identityWith({ email: "a@b.example" });
    const first = headers.valuesOf(identity);
    expect(headers.valuesOf(identity)).toBe(first);
    expect(Object.isFrozen(first.headers)).toBe(true);
    expect(Object.isFrozen(first.context)).toBe(true);
  });

  it("logs each header left out with its name, claim and reason, never the value", () => {
    const lines: Array<Record<string, unknown>> = [];
    const headers = createClaimHeaders(mapping({ "x-name": "name", "x-email": "email" }));
    const values = headers.valuesOf(identityWith({ name: "Zoë secret-marker", email: "a@b.example" }));
    logOmittedClaimHeaders(values, { log: (event, fields) => lines.push({ event, ...fields }) });
    expect(lines).toEqual([{ event: "claim_header_omitted", header: "x-name", claim: "name", reason: "not_ascii" }]);
    expect(JSON.stringify(lines)).not.toContain("secret-marker");
  });
});

/** `CLAIM_HEADERS` with `count` entries. */
function manyEntries(count: number): string {
  return JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-c${i}`, "c"])));
}

describe("the CLAIM_HEADERS setting", () => {
  it("lower-cases the names and gives each its authorizer context key", () => {
    expect(mapping({ "X-User-Email": "email", "x-org-id": "https://example.com/claims/org_id" })).toEqual([
      { header: "x-user-email", claim: "email", contextKey: "claimXUserEmail" },
      { header: "x-org-id", claim: "https://example.com/claims/org_id", contextKey: "claimXOrgId" },
    ]);
  });

  it("defaults to none", () => {
    expect(parseConfig(BASE).claimHeaders.entries).toEqual([]);
  });

  it.each([
    ["x-authgear-user-id", "gate's own"],
    ["X_Authgear_Edge_Kind", "gate's own"],
    ["x.authgear.anything", "gate's own"],
    ["connection", "hop-by-hop"],
    ["Keep-Alive", "hop-by-hop"],
    ["proxy-connection", "hop-by-hop"],
    ["te", "hop-by-hop"],
    ["trailer", "hop-by-hop"],
    ["transfer_encoding", "hop-by-hop"],
    ["upgrade", "hop-by-hop"],
    ["proxy-authenticate", "hop-by-hop"],
    ["proxy-authorization", "hop-by-hop"],
    ["x-http-method-override", "another method or path"],
    ["X_Original_URL", "another method or path"],
    ["x.rewrite.url", "another method or path"],
    ["authorization", "the client's request"],
    ["cookie", "the client's request"],
    ["Host", "the client's request"],
    ["content-length", "the client's request"],
    ["content_type", "the client's request"],
    ["origin", "the client's request"],
    ["forwarded", "proxies"],
    ["x-forwarded-for", "proxies"],
    ["X_Forwarded_Proto", "proxies"],
    ["cf-connecting-ip", "proxies"],
    ["CF_Access_Jwt_Assertion", "proxies"],
    ["sec-fetch-site", "browsers"],
  ])("refuses %s (%s) at start-up, naming CLAIM_HEADERS and the name", (name, why) => {
    const message = configProblem({ CLAIM_HEADERS: JSON.stringify({ [name]: "email" }) });
    expect(message).toContain("(CLAIM_HEADERS)");
    expect(message).toContain(name);
    expect(message).toContain(why);
  });

  it.each([
    ["two spellings of one name", '{"x-user-email": "a", "X_User_Email": "a"}', "another spelling of x-user-email"],
    ["a . spelling of another", '{"x-org": "org", "x.org": "org"}', "another spelling of x-org"],
    ["one authorizer context key", '{"x-a-1": "a", "x-a1": "b"}', "share the authorizer context key claimXA1"],
    ["a name that is no token", '{"x user": "email"}', "is not a header name"],
    ["a CR LF in a name", '{"x-a\\r\\nx-authgear-user-id": "email"}', "is not a header name"],
    ["an empty claim name", '{"x-a": ""}', "must name a claim"],
    ["a claim name that is no string", '{"x-a": 1}', "must name a claim"],
    ["an array", '["email"]', "must be a JSON object"],
    ["not JSON", "{email}", "is not JSON"],
    ["33 entries", manyEntries(33), "more than 32"],
  ])("refuses %s", (_, value, why) => {
    const message = configProblem({ CLAIM_HEADERS: value });
    expect(message).toContain("CLAIM_HEADERS: ");
    expect(message).toContain(why);
  });

  it("accepts 32 entries", () => {
    expect(configProblem({ CLAIM_HEADERS: manyEntries(32) })).toBe("accepted");
  });

  it("refuses a claim header named as the Worker's ORIGIN_SECRET_HEADER, in any spelling", () => {
    const settings = {
      ORIGIN_SECRET: "s".repeat(32),
      ORIGIN_SECRET_HEADER: "x-edge-key",
      CLAIM_HEADERS: '{"X_Edge_Key": "email"}',
    };
    const message = configProblem(settings, (env) => WORKER_SETTINGS.parse(env));
    expect(message).toContain("(CLAIM_HEADERS)");
    expect(message).toContain("x_edge_key is the header of ORIGIN_SECRET_HEADER");
  });

  it("is refused with AUTH_MODE=resolver (no user identity has claims), and binds in jwt and hybrid", () => {
    const value = '{"x-user-email": "email"}';
    expect(configProblem({ AUTH_MODE: "resolver", CLAIM_HEADERS: value })).toContain("AUTH_MODE=resolver takes");
    expect(configProblem({ AUTH_MODE: "resolver", CLAIM_HEADERS: "{}" })).toBe("accepted");
    expect(configProblem({ AUTH_MODE: "hybrid", CLAIM_HEADERS: value })).toBe("accepted");
  });
});

/**
 * The documented rule (docs/claim-headers.md), written here from the prose: a string is sent as
 * is when it is visible ASCII with inner spaces only; a number as its JSON text; a boolean as
 * true/false; a non-empty array of such scalars, none holding a comma, joined by ","; no value
 * over 1024 bytes. Anything else is left out.
 */
const SENDABLE_STRING = /^[!-~](?:[ -~]*[!-~])?$/;
function ruleSpelling(value: unknown): string | undefined {
  const scalar = (item: unknown): string | undefined => {
    if (typeof item === "string") return SENDABLE_STRING.test(item) ? item : undefined;
    if (typeof item === "number") return JSON.stringify(item);
    if (typeof item === "boolean") return item ? "true" : "false";
    return undefined;
  };
  let spelling: string | undefined;
  if (Array.isArray(value)) {
    const items = value.map(scalar);
    const whole = items.length > 0 && items.every((item) => item !== undefined && !item.includes(","));
    spelling = whole ? items.join(",") : undefined;
  } else spelling = scalar(value);
  return spelling !== undefined && spelling.length <= 1024 ? spelling : undefined;
}

/** The origin's reading of a header under the rule, given the claim's JSON type (which the origin knows). */
function decodes(header: string, claim: unknown): boolean {
  const one = (text: string, item: unknown): boolean => {
    if (typeof item === "string") return text === item;
    // JSON equality of numbers: -0 and 0 are one JSON number.
    if (typeof item === "number") return Number(text) === item;
    if (typeof item === "boolean") return text === String(item);
    return false;
  };
  if (!Array.isArray(claim)) return one(header, claim);
  const texts = header.split(",");
  return texts.length === claim.length && texts.every((text, index) => one(text, claim[index]));
}

/** Strings with what makes a header value go wrong: CR, LF, NUL, DEL, non-ASCII, spaces, commas. */
const awkwardString = fc.oneof(
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(" ", ",", "\r", "\n", "\r\n", "\0", "\t", "\x7f", "é", "\u0085", "\u2028", "😀"),
      },
    ),
    maxLength: 30,
  }),
  fc.integer({ min: 1000, max: 1100 }).map((length) => "a".repeat(length)),
);
const claimValue = fc.oneof(
  fc.jsonValue(),
  awkwardString,
  fc.array(fc.oneof(awkwardString, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()), {
    maxLength: 6,
  }),
);

describe("property: what is sent is a valid header value and decodes back to the claim", () => {
  it("holds for arbitrary JSON claim values, one header", () => {
    const headers = createClaimHeaders(mapping({ "x-c": "c" }));
    let sentCount = 0;
    let omittedCount = 0;
    fc.assert(
      fc.property(claimValue, (value) => {
        // A claims set as a verified token's is: parsed JSON.
        const claim = JSON.parse(JSON.stringify({ c: value })) as { c: unknown };
        const values = headers.valuesOf(identityWith(claim));
        const expected = ruleSpelling(claim.c);
        const header = values.headers[0];
        if (header === undefined) {
          omittedCount += 1;
          expect(expected).toBeUndefined();
          expect(values.omitted).toHaveLength(1);
          return;
        }
        sentCount += 1;
        expect(header[1]).toBe(expected);
        expect(header[1]).toMatch(SENDABLE_STRING);
        expect(header[1].length).toBeLessThanOrEqual(1024);
        expect(decodes(header[1], claim.c)).toBe(true);
        expect(values.context).toEqual({ claimXC: header[1] });
      }),
      { numRuns: 3000, seed: 20_2026 },
    );
    // Both branches asserted something.
    expect(sentCount).toBeGreaterThan(300);
    expect(omittedCount).toBeGreaterThan(300);
  });

  it("holds with 32 headers at once: each sent value valid, 8192 bytes at most in all", () => {
    const names = Array.from({ length: 32 }, (_, i) => `x-claim-${i}`);
    const headers = createClaimHeaders(mapping(Object.fromEntries(names.map((name, i) => [name, `c${i}`]))));
    fc.assert(
      fc.property(fc.array(claimValue, { minLength: 32, maxLength: 32 }), (values) => {
        const asJson = JSON.stringify(Object.fromEntries(values.map((value, i) => [`c${i}`, value])));
        const claims = JSON.parse(asJson) as Record<string, unknown>;
        const result = headers.valuesOf(identityWith(claims));
        let total = 0;
        for (const [name, value] of result.headers) {
          const claim = claims[`c${names.indexOf(name)}`];
          expect(value).toBe(ruleSpelling(claim));
          expect(decodes(value, claim)).toBe(true);
          total += name.length + value.length;
        }
        expect(total).toBeLessThanOrEqual(8192);
        for (const { header, reason } of result.omitted) {
          const claim = claims[`c${names.indexOf(header)}`];
          // Left out for the total only when it could have travelled alone.
          expect(reason === "total_too_long").toBe(ruleSpelling(claim) !== undefined);
        }
      }),
      { numRuns: 300, seed: 20_2026 },
    );
  });
});
