/**
 * Channels through which a request can ask an origin to serve another method or path than the
 * one it names: headers that method-override middlewares and IIS/Symfony-style rewrites read (in
 * any spelling: `-`, `_` or `.`, any case, since several servers map all three to one variable),
 * `_method` in the query string, and a form body's `_method` (Rails, Laravel, Symfony), which a
 * gate that streams bodies cannot read. The decision treats such a request as each method and
 * path it could mean; the Worker also strips the headers before the origin sees them.
 */
import type { HeaderReader } from "./credentials.ts";

/** Headers that can also be listed (`Headers` and the authorizer's event headers both can). */
export interface HeaderList extends HeaderReader {
  forEach(callback: (value: string, name: string) => void): void;
}

export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set(["x-http-method-override", "x-http-method", "x-method-override"]);
export const PATH_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-original-url",
  "x-original-uri",
  "x-rewrite-url",
  "x-forwarded-uri",
  "x-forwarded-prefix",
  "x-forwarded-path",
]);
/**
 * Methods a body's `_method` can name in the frameworks that read it, only ever from a POST (Rack's
 * MethodOverride accepts GET, HEAD, OPTIONS, PUT, PATCH and DELETE among them).
 */
const FORM_OVERRIDES = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];
/** Bodies those frameworks parse for it: url-encoded and multipart forms, and (Rack) a body with no type. */
const FORM_TYPES = /^\s*(?:application\/x-www-form-urlencoded|multipart\/[a-z0-9.+-]+)\s*(?:;|$)/i;

/** `X_HTTP_Method_Override`, `x.http.method.override` -> `x-http-method-override`. */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, "-");
}

export function isOverrideHeader(name: string): boolean {
  const canonical = canonicalHeaderName(name);
  return METHOD_OVERRIDE_HEADERS.has(canonical) || PATH_OVERRIDE_HEADERS.has(canonical);
}

export interface Overrides {
  /** Methods, upper case, the request could mean besides its own. */
  readonly methods: readonly string[];
  /** Paths (without a query) the request could mean besides its own. */
  readonly paths: readonly string[];
}

export const NO_OVERRIDES: Overrides = { methods: [], paths: [] };

/** What `method`, `query`, the form body and (with `readHeaders`) the headers could make an origin serve instead. */
export function requestOverrides(
  method: string,
  query: string | undefined,
  headers: HeaderList,
  readHeaders: boolean,
  /** `undefined` when the platform cannot tell (API Gateway): then a body is assumed. */
  hasBody?: boolean,
): Overrides {
  const methods: string[] = [];
  const paths: string[] = [];
  if (readHeaders) headers.forEach((value, name) => {
    const canonical = canonicalHeaderName(name);
    if (METHOD_OVERRIDE_HEADERS.has(canonical)) methods.push(...value.split(",").map((item) => item.trim().toUpperCase()));
    else if (PATH_OVERRIDE_HEADERS.has(canonical)) paths.push(pathOf(value));
  });
  if (method === "POST") {
    if (query !== undefined && query.length > 1) methods.push(...queryMethods(query));
    const type = headers.get("content-type");
    const untyped = (type === null || type.trim() === "") && hasBody !== false;
    if (untyped || (type !== null && FORM_TYPES.test(type))) methods.push(...FORM_OVERRIDES);
  }
  return methods.length === 0 && paths.length === 0 ? NO_OVERRIDES : { methods: [...new Set(methods)].filter((m) => m !== "" && m !== method), paths };
}

/** The path part of a header value that may be a path, a path with a query, or a whole URL. */
function pathOf(value: string): string {
  const trimmed = value.trim();
  const withoutOrigin = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
  const path = withoutOrigin.split(/[?#]/)[0] ?? "";
  return path.startsWith("/") ? path : `/${path}`;
}

function queryMethods(query: string): string[] {
  const methods: string[] = [];
  for (const pair of query.replace(/^\?/, "").split(/[&;]/)) {
    const [key = "", value = ""] = pair.split("=", 2);
    if (safeDecode(key).toLowerCase() === "_method") methods.push(safeDecode(value).trim().toUpperCase());
  }
  return methods;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** Whether a header asks the origin to serve another path. */
export function hasPathOverride(headers: HeaderList): boolean {
  let found = false;
  headers.forEach((_, name) => {
    if (PATH_OVERRIDE_HEADERS.has(canonicalHeaderName(name))) found = true;
  });
  return found;
}
