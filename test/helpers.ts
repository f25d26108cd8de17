/** Shared test fixtures: an authenticator wired to a dev issuer with a controllable clock and recorded side effects. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createAuthenticator, type AuthenticatorDeps } from "../src/core/authenticator.ts";
import { parseConfig } from "../src/core/config.ts";
import { AuthError } from "../src/core/errors.ts";
import type { LogFields } from "../src/core/ports.ts";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startDevIssuer, type DevIssuer, type ResolverFailureMode } from "../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin } from "../dev/origin.ts";

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

/** The error of class `kind` that `run` throws; fails the test when it throws nothing, and rethrows any other error. */
export function thrownBy<E extends Error>(kind: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (error) {
    if (error instanceof kind) return error;
    throw error;
  }
  throw new Error(`expected a ${kind.name}, and nothing was thrown`);
}

/** The `AuthError` `run` throws; fails the test when it throws nothing, and rethrows any other error. */
export function refusal(run: () => unknown): AuthError {
  return thrownBy(AuthError, run);
}

/**
 * A server for the tests of the enclosing suite (the file, or the `describe` it is called in): `start`
 * runs in `beforeAll`, `close` in `afterAll`. What it returns stands for the started server (its members
 * are read from it at each use), so tests write `issuer.origin` as with their own `let`.
 */
function startedForSuite<T extends { close(): Promise<void> }>(what: string, start: () => Promise<T>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as T, {
    get(_target, name) {
      // Not a thenable: `await` and vitest's matchers may probe for `then`.
      if (name === "then") return undefined;
      if (started === undefined) throw new Error(`the ${what} is used before its beforeAll started it`);
      return Reflect.get(started, name) as unknown;
    },
  });
}

/**
 * A dev issuer for the suite (see {@link startedForSuite}). `restoreEachTest`: `restoreDefaults()` before
 * each test, so that a failure mode one test sets never reaches the next. Default false.
 */
export function useDevIssuer(
  options?: Parameters<typeof startDevIssuer>[0],
  { restoreEachTest = false }: { restoreEachTest?: boolean } = {},
): DevIssuer {
  const issuer = startedForSuite("dev issuer", () => startDevIssuer(options));
  if (restoreEachTest) {
    beforeEach(() => {
      issuer.restoreDefaults();
    });
  }
  return issuer;
}

/** The demo origin for the suite (see {@link startedForSuite}). */
export function useDemoOrigin(): DemoOrigin {
  return startedForSuite("demo origin", () => startDemoOrigin());
}

/** The dev resolver's failure modes that a gate must fail closed on (503): all but `none` and `no-headers`. */
export const FAILING_RESOLVER_MODES = [
  "http500",
  "hang",
  "redirect",
  "malformed",
  "malformed-user-id",
  "duplicated",
  "duplicated-user-id",
  "missing-user-id",
] as const satisfies readonly ResolverFailureMode[];
