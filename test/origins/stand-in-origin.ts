/**
 * A stand-in recording origin on node:http with the x-served-* headers of test/origins/frameworks.ts,
 * used only until the real framework apps land: it honours an override header, `_method` in the
 * query and in a url-encoded body, on POST, as Express's method-override and Rack do.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandIn {
  readonly url: string;
  close(): Promise<void>;
}

function routeOf(path: string): "orders" | "reports" | "other" {
  if (/^\/orders(?:\/[^/]+)?$/.test(path)) return "orders";
  if (/^\/reports\/[^/]+$/.test(path)) return "reports";
  return "other";
}

export async function startStandIn(): Promise<StandIn> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://stand-in");
      let method = req.method ?? "GET";
      if (method === "POST") {
        const header = req.headers["x-http-method-override"];
        const form = /^application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "") ? new URLSearchParams(Buffer.concat(chunks).toString()) : undefined;
        const named = (typeof header === "string" ? header : undefined) ?? url.searchParams.get("_method") ?? form?.get("_method") ?? undefined;
        if (named !== undefined) method = named.toUpperCase();
      }
      const user = req.headers["x-authgear-user-id"];
      res.writeHead(200, {
        "x-served-route": routeOf(url.pathname),
        "x-served-method": method,
        "x-served-path": encodeURIComponent(url.pathname),
        "x-served-user": typeof user === "string" ? user : "-",
      });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}
