/** The reference IAM evaluator itself: both wildcard readings, `?`, case, precedence and Action filtering. */
import { describe, expect, it } from "vitest";
import {
  evaluatePolicy,
  resourceMatches,
  type PolicyDocument,
  type PolicyStatement,
  type WildcardReading,
} from "./iam-evaluator.ts";

const API = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234";
const READINGS: readonly WildcardReading[] = ["any-run", "segment"];

function policy(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

function allow(
  resource: string | readonly string[],
  action: string | readonly string[] = "execute-api:Invoke",
): PolicyStatement {
  return { Effect: "Allow", Action: action, Resource: resource };
}

function deny(
  resource: string | readonly string[],
  action: string | readonly string[] = "execute-api:Invoke",
): PolicyStatement {
  return { Effect: "Deny", Action: action, Resource: resource };
}

describe("resourceMatches", () => {
  it("lets a mid-pattern * cross / under any-run but not under segment", () => {
    const pattern = `${API}/stage/*/admin`;
    const arn = `${API}/stage/GET/users/admin`;
    expect(resourceMatches(pattern, arn, "any-run")).toBe(true);
    expect(resourceMatches(pattern, arn, "segment")).toBe(false);
    expect(resourceMatches(pattern, `${API}/stage/GET/admin`, "segment")).toBe(true);
  });

  it("lets a mid-segment * stay within its segment under segment", () => {
    const pattern = `${API}/stage/GET/user*/profile`;
    expect(resourceMatches(pattern, `${API}/stage/GET/users/profile`, "segment")).toBe(true);
    expect(resourceMatches(pattern, `${API}/stage/GET/users/1/profile`, "segment")).toBe(false);
    expect(resourceMatches(pattern, `${API}/stage/GET/users/1/profile`, "any-run")).toBe(true);
  });

  it.each(READINGS)("agrees on a trailing * crossing / (%s)", (reading) => {
    expect(resourceMatches(`${API}/stage/*`, `${API}/stage/GET/a/b/c`, reading)).toBe(true);
    expect(resourceMatches(`${API}/stage/GET/*`, `${API}/stage/POST/a`, reading)).toBe(false);
  });

  it.each(READINGS)("lets * match the empty run (%s)", (reading) => {
    expect(resourceMatches(`${API}/stage/GET/a/*`, `${API}/stage/GET/a/`, reading)).toBe(true);
    expect(resourceMatches(`${API}/stage/*/a`, `${API}/stage//a`, reading)).toBe(true);
    expect(resourceMatches(`${API}/stage/GET/a/*`, `${API}/stage/GET/a`, reading)).toBe(false);
  });

  it.each(READINGS)("makes ? match exactly one character, / included (%s)", (reading) => {
    expect(resourceMatches(`${API}/stage/GET/item?`, `${API}/stage/GET/item1`, reading)).toBe(true);
    expect(resourceMatches(`${API}/stage/GET/item?`, `${API}/stage/GET/item`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/item?`, `${API}/stage/GET/item12`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET?a`, `${API}/stage/GET/a`, reading)).toBe(true);
  });

  it.each(READINGS)("is case-sensitive (%s)", (reading) => {
    expect(resourceMatches(`${API}/stage/GET/Users`, `${API}/stage/GET/users`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/get/*`, `${API}/stage/GET/users`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/users`, `${API}/stage/GET/users`, reading)).toBe(true);
  });

  it.each(READINGS)("treats regular-expression metacharacters as literals (%s)", (reading) => {
    const literal = `${API}/stage/GET/a.b+c(d)$e{1}[f]^g|h\\i`;
    expect(resourceMatches(literal, literal, reading)).toBe(true);
    expect(resourceMatches(`${API}/stage/GET/a.b`, `${API}/stage/GET/aXb`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/a+`, `${API}/stage/GET/aa`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/(a|b)`, `${API}/stage/GET/a`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/a{2}`, `${API}/stage/GET/aa`, reading)).toBe(false);
    expect(resourceMatches(`${API}/stage/GET/$*`, `${API}/stage/GET/$x`, reading)).toBe(true);
  });
});

describe("evaluatePolicy", () => {
  const arn = `${API}/stage/GET/users/admin`;

  it.each(READINGS)("allows on a matching Allow (%s)", (reading) => {
    expect(evaluatePolicy(policy(allow(arn)), arn, reading)).toBe(true);
    expect(evaluatePolicy(policy(allow(["other", `${API}/stage/*`])), arn, reading)).toBe(true);
  });

  it.each(READINGS)("lets Deny beat Allow in either order (%s)", (reading) => {
    expect(evaluatePolicy(policy(allow(`${API}/stage/*`), deny(arn)), arn, reading)).toBe(false);
    expect(evaluatePolicy(policy(deny(`${API}/stage/GET/*`), allow(arn)), arn, reading)).toBe(false);
  });

  it("applies a mid-pattern * Deny only under any-run", () => {
    const document = policy(allow(`${API}/stage/*`), deny(`${API}/stage/*/admin`));
    expect(evaluatePolicy(document, arn, "any-run")).toBe(false);
    expect(evaluatePolicy(document, arn, "segment")).toBe(true);
  });

  it.each(READINGS)("denies implicitly with no applicable statement (%s)", (reading) => {
    expect(evaluatePolicy(policy(), arn, reading)).toBe(false);
    expect(evaluatePolicy(policy(allow(`${API}/stage/POST/*`)), arn, reading)).toBe(false);
    expect(evaluatePolicy(policy(allow([])), arn, reading)).toBe(false);
  });

  it.each(READINGS)("ignores effects other than exactly Allow and Deny (%s)", (reading) => {
    expect(evaluatePolicy(policy({ Effect: "allow", Action: "execute-api:Invoke", Resource: arn }), arn, reading)).toBe(
      false,
    );
    const lowercaseDeny: PolicyStatement = { Effect: "deny", Action: "execute-api:Invoke", Resource: arn };
    expect(evaluatePolicy(policy(allow(arn), lowercaseDeny), arn, reading)).toBe(true);
  });

  it.each(READINGS)("filters statements by Action, case-insensitively (%s)", (reading) => {
    for (const action of [
      "execute-api:Invoke",
      "execute-api:*",
      "*",
      "EXECUTE-API:invoke",
      ["s3:GetObject", "execute-api:Invoke"],
    ]) {
      expect(evaluatePolicy(policy(allow(arn, action)), arn, reading)).toBe(true);
    }
    for (const action of ["execute-api:ManageConnections", "s3:*", "execute-api:Invoke2", "execute-api", []]) {
      expect(evaluatePolicy(policy(allow(arn, action)), arn, reading)).toBe(false);
    }
    expect(evaluatePolicy(policy(allow(arn), deny(arn, "execute-api:InvalidateCache")), arn, reading)).toBe(true);
  });
});
