/**
 * Path decisions that cannot be talked past.
 *
 * The principle: **the gate and every plausible origin read a request the same way, or the gate
 * refuses it; where readings could still differ, the gate takes the one that protects more.**
 * - A path has one canonical form (RFC 3986 §6.2.2): percent-encoded unreserved characters
 *   decoded, the hex of every other escape in upper case. Decisions are made on it, in the core.
 * - What has no single reading is refused (400): `%` not followed by two hex digits, escapes that
 *   do not decode to valid UTF-8 (overlong forms such as `%c0%ae` included), encoded `/`, `\` and
 *   NUL, a double encoding (`%25` followed by two hex digits), dot segments (also `%2e%2e`), `;`
 *   path parameters, `\`, empty segments (`//`), raw characters outside printable ASCII, and
 *   non-ASCII characters whose compatibility form (NFKC) holds a separator (`／`, `．`).
 * - Public paths match narrowly: exactly, case-sensitively, and only a path already in canonical
 *   form (`/publ%69c/x` is not public: an origin that routes on the raw path would not read it as
 *   `/public/x`), so a variant is never public. Route rules match broadly (routes.ts):
 *   case-insensitively (Unicode letters that fold to ASCII included), with escapes decoded, a
 *   trailing slash folded and a `.suffix` twin (`/a/b.json` for `/a/b`), since ordinary origins (Express, ASP.NET Core,
 * IIS, Spring) route
 *   those spellings to the ruled handler.
 * The Worker refuses an ambiguous path; the authorizer refuses a malformed one (`isMalformedPath`)
 * but, since it must not turn away a path API Gateway hands over decoded (`/my file`), never treats
 * any other ambiguous path as public and applies the rules to every plausible reading of it
 * (escapes decoded, `\` as `/`, parameters dropped, dot segments resolved).
 */
import { AuthError } from "./errors.ts";

