/** Vitest helpers for the Worker tests: raw requests, and what the demo origin received during a test. */
import { request as httpRequest } from "node:http";
import type { Miniflare } from "miniflare";
import { beforeEach } from "vitest";
import type { DemoOrigin, ReceivedRequest } from "../../dev/origin.ts";

export { bundleWorker, COMPATIBILITY_DATE, startWorker, WORKER_SCRIPT } from "./miniflare.ts";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** `mf.dispatchFetch(url, init)` as a client's fetch sees it: redirects are answers, not followed. */
export function dispatch(mf: Miniflare, url: string, init: RequestInit = {}): Promise<Response> {
  return mf.dispatchFetch(url, { redirect: "manual", ...init } as never) as unknown as Promise<Response>;
}

/**
 * Sends a request with a raw request-target (no client-side URL normalization), the way an
 * attacker's client can, with `body` when given (a GET with a body, say).
 */
export async function rawRequest(
  mf: Miniflare,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  const base = await mf.ready;
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

/**
 * What the demo origin received since the current test began: registers a `beforeEach` that marks
 * the start. `origin` is read lazily, since suites start it in `beforeAll`.
 */
export function originRequestsThisTest(origin: () => DemoOrigin): () => ReceivedRequest[] {
  let before = 0;
  beforeEach(() => {
    before = origin().requests.length;
  });
  return () => origin().requests.slice(before);
}

/**
 * The settings of a Worker in front of `origin` as `npm start` runs it in resolver mode for a person: a
 * navigation without a session goes to the dev issuer's login page, and every request asks the resolver.
 */
export function loginGateSettings(issuerOrigin: string, originUrl: string): Record<string, string> {
  return {
    AUTHGEAR_ENDPOINT: issuerOrigin,
    ORIGIN_URL: originUrl,
    AUTH_MODE: "resolver",
    RESOLVER_CACHE_SECONDS: "0",
    LOGIN_URL: `${issuerOrigin}/_dev/login`,
  };
}
