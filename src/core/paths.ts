/**
 * Path decisions that cannot be talked past. The gate decides on exactly the path it forwards:
 * the `pathname` of the WHATWG-parsed request URL (dot segments, `%2e` segments and `\` already
 * resolved by the parser). What an origin might still read differently from the gate is refused
 * as ambiguous instead of guessed at: encoded `/`, `\`, `.` and NUL (and their double encodings),
 * `;` path parameters, empty segments (`//`) and control characters.
 */
import { AuthError } from "./errors.ts";

/**
 * `%2f` `%5c` `%2e` `%00` (any case), their double encodings (`%252f`, ...), `;`, `\`, `//`,
 * dot segments (which a WHATWG parser has already resolved, but an API Gateway event path may
 * still hold), and characters outside printable ASCII that a parser would have percent-encoded.
 */
const AMBIGUOUS = /%(?:25)*(?:2f|5c|2e|00)|[;\\]|\/\/|\/\.\.?(?:\/|$)|[^\x21-\x7e]/i;

/** Whether the path could mean something else to the origin than to the gate. */
export function isAmbiguousPath(pathname: string): boolean {
  return !pathname.startsWith("/") || AMBIGUOUS.test(pathname);
}

export function ambiguousPathError(): AuthError {
  return new AuthError("ERR_REQUEST_MALFORMED", "The request path is ambiguous (encoded separators, dot segments, ';' or '//').");
}

/** Throws `ERR_REQUEST_MALFORMED` (400) when the path could mean something else to the origin. */
export function assertUnambiguousPath(pathname: string): void {
  if (isAmbiguousPath(pathname)) throw ambiguousPathError();
}

/**
 * Matches `PUBLIC_PATHS` patterns (validated by the configuration): `/exact`, or `/prefix/*`,
 * which matches `/prefix` and everything below `/prefix/` — never `/prefixed`. Matching is
 * case-sensitive: `/PUBLIC/x` is not public, so a case-insensitive origin can only ever see more
 * protection, not less.
 */
export function createPublicPathMatcher(patterns: readonly string[]): (pathname: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith("/*")) {
      const base = pattern.slice(0, -2);
      exact.add(base === "" ? "/" : base);
      prefixes.push(`${base}/`);
    } else {
      exact.add(pattern);
    }
  }
  return (pathname) => exact.has(pathname) || prefixes.some((prefix) => pathname.startsWith(prefix));
}

/** `/exact` or `/prefix/*`: RFC 3986 path characters only; no dot segments, `%`, `\\`, `;`, `?`, `#` or inner `*`. */
const PATH_PATTERN = /^(?:\/[A-Za-z0-9\-._~!$&'()+,=:@]+)*(?:\/\*|\/)?$/;

export const PATH_PATTERN_MESSAGE =
  "must be a path starting with / (an optional trailing /* matches a subtree); no dot segments, %, \\, ;, ? or #";

export function isPathPattern(pattern: string): boolean {
  return pattern !== "" && PATH_PATTERN.test(pattern) && !/\/\.\.?(?=\/|$)/.test(pattern);
}

/**
 * Whether two patterns match at least one common path. Patterns cover a single path or a subtree,
 * so two of them overlap exactly when one contains a path the other is rooted at.
 */
export function patternsOverlap(a: string, b: string): boolean {
  const [matchesA, matchesB] = [createPublicPathMatcher([a]), createPublicPathMatcher([b])];
  return matchesA(patternRoot(b)) || matchesB(patternRoot(a));
}

/** The one path every path a pattern matches starts from: `/a` for `/a/*`, `/` for `/*`. */
function patternRoot(pattern: string): string {
  return pattern.endsWith("/*") ? pattern.slice(0, -2) || "/" : pattern;
}
