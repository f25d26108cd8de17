/**
 * An unforeseen exception inside `authenticate` (a bug, a failing dependency) is `ERR_INTERNAL`
 * (500): refused, never reported as a bad token, logged once without its message.
 */
import { describe, expect, it } from "vitest";
import { createAuthenticator, type AuthenticatorDeps } from "../../src/core/authenticator.ts";
import { parseConfig } from "../../src/core/config.ts";
import { errorResponse } from "../../src/core/errors.ts";
import type { FetchResponse, LogFields } from "../../src/core/ports.ts";

const ISSUER = "https://issuer.example";
/** Three base64url segments: read as a JWT, so the request reaches verification. */
const TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA";

function gate(env: Record<string, string>, deps: AuthenticatorDeps) {
  const logs: Array<{ event: string } & LogFields> = [];
  const fetched: string[] = [];
  const auth = createAuthenticator(parseConfig({ AUTHGEAR_ENDPOINT: ISSUER, ...env }), {
    logger: { log: (event, fields) => logs.push({ event, ...fields }) },
    fetcher: (url) => {
      fetched.push(url);
      return Promise.reject(new Error("no network in this test"));
    },
    ...deps,
  });
  return { auth, logs, fetched };
}

const throwingClock = (): number => {
  throw new TypeError(`clock broke while reading ${TOKEN}`);
};

describe("an unforeseen exception in authenticate", () => {
  it("is ERR_INTERNAL with a fixed message and the exception as its cause, never ERR_JWT_MALFORMED", async () => {
    const { auth, fetched } = gate({}, { clock: throwingClock });
    const result = await auth.authenticate(new Headers({ authorization: `Bearer ${TOKEN}` }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("ERR_INTERNAL");
    expect(result.error.message).toBe("The gateway failed unexpectedly.");
    expect(result.error.cause).toBeInstanceOf(TypeError);
    expect(fetched).toEqual([]);
  });

  it("is logged once, with the exception's class and where it was thrown, never its message", async () => {
    const { auth, logs } = gate({}, { clock: throwingClock });
    await auth.authenticate(new Headers({ authorization: `Bearer ${TOKEN}` }));
    expect(logs).toEqual([
      {
        event: "authenticate_failed",
        error: "TypeError",
        at: expect.stringMatching(/^throwingClock \(.*internal-failure\.test\.ts:\d+:\d+\)/) as unknown,
      },
    ]);
    expect(JSON.stringify(logs)).not.toContain("clock broke");
    expect(JSON.stringify(logs)).not.toContain(TOKEN.split(".")[2]);
  });

  it("is answered 500 with no challenge and no detail", async () => {
    const { auth } = gate({}, { clock: throwingClock });
    const result = await auth.authenticate(new Headers({ authorization: `Bearer ${TOKEN}` }));
    if (result.ok) throw new Error("allowed");
    const response = errorResponse(result.error, "r", "https://api.example/.well-known/oauth-protected-resource");
    expect(response.status).toBe(500);
    expect(response.headers["www-authenticate"]).toBeUndefined();
    expect(JSON.parse(response.body)).toEqual({
      error: "server_error",
      error_description: "The gateway failed unexpectedly.",
      code: "ERR_INTERNAL",
    });
  });

  it("names a thrown non-Error by its type", async () => {
    const { auth, logs } = gate(
      {},
      {
        clock: () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
          throw "a string";
        },
      },
    );
    const result = await auth.authenticate(new Headers({ authorization: `Bearer ${TOKEN}` }));
    expect(result.ok ? "ok" : result.error.code).toBe("ERR_INTERNAL");
    expect(logs).toEqual([{ event: "authenticate_failed", error: "string" }]);
  });

  it("still resolves to ERR_INTERNAL when the logger throws too", async () => {
    const { auth } = gate(
      {},
      {
        clock: throwingClock,
        logger: {
          log() {
            throw new TypeError("logger broke");
          },
        },
      },
    );
    const result = await auth.authenticate(new Headers({ authorization: `Bearer ${TOKEN}` }));
    expect(result.ok ? "ok" : result.error.code).toBe("ERR_INTERNAL");
  });

  it("in resolver mode: a fetcher whose answer cannot be read is ERR_INTERNAL, not a session verdict", async () => {
    const broken: FetchResponse = {
      status: 200,
      headers: {
        get() {
          throw new TypeError("headers broke");
        },
      },
      body: null,
      bodyUsed: false,
    };
    const { auth, logs } = gate(
      { AUTH_MODE: "resolver", RESOLVER_URL: `${ISSUER}/resolve` },
      { fetcher: () => Promise.resolve(broken) },
    );
    const result = await auth.authenticate(new Headers({ authorization: "Bearer opaque-session-token" }));
    expect(result.ok ? "ok" : result.error.code).toBe("ERR_INTERNAL");
    expect(logs.map(({ event, error }) => [event, error])).toEqual([["authenticate_failed", "TypeError"]]);
  });
});
