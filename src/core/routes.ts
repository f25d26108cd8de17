/**
 * Route rules (`ROUTES`): what an authenticated caller needs on a route beyond a valid token.
 *
 * `ROUTES` is a JSON array of rules; docs/route-rules.md is the one description of
 * the syntax. Every rule whose `path` and `methods` match a request and that concerns the caller's
 * kind (`subject`: users by default) applies, and all of them must be met, so the order of rules
 * does not matter and each rule maps onto IAM Deny statements in the Lambda authorizer
 * (src/aws/policy.ts). A machine client also needs a rule that admits it: no rule, no access (an
 * IAM Allow). Paths match broadly: every spelling a plausible origin would route to the ruled
 * handler (paths.ts).
 */
import * as v from "valibot";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";
import { jsonListSetting, NAME } from "./setting-schemas.ts";
import { urlSetting } from "./url-setting.ts";
import {
  createPublicPathMatcher,
  foldPattern,
  PATH_PATTERN_MESSAGE,
  isPathPattern,
  patternRoot,
  ruleReadings,
} from "./paths.ts";

import { METHODS, type Method } from "./methods.ts";
import { mayMeanOtherMethods, wireMethodsAdmitted, type MethodOverrideMode } from "./overrides.ts";

export { METHODS, type Method };
/** Who a rule admits: `user` (the default, so no rule written before machine tokens admits one), `client`, `any`. */
export const SUBJECTS = ["user", "client", "any"] as const;

const NAMES = v.pipe(v.array(NAME), v.minLength(1));
/** A rule's path ends up in IAM resources, which API Gateway caps at 512 characters with the stage ARN. */
export const MAX_RULE_PATH_LENGTH = 256;

const ruleEntries = {
  path: v.pipe(
    v.string(),
    v.check(isPathPattern, PATH_PATTERN_MESSAGE),
    v.maxLength(MAX_RULE_PATH_LENGTH, `must be at most ${MAX_RULE_PATH_LENGTH} characters`),
  ),
  methods: v.optional(
    v.pipe(v.array(v.picklist(METHODS, `methods must be among ${METHODS.join(", ")}`)), v.minLength(1)),
  ),
  roles: v.optional(NAMES),
  scopes: v.optional(NAMES),
  clientIds: v.optional(NAMES),
  verified: v.optional(v.literal(true, "verified may only be true")),
  anonymous: v.optional(v.literal(false, "anonymous may only be false")),
  maxAuthAge: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(31_536_000))),
  amr: v.optional(NAMES),
  subject: v.optional(v.picklist(SUBJECTS, `subject must be one of ${SUBJECTS.join(", ")}`)),
  issuers: v.optional(v.pipe(v.array(urlSetting({ http: "loopback", form: "origin" })), v.minLength(1))),
};

/** The members only a user can meet: a rule that admits machine clients cannot carry them. */
const USER_MEMBERS = ["roles", "verified", "anonymous", "maxAuthAge", "amr"] as const;

const ruleSchema = v.pipe(
  v.strictObject(ruleEntries, (issue) =>
    issue.expected === "never"
      ? `unknown member ${issue.received}; a rule's members are ${Object.keys(ruleEntries).join(", ")}`
      : "must be an object with a path (a rule)",
  ),
  v.check(
    (rule) => (rule.subject ?? "user") === "user" || USER_MEMBERS.every((member) => rule[member] === undefined),
    `a rule whose subject is client or any cannot hold ${USER_MEMBERS.join(", ")}, which no machine client meets: ` +
      "write one rule for users and one for clients",
  ),
);

export const routesSchema = jsonListSetting(ruleSchema, "must be a JSON array of rules");

export type RouteRule = v.InferOutput<typeof ruleSchema>;

export interface RouteRequirement {
  readonly rule: RouteRule;
  /**
   * Whether the rule applies to a request sent with this method, on a path with these
   * `ruleReadings`. Paths match broadly: whenever one reading is the rule's path in any case, with
   * a trailing slash, or with a `.suffix` on its last segment (`/a/b.json` for `/a/b`). Methods:
   * the rule's own, and under `METHOD_OVERRIDE=any` every method but GET, which could be served as
   * one of them (overrides.ts). `everyMethod`: the request could be served as any method whatever
   * its own (it carries a method-override header that reaches the origin).
   */
  readonly matches: (method: string, readings: readonly string[], everyMethod?: boolean) => boolean;
  /**
   * Whether the rule, once it applies and is met, admits a machine client to a request sent with
   * this method: only when every method the request could be served as is one the rule covers
   * (`wireMethodsAdmitted`); a rule without `methods` admits any.
   */
  readonly admits: (method: string, everyMethod?: boolean) => boolean;
}

