/**
 * The requests the differential property sends: an attacker's request to the gate, with every
 * channel a framework reads a method override from (headers, query keys as PHP rewrites them,
 * bodies of any media type), a path in the spellings test/core/path-readings.test.ts generates,
 * and one of the test's identities. Generators may be shared; expected answers are never here.
 */
import fc from "fast-check";
import type { Who } from "./differential-oracle.ts";
import type { OverrideMode } from "./differential-world.ts";

export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** A method no framework routes and no rule names. */
export const UNKNOWN_METHOD = "PURGE";

export interface AttackRequest {
  readonly method: string;
  /** The raw path, as sent (no client-side normalisation). */
  readonly path: string;
  /** The raw query string without `?`, as sent; "" for none. */
  readonly query: string;
  /** Header lines in order (names as spelled), credentials and `Content-Length` excluded. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string | undefined;
  readonly who: Who;
}

/** The request-target: path and query. */
export function targetOf(request: AttackRequest): string {
  return request.query === "" ? request.path : `${request.path}?${request.query}`;
}

/** One line for a failure message: enough to send the request again by hand. */
export function describeRequest(request: AttackRequest): string {
  const headers = request.headers.map(([name, value]) => `${name}: ${value}`).join(" | ");
  const body = request.body === undefined ? "" : ` body ${JSON.stringify(request.body)}`;
  const listed = headers === "" ? "" : ` [${headers}]`;
  return `${request.who} ${request.method} ${targetOf(request)}${listed}${body}`;
}

// Paths: each letter literal, case-flipped or percent-encoded in either hex case; oddities and tails
// as in test/core/path-readings.test.ts (copied: a test file cannot be imported without running it).
function pct(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}
const char = (c: string) => {
  if (!/[A-Za-z]/.test(c)) return fc.constant(c);
  const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
  return fc.constantFrom(c, flipped, pct(c), pct(c).toLowerCase());
};
const spelled = (word: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(word) },
    { weight: 2, arbitrary: fc.tuple(...Array.from(word, char)).map((cs) => cs.join("")) },
  );
const DOTS = ["", ".", "..", "%2e%2e", "%2E.", "%2e"];
const ODDITIES = [...DOTS, "%2F", "%2f", "%5C", ";x", "%3B", "%252e", "%C5%BF", "%", "%zz", "\\"];
const oddity = fc.constantFrom(...ODDITIES, "x.json");
const tail = fc.constantFrom("", "", "", "/", ".json", "%2F", ".", "%20", "%09");
const id = fc.constantFrom("1", "42", "x", "1.json");
const routed = fc
  .tuple(fc.constantFrom("orders", "reports"), fc.boolean(), id, tail)
  .chain(([word, withId, identifier, end]) =>
    spelled(word).map((base) => (withId ? `/${base}/${identifier}${end}` : `/${base}${end}`)),
  );
const straySegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("orders", "reports", "1", "x").chain(spelled) },
  { weight: 1, arbitrary: oddity },
);
const stray = fc
  .tuple(fc.array(straySegment, { minLength: 1, maxLength: 3 }), tail)
  .map(([segments, end]) => `/${segments.join("/")}${end}`);
export const paths = fc.oneof({ weight: 6, arbitrary: routed }, { weight: 1, arbitrary: stray });

/**
 * Whether `path` spells a ruled path as the rules name it (lower case; no escape, empty segment, dot
 * segment, `\` or `;`): the spellings the README says a cached policy can name. Other spellings
 * (`/Orders`, `/%6frders`, `//orders`) reach the rules' handler from the cache behind a
 * case-insensitive, decoding or slash-merging framework, which the README documents (turn the cache
 * off for such a backend).
 */
export function isNameable(path: string): boolean {
  const segments = path.split("/").slice(1);
  const empty = (segment: string, index: number) => segment === "" && index < segments.length - 1;
  const odd = segments.some((segment, index) => segment === "." || segment === ".." || empty(segment, index));
  return path === path.toLowerCase() && !/[%\\;]/.test(path) && !odd;
}

// Override values: DELETE (the ruled method) mostly, in case variants and with whitespace; other methods too.
const caseVariants = (word: string) =>
  fc.constantFrom(
    word,
    word.toLowerCase(),
    `${word.slice(0, 1)}${word.slice(1).toLowerCase()}`,
    Array.from(word, (c, i) => (i % 2 === 0 ? c.toLowerCase() : c)).join(""),
  );
