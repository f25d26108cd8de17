/**
 * Route rules (`ROUTES`): what an authenticated caller needs on a route beyond a valid token.
 *
 * `ROUTES` is a JSON array of rules. Every rule whose `path` (the `PUBLIC_PATHS` syntax: `/exact`
 * or `/prefix/*`) and `methods` (default: all; `GET` covers `HEAD` too) match the request applies,
 * and all of them must be met — so the order of rules does not matter, and the rules map exactly
 * onto IAM Deny statements in the Lambda authorizer. A route no rule matches needs only a valid
 * token. Public paths bypass the rules. A rule may require:
 * - `roles`: at least one of these roles;
 * - `scopes`: every one of these scopes;
 * - `verified: true`: a verified user;
 * - `anonymous: false`: not an anonymous user;
 * - `maxAuthAge`: the user authenticated at most this many seconds ago (`auth_time`; a token
 *   without `auth_time` does not meet it). Failing it asks for a fresh login (RFC 9470).
 */
import * as v from "valibot";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";
import { createPublicPathMatcher, PATH_PATTERN_MESSAGE, isPathPattern } from "./paths.ts";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const NAME = v.pipe(v.string(), v.regex(/^[\x21-\x2b\x2d-\x7e]{1,255}$/, "must be printable ASCII without spaces or commas"));

const ruleSchema = v.strictObject({
  path: v.pipe(v.string(), v.check(isPathPattern, PATH_PATTERN_MESSAGE)),
  methods: v.optional(v.pipe(v.array(v.picklist(METHODS, `methods must be among ${METHODS.join(", ")}`)), v.minLength(1))),
  roles: v.optional(v.pipe(v.array(NAME), v.minLength(1))),
  scopes: v.optional(v.pipe(v.array(NAME), v.minLength(1))),
  verified: v.optional(v.literal(true, "verified may only be true")),
  anonymous: v.optional(v.literal(false, "anonymous may only be false")),
  maxAuthAge: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(31_536_000))),
});

export const routesSchema = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return JSON.parse(dataset.value) as unknown;
    } catch {
      addIssue({ message: "is not JSON" });
      return NEVER;
    }
  }),
  v.array(ruleSchema, "must be a JSON array of rules"),
);

export type RouteRule = v.InferOutput<typeof ruleSchema>;
export type Method = (typeof METHODS)[number];

export interface RouteRequirement {
  readonly rule: RouteRule;
  /** Whether the rule applies to this method and path. */
  readonly matches: (method: string, path: string) => boolean;
}

export function compileRoutes(rules: readonly RouteRule[]): readonly RouteRequirement[] {
  return rules.map((rule) => {
    const matchesPath = createPublicPathMatcher([rule.path]);
    const methods = rule.methods === undefined ? undefined : new Set<string>(methodsCovered(rule.methods));
    return { rule, matches: (method, path) => (methods === undefined || methods.has(method)) && matchesPath(path) };
  });
}

/** A rule on `GET` also governs `HEAD`, which answers with the same headers. */
export function methodsCovered(methods: readonly Method[]): Method[] {
  return methods.includes("GET") && !methods.includes("HEAD") ? [...methods, "HEAD"] : [...methods];
}

/** Checks every rule that applies to this request; throws like `assertAllowed`. */
export function assertAllowedOn(routes: readonly RouteRequirement[], identity: Identity, method: string, path: string, nowMs: number): void {
  for (const route of routes) {
    if (route.matches(method, path)) assertAllowed(route.rule, identity, nowMs);
  }
}

/**
 * Checks an identity against a rule; throws `ERR_INSUFFICIENT_SCOPE` (403) or
 * `ERR_AUTHENTICATION_TOO_OLD` (401, RFC 9470 `max_age`). `nowMs`: milliseconds since the epoch.
 */
export function assertAllowed(rule: RouteRule, identity: Identity, nowMs: number): void {
  if (rule.roles !== undefined && !rule.roles.some((role) => identity.roles.includes(role))) {
    throw new AuthError("ERR_INSUFFICIENT_SCOPE", "A role this route requires is missing.");
  }
  if (rule.scopes !== undefined && !rule.scopes.every((scope) => identity.scopes.includes(scope))) {
    throw new AuthError("ERR_INSUFFICIENT_SCOPE", "A scope this route requires is missing.");
  }
  if (rule.verified === true && !identity.isVerified) {
    throw new AuthError("ERR_INSUFFICIENT_SCOPE", "This route requires a verified user.");
  }
  if (rule.anonymous === false && identity.isAnonymous) {
    throw new AuthError("ERR_INSUFFICIENT_SCOPE", "This route is not open to anonymous users.");
  }
  if (rule.maxAuthAge !== undefined) {
    const age = identity.authenticatedAt === undefined ? Number.POSITIVE_INFINITY : Math.floor(nowMs / 1000) - identity.authenticatedAt;
    if (age > rule.maxAuthAge) {
      throw new AuthError("ERR_AUTHENTICATION_TOO_OLD", "This route requires a more recent login.", { maxAge: rule.maxAuthAge });
    }
  }
}