export function compileRoutes(rules: readonly RouteRule[], mode: MethodOverrideMode): readonly RouteRequirement[] {
  return rules.map((rule) => {
    const matchesPath = broadMatcher(rule.path);
    const methods = rule.methods === undefined ? undefined : new Set<string>(methodsCovered(rule.methods));
    const governs = (method: string, everyMethod: boolean) =>
      everyMethod || methods === undefined || methods.has(method) || mayMeanOtherMethods(method, mode);
    const admitted = new Set<string>(wireMethodsAdmitted(rule.methods && methodsCovered(rule.methods), mode));
    const admits = (method: string, everyMethod = false) =>
      rule.methods === undefined || (!everyMethod && admitted.has(method));
    return {
      rule,
      matches: (method, readings, everyMethod = false) => governs(method, everyMethod) && readings.some(matchesPath),
      admits,
    };
  });
}

/** A rule path's broad match on a folded reading (lower case, no trailing slash). */
function broadMatcher(pattern: string): (reading: string) => boolean {
  if (pattern === "/*") return () => true;
  if (pattern === "/") return (reading) => reading === "/";
  const subtree = pattern.endsWith("/*");
  const base = foldPattern(subtree ? pattern.slice(0, -2) : pattern);
  return subtree
    ? (reading) => reading === base || reading.startsWith(`${base}/`) || reading.startsWith(`${base}.`)
    : (reading) => reading === base || reading.startsWith(`${base}.`);
}

/**
 * Whether a rule could apply on a public path: the rule's broad match reaches a path the public
 * pattern matches, in any case. (The Lambda authorizer's cache cannot carry such an overlap.)
 */
export function ruleOverlapsPublicPath(rulePath: string, publicPattern: string): boolean {
  const lower = publicPattern.toLowerCase();
  return (
    broadMatcher(rulePath)(foldPattern(patternRoot(lower))) ||
    createPublicPathMatcher([lower])(patternRoot(rulePath).toLowerCase())
  );
}

/**
 * The methods a rule governs: a rule on `GET` also governs `HEAD`, which answers with the same headers; no
 * `methods` = all.
 */
export function methodsCovered(methods: readonly Method[] | undefined): Method[] {
  if (methods === undefined) return [...METHODS];
  return methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : [...methods];
}

/**
 * The refusal for the first rule that applies to this request and is not met, or `undefined`.
 * `nowMs`: milliseconds since the epoch; `validForSeconds`: how long the answer will be reused
 * (API Gateway's result cache) — a `maxAuthAge` must still be met at its end.
 */
export function routeRefusal(
  routes: readonly RouteRequirement[],
  identity: Identity,
  method: string,
  path: string,
  nowMs: number,
  validForSeconds = 0,
): AuthError | undefined {
  if (routes.length === 0 && identity.kind === "user") return undefined;
  return refusalOnReadings(routes, identity, method, ruleReadings(path), nowMs, validForSeconds);
}

/** `routeRefusal` on a path's `ruleReadings`, computed once by a caller that tries several methods. */
export function refusalOnReadings(
  routes: readonly RouteRequirement[],
  identity: Identity,
  method: string,
  readings: readonly string[],
  nowMs: number,
  validForSeconds = 0,
  everyMethod = false,
): AuthError | undefined {
  let admitted = identity.kind === "user";
  for (const route of routes) {
    if (!governsKind(route.rule, identity.kind) || !route.matches(method, readings, everyMethod)) continue;
    const unmet = unmetRequirement(route.rule, identity, nowMs, validForSeconds);
    if (unmet !== undefined) return refusalFor(unmet, route.rule, method);
    admitted ||= route.admits(method, everyMethod);
  }
  // A machine client gets only what a rule admits it to: a path or method no rule covers is not for it.
  return admitted ? undefined : refusalFor("subject", undefined);
}

/**
 * What a rule can find missing; the refusal (an `AuthError`, with its stack) is built only for a request that
 * gets it.
 */
type Unmet = "subject" | "issuer" | "role" | "scope" | "client" | "verified" | "anonymous" | "amr" | "authAge";

const REFUSALS: Readonly<Record<Exclude<Unmet, "authAge" | "amr">, string>> = {
  subject: "This route is not open to machine clients.",
  issuer: "This route does not accept tokens of this issuer.",
  role: "A role this route requires is missing.",
  scope: "A scope this route requires is missing.",
  client: "This route is not open to this client.",
  verified: "This route requires a verified user.",
  anonymous: "This route is not open to anonymous users.",
};

/**
 * `method`: the request's; when the rule names other methods only, the refusal says why it applied.
 * `rule`: `undefined` when no rule admits a machine client.
 */
