/**
 * A safety net under the rule that no detail ever holds a token or a secret: their values, replaced
 * wherever they appear.
 */
import type { Check } from "./check.ts";

export function secretValues(env: Readonly<Record<string, unknown>>): string[] {
  const secret = (name: string) => name.toUpperCase().includes("SECRET") || name.toUpperCase() === "ASSERTION_KEY";
  return Object.entries(env).flatMap(([name, value]) =>
    secret(name) && typeof value === "string" && value.trim().length >= 4 ? [value.trim()] : [],
  );
}

export function redact(checks: Check[], values: ReadonlyArray<string | undefined>): Check[] {
  const hidden = values
    .filter((value): value is string => value !== undefined && value.trim().length >= 4)
    .map((value) => value.trim());
  if (hidden.length === 0) return checks;
  const clean = (text: string): string =>
    hidden.reduce((result, value) => result.split(value).join("(redacted)"), text);
  return checks.map((check) => ({
    ...check,
    detail: clean(check.detail),
    ...(check.fix !== undefined && { fix: clean(check.fix) }),
  }));
}
