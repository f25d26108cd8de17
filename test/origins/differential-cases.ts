/**
 * Named requests for the differential property: one per class of issue 18's table, each with the
 * frameworks that honour it (sent straight to them, they serve a method the rules refuse), and the
 * legitimate requests every framework must be served through the gate.
 */
import type { HeaderLines } from "./differential-lanes.ts";
import type { AttackRequest } from "./differential-requests.ts";
import type { Route, Who } from "./differential-oracle.ts";
import type { OverrideMode } from "./differential-world.ts";
import type { FrameworkName } from "./frameworks.ts";

export interface AttackCase {
  readonly name: string;
  /** `any`: against the frameworks as they are by default (under `none` no framework honours a channel). */
  readonly mode: OverrideMode;
  readonly request: AttackRequest;
  /** Frameworks that, reached directly with the request's identity, serve what the rules refuse. */
  readonly honouredBy: readonly FrameworkName[];
}

const FORM = "application/x-www-form-urlencoded";
const CORS: HeaderLines = [
  ["Origin", "https://app.example.com"],
  ["Access-Control-Request-Method", "DELETE"],
];

function attack(who: Who, method: string, target: string, headers: HeaderLines = [], body?: string): AttackRequest {
  const [path = target, query = ""] = target.split(/\?(.*)/s);
  return { method, path, query, headers, body, who };
}