function refusalFor(unmet: Unmet, rule: RouteRule | undefined, method?: string): AuthError {
  const own =
    rule?.methods === undefined || method === undefined || methodsCovered(rule.methods).includes(method as Method);
  const ruled = rule?.methods?.join(", ") ?? "";
  const why = own ? "" : ` The rule is for ${ruled}, which this request could be served as (METHOD_OVERRIDE).`;
  if (unmet === "amr") {
    const methods = rule?.amr?.join(", ") ?? "";
    return new AuthError("ERR_AUTHENTICATION_METHOD", `This route requires a login with one of: ${methods}.${why}`);
  }
  if (unmet !== "authAge") return new AuthError("ERR_INSUFFICIENT_SCOPE", `${REFUSALS[unmet]}${why}`);
  const maxAge = rule?.maxAuthAge ?? 0;
  return new AuthError("ERR_AUTHENTICATION_TOO_OLD", `This route requires a more recent login.${why}`, { maxAge });
}

/**
 * The first requirement of `rule` that `identity` does not meet at some moment of
 * [now, now + validForSeconds]: kind, issuer, roles, scopes, clients, verification, anonymity and
 * authentication methods do not change with time; a login is, or will become, older than
 * `maxAuthAge`. A rule that does not concern the identity's kind (`governsKind`) is met vacuously; a
 * machine client never meets a user's requirement.
 */
function unmetRequirement(
  rule: RouteRule,
  identity: Identity,
  nowMs: number,
  validForSeconds: number,
): Unmet | undefined {
  if (!governsKind(rule, identity.kind)) return undefined;
  if (rule.issuers !== undefined && !rule.issuers.includes(identity.issuer)) return "issuer";
  // The schema keeps user members out of a rule that admits clients; a client never meets one.
  if (identity.kind === "client" && USER_MEMBERS.some((member) => rule[member] !== undefined)) return "subject";
  const roles = identity.kind === "user" ? identity.roles : [];
  if (identity.kind === "user" && rule.roles !== undefined && !rule.roles.some((role) => roles.includes(role)))
    return "role";
  if (rule.scopes !== undefined && !rule.scopes.every((scope) => identity.scopes.includes(scope))) return "scope";
  if (rule.clientIds !== undefined && (identity.clientId === undefined || !rule.clientIds.includes(identity.clientId)))
    return "client";
  if (identity.kind === "client") return undefined;
  if (rule.verified === true && !identity.isVerified) return "verified";
  if (rule.anonymous === false && identity.isAnonymous) return "anonymous";
  if (rule.amr !== undefined && !rule.amr.some((method) => identity.amr.includes(method))) return "amr";
  if (rule.maxAuthAge !== undefined) {
    const ageAtEnd =
      identity.authenticatedAt === undefined
        ? Number.POSITIVE_INFINITY
        : Math.floor(nowMs / 1000) + validForSeconds - identity.authenticatedAt;
    if (ageAtEnd > rule.maxAuthAge) return "authAge";
  }
  return undefined;
}

/**
 * Whether `rule` concerns callers of this kind: the kind its `subject` names (users by default),
 * or both for `any`. A rule concerns no other caller: a rule for users neither admits nor refuses
 * a machine client, and a rule for clients says nothing about users.
 */
export function governsKind(rule: RouteRule, kind: Identity["kind"]): boolean {
  const subject = rule.subject ?? "user";
  return subject === "any" || subject === kind;
}

/**
 * Whether `identity` meets `rule` throughout [now, now + validForSeconds]; a rule that does not
 * concern it, vacuously.
 */
export function meetsRule(rule: RouteRule, identity: Identity, nowMs: number, validForSeconds = 0): boolean {
  return unmetRequirement(rule, identity, nowMs, validForSeconds) === undefined;
}

/**
 * Why `identity` does not meet `rule` at some moment of [now, now + validForSeconds], or
 * `undefined`: `ERR_INSUFFICIENT_SCOPE` (403), or `ERR_AUTHENTICATION_TOO_OLD` (401, RFC 9470
 * `max_age`) when the login is, or will become, older than `maxAuthAge`.
 */
export function ruleRefusal(
  rule: RouteRule,
  identity: Identity,
  nowMs: number,
  validForSeconds = 0,
): AuthError | undefined {
  const unmet = unmetRequirement(rule, identity, nowMs, validForSeconds);
  return unmet === undefined ? undefined : refusalFor(unmet, rule);
}

/** Checks an identity against a rule at `nowMs`; throws what `ruleRefusal` returns. */
export function assertAllowed(rule: RouteRule, identity: Identity, nowMs: number): void {
  const refusal = ruleRefusal(rule, identity, nowMs);
  if (refusal !== undefined) throw refusal;
}

/** Checks every rule that applies to this request at `nowMs`; throws like `assertAllowed`. */
export function assertAllowedOn(
  routes: readonly RouteRequirement[],
  identity: Identity,
  method: string,
  path: string,
  nowMs: number,
): void {
  const refusal = routeRefusal(routes, identity, method, path, nowMs);
  if (refusal !== undefined) throw refusal;
}

/** Every scope some rule asks for, for RFC 9728's `scopes_supported`. */
export function scopesSupported(rules: readonly RouteRule[]): string[] {
  return [...new Set(rules.flatMap((rule) => rule.scopes ?? []))];
}
