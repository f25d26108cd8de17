/**
 * What the README says the authorizer decides, written from its text and not from src/: the rule
 * table ("Route rules"), how a path is read ("How the gate reads a path"), public paths, the
 * method-override model (`METHOD_OVERRIDE`), what API Gateway's cache refuses at start-up and the
 * TTL-plus-one-second window ("Route rules under API Gateway's cache"). The property tests take
 * their expected answers from here. It covers the alphabet they generate: ASCII paths (no NFKC
 * look-alikes), rule paths without escapes.
 */

export interface OracleRule {
  readonly path: string;
  readonly methods?: readonly string[];
  readonly roles?: readonly string[];
  readonly scopes?: readonly string[];
  readonly clientIds?: readonly string[];
  readonly verified?: true;
  readonly anonymous?: false;
  readonly maxAuthAge?: number;
}

/** The claims a token carries, as the rule table reads them. */
export interface OracleIdentity {
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly clientId: string | undefined;
  readonly isVerified: boolean;
  readonly isAnonymous: boolean;
  /** `auth_time`, Unix seconds. */
  readonly authenticatedAt: number | undefined;
}

/** `none`: decided on the method on the wire; `any`: an origin may honour an override on every method but GET. */
export type OverrideMode = "none" | "any";

export interface OracleWorld {
  readonly rules: readonly OracleRule[];
  readonly publicPaths: readonly string[];
  readonly mode: OverrideMode;
}

