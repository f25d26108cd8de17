/**
 * The signed identity assertion end to end: the built authorizer under serverless-offline with
 * serverless.yml's example API (a Lambda proxy backend that echoes requestContext.authorizer),
 * the settings passed through serverless.yml's environment. The backend's `edgeAssertion` is
 * verified with jose against the public key taken from the private JWK here. serverless-offline
 * applies no integration request mapping, so the header mappings of serverless.yml are not run.
 */
import { createLocalJWKSet, jwtVerify, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import type { PrivateAssertionJwk } from "../../src/core/index.ts";
import { startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";

let issuer: DevIssuer;
let offline: Offline;
let key: PrivateAssertionJwk;

beforeAll(async () => {
  [issuer, key] = await Promise.all([startDevIssuer(), newAssertionKey("offline-1")]);
  offline = await startOffline({
    AUTHGEAR_ENDPOINT: issuer.origin,
    ASSERTION_KEY: JSON.stringify(key),
    ASSERTION_ISSUER: "https://gate.example.com",
    ASSERTION_AUDIENCE: "https://backend.example.com",
    AUTHORIZER_CACHE_SECONDS: "30",
  });
}, STARTUP_MS + 10_000);

afterAll(async () => {
  await offline.stop();
  await issuer.close();
});

describe("serverless offline, ASSERTION_KEY set", () => {
  it("hands the backend a verifiable assertion for the caller in requestContext.authorizer.edgeAssertion", async () => {
    const token = await issuer.mintAccessToken({ sub: "offline-user" });
    const response = await fetch(`${offline.url}/hello`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const { authorizer } = (await response.json()) as { authorizer?: Record<string, unknown> };
    const { d: _private, ...publicPart } = key;
    const { payload } = await jwtVerify(
      String(authorizer?.edgeAssertion),
      createLocalJWKSet({ keys: [publicPart as JWK] }),
      {
        issuer: "https://gate.example.com",
        audience: "https://backend.example.com",
        typ: "authgear-edge+jwt",
      },
    );
    expect([payload.sub, payload.kind, payload.token_iss]).toEqual(["offline-user", "user", issuer.origin]);
    const anonymous = await fetch(`${offline.url}/hello`);
    expect(anonymous.status).toBe(401);
  });
});
