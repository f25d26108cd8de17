/**
 * CLAIM_HEADERS through the Worker in real workerd: what the origin receives for a token with
 * custom claims, byte for byte; what never reaches it (a value the encoding cannot spell, a
 * client's copy of a configured header in any spelling, on every kind of request).
 */
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin, type ReceivedRequest } from "../../dev/origin.ts";
import { bundleWorker, originRequestsThisTest, startWorker } from "./harness.ts";

const ORG = "https://example.com/claims/org_id";
const CLAIM_HEADERS = JSON.stringify({
  "X-User-Email": "email",
  "x-org-id": ORG,
  "x-groups": "groups",
  "x-level": "level",
  "x-staff": "staff",
  "x-name": "name",
  "x-note": "note",
  "x-address": "address",
  "x-missing": "missing",
});
/** Every spelling a client might use for the configured headers, each with a forged value. */
const FORGED = {
  "X-User-Email": "forged@evil.example",
  x_user_email: "forged@evil.example",
  "x.user.email": "forged@evil.example",
  "X_ORG.ID": "evil-org",
  "x-missing": "forged",
  "X.Missing": "forged",
};

let issuer: DevIssuer;
let origin: DemoOrigin;
let script: string;
const started: Miniflare[] = [];
const logs: string[] = [];

beforeAll(async () => {
  [issuer, origin, script] = await Promise.all([
    startDevIssuer(),
    startDemoOrigin(),
    bundleWorker(resolve(import.meta.dirname, "../../src/cloudflare/worker.ts")),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all(started.map((mf) => mf.dispose()));
  await Promise.all([origin.close(), issuer.close()]);
});

function gate(bindings: Record<string, string>): Miniflare {
  const settings = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, CLAIM_HEADERS, ...bindings };
  const mf = startWorker(settings, 1, logs, script);
  started.push(mf);
  return mf;
}

const seen = originRequestsThisTest(() => origin);

interface Sent {
  readonly method?: string;
  readonly headers?: Record<string, string>;
}

async function send(mf: Miniflare, path: string, init: Sent = {}): Promise<number> {
  const response = await mf.dispatchFetch(`https://gate.example${path}`, { ...init, redirect: "manual" });
  await response.arrayBuffer();
  return response.status;
}

/** The headers the origin received whose canonical name is a configured one's (any spelling). */
function claimHeadersOf(request: ReceivedRequest | undefined): Record<string, string | string[]> {
  const configured = new Set(Object.keys(JSON.parse(CLAIM_HEADERS) as object).map((name) => name.toLowerCase()));
  const entries = Object.entries(request?.headers ?? {}).filter(([name]) => configured.has(name.replace(/[_.]/g, "-")));
  return Object.fromEntries(entries);
}

function omittedLines(): Array<Record<string, unknown>> {
  return logs
    .filter((line) => line.includes('"claim_header_omitted"'))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>);
}

describe("CLAIM_HEADERS in the Worker", () => {
  it("sends a token's custom claims to the origin exactly as documented, and strips every client copy", async () => {
    const mf = gate({});
    const token = await issuer.mintAccessToken({
      sub: "alice",
      claims: {
        email: "alice@example.com",
        [ORG]: "org_42",
        groups: ["eng", "ops team", 7, true],
        level: 3.5,
        staff: false,
        name: "Zoë Smith",
        note: "hi\r\nx-authgear-user-id: admin",
        address: { country: "NZ" },
      },
    });
    logs.length = 0;
    expect(await send(mf, "/private", { headers: { authorization: `Bearer ${token}`, ...FORGED } })).toBe(200);
    const [received] = seen();
    expect(claimHeadersOf(received)).toEqual({
      "x-user-email": "alice@example.com",
      "x-org-id": "org_42",
      "x-groups": "eng,ops team,7,true",
      "x-level": "3.5",
      "x-staff": "false",
    });
    expect(received?.headers["x-authgear-user-id"]).toBe("alice");
    const omitted = omittedLines().map(({ header, claim, reason }) => ({ header, claim, reason }));
    expect(omitted).toEqual([
      { header: "x-name", claim: "name", reason: "not_ascii" },
      { header: "x-note", claim: "note", reason: "control_character" },
      { header: "x-address", claim: "address", reason: "object" },
    ]);
    expect(logs.join("\n")).not.toContain("Smith");

    // The same token again: the same headers (computed once for the cached identity).
    expect(await send(mf, "/private", { headers: { authorization: `Bearer ${token}` } })).toBe(200);
    expect(claimHeadersOf(seen()[1])).toEqual(claimHeadersOf(received));
  });

  it("strips client copies on public paths, preflights and report-only refusals (no claim header there)", async () => {
    const mf = gate({ PUBLIC_PATHS: "/public/*" });
    const reportOnly = gate({ REPORT_ONLY: "true" });
    expect(await send(mf, "/public/page", { headers: FORGED })).toBe(200);
    const preflight = { origin: "https://app.example", "access-control-request-method": "PUT", ...FORGED };
    expect(await send(mf, "/private", { method: "OPTIONS", headers: preflight })).toBe(200);
    expect(await send(reportOnly, "/private", { headers: FORGED })).toBe(200);
    const received = seen();
    const requests = received.map(({ method, path }) => `${method} ${path}`);
    expect(requests).toEqual(["GET /public/page", "OPTIONS /private", "GET /private"]);
    for (const request of received) expect(claimHeadersOf(request)).toEqual({});
    expect(received[2]?.headers["x-authgear-edge-report"]).toBe("ERR_CREDENTIALS_MISSING");
  });

  it("strips a client's copy of a claim header a browser also sends, from a forwarded preflight too", async () => {
    const mf = gate({ CLAIM_HEADERS: JSON.stringify({ referer: "ref" }) });
    const preflight = {
      origin: "https://app.example",
      "access-control-request-method": "PUT",
      referer: "https://forged.example/",
    };
    expect(await send(mf, "/private", { method: "OPTIONS", headers: preflight })).toBe(200);
    const [received] = seen();
    expect(received?.headers.origin).toBe("https://app.example");
    expect(received?.headers.referer).toBeUndefined();
  });

  it("sends no claim header when the claim is absent, and nothing at all for a refused request", async () => {
    const mf = gate({ ROUTES: JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]) });
    const token = await issuer.mintAccessToken({ sub: "bob" });
    expect(await send(mf, "/private", { headers: { authorization: `Bearer ${token}`, ...FORGED } })).toBe(200);
    expect(await send(mf, "/admin/x", { headers: { authorization: `Bearer ${token}`, ...FORGED } })).toBe(403);
    const received = seen();
    expect(received).toHaveLength(1);
    expect(claimHeadersOf(received[0])).toEqual({});
  });

  it("refuses to start when a claim header is named as a header the gate or a proxy owns", async () => {
    const mf = gate({ CLAIM_HEADERS: JSON.stringify({ X_Forwarded_For: "email" }) });
    logs.length = 0;
    expect(await send(mf, "/private")).toBe(500);
    const invalid = logs.find((line) => line.includes('"config_invalid"'));
    expect(invalid).toContain("CLAIM_HEADERS");
    expect(invalid).toContain("X_Forwarded_For");
    expect(seen()).toEqual([]);
  });
});
