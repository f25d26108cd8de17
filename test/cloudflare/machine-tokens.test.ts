/**
 * Machine-to-machine tokens and several issuers through the built Worker in real workerd: what the
 * origin receives for a client and for each issuer's user (byte for byte), the refusals, an
 * unknown issuer refused with no request to anyone, an issuer that is down, each issuer's key set
 * shared across isolates under its own Cache API entry, and a rotation at one issuer.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoOrigin, type DemoOrigin, type ReceivedRequest } from "../../dev/origin.ts";
import { startFourProjects, type AuthgearProject, type FourProjects } from "../fixtures/authgear-tokens.ts";
import { originRequestsThisTest, startWorker } from "./harness.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";

const RESOURCE = "https://api.example.com";

let a: AuthgearProject;
let b: AuthgearProject;
/** Trusted, but its server is down from the start. */
let down: AuthgearProject;
/** Never trusted. */
let stranger: AuthgearProject;
let closeProjects: FourProjects["close"];
let origin: DemoOrigin;
let mf: Miniflare;

function issuersSetting(...projects: AuthgearProject[]): string {
  return JSON.stringify(projects.map((project) => ({ issuer: project.issuer, resources: [RESOURCE] })));
}

/** Clients with a scope on /machine, any client on /clients, only B's users on /b-only. */
function routes(): string {
  return JSON.stringify([
    { path: "/machine/*", subject: "client", scopes: ["read:orders"] },
    { path: "/clients/*", subject: "client" },
    { path: "/b-only/*", issuers: [b.issuer] },
  ]);
}

beforeAll(async () => {
  ({ a, b, down, stranger, close: closeProjects } = await startFourProjects());
  origin = await startDemoOrigin();
  mf = startWorker({ ISSUERS: issuersSetting(a, b, down), ROUTES: routes(), ORIGIN_URL: origin.url }, 2);
});
afterAll(async () => {
  await mf.dispose();
  await origin.close();
  await closeProjects();
});

const seen = originRequestsThisTest(() => origin);

interface Answer {
  readonly status: number;
  readonly challenge: string | null;
  readonly code: unknown;
}

async function send(path: string, token: string, headers: Record<string, string> = {}, isolate = 0): Promise<Answer> {
  const worker = await mf.getWorker(`gate-${isolate}`);
  const response = await worker.fetch(`https://gate.example.com${path}`, {
    headers: { ...headers, authorization: `Bearer ${token}` },
  });
  const body = await response.text();
  const code = response.status === 200 ? undefined : (JSON.parse(body) as { code?: unknown }).code;
  return { status: response.status, challenge: response.headers.get("www-authenticate"), code };
}

/** The identity headers the origin received, exactly (any `x-authgear-*`, in any spelling). */
function identityOf(request: ReceivedRequest | undefined): Record<string, string | string[]> {
  const entries = Object.entries(request?.headers ?? {});
  return Object.fromEntries(entries.filter(([name]) => /^x[-_.]authgear[-_.]/i.test(name)));
}

const SPOOFED = {
  "x-authgear-user-id": "mallory",
  "X-Authgear-Session-Valid": "true",
  "x-authgear-edge-kind": "user",
  "x-authgear-edge-client-id": "spoofed",
  x_authgear_edge_issuer: "https://evil.example",
};

