/**
 * Strict JWS compact serialization (RFC 7515 §7.1). jose v6 on Node 20 decodes base64url with
 * `atob`, which tolerates whitespace, padding and non-zero trailing bits; checking each segment
 * here first gives a JWS exactly one spelling. Shared by the gate (access tokens) and the origin's
 * assertion verifier, so it imports nothing.
 */

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Exactly three non-empty segments of unpadded, canonical base64url. */
export function isCompactJws(token: string): boolean {
  const segments = token.split(".");
  return segments.length === 3 && segments.every((segment) => SEGMENT.test(segment) && isCanonicalBase64url(segment));
}

/** The unused low bits of the last character must be zero, and a length of 4k+1 cannot occur. */
function isCanonicalBase64url(segment: string): boolean {
  const remainder = segment.length % 4;
  if (remainder === 1) return false;
  if (remainder === 0) return true;
  const last = ALPHABET.indexOf(segment.charAt(segment.length - 1));
  const unusedBits = remainder === 2 ? 0b1111 : 0b11;
  return (last & unusedBits) === 0;
}
