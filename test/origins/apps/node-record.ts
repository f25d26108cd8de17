/**
 * What the Node apps (Express, Hono) put on every answer: the route and method of the handler the framework ran,
 * the path it routed and the identity header it received, as the other apps do in their own languages.
 */
export const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export type RouteName = "orders" | "reports" | "other";

export function servedHeaders(route: RouteName, method: string, path: string, user: string | undefined) {
  return {
    "x-served-route": route,
    "x-served-method": method.toUpperCase(),
    "x-served-path": encodeURIComponent(path),
    "x-served-user": user ?? "-",
  };
}

/** Prints the line the harness waits for: the app is listening on that port. */
export function announce(port: number): void {
  process.stdout.write(`LISTENING ${port}\n`);
}
