/**
 * The schemas a setting's value is read with, from the trimmed string the environment holds:
 * shared by the core's settings and a packaging's, so one rule reads the same everywhere.
 */
import * as v from "valibot";

/** An RFC 9110 token: a header name, and a cookie name (RFC 6265 §4.1.1). */
export const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A whole number of seconds within [min, max], from its decimal spelling. */
export function secondsSetting(min: number, max: number) {
  const message = `must be a whole number of seconds from ${min} to ${max}`;
  return v.pipe(v.string(), v.regex(/^\d{1,9}$/, message), v.transform(Number), v.minValue(min, message), v.maxValue(max, message));
}

/** `true` or `false`. */
export function flagSetting() {
  return v.pipe(v.picklist(["true", "false"], "must be true or false"), v.transform((value) => value === "true"));
}

/** A comma-separated list, each item trimmed; blank items are dropped. */
export function listSetting() {
  return v.pipe(
    v.string(),
    v.transform((raw) => raw.split(",").map((item) => item.trim()).filter((item) => item !== "")),
    v.readonly(),
  );
}