/** `%2f` `%5c` `%00` in a canonical path, a double encoding, `;`, `\`, `//`, dot segments, raw non-printable-ASCII. */
const AMBIGUOUS = /%(?:2F|5C|00|25[0-9A-Fa-f]{2})|[;\\]|\/\/|\/\.\.?(?:\/|$)|[^\x21-\x7e]/i;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const SEPARATORS = /[/\\.;%?#]/g;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Whether the path's escapes have no reading at all: `%` not followed by two hex digits, bytes
 * that are not UTF-8 (overlong forms included), or non-ASCII characters a compatibility mapping
 * turns into separators. Refused by both packagings, whatever else.
 */
export function isMalformedPath(pathname: string): boolean {
  if (BAD_ESCAPE.test(pathname)) return true;
  if (!pathname.includes("%")) return false;
  const decoded = decodeEscapes(pathname);
  return decoded === undefined || introducesSeparators(decoded);
}

/** How a request path reads: its canonical form, or `undefined` when it has no single reading. */
export function canonicalPath(pathname: string): string | undefined {
  if (!pathname.startsWith("/") || isMalformedPath(pathname)) return undefined;
  if (!pathname.includes("%")) return AMBIGUOUS.test(pathname) ? undefined : pathname;
  const canonical = pathname.replace(ESCAPE, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return AMBIGUOUS.test(canonical) ? undefined : canonical;
}

/** Every escape decoded, as UTF-8; `undefined` when the bytes are not valid UTF-8 (overlong forms included). */
function decodeEscapes(pathname: string): string | undefined {
  const bytes: number[] = [];
  for (let index = 0; index < pathname.length; index += 1) {
    const char = pathname.charCodeAt(index);
    if (char === 0x25) {
      bytes.push(Number.parseInt(pathname.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(char);
    }
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** Whether a compatibility mapping (IIS-style "best fit") turns a non-ASCII character into a separator. */
function introducesSeparators(decoded: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(decoded)) return false;
  return (decoded.normalize("NFKC").match(SEPARATORS)?.length ?? 0) !== (decoded.match(SEPARATORS)?.length ?? 0);
}

/** Whether the path could mean something else to the origin than to the gate. */
export function isAmbiguousPath(pathname: string): boolean {
  return canonicalPath(pathname) === undefined;
}

export function ambiguousPathError(): AuthError {
  return new AuthError(
    "ERR_REQUEST_MALFORMED",
    "The request path is ambiguous (invalid or encoded separators, dot segments, ';', '//', or escapes that are not UTF-8).",
  );
}

/** Throws `ERR_REQUEST_MALFORMED` (400) when the path could mean something else to the origin. */
export function assertUnambiguousPath(pathname: string): void {
  if (isAmbiguousPath(pathname)) throw ambiguousPathError();
}

/**
 * The spellings route rules are matched against: every reading a plausible origin could make of
 * the path, each case-folded (lower case, and upper-then-lower for letters such as `ſ` and `K`
 * that fold to ASCII) with one trailing slash removed. For a canonical path: its decoded form.
 * (`canonical`: the path's `canonicalPath`, when the caller has it already.)
 * For an ambiguous one (the authorizer's): also the most aggressive reading — escapes decoded
 * repeatedly, `\` as `/`, `;` parameters dropped, empty segments collapsed, dot segments resolved.
 */
export function ruleReadings(pathname: string, canonical: string | undefined = canonicalPath(pathname)): string[] {
  const readings = canonical === undefined ? ambiguousReadings(pathname) : [lenientDecode(canonical)];
  // Origins that trim path tokens (Spring's AntPathMatcher before 4.3) read `/admin%20` as `/admin`.
  for (const reading of [...readings]) {
    if (/\s/.test(reading))
      readings.push(
        reading
          .split("/")
          .map((segment) => segment.trim())
          .join("/"),
      );
  }
  const folded = new Set<string>();
  for (const reading of readings) {
    folded.add(foldSlash(reading.toLowerCase()));
    // eslint-disable-next-line no-control-regex
    if (!/^[\x00-\x7f]*$/.test(reading)) {
      folded.add(foldSlash(reading.toUpperCase().toLowerCase()));
      folded.add(foldSlash(reading.normalize("NFKC").toLowerCase()));
    }
  }
  return [...folded];
}

/**
 * As received, as a URL parser resolves it, each decoded, with dot segments resolved, and the most aggressive
 * reading.
 */
function ambiguousReadings(pathname: string): string[] {
  const parsed = URL.canParse(`http://gate.invalid${pathname}`)
    ? new URL(`http://gate.invalid${pathname}`).pathname
    : pathname;
  return [pathname, parsed].flatMap((path) => {
    const decoded = lenientDecode(path);
    return [path, decoded, resolveDotSegments(decoded), aggressiveReading(path)];
  });
}

/** RFC 3986 §5.2.4, empty segments kept. */
function resolveDotSegments(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/").slice(1)) {
    if (segment === "..") segments.pop();
    else if (segment !== ".") segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/** A pattern's spelling for `ruleReadings`: lower case, trailing slash folded. */
export function foldPattern(path: string): string {
  return foldSlash(path.toLowerCase());
}

function foldSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function lenientDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

function aggressiveReading(path: string): string {
  let decoded = path;
  for (let round = 0; round < 3 && decoded.includes("%"); round += 1) decoded = lenientDecode(decoded);
  const segments: string[] = [];
  for (const raw of decoded.replace(/\\/g, "/").split("/")) {
    const segment = raw.split(";")[0] ?? "";
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}${decoded.endsWith("/") && segments.length > 0 ? "/" : ""}`;
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

/** The one path every path a pattern matches starts from: `/a` for `/a/*`, `/` for `/*`. */
export function patternRoot(pattern: string): string {
  return pattern.endsWith("/*") ? pattern.slice(0, -2) || "/" : pattern;
}
