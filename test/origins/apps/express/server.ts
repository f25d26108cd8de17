/**
 * Express 5 with the `method-override` package, configured as its README's documented usages, stacked:
 * the header `X-HTTP-Method-Override`, the query key `_method`, and the body `_method` custom getter after
 * `express.urlencoded` and `express.json`. method-override examines POST only (its default `methods`).
 */
import express, { type Request, type Response } from "express";
import methodOverride from "method-override";
import type { AddressInfo } from "node:net";
import { announce, ROUTE_METHODS, servedHeaders, type RouteName } from "../node-record.ts";

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(express.json());
const overriding = (process.env.ORIGIN_METHOD_OVERRIDE ?? "on") === "on";
if (overriding) app.use(methodOverride("X-HTTP-Method-Override"));
if (overriding) app.use(methodOverride("_method"));
/** The README's "custom logic" getter: `_method` from the parsed body, removed from it. */
function bodyMethod(req: Request): string | undefined {
  const body: unknown = req.body;
  if (body !== null && typeof body === "object" && "_method" in body) {
    const method = body._method;
    delete (body as { _method?: unknown })._method;
    return typeof method === "string" ? method : undefined;
  }
  return undefined;
}
// method-override's types want a string, but its code (and README) treat undefined as "no override".
if (overriding) app.use(methodOverride(bodyMethod as (req: Request) => string));

function answer(route: RouteName, method: string) {
  return (req: Request, res: Response) => {
    res.set(servedHeaders(route, method, req.path, req.get("x-authgear-user-id"))).send(`${route} ${method}\n`);
  };
}

type Register = (path: string, handler: ReturnType<typeof answer>) => unknown;
for (const [route, paths] of [
  ["orders", ["/orders/:id", "/orders"]],
  ["reports", ["/reports/:id"]],
] as const) {
  for (const method of ROUTE_METHODS) {
    const register = (app[method.toLowerCase() as Lowercase<typeof method>] as Register).bind(app);
    for (const path of paths) register(path, answer(route, method));
  }
}
app.use((req: Request, res: Response) => {
  answer("other", req.method)(req, res);
});

const server = app.listen(0, "127.0.0.1", () => {
  announce((server.address() as AddressInfo).port);
});
