/**
 * In workerd: `LOG_LEVEL` as the deployed Worker (dist/worker.js) reads it, and a Worker built
 * with `createWorker({ settings, onInvalidConfig: "throw" })` (settings typed in code, ROUTES an
 * array).
 */
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { bundleWorker, startWorker } from "./harness.ts";

let issuer: DevIssuer;
let throwing: string;
const started: Miniflare[] = [];
beforeAll(async () => {
  [issuer, throwing] = await Promise.all([
    startDevIssuer(),
    bundleWorker(resolve(import.meta.dirname, "workers/throwing-worker.ts")),
  ]);
});
afterAll(async () => {
  await Promise.all(started.map((mf) => mf.dispose()));
  await issuer.close();
});

/** An origin nothing listens on: a public request there writes `origin_unreachable` (an error line). */
const DEAD_ORIGIN = "http://127.0.0.1:9";
const BAD_TOKEN = "not-a-jwt-but-a-long-secret-opaque-value";

function events(logs: readonly string[]): Array<Record<string, unknown>> {
  return logs
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.event === "string");
}

describe("LOG_LEVEL in the Worker", () => {
  /** The lines of a bad token's 401, then of a public request's 502 (whose error line ends the wait). */
  async function linesFor(level: string | undefined): Promise<Array<Record<string, unknown>>> {
    const logs: string[] = [];
    const bindings = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: DEAD_ORIGIN, PUBLIC_PATHS: "/public/*" };
    const mf = startWorker(level === undefined ? bindings : { ...bindings, LOG_LEVEL: level }, 1, logs);
    started.push(mf);
    const refused = await mf.dispatchFetch("https://gate.example/x", {
      headers: { authorization: `Bearer ${BAD_TOKEN}` },
    });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    const unreachable = await mf.dispatchFetch("https://gate.example/public/a");
    expect(unreachable.status).toBe(502);
    await unreachable.arrayBuffer();
    await expect.poll(() => events(logs).some((line) => line.event === "origin_unreachable")).toBe(true);
    expect(logs.join("\n")).not.toContain(BAD_TOKEN.slice(0, 16));
    return events(logs).map(({ level: lineLevel, event, code }) => ({ level: lineLevel, event, code }));
  }

  it("error: a bad token writes nothing, an unreachable origin its line", async () => {
    expect(await linesFor("error")).toEqual([{ level: "error", event: "origin_unreachable", code: undefined }]);
  });

  it("info (the default): a bad token writes one info line, without the token", async () => {
    const expected = [
      { level: "info", event: "request_refused", code: "ERR_JWT_MALFORMED" },
      { level: "error", event: "origin_unreachable", code: undefined },
    ];
    expect(await linesFor("info")).toEqual(expected);
    expect(await linesFor(undefined)).toEqual(expected);
  });
});

describe('createWorker({ onInvalidConfig: "throw" })', () => {
  it("throws the ConfigError from fetch instead of answering the gate's 500; a good configuration serves", async () => {
    const logs: string[] = [];
    const bad = startWorker({ AUTHGEAR_ENDPOINT: "http://authgear.example", LOG_LEVEL: "loud" }, 1, logs, throwing);
    started.push(bad);
    const response = await bad.dispatchFetch("https://gate.example/x");
    expect(response.status).toBe(500);
    // Not the gate's JSON answer (`server_error`, no key named) but the exception, which Miniflare shows.
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(/Invalid configuration \(AUTHGEAR_ENDPOINT, LOG_LEVEL\)/);
    // Thrown at every request; logged once (the gate is built once per env).
    const again = await bad.dispatchFetch("https://gate.example/x");
    expect(await again.text()).toMatch(/Invalid configuration \(AUTHGEAR_ENDPOINT, LOG_LEVEL\)/);
    await expect
      .poll(() => events(logs).map(({ event, keys }) => [event, keys]))
      .toEqual([["config_invalid", "AUTHGEAR_ENDPOINT,LOG_LEVEL"]]);
    const good = startWorker({ AUTHGEAR_ENDPOINT: issuer.origin }, 1, [], throwing);
    started.push(good);
    const token = await issuer.mintAccessToken({ sub: "ada", claims: {} });
    const admin = await good.dispatchFetch("https://gate.example/admin/x", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(admin.status).toBe(403);
    await admin.arrayBuffer();
  });
});
