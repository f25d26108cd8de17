/**
 * `createWorker(options)` in workerd: settings given in code (a var of the same name wins), an
 * origin fetch of the user's (a service binding's place), and `cache: null` (each isolate keeps
 * its own key set). What `export default createWorker()` does is the rest of the Worker tests.
 */
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin } from "../../dev/origin.ts";
import { bundleWorker, originRequestsThisTest, startWorker } from "./harness.ts";

let issuer: DevIssuer;
let origin: DemoOrigin;
let script: string;
const started: Miniflare[] = [];

beforeAll(async () => {
  [issuer, origin, script] = await Promise.all([
    startDevIssuer(),
    startDemoOrigin(),
    bundleWorker(resolve(import.meta.dirname, "workers/factory-worker.ts")),
  ]);
});
afterAll(async () => {
  await Promise.all(started.map((mf) => mf.dispose()));
  await Promise.all([origin.close(), issuer.close()]);
});

function gate(bindings: Record<string, string>, isolates = 1): Miniflare {
  const mf = startWorker(
    { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, ...bindings },
    isolates,
    [],
    script,
  );
  started.push(mf);
  return mf;
}

const seen = originRequestsThisTest(() => origin);
const get = async (mf: Miniflare, path: string, token?: string): Promise<number> => {
  const response = await mf.dispatchFetch(
    `https://gate.example${path}`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  await response.arrayBuffer();
  return response.status;
};

describe("createWorker(options)", () => {
  it("applies settings given in code, and sends allowed requests through its own origin fetch", async () => {
    const mf = gate({});
    const user = await issuer.mintAccessToken({ sub: "bob" });
    expect(await get(mf, "/public/page")).toBe(200);
    expect(await get(mf, "/private")).toBe(401);
    expect(await get(mf, "/admin/users", user)).toBe(403);
    expect(await get(mf, "/private", user)).toBe(200);
    expect(
      seen().map(({ path, headers }) => ({ path, sentBy: headers["x-sent-by"], user: headers["x-authgear-user-id"] })),
    ).toEqual([
      { path: "/public/page", sentBy: "fetchOrigin", user: undefined },
      { path: "/private", sentBy: "fetchOrigin", user: "bob" },
    ]);
  });

  it("runs authorize after the rules: refused like a rule, failing closed, not reaching the origin", async () => {
    const mf = gate({});
    const [mallory, crash, bob] = await Promise.all(
      ["mallory", "crash", "bob"].map((sub) => issuer.mintAccessToken({ sub })),
    );
    const headers = { authorization: `Bearer ${mallory}` };
    const refused = await mf.dispatchFetch("https://gate.example/private", { headers });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toContain("The application's check refused this request.");
    await refused.arrayBuffer();
    expect(await get(mf, "/private", crash)).toBe(500);
    expect(await get(mf, "/public/page", mallory)).toBe(200);
    expect(await get(mf, "/private", bob)).toBe(200);
    expect(seen().map(({ path, headers }) => `${path} ${String(headers["x-authgear-user-id"] ?? "-")}`)).toEqual([
      "/public/page mallory",
      "/private bob",
    ]);
  });

  it("lets a var of the same name win over a setting in code, and an empty or blank var not hide it", async () => {
    const user = await issuer.mintAccessToken({ sub: "bob" });
    for (const blank of ["", " \t\n "]) {
      const overridden = gate({ PUBLIC_PATHS: "/open/*", ROUTES: blank });
      expect(await get(overridden, "/public/page")).toBe(401);
      expect(await get(overridden, "/open/page")).toBe(200);
      // ROUTES is blank in the vars (read as unset): the rule given in code still holds.
      expect(await get(overridden, "/admin/users", user)).toBe(403);
    }
  });

  it("with cache: null, keeps each isolate's key set to itself: one key-set fetch per isolate", async () => {
    const mf = gate({}, 2);
    const token = await issuer.mintAccessToken({ sub: "carol" });
    const before = issuer.hits.jwks;
    for (const index of [0, 1]) {
      const worker = await mf.getWorker(`gate-${index}`);
      const response = await worker.fetch("https://gate.example/private", {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(issuer.hits.jwks - before).toBe(2);
  });
});