export const overrideValues = fc.oneof(
  { weight: 6, arbitrary: caseVariants("DELETE") },
  { weight: 1, arbitrary: caseVariants("DELETE").map((v) => ` ${v} `) },
  { weight: 3, arbitrary: fc.constantFrom(...METHODS).chain(caseVariants) },
);

/**
 * Keys a framework may read `_method` from: the name itself; keys PHP rewrites into `_method` before
 * any framework sees them (leading spaces dropped; ` `, `.` and an unmatched `[` turned into `_`;
 * `_method[]` an array); case variants and near misses.
 */
const PHP_METHOD_KEYS = [".method", " _method", " .method", "  _method", "[method", "_method[]", "_method[0]"];
const NEAR_MISSES = ["_method[", "_METHOD", "_Method", "method", "_method ", "X-HTTP-Method-Override", "x_http_method"];
export const overrideKeys = fc.oneof(
  { weight: 4, arbitrary: fc.constant("_method") },
  { weight: 3, arbitrary: fc.constantFrom(...PHP_METHOD_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...NEAR_MISSES) },
);
const overrideHeaderNames = fc.constantFrom(
  "X-HTTP-Method-Override",
  "x-http-method-override",
  "X_HTTP_METHOD_OVERRIDE",
  "x.http.method.override",
  "X-HTTP-Method",
  "X-Method-Override",
  "x-method-override",
);

/** A query key or value as sent: fully escaped, or raw with only what must be escaped (space as `+` or `%20`). */
const queryEscaping = fc.constantFrom("escaped", "plus", "space");
function escapeQuery(text: string, how: "escaped" | "plus" | "space"): string {
  if (how === "escaped") return encodeURIComponent(text);
  const space = how === "plus" ? "+" : "%20";
  return text.replace(/%/g, "%25").replace(/&/g, "%26").replace(/=/g, "%3D").replace(/#/g, "%23").replace(/ /g, space);
}
const queries = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom("a=1", "page=2&sort=id") },
  {
    weight: 5,
    arbitrary: fc
      .tuple(overrideKeys, overrideValues, queryEscaping, fc.constantFrom("", "a=1&"))
      .map(([key, value, how, before]) => `${before}${escapeQuery(key, how)}=${escapeQuery(value, how)}`),
  },
);

