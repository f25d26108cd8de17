/** Shared test fixtures: an authenticator wired to a dev issuer with a controllable clock and recorded side effects. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAuthenticator, type AuthenticatorDeps } from "../src/core/authenticator.ts";
import { parseConfig } from "../src/core/config.ts";
import { AuthError } from "../src/core/errors.ts";
import type { LogFields } from "../src/core/ports.ts";
import type { DevIssuer } from "../dev/issuer.ts";

export interface Harness {
  readonly auth: ReturnType<typeof createAuthenticator>;
  /** Moves the authenticator's clock forward. */
  advance(seconds: number): void;
  /** The authenticator's clock, Unix seconds (mint with `issuedAt` to stay valid after `advance`). */
  nowSeconds(): number;
  readonly fetched: string[];
  readonly logs: Array<{ event: string } & LogFields>;
  readonly deferred: Array<Promise<unknown>>;
  /** Waits for every background refresh started so far. */
  settle(): Promise<void>;
}

export function harness(
  issuer: DevIssuer,
  env: Record<string, string> = {},
  deps: Partial<AuthenticatorDeps> = {},
): Harness {
  let offsetMs = 0;
  const fetched: string[] = [];
  const logs: Harness["logs"] = [];
  const deferred: Array<Promise<unknown>> = [];
  const auth = createAuthenticator(parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, ...env }), {
    clock: () => Date.now() + offsetMs,
    fetcher: (url, init) => {
      fetched.push(url);
      return fetch(url, init);
    },
    logger: { log: (event, fields) => logs.push({ event, ...fields }) },
    defer: (promise) => {
      deferred.push(promise.catch(() => undefined));
    },
    keySetTiming: { fetch: { timeoutMs: 1000, maxBytes: 64 * 1024 } },
    ...deps,
  });
  return {
    auth,
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
    nowSeconds: () => Math.floor((Date.now() + offsetMs) / 1000),
    fetched,
    logs,
    deferred,
    async settle() {
      await Promise.all(deferred);
    },
  };
}

export function bearer(token: string): Headers {
  return new Headers({ authorization: `Bearer ${token}` });
}

/** The `code` of a refusal, or "ok". */
export async function outcome(h: Harness, token: string): Promise<string> {
  const result = await h.auth.authenticate(bearer(token));
  return result.ok ? "ok" : result.error.code;
}

/** A port that was free on 127.0.0.1 a moment ago, for servers started by another process. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The `AuthError` `run` throws; fails the test when it throws nothing, and rethrows any other error. */
export function refusal(run: () => unknown): AuthError {
  try {
    run();
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}
