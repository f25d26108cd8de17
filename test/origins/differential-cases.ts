/**
 * Named requests for the differential property: one per class of issue 18's table, each with the
 * frameworks that honour it (sent straight to them, they serve a method the rules refuse), and the
 * legitimate requests every framework must be served through the gate.
 */
import type { AttackRequest } from "./differential-requests.ts";
import type { Route, Who } from "./differential-oracle.ts";
import type { FrameworkName } from "./differential-origins.ts";

export interface AttackCase {
  readonly name: string;
  readonly request: AttackRequest;
  /** Frameworks that, reached directly with the request's identity, serve what the rules refuse. */
  readonly honouredBy: readonly FrameworkName[];
}

const FORM = "application/x-www-form-urlencoded";
const CORS: ReadonlyArray<readonly [string, string]> = [["Origin", "https://app.example.com"], ["Access-Control-Request-Method", "DELETE"]];

function attack(who: Who, method: string, target: string, headers: ReadonlyArray<readonly [string, string]> = [], body?: string): AttackRequest {
  const [path = target, query = ""] = target.split(/\?(.*)/s);
  return { method, path, query, headers, body, who };
}

export const ATTACKS: readonly AttackCase[] = [
  { name: "JSON body _method", request: attack("bob", "POST", "/orders/1", [["Content-Type", "application/json"]], '{"_method":"DELETE"}'), honouredBy: ["stand-in"] },
  { name: "+json media type _method", request: attack("bob", "POST", "/orders/1", [["Content-Type", "application/vnd.api+json"]], '{"_method":"DELETE"}'), honouredBy: [] },
  { name: "PHP-mangled query key .method", request: attack("bob", "POST", "/orders/1?.method=DELETE"), honouredBy: [] },
  { name: "PHP-mangled query key %20_method", request: attack("bob", "POST", "/orders/1?%20_method=DELETE"), honouredBy: [] },
  { name: "PHP-mangled query key [method", request: attack("bob", "POST", "/orders/1?[method=DELETE"), honouredBy: [] },
  { name: "loose media type: a form type followed by , text/plain", request: attack("bob", "POST", "/orders/1", [["Content-Type", `${FORM}, text/plain`]], "_method=DELETE"), honouredBy: [] },
  { name: "loose media type: upper case with parameters", request: attack("bob", "POST", "/orders/1", [["Content-Type", `${FORM.toUpperCase()}; charset=utf-8`]], "_method=DELETE"), honouredBy: [] },
  { name: "override on PUT", request: attack("carol", "PUT", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"), honouredBy: [] },
  { name: "override on PATCH", request: attack("carol", "PATCH", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"), honouredBy: [] },
  { name: "override on DELETE (to DELETE's neighbour: bob asks PUT)", request: attack("bob", "DELETE", "/orders/1?_method=GET"), honouredBy: [] },
  { name: "override on OPTIONS", request: attack("bob", "OPTIONS", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"), honouredBy: [] },
  { name: "override on HEAD", request: attack("bob", "HEAD", "/orders/1?_method=DELETE"), honouredBy: [] },
  { name: "OPTIONS preflight carrying _method in its query", request: attack("anonymous", "OPTIONS", "/orders/1?_method=DELETE", CORS), honouredBy: [] },
  { name: "OPTIONS preflight carrying an override header", request: attack("anonymous", "OPTIONS", "/orders/1", [...CORS, ["X-HTTP-Method-Override", "DELETE"]]), honouredBy: [] },
];

export interface LegitimateCase {
  readonly name: string;
  readonly request: AttackRequest;
  readonly served: { readonly route: Route; readonly method: string };
}

export const LEGITIMATE: readonly LegitimateCase[] = [
  { name: "an admin's DELETE", request: attack("alice", "DELETE", "/orders/1"), served: { route: "orders", method: "DELETE" } },
  { name: "a non-admin's GET of an order", request: attack("bob", "GET", "/orders/1"), served: { route: "orders", method: "GET" } },
  { name: "a non-admin's POST of an order", request: attack("bob", "POST", "/orders", [["Content-Type", "application/json"]], '{"item":"x"}'), served: { route: "orders", method: "POST" } },
  { name: "staff's PUT", request: attack("carol", "PUT", "/orders/1", [["Content-Type", "application/json"]], '{"item":"x"}'), served: { route: "orders", method: "PUT" } },
  { name: "a report read with the scope", request: attack("alice", "GET", "/reports/1"), served: { route: "reports", method: "GET" } },
];
