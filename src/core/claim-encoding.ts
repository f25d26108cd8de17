/**
 * How one claim's value travels in a header (docs/claim-headers.md, "Encoding"): a value either
 * travels exactly as the documented rule spells it, or not at all. Nothing is escaped, trimmed
 * or cut, so whatever reaches the origin decodes back to the claim, and a value the rule cannot
 * spell is left out with the reason (never the value) for the log.
 */

/** Longest value of one claim header, in bytes (every value that travels is ASCII). */
export const MAX_CLAIM_HEADER_BYTES = 1024;
/** Longest total of the claim headers of one request: each name and value, in bytes. */
export const MAX_CLAIM_HEADERS_TOTAL_BYTES = 8192;

/** Why a claim header was left out; logged as `claim_header_omitted`'s `reason`. */
export type OmissionReason =
  | "null"
  | "object"
  | "nested"
  | "empty"
  | "control_character"
  | "not_ascii"
  | "surrounding_space"
  | "comma_in_item"
  | "too_long"
  | "total_too_long";

export type Encoded = { readonly value: string } | { readonly omitted: OmissionReason };

/** Bytes that are neither a control character (C0, DEL) nor outside ASCII. */
const VISIBLE_OR_SPACE = /^[\x20-\x7e]*$/;
/** Whether `value` holds a C0 control (NUL, TAB, CR, LF, ...) or DEL. */
function hasControl(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function encodeString(value: string): Encoded {
  if (!VISIBLE_OR_SPACE.test(value)) return { omitted: hasControl(value) ? "control_character" : "not_ascii" };
  if (value === "") return { omitted: "empty" };
  if (value.startsWith(" ") || value.endsWith(" ")) return { omitted: "surrounding_space" };
  return { value };
}

/** A string, a number or a boolean; `undefined` for anything else. */
function encodeScalar(value: unknown): Encoded | undefined {
  if (typeof value === "string") return encodeString(value);
  // JSON numbers are finite; JSON.stringify gives their shortest round-trip text.
  if (typeof value === "number" && Number.isFinite(value)) return { value: JSON.stringify(value) };
  if (typeof value === "boolean") return { value: String(value) };
  return undefined;
}

function encodeList(items: readonly unknown[]): Encoded {
  if (items.length === 0) return { omitted: "empty" };
  const parts: string[] = [];
  for (const item of items) {
    const encoded = encodeScalar(item);
    if (encoded === undefined) return { omitted: "nested" };
    if ("omitted" in encoded) return encoded;
    // An item holding the separator would read as two items.
    if (encoded.value.includes(",")) return { omitted: "comma_in_item" };
    parts.push(encoded.value);
  }
  return { value: parts.join(",") };
}

/** One claim's header value, or why it cannot have one. The claim is present (`undefined` is the caller's). */
export function encodeClaim(value: unknown): Encoded {
  const encoded = Array.isArray(value) ? encodeList(value) : encodeScalar(value);
  if (encoded === undefined) return { omitted: value === null ? "null" : "object" };
  if ("value" in encoded && encoded.value.length > MAX_CLAIM_HEADER_BYTES) return { omitted: "too_long" };
  return encoded;
}
