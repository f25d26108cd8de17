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
  return v.pipe(
    textOrNumber(message),
    v.regex(/^\d{1,9}$/, message),
    v.transform(Number),
    v.minValue(min, message),
    v.maxValue(max, message),
  );
}

/**
 * A number given in code, read as its decimal spelling (what the environment would hold), so one
 * rule reads both: `1.5` and `1e21` are refused like their text.
 */
export function textOrNumber(message: string) {
  return v.pipe(
    v.custom<string | number>((value) => typeof value === "string" || typeof value === "number", message),
    v.transform((value) => String(value)),
  );
}

/** `true` or `false`: the text, or (given in code) the boolean. */
export function flagSetting() {
  return v.pipe(
    v.custom<"true" | "false" | boolean>(
      (value) => value === "true" || value === "false" || typeof value === "boolean",
      "must be true or false",
    ),
    v.transform((value) => value === true || value === "true"),
  );
}

/** A comma-separated list, each item trimmed; blank items are dropped. */
export function listSetting() {
  return v.pipe(
    v.string(),
    v.transform((raw) =>
      raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== ""),
    ),
    v.readonly(),
  );
}

/** One name in a JSON setting's list (a role, a scope, a client id): printable ASCII, no space or comma. */
export const NAME = v.pipe(
  v.string(),
  v.regex(/^[\x21-\x2b\x2d-\x7e]{1,255}$/, "must be printable ASCII without spaces or commas"),
);

/**
 * A setting holding a JSON array (`ROUTES`, `ISSUERS`), each item read with `item`; given in code,
 * the array itself, read by the same schema as the text's.
 */
export function jsonListSetting<const S extends v.GenericSchema>(item: S, message: string) {
  return v.pipe(
    v.custom<string | readonly v.InferInput<S>[]>(
      (value) => typeof value === "string" || Array.isArray(value),
      message,
    ),
    v.rawTransform(({ dataset, addIssue, NEVER }): unknown => {
      const { value } = dataset;
      if (typeof value !== "string") return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        addIssue({ message: "is not JSON" });
        return NEVER;
      }
    }),
    v.array(item, message),
  );
}