/** Issue 18's classes; `honouredBy` as the frameworks answered these requests sent to them directly. */
export const ATTACKS: readonly AttackCase[] = [
  {
    name: "JSON body _method",
    mode: "any",
    request: attack("bob", "POST", "/orders/1", [["Content-Type", "application/json"]], '{"_method":"DELETE"}'),
    honouredBy: ["laravel", "express"],
  },
  {
    name: "+json media type _method",
    mode: "any",
    request: attack("bob", "POST", "/orders/1", [["Content-Type", "application/vnd.api+json"]], '{"_method":"DELETE"}'),
    honouredBy: ["laravel"],
  },
  {
    name: "PHP-mangled query key .method",
    mode: "any",
    request: attack("bob", "POST", "/orders/1?.method=DELETE"),
    honouredBy: ["laravel", "symfony"],
  },
  {
    name: "PHP-mangled query key %20_method",
    mode: "any",
    request: attack("bob", "POST", "/orders/1?%20_method=DELETE"),
    honouredBy: ["laravel", "symfony"],
  },
  {
    name: "PHP-mangled body key .method",
    mode: "any",
    request: attack("bob", "POST", "/orders/1", [["Content-Type", FORM]], ".method=DELETE"),
    honouredBy: ["laravel", "symfony"],
  },
  {
    name: "loose media type: a form type followed by , text/plain",
    mode: "any",
    request: attack("bob", "POST", "/orders/1", [["Content-Type", `${FORM}, text/plain`]], "_method=DELETE"),
    honouredBy: ["laravel", "symfony", "rack", "sinatra"],
  },
  {
    name: "loose media type: upper case with parameters",
    mode: "any",
    request: attack(
      "bob",
      "POST",
      "/orders/1",
      [["Content-Type", `${FORM.toUpperCase()}; charset=utf-8`]],
      "_method=DELETE",
    ),
    honouredBy: ["laravel", "symfony", "rack", "sinatra", "express"],
  },
  {
    name: "override on PUT",
    mode: "any",
    request: attack("carol", "PUT", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"),
    honouredBy: ["hono"],
  },
  {
    name: "override on PATCH",
    mode: "any",
    request: attack("carol", "PATCH", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"),
    honouredBy: ["hono"],
  },
  {
    name: "override on DELETE (a report's DELETE served as its GET)",
    mode: "any",
    request: attack("bob", "DELETE", "/reports/1?_method=GET"),
    honouredBy: ["hono"],
  },
  {
    name: "override on OPTIONS",
    mode: "any",
    request: attack("bob", "OPTIONS", "/orders/1", [["Content-Type", FORM]], "_method=DELETE"),
    honouredBy: ["hono"],
  },
  {
    name: "override on HEAD",
    mode: "any",
    request: attack("bob", "HEAD", "/orders/1?_method=DELETE"),
    honouredBy: ["hono"],
  },
  {
    name: "override on an unknown method",
    mode: "any",
    request: attack("bob", "PURGE", "/orders/1?_method=DELETE"),
    honouredBy: ["hono"],
  },
  {
    name: "override header on GET (Flask's documented middleware)",
    mode: "any",
    request: attack("bob", "GET", "/orders/1", [["X-HTTP-Method-Override", "DELETE"]]),
    honouredBy: ["flask"],
  },
  {
    name: "OPTIONS preflight carrying _method in its query",
    mode: "any",
    request: attack("anonymous", "OPTIONS", "/orders/1?_method=DELETE", CORS),
    honouredBy: ["hono"],
  },
  {
    name: "OPTIONS preflight carrying an override header",
    mode: "any",
    request: attack("anonymous", "OPTIONS", "/orders/1", [...CORS, ["X-HTTP-Method-Override", "DELETE"]]),
    honouredBy: ["flask", "hono"],
  },
];

/**
 * Every counterexample the property found (shrunk), once each. `found` names the lane, the
 * frameworks and the fast-check seeds that found it: before the METHOD_OVERRIDE change, seeds 1 to
 * 5 with numRuns 250 and the generators as at commit ef4f4d2, and the random seeds of one run there;
 * after it, a census of seeds 1 to 10 with numRuns 1000 (test/origins/findings.md).
 */
export const COUNTEREXAMPLES: readonly { readonly found: string; readonly request: AttackRequest }[] = [
  {
    found: "worker: laravel 1, symfony 1; cache off: laravel 1, symfony 1",
    request: attack("bob", "POST", "/orders?.method=DELETE"),
  },
  {
    found: "worker: laravel 2; cache off: laravel 2",
    request: attack(
      "bob",
      "POST",
      "/orders?.method=GET",
      [["Content-Type", "APPLICATION/X-WWW-FORM-URLENCODED,"]],
      "a=1&.method=DELETE",
    ),
  },
  {
    found: "worker: laravel 3, symfony 3",
    request: attack("bob", "POST", "/orders?.method=DELETE", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: laravel 1, symfony 1",
    request: attack("bob", "POST", "/orders/x.json?a=1", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: laravel 2, laravel 3, symfony 3, rack 3, sinatra 3, flask 3, express 2, express 3, hono 3",
    request: attack("bob", "POST", "/orders", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: laravel 4, symfony 4, flask 4",
    request: attack("bob", "POST", "/orders?.method=%20DELETE%20", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: laravel 5, symfony 5, flask 5, hono 5",
    request: attack("bob", "POST", "/orders/1.json", [
      ["X-HTTP-Method-Override", "DELETE"],
      ["x-method-override", "DELETE"],
    ]),
  },
  {
    found: "worker: symfony 2; cache off: symfony 2",
    request: attack("bob", "POST", "/orders/x%20?.method=DELETE"),
  },
  {
    found: "cache on: symfony 2, rack 2, sinatra 2",
    request: attack(
      "bob",
      "POST",
      "/orders?_method=GET",
      [["Content-Type", "MULTIPART/FORM-DATA; boundary=XyZ"]],
      '--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XyZ--\r\n',
    ),
  },
  {
    found: "cache on: rack 1, sinatra 1, express 1",
    request: attack(
      "bob",
      "POST",
      "/orders?a=1",
      [
        ["X-HTTP-Method-Override", "GET"],
        ["Content-Type", "APPLICATION/X-WWW-FORM-URLENCODED"],
      ],
      "a=1&_method=DELETE",
    ),
  },
  {
    found: "cache on: rack 4, sinatra 4",
    request: attack("bob", "POST", "/orders/1.json", [
      ["X-HTTP-Method-Override", "DELETE"],
      ["X-HTTP-Method", "DELETE"],
    ]),
  },
  {
    found: "cache on: rack 5, sinatra 5",
    request: attack("bob", "POST", "/orders?_method=GET", [["X-HTTP-Method-Override", " DELETE "]]),
  },
  {
    found: "cache on: flask 1",
    request: attack("bob", "POST", "/orders/x.json?_method=DELETE", [
      ["X-HTTP-Method-Override", "DELETE"],
      ["x.http.method.override", " DELETE "],
    ]),
  },
  {
    found: "cache on: flask 2",
    request: attack("bob", "POST", "/orders?_method=GET", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: express 4, hono 4",
    request: attack("bob", "POST", "/orders?_method=DELETE", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "cache on: express 5",
    request: attack("bob", "POST", "/orders/1.json", [["X-HTTP-Method-Override", "DELETE"]]),
  },
  {
    found: "worker: hono 1",
    request: attack("anonymous", "OPTIONS", "/orders?_method=DELETE", [
      ["Origin", "https://app.example.com"],
      ["Access-Control-Request-Method", "DELETE"],
    ]),
  },
  {
    found: "worker: hono 2, hono 4, hono 5",
    request: attack("anonymous", "OPTIONS", "/orders?_method=GET", [
      ["Origin", "https://app.example.com"],
      ["Access-Control-Request-Method", "DELETE"],
    ]),
  },
  {
    found: "worker: hono 3; cache off: hono 2, hono 3",
    request: attack("carol", "PUT", "/orders?_method=DELETE"),
  },
  {
    found: "cache off: hono 1",
    request: attack(
      "carol",
      "PUT",
      "/orders/1%2F?.method=DELETE",
      [["Content-Type", "multipart/form-data; boundary=XyZ"]],
      '--XyZ\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XyZ--\r\n',
    ),
  },
  {
    found: "cache on: hono 1",
    request: attack("bob", "POST", "/orders?_method=DELETE", [["X-HTTP-Method-Override", "HEAD"]]),
  },
  {
    found: "cache on: hono 2",
    request: attack("bob", "POST", "/orders?_method=DELETE", [["X-HTTP-Method-Override", " DELETE "]]),
  },
  {
    found: "random seeds of a run at ef4f4d2: laravel cache off 1266258258",
    request: attack(
      "bob",
      "POST",
      "/orders?_method=GET",
      [["Content-Type", "APPLICATION/X-WWW-FORM-URLENCODED, text/plain"]],
      "a=1&_method=DELETE",
    ),
  },
  {
    found: "random seeds of a run at ef4f4d2: laravel cache on -885172352, express cache on -1198723758",
    request: attack("bob", "POST", "/orders/?_method=DELETE"),
  },
  {
    found: "random seeds of a run at ef4f4d2: symfony worker -1015254768",
    request: attack("bob", "POST", "/orders?.method=PUT"),
  },
  {
    found: "random seeds of a run at ef4f4d2: rack cache on -738701642",
    request: attack(
      "bob",
      "POST",
      "/orders/1.json.json?a=1",
      [["Content-Type", "application/x-www-form-urlencoded"]],
      "a=1&_method=DELETE",
    ),
  },
  {
    found: "random seeds of a run at ef4f4d2: hono cache on 1656880846",
    request: attack("bob", "POST", "/orders?_method=DELETE"),
  },
  {
    found: "after METHOD_OVERRIDE (475b482): flask cache on, seed 10 (run 870 of 1000); // is no spelling IAM names",
    request: attack("bob", "PUT", "//orders/1?a=1", [["X-HTTP-Method-Override", "DELETE"]]),
  },
];

export interface LegitimateCase {
  readonly name: string;
  readonly modes: readonly OverrideMode[];
  readonly request: AttackRequest;
  readonly served: { readonly route: Route; readonly method: string };
}

const JSON_TYPE: HeaderLines = [["Content-Type", "application/json"]];
const ITEM = '{"item":"x"}';

const BOTH: readonly OverrideMode[] = ["any", "none"];
const NONE: readonly OverrideMode[] = ["none"];

function legitimate(name: string, request: AttackRequest, route: Route, method: string, modes = BOTH): LegitimateCase {
  return { name, modes, request, served: { route, method } };
}

/**
 * A non-admin may GET an order, an admin do anything, anyone anything where no rule applies; and
 * under `none` (the origin honours no override) what the rules allow on the wire method.
 */
export const LEGITIMATE: readonly LegitimateCase[] = [
  legitimate("an admin's DELETE", attack("alice", "DELETE", "/orders/1"), "orders", "DELETE"),
  legitimate("an admin's POST of an order", attack("alice", "POST", "/orders", JSON_TYPE, ITEM), "orders", "POST"),
  legitimate("a non-admin's GET of an order", attack("bob", "GET", "/orders/1"), "orders", "GET"),
  legitimate("staff's GET of the orders", attack("carol", "GET", "/orders"), "orders", "GET"),
  legitimate("a report read with the scope", attack("alice", "GET", "/reports/1"), "reports", "GET"),
  legitimate("a non-admin's POST elsewhere", attack("bob", "POST", "/items", JSON_TYPE, ITEM), "other", "POST"),
  legitimate("a non-admin's POST of orders", attack("bob", "POST", "/orders", JSON_TYPE, ITEM), "orders", "POST", NONE),
  legitimate("staff's PUT", attack("carol", "PUT", "/orders/1", JSON_TYPE, ITEM), "orders", "PUT", NONE),
  legitimate("a non-admin's DELETE of a report", attack("bob", "DELETE", "/reports/1"), "reports", "DELETE", NONE),
];
