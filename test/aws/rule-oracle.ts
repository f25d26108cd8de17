/**
 * What the README says the authorizer decides, written from its text and not from src/: the rule
 * table ("Route rules"), how a path is read ("How the gate reads a path"), public paths, the
 * method-override model (`METHOD_OVERRIDE`), what API Gateway's cache refuses at start-up and the
 * TTL-plus-one-second window ("Route rules under API Gateway's cache"). The property tests take
 * their expected answers from here. It covers the alphabet they generate: ASCII paths (no NFKC
 * look-alikes), rule paths without escapes.
 *
 * Whom a rule concerns (`subject`) and what a machine client reaches are written from
 * docs/machine-tokens.md ("Route rules for machine clients": a rule concerns only the kinds its
 * subject names; a client must meet every matching rule that concerns clients and be admitted by
 * one of them, whose `methods` admit narrowly; public paths stay open to everyone; a client never
 * meets roles, verified, anonymous, maxAuthAge, amr), `issuers` from docs/issuers.md ("Route rules
 * and the origin": any of, exact origins, unmet 403) and `amr` from the README's "A second factor"
 * (any of, unmet a 401 `insufficient_user_authentication`).
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
  /** Who the rule admits: `user` (the default), `client` or `any`. */
  readonly subject?: "user" | "client" | "any";
  /** The token's issuer is one of these origins, exactly. */
  readonly issuers?: readonly string[];
  /** At least one of these authentication methods (`amr`). */
  readonly amr?: readonly string[];
}

/** The members only a user can meet: a rule admitting clients may not hold them (refused at start-up). */
export const USER_MEMBERS = ["roles", "verified", "anonymous", "maxAuthAge", "amr"] as const;

/**
 * The claims a token carries, as the rule table reads them. A machine client (`kind: "client"`) has
 * its `clientId` and scopes and none of a user's claims: its other members are never read.
 */