describe("a machine client in workerd", () => {
  it("reaches the origin with only its kind, issuer, client id and scope; its own identity headers gone", async () => {
    const scope = "read:orders write:orders";
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope });
    const answer = await send("/machine/orders", token, SPOOFED);
    expect(answer.status).toBe(200);
    const [received] = seen();
    expect(identityOf(received)).toEqual({
      "x-authgear-edge-kind": "client",
      "x-authgear-edge-issuer": a.issuer,
      "x-authgear-edge-client-id": "inventory",
      "x-authgear-edge-scope": "read:orders write:orders",
    });
    expect(received?.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("sends no scope header for a token without scope, and is refused where a rule asks for one", async () => {
    const token = await b.mintClient({ clientId: "bare", resourceUri: RESOURCE, scope: "" });
    expect((await send("/machine/orders", token)).status).toBe(403);
    expect((await send("/clients/1", token, SPOOFED)).status).toBe(200);
    const received = seen();
    expect(received).toHaveLength(1);
    expect(identityOf(received[0])).toEqual({
      "x-authgear-edge-kind": "client",
      "x-authgear-edge-issuer": b.issuer,
      "x-authgear-edge-client-id": "bare",
    });
  });

  it("is refused: 403 insufficient_scope where no rule admits it, 401 invalid_token for another resource", async () => {
    const token = await a.mintClient({ clientId: "inventory", resourceUri: RESOURCE, scope: "read:orders" });
    for (const path of ["/users/1", "/b-only/1", "/"]) {
      const answer = await send(path, token, SPOOFED);
      expect(answer.status, path).toBe(403);
      expect(answer.challenge, path).toContain('error="insufficient_scope"');
      expect(answer.code, path).toBe("ERR_INSUFFICIENT_SCOPE");
    }
    const other = "https://other.example.com";
    const elsewhere = await a.mintClient({ clientId: "inventory", resourceUri: other, scope: "read:orders" });
    const refused = await send("/machine/orders", elsewhere);
    expect([refused.status, refused.code]).toEqual([401, "ERR_JWT_CLAIM_INVALID"]);
    expect(refused.challenge).toContain('error="invalid_token"');
    expect(seen()).toEqual([]);
  });
});

describe("several issuers in workerd", () => {
  it("passes each issuer's user on with its issuer; the issuers rule admits only B's", async () => {
    const userB = await b.mintUser({ userId: "bob", amr: ["pwd", "otp"], authenticatedAt: 1_700_000_000 });
    expect((await send("/b-only/1", userB, SPOOFED)).status).toBe(200);
    const userA = await a.mintUser({ userId: "alice" });
    expect((await send("/b-only/1", userA)).status).toBe(403);
    expect((await send("/users/1", userA)).status).toBe(200);
    const [fromB, fromA] = seen();
    expect(identityOf(fromB)).toEqual(
      userIdentityHeaders("bob", {
        "x-authgear-session-amr": "pwd otp",
        "x-authgear-session-authenticated-at": "1700000000",
        "x-authgear-edge-kind": "user",
        "x-authgear-edge-issuer": b.issuer,
      }),
    );
    expect(identityOf(fromA)).toMatchObject({ "x-authgear-user-id": "alice", "x-authgear-edge-issuer": a.issuer });
  });

  it("refuses an untrusted issuer's token with no request to any issuer", async () => {
    const before = [a, b, stranger].map((project) => ({ ...project.dev.hits }));
    const tokens = [await stranger.mintUser(), await stranger.mintClient({ clientId: "x", resourceUri: RESOURCE })];
    for (const token of tokens) {
      const answer = await send("/machine/1", token);
      expect([answer.status, answer.code]).toEqual([401, "ERR_JWT_CLAIM_INVALID"]);
    }
    expect([a, b, stranger].map((project) => ({ ...project.dev.hits }))).toEqual(before);
    expect(seen()).toEqual([]);
  });

  it("answers 503 for the issuer that is down, and keeps serving the others", async () => {
    const refused = await send("/users/1", await down.mintUser());
    expect([refused.status, refused.code]).toEqual([503, "ERR_KEYSET_UNAVAILABLE"]);
    expect((await send("/users/1", await a.mintUser())).status).toBe(200);
    expect((await send("/users/1", await b.mintUser())).status).toBe(200);
    expect(seen()).toHaveLength(2);
  });

  it("keeps each issuer's key set under its own entry of caches.default, shared by the isolates", async () => {
    const before = [a, b].map((project) => project.dev.hits.jwks);
    const tokens = [await a.mintUser(), await b.mintUser(), await a.mintUser(), await b.mintUser()];
    for (const isolate of [1, 0, 1]) {
      for (const token of tokens) expect((await send("/users/1", token, {}, isolate)).status).toBe(200);
    }
    // Fetched by the tests above (isolate 0); isolate 1 reads both from the cache.
    expect([a, b].map((project) => project.dev.hits.jwks)).toEqual(before);
  });
});

describe("a rotation at one issuer, in workerd", () => {
  it("refetches that issuer's key set only", async () => {
    const fast = startWorker({ ISSUERS: issuersSetting(a, b), ORIGIN_URL: origin.url, JWKS_MAX_AGE_SECONDS: "2" });
    try {
      const status = async (token: string): Promise<number> => {
        const init = { headers: { authorization: `Bearer ${token}` } };
        const response = await fast.dispatchFetch("https://gate.example.com/users/1", init);
        await response.arrayBuffer();
        return response.status;
      };
      expect([await status(await a.mintUser()), await status(await b.mintUser())]).toEqual([200, 200]);
      const before = [a, b].map((project) => project.dev.hits.jwks);
      await b.rotate();
      // The kid-miss cooldown is min(30 s, JWKS_MAX_AGE_SECONDS).
      await sleep(2100);
      expect(await status(await b.mintUser())).toBe(200);
      expect([a, b].map((project, index) => project.dev.hits.jwks - (before[index] ?? 0))).toEqual([0, 1]);
    } finally {
      await fast.dispose();
    }
  });
});