type BodyShape = "form" | "multipart" | "json";
/** The media types each body shape is sent with when the request means it. */
const FAMILIES: Readonly<Record<BodyShape, readonly string[]>> = {
  form: ["application/x-www-form-urlencoded"],
  multipart: ["multipart/form-data", "multipart/mixed"],
  json: [
    "application/json",
    "application/vnd.api+json",
    "application/merge-patch+json",
    "application/problem+json",
    "text/json",
  ],
};
const OTHER_TYPES = ["text/plain", "application/octet-stream", "text/html"];
const LETTER_CASES = {
  lower: (type: string) => type,
  upper: (type: string) => type.toUpperCase(),
  title: (type: string) => type.replace(/(^|[/-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase()),
} as const;
const letterCase = fc.oneof(
  { weight: 3, arbitrary: fc.constant("lower" as const) },
  { weight: 2, arbitrary: fc.constantFrom<keyof typeof LETTER_CASES>("upper", "title") },
);
const BOUNDARY = "XyZ";

/**
 * A media type as a framework may read it loosely: any case, parameters, whitespace, a `,` and
 * another type after it.
 */
const loosely = (bases: readonly string[]) =>
  fc
    .tuple(
      fc.constantFrom(...bases),
      letterCase,
      fc.constantFrom("", "", "; charset=utf-8", ";", ";charset=UTF-8"),
      fc.constantFrom("", "", "", ", text/plain", ","),
      fc.constantFrom("", "", " "),
    )
    .map(([base, letters, parameters, suffix, pad]) => {
      const boundary = base.startsWith("multipart/") ? `; boundary=${BOUNDARY}` : "";
      return `${pad}${LETTER_CASES[letters](base)}${boundary}${parameters}${suffix}${pad}`;
    });

/** Mostly a type of the body's own family; sometimes another, or none (which Rack reads as a form). */
const typeFor = (shape: BodyShape) =>
  fc.oneof(
    { weight: 6, arbitrary: loosely(FAMILIES[shape]) },
    { weight: 2, arbitrary: loosely([...Object.values(FAMILIES).flat(), ...OTHER_TYPES]) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );

function bodyText(shape: BodyShape, key: string, value: string): string {
  if (shape === "form") return `a=1&${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  if (shape === "json") return JSON.stringify({ a: 1, [key]: value });
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n--${BOUNDARY}--\r\n`;
}
const bodies = fc
  .constantFrom<BodyShape>("form", "multipart", "json")
  .chain((shape) =>
    fc
      .tuple(overrideKeys, overrideValues, typeFor(shape))
      .map(([key, value, type]) => ({ text: bodyText(shape, key, value), type })),
  );

const whos = fc.constantFrom<Who>("bob", "bob", "bob", "carol", "carol", "alice", "anonymous");
/** POST and GET most (frameworks override a POST most, and a non-admin may still GET); every other method too. */
const wireMethods = fc.oneof(
  { weight: 4, arbitrary: fc.constant("POST") },
  { weight: 3, arbitrary: fc.constant("GET") },
  { weight: 2, arbitrary: fc.constantFrom("PUT", "PATCH", "OPTIONS") },
  { weight: 1, arbitrary: fc.constantFrom("HEAD", "DELETE", UNKNOWN_METHOD) },
);

/** An ordinary request: any method, maybe override headers, maybe a body. */
const overrideHeaders = fc.oneof(
  { weight: 2, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(overrideHeaderNames, overrideValues), { minLength: 1, maxLength: 2 }) },
);
const ordinary = (pathsOf: fc.Arbitrary<string>) =>
  fc
    .record({
      method: wireMethods,
      path: pathsOf,
      query: queries,
      overrideHeaders,
      body: fc.option(bodies, { nil: undefined, freq: 3 }),
      bodyOnGet: fc.nat(3),
      who: whos,
    })
    .map(({ method, path, query, overrideHeaders: named, body: drawn, bodyOnGet, who }): AttackRequest => {
      // The Worker refuses a GET or HEAD with a body (400): keep one only now and then.
      const body = (method === "GET" || method === "HEAD") && bodyOnGet > 0 ? undefined : drawn;
      const headers: Array<readonly [string, string]> = [...named];
      if (body?.type !== undefined) headers.push(["Content-Type", body.type]);
      return { method, path, query, headers, body: body?.text, who };
    });

/** A CORS preflight as a browser would send it, plus what an attacker adds: a query, override headers. */
const preflights = (pathsOf: fc.Arbitrary<string>) =>
  fc
    .record({
      path: pathsOf,
      query: queries,
      requested: fc.constantFrom("DELETE", "PUT", "GET"),
      named: fc.array(fc.tuple(overrideHeaderNames, overrideValues), { maxLength: 1 }),
    })
    .map(({ path, query, requested, named }): AttackRequest => ({
      method: "OPTIONS",
      path,
      query,
      headers: [["Origin", "https://app.example.com"], ["Access-Control-Request-Method", requested], ...named],
      body: undefined,
      who: "anonymous",
    }));

/** `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`, in any case and with `-`, `_` or `.`. */
const OVERRIDE_HEADER = /^x[-_.](?:http[-_.]method(?:[-_.]override)?|method[-_.]override)$/i;

/**
 * Whether a cached authorizer answer is documented to decide `request` right under `METHOD_OVERRIDE`
 * `mode` (README, "What IAM cannot name"; docs/method-override.md, "What the cache cannot cover"):
 * its path is spelled as the rules name it, and under `any` it is not a GET carrying an override
 * header (IAM cannot look at headers; under `none` the origin honours no override at all).
 */
export function cacheCovers(request: AttackRequest, mode: OverrideMode): boolean {
  const named = request.headers.some(([name]) => OVERRIDE_HEADER.test(name));
  const overridden = mode === "any" && request.method === "GET" && named;
  return isNameable(request.path) && !overridden;
}

const requestsOn = (pathsOf: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 9, arbitrary: ordinary(pathsOf) }, { weight: 1, arbitrary: preflights(pathsOf) });
export const attackRequests = requestsOn(paths);
/** The requests a cached answer is documented to decide right ({@link cacheCovers}). */
export const cachedAttackRequests = (mode: OverrideMode) =>
  requestsOn(paths.filter(isNameable)).filter((request) => cacheCovers(request, mode));