export interface OracleIdentity {
  readonly kind: "user" | "client";
  /** The token's `iss`. */
  readonly issuer: string;
  /** `amr`: how the user logged in. */
  readonly amr: readonly string[];
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
  /** The trusted issuers (`ISSUERS`, or `AUTHGEAR_ENDPOINT` alone); unset: the identity's, whichever it is. */
  readonly issuers?: readonly string[];
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
  const trimmed = read.map((p) =>
    p
      .split("/")
      .map((segment) => segment.trim())
      .join("/"),
  );
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

/** How a refusal answers: 403 `insufficient_scope`, or 401 `insufficient_user_authentication` (log in again). */
export type RefusalStatus = 403 | 401;

/** Whether a rule concerns callers of this kind: the kind its `subject` names (users by default), both for `any`. */
export function concerns(rule: OracleRule, kind: OracleIdentity["kind"]): boolean {
  const subject = rule.subject ?? "user";
  return subject === "any" || subject === kind;
}

/**
 * Whether a rule that applies and is met admits a machine client to a request sent with `method`:
 * only when every method the request could be served as is one the rule covers (under `any`, a
 * request other than a GET could be served as any method).
 */
function admits(rule: OracleRule, method: string, mode: OverrideMode): boolean {
  const servedAs = mode === "any" && method !== "GET" ? ALL_METHODS : [method];
  return servedAs.every((served) => covers(rule, served));
}

const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/**
 * The statuses of what `identity` lacks for `rule` at moment `atMs` (empty: the rule is met), for a
 * rule that concerns the identity's kind; a client never meets a user's member.
 */
export function unmet(rule: OracleRule, identity: OracleIdentity, atMs: number): Set<RefusalStatus> {
  const statuses = new Set<RefusalStatus>();
  if (identity.kind === "client" && USER_MEMBERS.some((member) => rule[member] !== undefined)) return statuses.add(403);
  const lacks = (status: RefusalStatus, missing: boolean) => {
    if (missing) statuses.add(status);
  };
  lacks(403, rule.issuers !== undefined && !rule.issuers.includes(identity.issuer));
  lacks(403, rule.scopes !== undefined && !rule.scopes.every((scope) => identity.scopes.includes(scope)));
  const { clientIds } = rule;
  const { clientId } = identity;
  lacks(403, clientIds !== undefined && (clientId === undefined || !clientIds.includes(clientId)));
  if (identity.kind === "client") return statuses;
  lacks(403, rule.roles !== undefined && !rule.roles.some((role) => identity.roles.includes(role)));
  lacks(403, rule.verified === true && !identity.isVerified);
  lacks(403, rule.anonymous === false && identity.isAnonymous);
  lacks(401, rule.amr !== undefined && !rule.amr.some((method) => identity.amr.includes(method)));
  if (rule.maxAuthAge !== undefined) {
    const { authenticatedAt } = identity;
    lacks(401, authenticatedAt === undefined || Math.floor(atMs / 1000) - authenticatedAt > rule.maxAuthAge);
  }
  return statuses;
}

/** The rule table, at moment `atMs`. */
export function meets(rule: OracleRule, identity: OracleIdentity, atMs: number): boolean {
  return unmet(rule, identity, atMs).size === 0;
}

/**
 * Whether the authorizer lets `method path` through for `identity` (`undefined`: no valid
 * credentials, or a token of an issuer not trusted) when its answer must hold until `untilMs` (a
 * login only ages, so holding at the end of the window is holding throughout). `cached`: API
 * Gateway reuses the answer, so an anonymous request whose path holds `*` or `?` (IAM wildcards)
 * is refused.
 */
export function allows(...request: Parameters<typeof verdict>): boolean {
  return verdict(...request) === "allowed";
}

/**
 * `allows`, with how a refusal answers: every status a refusal could have. Where a request fails
 * requirements of both kinds (a scope and `amr`, say), the README does not say which is reported,
 * and either is accepted.
 */
export function verdict(
  world: OracleWorld,
  identity: OracleIdentity | undefined,
  method: string,
  path: string,
  untilMs: number,
  cached: boolean,
): "allowed" | ReadonlySet<RefusalStatus> {
  const unauthenticated = new Set<RefusalStatus>([401]);
  if (isMalformed(path)) return unauthenticated;
  const open = isPublic(world, path);
  const trusted = identity !== undefined && (world.issuers?.includes(identity.issuer) ?? true);
  if (!trusted) return open && !(cached && /[*?]/.test(path)) ? "allowed" : unauthenticated;
  if (open) return "allowed";
  const applicable = world.rules.filter(
    (rule) => concerns(rule, identity.kind) && governs(rule, method, world.mode) && pathApplies(rule.path, path),
  );
  const statuses = new Set(applicable.flatMap((rule) => [...unmet(rule, identity, untilMs)]));
  if (statuses.size > 0) return statuses;
  // A machine client reaches only what some rule admits it to.
  const admitted = identity.kind === "user" || applicable.some((rule) => admits(rule, method, world.mode));
  return admitted ? "allowed" : new Set([403]);
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

/**
 * A configuration error whatever the cache: a rule that admits clients holding a member only a user
 * can meet, or naming an issuer that is not trusted.
 */
export function invalidRules(world: OracleWorld): boolean {
  return world.rules.some((rule) => {
    const admitsClients = (rule.subject ?? "user") !== "user";
    if (admitsClients && USER_MEMBERS.some((member) => rule[member] !== undefined)) return true;
    return (rule.issuers ?? []).some((issuer) => world.issuers !== undefined && !world.issuers.includes(issuer));
  });
}

/**
 * The README's "Refused at start-up" table for the settings generated here (IAM responses, bearer
 * tokens), and the rule errors of `invalidRules`.
 */
export function refusedAtStartUp(world: OracleWorld, ttl: number): boolean {
  if (invalidRules(world)) return true;
  if (ttl === 0) return false;
  const overlap = world.publicPaths.some((pattern) => world.rules.some((rule) => overlaps(rule.path, pattern)));
  return overlap || world.rules.some((rule) => rule.maxAuthAge !== undefined && rule.maxAuthAge < ttl + 1);
}
