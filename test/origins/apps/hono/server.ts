/**
 * Hono 4 with its `methodOverride` middleware in the three configurations its documentation shows, stacked:
 * the form key `_method` (the default), the header `X-HTTP-Method-Override` and the query key `_method`.
 * Served on Node by @hono/node-server. Hono answers a HEAD with the GET handler: no HEAD handler can run.
 */
import { serve } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { methodOverride } from "hono/method-override";
import { announce, ROUTE_METHODS, servedHeaders, type RouteName } from "../node-record.ts";

const app = new Hono();
if ((process.env.ORIGIN_METHOD_OVERRIDE ?? "on") === "on") {
  app.use(methodOverride({ app }));
  app.use(methodOverride({ app, header: "X-HTTP-Method-Override" }));
  app.use(methodOverride({ app, query: "_method" }));
}

function answer(route: RouteName, method: string) {
  return (c: Context) => {
    const headers = servedHeaders(route, method, c.req.path, c.req.header("x-authgear-user-id"));
    return c.text(`${route} ${method}\n`, 200, headers);
  };
}

for (const [route, paths] of [
  ["orders", ["/orders/:id", "/orders"]],
  ["reports", ["/reports/:id"]],
] as const) {
  for (const method of ROUTE_METHODS) {
    for (const path of paths) app.on(method, path, answer(route, method));
  }
}
app.all("*", (c) => answer("other", c.req.method)(c));

serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
  announce(info.port);
});
