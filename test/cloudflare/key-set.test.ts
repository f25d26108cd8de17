/** The Worker's key set in real workerd: shared through caches.default, rotated, and down. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Miniflare } from "miniflare";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin } from "../../dev/origin.ts";
import { startWorker } from "./harness.ts";

let issuer: DevIssuer;
let origin: DemoOrigin;
let mf: Miniflare | undefined;

beforeEach(async () => {
  issuer = await startDevIssuer();
  origin = await startDemoOrigin();
});
afterEach(async () => {
  await mf?.dispose();
  mf = undefined;
  await origin.close();
  await issuer.close();
});

async function status(isolate: number, token: string): Promise<number> {
  const worker = await mf!.getWorker(`gate-${isolate}`);
  const response = await worker.fetch("https://gate.example.com/x", { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

describe("the key set in the Worker", () => {
  it("is fetched once across many requests and across two isolates sharing caches.default", async () => {
    mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url }, 2);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.mintAccessToken()));
    expect(await Promise.all(tokens.map((token) => status(0, token)))).toEqual(tokens.map(() => 200));
    for (const token of tokens) expect(await status(1, token)).toBe(200);
    for (const token of tokens) expect(await status(0, token)).toBe(200);
    expect(issuer.hits).toMatchObject({ discovery: 1, jwks: 1 });
    expect(origin.requests).toHaveLength(60);
  });

  it("picks up a rotation: the new key's first token after the cooldown triggers one refetch", async () => {
    mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, JWKS_MAX_AGE_SECONDS: "2" });
    const oldToken = await issuer.mintAccessToken();
    expect(await status(0, oldToken)).toBe(200);
    await issuer.addKey({ sign: true });
    const newToken = await issuer.mintAccessToken();
    // The kid-miss cooldown is min(30 s, JWKS_MAX_AGE_SECONDS): within it, an unseen kid is refused without a fetch.
    expect(await status(0, newToken)).toBe(401);
    expect(issuer.hits.jwks).toBe(1);
    await sleep(2100);
    expect(await status(0, newToken)).toBe(200);
    expect(issuer.hits.jwks).toBe(2);
    // The old key is still published: its tokens keep verifying, with no further fetch.
    expect(await status(0, oldToken)).toBe(200);
    expect(await status(0, await issuer.mintAccessToken())).toBe(200);
    expect(issuer.hits.jwks).toBe(2);
  });

  it("serves a stale copy while the issuer is down, then answers 503 with Retry-After once the window closes", async () => {
    mf = startWorker({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_URL: origin.url,
      JWKS_MAX_AGE_SECONDS: "1",
      JWKS_STALE_SECONDS: "2",
    });
    expect(await status(0, await issuer.mintAccessToken())).toBe(200);
    issuer.setFailure("http500");
    await sleep(1200);
    expect(await status(0, await issuer.mintAccessToken())).toBe(200);
    await sleep(2000);
    const worker = await mf.getWorker("gate-0");
    const response = await worker.fetch("https://gate.example.com/x", {
      headers: { authorization: `Bearer ${await issuer.mintAccessToken()}` },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(response.headers.get("www-authenticate")).toBeNull();
    expect(await response.json()).toMatchObject({ code: "ERR_KEYSET_UNAVAILABLE" });
    expect(origin.requests).toHaveLength(2);
  });

  it("answers 503, not 401 or 200, when the key set was never reachable", async () => {
    issuer.setFailure("hang");
    mf = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, PUBLIC_PATHS: "/public/*" });
    const worker = await mf.getWorker("gate-0");
    const token = await issuer.mintAccessToken();
    const started = Date.now();
    const response = await worker.fetch("https://gate.example.com/x", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(8000);
    // On a public path an unreachable key set only means no identity is attached.
    const open = await worker.fetch("https://gate.example.com/public/x", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(open.status).toBe(200);
    expect(origin.requests.map((request) => request.path)).toEqual(["/public/x"]);
    expect(origin.requests[0]?.headers["x-authgear-user-id"]).toBeUndefined();
  });
});
