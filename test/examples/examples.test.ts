/**
 * The examples, end to end, as their users run them: each imports authgear-edge by its public
 * names (the package's lib/, built before the tests). The two Workers are bundled as wrangler
 * bundles them and run in workerd; the Lambda authorizer runs in a process of its own whose
 * environment holds the settings. Each: allowed, refused, a route rule, the identity the app sees.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEvent } from "../aws/fixtures.ts";
import { bundleWorker, startWorker } from "../cloudflare/harness.ts";
import { useDevIssuer } from "../helpers.ts";

const EXAMPLES = resolve(import.meta.dirname, "../../examples");
const ROLES = "https://authgear.com/claims/user/roles";
const ADMIN_RULE = '[{"path":"/admin/*","roles":["admin"]}]';

const issuer = useDevIssuer();
let alice: string;
let bob: string;
const started: Miniflare[] = [];

beforeAll(async () => {
  [alice, bob] = await Promise.all([
    issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } }),
    issuer.mintAccessToken({ sub: "bob", claims: { [ROLES]: [] } }),
  ]);
});
afterAll(async () => {
  await Promise.all(started.map((mf) => mf.dispose()));
});

async function workerExample(
  entry: string,
  bindings: Record<string, string>,
): Promise<(path: string, token?: string) => Promise<{ status: number; body: unknown; challenge: string | null }>> {
  const mf = startWorker(
    { AUTHGEAR_ENDPOINT: issuer.origin, ...bindings },
    1,
    [],
    await bundleWorker(resolve(EXAMPLES, entry)),
  );
  started.push(mf);
  return async (path, token) => {
    const response = await mf.dispatchFetch(
      `https://app.example${path}`,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    );
    const text = await response.text();
    return {
      status: response.status,
      body: text.startsWith("{") ? (JSON.parse(text) as unknown) : text,
      challenge: response.headers.get("www-authenticate"),
    };
  };
}

describe("examples/hono-worker: a Hono app on Workers with authgear()", () => {
  let get: Awaited<ReturnType<typeof workerExample>>;
  beforeAll(async () => {
    // Its wrangler.toml's vars, with the dev issuer.
    get = await workerExample("hono-worker/index.ts", { PUBLIC_PATHS: "/public/*", ROUTES: ADMIN_RULE });
  });

  it("gives the app the identity of an allowed request", async () => {
    expect(await get("/me", bob)).toMatchObject({ status: 200, body: { user: "bob", roles: [] } });
  });

  it("refuses a request without a token with a 401 and its challenge, before the app runs", async () => {
    expect(await get("/me")).toMatchObject({
      status: 401,
      body: { error: "unauthorized", code: "ERR_CREDENTIALS_MISSING" },
      challenge: `Bearer realm="${issuer.origin}"`,
    });
  });

  it("applies ROUTES: /admin/* for the admin role only", async () => {
    expect(await get("/admin/stats", bob)).toMatchObject({ status: 403, body: { code: "ERR_INSUFFICIENT_SCOPE" } });
    expect(await get("/admin/stats", alice)).toMatchObject({ status: 200, body: { admin: "alice" } });
  });

  it("lets a public path through without credentials, the identity unset", async () => {
    expect(await get("/public/hello")).toMatchObject({ status: 200, body: { hello: "world", user: null } });
  });
});

describe("examples/worker-route: an existing Worker deciding one route with the core", () => {
  let get: Awaited<ReturnType<typeof workerExample>>;
  beforeAll(async () => {
    get = await workerExample("worker-route/index.ts", { ROUTES: '[{"path":"/api/admin/*","roles":["admin"]}]' });
  });

  it("answers /api/* with the identity, and refuses it without a token", async () => {
    expect(await get("/api/profile", bob)).toMatchObject({ status: 200, body: { path: "/api/profile", user: "bob" } });
    expect(await get("/api/profile")).toMatchObject({ status: 401, body: { code: "ERR_CREDENTIALS_MISSING" } });
    // Bob's claims under Alice's signature.
    const forged = `${bob.split(".").slice(0, 2).join(".")}.${alice.split(".")[2] ?? ""}`;
    expect(await get("/api/profile", forged)).toMatchObject({ status: 401, body: { code: "ERR_JWT_SIGNATURE" } });
  });

  it("applies ROUTES under /api/", async () => {
    expect(await get("/api/admin/users", bob)).toMatchObject({ status: 403 });
    expect(await get("/api/admin/users", alice)).toMatchObject({
      status: 200,
      body: { user: "alice", roles: ["admin"] },
    });
  });

  it("leaves the rest of the app alone", async () => {
    expect(await get("/about")).toEqual({
      status: 200,
      body: "the rest of the app, not authenticated here\n",
      challenge: null,
    });
  });
});

describe("examples/lambda-authorizer: an existing authorizer wrapping createHandler", () => {
  type Outcome = {
    result?: {
      principalId?: string;
      policyDocument?: { Statement: Array<{ Effect: string; Resource: string[] }> };
      context?: Record<string, unknown>;
    };
    error?: string;
  };
  let outcomes: Outcome[];
  const ARN = (path: string) => `arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET${path}`;

  beforeAll(async () => {
    const events = [
      requestEvent({ path: "/orders", headers: { Authorization: `Bearer ${bob}`, "x-tenant": "acme" } }),
      requestEvent({ path: "/orders" }),
      requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${bob}` } }),
      requestEvent({ path: "/admin/users", headers: { Authorization: `Bearer ${alice}`, "x-tenant": "Not Valid!" } }),
    ];
    // The container's environment: the settings, and nothing of this process's own.
    const child = spawn(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "lambda-container.ts")], {
      env: {
        PATH: process.env.PATH ?? "",
        AUTHGEAR_ENDPOINT: issuer.origin,
        ROUTES: ADMIN_RULE,
        AUTHORIZER_CACHE_SECONDS: "0",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.end(JSON.stringify(events));
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    const line = stdout.split("\n").find((text) => text.startsWith("RESULTS "));
    if (code !== 0 || line === undefined)
      throw new Error(`the Lambda container exited with ${String(code)}:\n${stdout}`);
    outcomes = JSON.parse(line.slice("RESULTS ".length)) as Outcome[];
  }, 30_000);

  it("allows exactly the request's ARN, with the identity and its own context field", () => {
    expect(outcomes[0]?.result).toMatchObject({
      principalId: "bob",
      policyDocument: { Statement: [{ Effect: "Allow", Resource: [ARN("/orders")] }] },
      context: { userId: "bob", sessionValid: "true", tenant: "acme" },
    });
  });

  it("refuses a request without a token: Unauthorized (401)", () => {
    expect(outcomes[1]).toEqual({ error: "Unauthorized" });
  });

  it("applies ROUTES: a Deny (403) for bob on /admin/*, an Allow for the admin, whose bad tenant header is ignored", () => {
    expect(outcomes[2]?.result).toMatchObject({
      principalId: "bob",
      policyDocument: { Statement: [{ Effect: "Deny", Resource: [ARN("/admin/users")] }] },
    });
    expect(outcomes[3]?.result).toMatchObject({
      principalId: "alice",
      policyDocument: { Statement: [{ Effect: "Allow", Resource: [ARN("/admin/users")] }] },
    });
    expect(outcomes[3]?.result?.context).not.toHaveProperty("tenant");
  });
});
