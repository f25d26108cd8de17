/**
 * Channels through which a request can ask an origin to serve another method or path than the
 * one it names, and what the gate concludes from them.
 *
 * Methods. Frameworks let a request name another method: `_method` in a form body (Rails, Laravel,
 * Symfony, Rack, Express's method-override, Hono's methodOverride), in a JSON body (Laravel reads
 * its input from JSON as from forms), in the query string (Symfony, Laravel, configured
 * middlewares), or in a header, under whatever key a middleware is configured with, from media
 * types read loosely, on POST only (Rack, Symfony, Laravel, Express by default) or on every method
 * but GET (Hono, which sees a HEAD as a HEAD). The gate cannot see a body (it streams it, and API
 * Gateway never hands one to an authorizer), nor know which key an origin reads, and a cached
 * authorizer answer is re-applied to later requests whatever they carry. So the principle is:
 *
 *   With `METHOD_OVERRIDE=any` (the default), a request whose method is not GET could mean any
 *   method, and is decided as every method: it is refused when any rule that applies to its path
 *   is not met. A GET is decided as a GET. With `METHOD_OVERRIDE=none` (an origin that honours no
 *   override channel at all), every request is decided as the method on the wire. In both, where a
 *   method-override header reaches the origin, a request carrying one is decided as every method.
 *
 * What the frameworks honour was measured against them, not assumed: test/origins/frameworks.ts.
 *
 * Paths. Headers that IIS-style rewrites and some proxies read (`X-Original-URL`, ...) can name
 * another path: the Worker strips them, and where they reach the origin (API Gateway passes every
 * header on) a request is also decided as each path they name, and is never public.
 *
 * Both kinds of header are recognised in any spelling (`-`, `_` or `.`, any case), since several
 * servers map all three to one variable; the Worker strips them all.
 */
import type { HeaderReader } from "./credentials.ts";
import { METHODS, type Method } from "./methods.ts";

/** Headers that can also be listed (`Headers` and the authorizer's event headers both can). */
export interface HeaderList extends HeaderReader {
  forEach(callback: (value: string, name: string) => void): void;
}

/** `METHOD_OVERRIDE`: whether the origin may serve a request as another method than its own. */
export const METHOD_OVERRIDE_MODES = ["any", "none"] as const;
export type MethodOverrideMode = (typeof METHOD_OVERRIDE_MODES)[number];

export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
]);
export const PATH_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-original-url",
  "x-original-uri",
  "x-rewrite-url",
  "x-forwarded-uri",
  "x-forwarded-prefix",
  "x-forwarded-path",
]);

/** `X_HTTP_Method_Override`, `x.http.method.override` -> `x-http-method-override`. */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, "-");
}

export function isOverrideHeader(name: string): boolean {
  return isCanonicalOverrideHeader(canonicalHeaderName(name));
}

/** `isOverrideHeader` for a name already in `canonicalHeaderName` spelling. */
export function isCanonicalOverrideHeader(canonical: string): boolean {
  return METHOD_OVERRIDE_HEADERS.has(canonical) || PATH_OVERRIDE_HEADERS.has(canonical);
}

/** Whether a request sent with `method` may be served as another method (see the principle above). */
export function mayMeanOtherMethods(method: string, mode: MethodOverrideMode): boolean {
  return mode === "any" && method !== "GET";
}

/**
 * The wire methods whose requests a rule governing `covered` applies to: those methods, and under
 * `any` every method but GET, since such a request could be served as one of them. For a cached
 * policy, which can only name methods (src/aws/policy.ts).
 */
export function wireMethodsGoverned(covered: readonly Method[], mode: MethodOverrideMode): Method[] {
  if (mode === "none") return [...covered];
  return METHODS.filter((method) => method !== "GET" || covered.includes("GET"));
}

/**
 * The wire methods a rule covering `covered` (`undefined`: no `methods`, every method) ADMITS a
 * machine client to, where `wireMethodsGoverned` says which it restricts: admission reads narrowly,
 * as restriction reads broadly. A request that could be served as any method (a non-GET under
 * `any`) is admitted only by a rule that covers every method, since the origin may serve it as one
 * no rule admits the client to. For a cached policy's Allow (src/aws/policy.ts) and the decision's.
 */
export function wireMethodsAdmitted(covered: readonly Method[] | undefined, mode: MethodOverrideMode): Method[] {
  if (covered === undefined || METHODS.every((method) => covered.includes(method))) return [...METHODS];
  if (mode === "none") return [...covered];
  return covered.includes("GET") ? ["GET"] : [];
}

/**
 * Whether a method-override header, in any spelling, is present. Where such headers reach the
 * origin (API Gateway passes every header on), a request carrying one is decided as every method,
 * a GET too and under `METHOD_OVERRIDE=none` too: Flask's documented middleware honours
 * `X-HTTP-Method-Override` on every method, and Symfony on a POST even with `_method` switched off.
 */
export function hasMethodOverrideHeader(headers: HeaderList): boolean {
  let found = false;
  headers.forEach((_, name) => {
    if (METHOD_OVERRIDE_HEADERS.has(canonicalHeaderName(name))) found = true;
  });
  return found;
}

/** Paths (without a query) that path-override headers ask the origin to serve instead. */
export function overridePaths(headers: HeaderList): string[] {
  const paths: string[] = [];
  headers.forEach((value, name) => {
    if (PATH_OVERRIDE_HEADERS.has(canonicalHeaderName(name))) paths.push(pathOf(value));
  });
  return paths;
}

/** The path part of a header value that may be a path, a path with a query, or a whole URL. */
function pathOf(value: string): string {
  const trimmed = value.trim();
  const withoutOrigin = trimmed.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
  const path = withoutOrigin.split(/[?#]/)[0] ?? "";
  return path.startsWith("/") ? path : `/${path}`;
}
