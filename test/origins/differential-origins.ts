/** The origins the differential property runs against (a stand-in until test/origins/frameworks.ts lands). */
import { startStandIn } from "./stand-in-origin.ts";

export type FrameworkName = "stand-in";
export const FRAMEWORKS: readonly FrameworkName[] = ["stand-in"];

export interface Served {
  readonly route: "orders" | "reports" | "other";
  readonly method: string;
  readonly path: string;
  readonly user: string | undefined;
}

export interface RunningOrigin {
  readonly name: FrameworkName;
  readonly url: string;
  close(): Promise<void>;
}

export async function startFramework(name: FrameworkName): Promise<RunningOrigin> {
  const standIn = await startStandIn();
  return { name, url: standIn.url, close: () => standIn.close() };
}

export function readServed(headers: Record<string, string | string[] | undefined>): Served | undefined {
  const get = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  const route = get("x-served-route");
  const method = get("x-served-method");
  const path = get("x-served-path");
  const user = get("x-served-user");
  if ((route !== "orders" && route !== "reports" && route !== "other") || method === undefined || path === undefined || user === undefined) return undefined;
  return { route, method, path: decodeURIComponent(path), user: user === "-" ? undefined : user };
}
