/**
 * examples/express-origin as its users run it: its own process, the settings in its environment,
 * `authgear-edge/assertion` by its public name (the package's lib/), a real JWKS server on
 * 127.0.0.1, and assertions signed here to the documented format.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  ISSUER,
  nowSeconds,
  sign,
  signingKey,
  startExpressOrigin,
  startJwksServer,
  userClaims,
  verifiedUserClaims,
  type ExampleOrigin,
  type JwksServer,
  type SigningKey,
} from "../assertion-fixtures.ts";

const HEADER = "x-authgear-edge-assertion";

let gate: SigningKey;
let jwks: JwksServer;
let example: ExampleOrigin;

beforeAll(async () => {
  gate = await signingKey("gate-1");
  // Down at first, to see the origin's answer when it cannot fetch the gate's keys.
  jwks = await startJwksServer([gate.jwk]);
  jwks.serve(503);
  const settings = { ASSERTION_JWKS_URL: jwks.url, ASSERTION_ISSUER: ISSUER, ASSERTION_AUDIENCE: AUDIENCE };
  example = await startExpressOrigin(settings);
}, 15_000);
afterAll(async () => {
  example.stop();
  await jwks.close();
});

async function call(path: string, assertion?: string, method = "GET"): Promise<{ status: number; body: unknown }> {
  const headers = assertion === undefined ? {} : { [HEADER]: assertion };
  const response = await fetch(`${example.url}${path}`, { method, headers });
  return { status: response.status, body: await response.json() };
}

describe("examples/express-origin: an Express origin that accepts only the gate's assertion", () => {
  it("answers 503, not 401, while the gate's key set cannot be fetched", async () => {
    try {
      expect(await call("/me", await sign(gate, userClaims()))).toEqual({
        status: 503,
        body: { error: "ERR_ASSERTION_KEYS_UNAVAILABLE" },
      });
    } finally {
      jwks.serve([gate.jwk]);
    }
  });

  it("answers a request with a valid assertion with who the caller is", async () => {
    const claims = userClaims();
    expect(await call("/orders/7", await sign(gate, claims))).toEqual({
      status: 200,
      body: {
        path: "/orders/7",
        caller: verifiedUserClaims(claims),
      },
    });
  });

  it("refuses (401) every request without one, whatever its method or path", async () => {
    const requests = [
      ["GET", "/me"],
      ["POST", "/orders"],
      ["DELETE", "/orders/7"],
      ["GET", "/no/such/route"],
    ] as const;
    for (const [method, path] of requests) {
      expect(await call(path, undefined, method), `${method} ${path}`).toEqual({
        status: 401,
        body: { error: "ERR_ASSERTION_MISSING" },
      });
    }
  });

  it("refuses (401) a forged, an expired, another audience's and an access token", async () => {
    const attacker = await signingKey("gate-1");
    const now = nowSeconds();
    const refused = [
      await sign(attacker, userClaims()),
      await sign(gate, userClaims({ iat: now - 120, exp: now - 60 })),
      await sign(gate, userClaims({ aud: "https://other-origin.example" })),
      await sign(gate, userClaims(), { typ: "at+jwt" }),
      "not-a-jwt",
    ];
    const answers = await Promise.all(refused.map((assertion) => call("/me", assertion)));
    expect(answers.map(({ status }) => status)).toEqual([401, 401, 401, 401, 401]);
    expect(answers.map(({ body }) => (body as { error: string }).error)).toEqual([
      "ERR_ASSERTION_INVALID",
      "ERR_ASSERTION_EXPIRED",
      "ERR_ASSERTION_INVALID",
      "ERR_ASSERTION_INVALID",
      "ERR_ASSERTION_MALFORMED",
    ]);
  });
});