/** Escapes that do not decode (`%` without two hex digits, bytes that are not UTF-8): refused (401). */
export function isMalformed(path: string): boolean {
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

/** An unreserved character's escape decoded, every other escape's hex in upper case (RFC 3986 §6.2.2). */
function normalForm(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * No single reading (the README's 400 list): encoded `/` `\` NUL, a double encoding, dot segments
 * (escaped ones too), `;`, `\`, empty segments, raw characters outside printable ASCII, and
 * non-ASCII characters whose compatibility form is a separator.
 */
export function isAmbiguous(path: string): boolean {
  if (isMalformed(path)) return true;
  const normal = normalForm(path);
  if (/%(?:2F|5C|00|25[0-9A-F]{2})/i.test(normal)) return true;
  if (/[;\\]|\/\//.test(normal) || /[^\x21-\x7e]/.test(normal)) return true;
  if (normal.split("/").some((segment) => segment === "." || segment === "..")) return true;
  // A non-ASCII character whose compatibility form (NFKC) is a separator (`／`, `．`).
  const separators = (text: string) => text.match(/[/\\.;%?#]/g)?.length ?? 0;
  const decoded = decodeURIComponent(path);
  return separators(decoded.normalize("NFKC")) !== separators(decoded);
}

/** Public paths match narrowly: exactly, case-sensitively, and only a path already in its normal form. */
export function isPublic(world: OracleWorld, path: string): boolean {
  if (isAmbiguous(path) || normalForm(path) !== path) return false;
  return world.publicPaths.some((pattern) => {
    if (!pattern.endsWith("/*")) return path === pattern;
    const root = pattern.slice(0, -2);
    return path === (root === "" ? "/" : root) || path.startsWith(`${root}/`);
  });
}

/** `decodeURIComponent`, or the path as it is when it does not decode. */
export function decodeLeniently(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Dot segments resolved as a URL parser resolves them. */
export function resolveDots(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/").slice(1)) {
    if (segment === "..") out.pop();
    else if (segment !== ".") out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** Decoded, `\` as `/`, `;` parameters dropped, empty segments collapsed, dot segments resolved. */
function mostAggressive(path: string): string {
  let decoded = path;
  for (let round = 0; round < 3; round += 1) decoded = decodeLeniently(decoded);
  const out: string[] = [];
  for (const raw of decoded.replace(/\\/g, "/").split("/")) {
    const segment = raw.split(";")[0] ?? "";
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}${decoded.endsWith("/") && out.length > 0 ? "/" : ""}`;
}

/**
 * The readings route rules match: a path with a single reading, decoded; an ambiguous one as
 * received and as a URL parser resolves it (a `?` ends the path there), each as it is, decoded,
 * with dot segments resolved, and read most aggressively; each also with whitespace trimmed around
 * segments, then in lower case with one trailing slash dropped.
 */
export function readings(path: string): string[] {
  let read: string[];
  if (isAmbiguous(path)) {
    const parsed = new URL(`https://gate.invalid${path}`).pathname;
    read = [path, parsed].flatMap((p) => [p, decodeLeniently(p), resolveDots(decodeLeniently(p)), mostAggressive(p)]);
  } else {
    read = [decodeLeniently(path)];
  }
  const trimmed = read.map((p) => p.split("/").map((segment) => segment.trim()).join("/"));
  return [...new Set([...read, ...trimmed].map(fold))];
}

function fold(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith("/") ? lower.slice(0, -1) : lower;
}

/**
 * A rule's path matches broadly: its path in any case, with one trailing slash, with a `.suffix`
 * on its last segment, and (`/prefix/*`) everything below it; `/*` every path; `/` the root only.
 */
export function pathApplies(rulePath: string, path: string): boolean {
  if (rulePath === "/*") return true;
  const subtree = rulePath.endsWith("/*");
  const base = fold(subtree ? rulePath.slice(0, -2) : rulePath);
  return readings(path).some((reading) => {
    if (base === "/") return reading === "/";
    return reading === base || reading.startsWith(`${base}.`) || (subtree && reading.startsWith(`${base}/`));
  });
}

/** A rule without `methods` covers every method; a rule on GET also covers HEAD. */
function covers(rule: OracleRule, method: string): boolean {
  const { methods } = rule;
  return methods === undefined || methods.includes(method) || (method === "HEAD" && methods.includes("GET"));
}

/**
 * The methods a request is decided as: under `none` its own; under `any` a GET is decided as GET,
 * any other method as every method (an override could make the origin serve any of them).
 */
function governs(rule: OracleRule, wireMethod: string, mode: OverrideMode): boolean {
  return mode === "any" && wireMethod !== "GET" ? true : covers(rule, wireMethod);
}

/** The rule table, at moment `atMs`. */
export function meets(rule: OracleRule, identity: OracleIdentity, atMs: number): boolean {
  if (rule.roles !== undefined && !rule.roles.some((role) => identity.roles.includes(role))) return false;
  if (rule.scopes !== undefined && !rule.scopes.every((scope) => identity.scopes.includes(scope))) return false;
  const { clientIds } = rule;
  const { clientId } = identity;
  if (clientIds !== undefined && (clientId === undefined || !clientIds.includes(clientId))) return false;
  if (rule.verified === true && !identity.isVerified) return false;
  if (rule.anonymous === false && identity.isAnonymous) return false;
  if (rule.maxAuthAge !== undefined) {
    if (identity.authenticatedAt === undefined) return false;
    if (Math.floor(atMs / 1000) - identity.authenticatedAt > rule.maxAuthAge) return false;
  }
  return true;
}

/**
 * Whether the authorizer lets `method path` through for `identity` (`undefined`: no valid
 * credentials) when its answer must hold until `untilMs` (a login only ages, so holding at the end
 * of the window is holding throughout). `cached`: API Gateway reuses the answer, so an anonymous
 * request whose path holds `*` or `?` (IAM wildcards) is refused.
 */
export function allows(
  world: OracleWorld,
  identity: OracleIdentity | undefined,
  method: string,
  path: string,
  untilMs: number,
  cached: boolean,
): boolean {
  if (isMalformed(path)) return false;
  const open = isPublic(world, path);
  if (identity === undefined) return open && !(cached && /[*?]/.test(path));
  if (open) return true;
  const refuses = (rule: OracleRule) =>
    governs(rule, method, world.mode) && pathApplies(rule.path, path) && !meets(rule, identity, untilMs);
  return !world.rules.some(refuses);
}

/** Some path both a public pattern (narrowly) and a rule (broadly) match. */
function overlaps(rulePath: string, pattern: string): boolean {
  const root = pattern.endsWith("/*") ? pattern.slice(0, -2) || "/" : pattern;
  if (pathApplies(rulePath, root)) return true;
  if (!pattern.endsWith("/*")) return false;
  // Below a public subtree: the rule's own path, spelled in the public pattern's case.
  const base = fold(rulePath.endsWith("/*") ? rulePath.slice(0, -2) : rulePath);
  const below = root === "/" ? "/" : `${root.toLowerCase()}/`;
  return rulePath === "/*" || (base.startsWith(below) && base !== "/");
}

/** The README's "Refused at start-up" table for the settings generated here (IAM responses, bearer tokens). */
export function refusedAtStartUp(world: OracleWorld, ttl: number): boolean {
  if (ttl === 0) return false;
  const overlap = world.publicPaths.some((pattern) => world.rules.some((rule) => overlaps(rule.path, pattern)));
  return overlap || world.rules.some((rule) => rule.maxAuthAge !== undefined && rule.maxAuthAge < ttl + 1);
}
