/**
 * What the rules allow, written from the README's "Route rules" section, not from src/: a rule
 * applies to a route its `path` covers (`/orders/*` covers `/orders` and `/orders/{id}`) and to the
 * methods it names (a rule on `GET` also governs `HEAD`); all that apply must be met; `roles` needs
 * one of them, `scopes` every one; every path here needs a valid token, and the Worker forwards a
 * CORS preflight (`OPTIONS`) unauthenticated.
 */

export type Who = "anonymous" | "bob" | "carol" | "alice";
export type Route = "orders" | "reports" | "other";

export interface Rule {
  readonly path: string;
  readonly methods: readonly string[];
  readonly roles?: readonly string[];
  readonly scopes?: readonly string[];
}

/** The setting under test (`ROUTES`), and the oracle's rule table. */
export const RULES: readonly Rule[] = [
  { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
  { path: "/orders/*", methods: ["PUT", "PATCH"], roles: ["admin", "staff"] },
  { path: "/reports/*", methods: ["GET"], scopes: ["reports:read"] },
];

export const REPORTS_SCOPE = "reports:read";

export interface Person {
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

/** bob has neither a role nor the reports scope; carol is staff; alice is an admin who may read reports. */
export const PEOPLE: Readonly<Record<Exclude<Who, "anonymous">, Person>> = {
  bob: { roles: [], scopes: [] },
  carol: { roles: ["staff"], scopes: [] },
  alice: { roles: ["admin"], scopes: [REPORTS_SCOPE] },
};

/** The path each route's handler is registered on, as a rule's `path` would name it. */
const ROUTE_PATHS: Readonly<Record<Route, string | undefined>> = {
  orders: "/orders/1",
  reports: "/reports/1",
  other: undefined,
};

function covers(rule: Rule, route: Route, method: string): boolean {
  const path = ROUTE_PATHS[route];
  if (path === undefined) return false;
  const base = rule.path.slice(0, -"/*".length);
  const onPath = path === base || path.startsWith(`${base}/`);
  return onPath && (rule.methods.includes(method) || (method === "HEAD" && rule.methods.includes("GET")));
}

function meets(rule: Rule, person: Person): boolean {
  const roles = rule.roles === undefined || rule.roles.some((role) => person.roles.includes(role));
  const scopes = rule.scopes === undefined || rule.scopes.every((scope) => person.scopes.includes(scope));
  return roles && scopes;
}

/**
 * Why the origin must not have served `method` on `route` to `user` (the identity header it
 * received, a user id of {@link PEOPLE} or none), or `undefined` when the rules allow it.
 * `preflightsForwarded`: the lane forwards CORS preflights unauthenticated (the Worker).
 */
export function violation(
  route: Route,
  servedMethod: string,
  user: string | undefined,
  preflightsForwarded: boolean,
): string | undefined {
  const method = servedMethod.toUpperCase();
  if (user === undefined) {
    if (preflightsForwarded && method === "OPTIONS") return undefined;
    return `served ${method} on ${route} without an identity`;
  }
  const person = (PEOPLE as Readonly<Record<string, Person | undefined>>)[user];
  if (person === undefined) return `served ${method} on ${route} to an unknown identity ${JSON.stringify(user)}`;
  const failed = RULES.find((rule) => covers(rule, route, method) && !meets(rule, person));
  if (failed === undefined) return undefined;
  return `served ${method} on ${route} to ${user}, who fails ${JSON.stringify(failed)}`;
}
