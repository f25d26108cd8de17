/**
 * `npm run build:edge` as a user runs it (dev/build-edge.ts in a child process): the settings are
 * checked and baked in, a bad configuration fails the build and writes nothing, and the bundle it
 * writes stays under Lambda@Edge's viewer-request limit and works as deployed: imported as Lambda
 * imports it at a cold start, with its key set fetched during init.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { CloudFrontRequest } from "aws-lambda";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { EdgeHandler } from "../../src/aws-edge/create-edge-handler.ts";
import { useDevIssuer } from "../helpers.ts";
import { headerOf, viewerRequest } from "./events.ts";

/** Lambda@Edge's quota for a viewer-request function's package ("Quotas on Lambda@Edge"): 1 MB. */
const VIEWER_REQUEST_LIMIT_BYTES = 1024 * 1024;
const ROOT = resolve(import.meta.dirname, "../..");
const issuer = useDevIssuer();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outdir: string;
}

/** `npm run build:edge -- ...args` with `env` over a bare environment, into a fresh directory. */
async function buildEdge(env: Record<string, string>, args: string[] = []): Promise<Run> {
  const outdir = mkdtempSync(join(tmpdir(), "edge-build-"));
  dirs.push(outdir);
  const tsx = join(ROOT, "node_modules/.bin/tsx");
  try {
    const { stdout, stderr } = await promisify(execFile)(tsx, ["dev/build-edge.ts", "--outdir", outdir, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    });
    return { code: 0, stdout, stderr, outdir };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr, outdir };
  }
}

let containers = 0;
/** A cold start of the built function, and what it logged meanwhile. */
async function coldStart(outdir: string): Promise<EdgeHandler> {
  containers += 1;
  const url = `${pathToFileURL(join(outdir, "viewer-request.mjs")).href}?container=${String(containers)}`;
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  try {
    return ((await import(url)) as { handler: EdgeHandler }).handler;
  } finally {
    log.mockRestore();
  }
}

describe("npm run build:edge", () => {
  it("bakes the settings in, under the 1 MB limit; the function has its key set before the first request", async () => {
    const routes = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);
    const run = await buildEdge({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: routes, UNRELATED: "x" });
    expect(run.code).toBe(0);
    const bundle = join(run.outdir, "viewer-request.mjs");
    expect(statSync(bundle).size).toBeLessThan(VIEWER_REQUEST_LIMIT_BYTES);
    // The names baked, never their values.
    expect(run.stdout).toContain("settings: AUTHGEAR_ENDPOINT, ROUTES");
    expect(run.stdout).not.toContain(issuer.origin);

    const before = issuer.hits.jwks;
    const handler = await coldStart(run.outdir);
    expect(issuer.hits.jwks - before).toBe(1);
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    const allowed = (await handler(
      viewerRequest({ uri: "/x", headers: { Authorization: `Bearer ${bob}` } }),
    )) as CloudFrontRequest;
    expect(headerOf(allowed.headers, "x-authgear-user-id")).toBe("bob");
    const refused = await handler(viewerRequest({ uri: "/admin/x", headers: { Authorization: `Bearer ${bob}` } }));
    expect(refused).toMatchObject({ status: "403" });
    // Neither request fetched the key set again.
    expect(issuer.hits.jwks - before).toBe(1);

    // The README's quick start: one event through the built function with npm run edge:invoke.
    const invoke = async (...args: string[]): Promise<string> => {
      const tsx = join(ROOT, "node_modules/.bin/tsx");
      const cli = ["dev/edge-invoke.ts", "--bundle", run.outdir, ...args];
      return (await promisify(execFile)(tsx, cli, { cwd: ROOT })).stdout;
    };
    expect(await invoke("/admin/x")).toContain('"status": "401"');
    const passed = await invoke("/x?y=1", "--header", `Authorization: Bearer ${bob}`);
    expect(passed).toMatch(/"key": "x-authgear-user-id",\s+"value": "bob"/);
    expect(passed).toContain('"querystring": "y=1"');
  });

  it("reads a settings file, the environment winning over it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-settings-"));
    dirs.push(dir);
    const file = join(dir, "edge.json");
    writeFileSync(file, JSON.stringify({ AUTHGEAR_ENDPOINT: "https://unused.example", PUBLIC_PATHS: "/open/*" }));
    const run = await buildEdge({ AUTHGEAR_ENDPOINT: issuer.origin }, ["--settings", file]);
    expect(run.code).toBe(0);
    const handler = await coldStart(run.outdir);
    expect(await handler(viewerRequest({ uri: "/open/x" }))).toMatchObject({ uri: "/open/x" });
    expect(await handler(viewerRequest({ uri: "/x" }))).toMatchObject({ status: "401" });
  });

  it("fails on a bad configuration, naming every bad key, and writes nothing", async () => {
    const values = await buildEdge({
      AUTHGEAR_ENDPOINT: "http://authgear.example",
      AUTH_MODE: "oauth",
      AUTHORIZER_CACHE_SECONDS: "60",
    });
    expect(values.code).toBe(1);
    // Another packaging's setting is named with the bad values.
    expect(values.stderr).toContain("Invalid configuration (AUTHGEAR_ENDPOINT, AUTH_MODE, AUTHORIZER_CACHE_SECONDS)");
    expect(existsSync(join(values.outdir, "viewer-request.mjs"))).toBe(false);
    // Once every value is valid: what CloudFront or a viewer-request function cannot carry out.
    const secret = "s".repeat(40);
    const combined = await buildEdge({
      AUTHGEAR_ENDPOINT: issuer.origin,
      ORIGIN_SECRET: secret,
      ORIGIN_SECRET_HEADER: "x-amz-secret",
      CLAIM_HEADERS: JSON.stringify({ "x-edge-email": "email" }),
      SERVER_TIMING: "true",
    });
    expect(combined.code).toBe(1);
    expect(combined.stderr).toContain("Invalid configuration (CLAIM_HEADERS, ORIGIN_SECRET_HEADER, SERVER_TIMING)");
    expect(combined.stderr).toContain("CloudFront does not let a viewer-request function set");
    expect(combined.stderr).not.toContain(secret);
    expect(existsSync(join(combined.outdir, "viewer-request.mjs"))).toBe(false);
  });

  it("refuses a settings file naming what is no setting, and warns of a variable that looks like one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-settings-"));
    dirs.push(dir);
    const file = join(dir, "edge.json");
    writeFileSync(
      file,
      JSON.stringify({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTE: "[]", ORIGIN_URL: "https://o.test" }),
    );
    const stray = await buildEdge({}, ["--settings", file]);
    expect(stray.code).toBe(1);
    expect(stray.stderr).toContain("names what is no setting of the function: ROUTE, ORIGIN_URL");
    expect(existsSync(join(stray.outdir, "viewer-request.mjs"))).toBe(false);
    const lookalike = await buildEdge({ AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATH: "/open/*" });
    expect(lookalike.code).toBe(0);
    expect(lookalike.stderr).toContain("PUBLIC_PATH is no setting, and is not baked in: did you mean PUBLIC_PATHS?");
  });

  it("warns that a secret given to it is baked into the code", async () => {
    const run = await buildEdge({ AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_SECRET: "s".repeat(40) });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("warning: ORIGIN_SECRET is baked into the function's code");
    expect(run.stderr + run.stdout).not.toContain("s".repeat(40));
  });

  it("with SECRET_ARN: checks the rules the secret's settings take part in, and refuses one also baked in", async () => {
    const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge/edge-Xy12Ab";
    const signing = { ASSERTION_ISSUER: "https://edge.example.com", ASSERTION_AUDIENCE: "orders" };
    const run = await buildEdge({
      AUTHGEAR_ENDPOINT: issuer.origin,
      SECRET_ARN: arn,
      SECRET_SETTINGS: "ASSERTION_KEY,ORIGIN_SECRET",
      ...signing,
    });
    expect([run.code, run.stderr]).toEqual([0, ""]);
    // No credentials in this process: the secret cannot be asked for, and nothing goes on (no network).
    vi.stubEnv("AWS_ACCESS_KEY_ID", undefined);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", undefined);
    try {
      const handler = await coldStart(run.outdir);
      const bob = await issuer.mintAccessToken({ sub: "bob" });
      const result = await handler(viewerRequest({ uri: "/x", headers: { Authorization: `Bearer ${bob}` } }));
      expect(result).toMatchObject({ status: "503" });
    } finally {
      vi.unstubAllEnvs();
    }

    const baked = await buildEdge({
      AUTHGEAR_ENDPOINT: issuer.origin,
      SECRET_ARN: arn,
      SECRET_SETTINGS: "ORIGIN_SECRET",
      ORIGIN_SECRET: "s".repeat(40),
    });
    expect(baked.code).toBe(1);
    expect(baked.stderr).toContain("Invalid configuration (ORIGIN_SECRET)");
    const unsigned = await buildEdge({ AUTHGEAR_ENDPOINT: issuer.origin, SECRET_ARN: arn, ...signing });
    expect(unsigned.code).toBe(1);
    // SECRET_SETTINGS is missing, and so ASSERTION_KEY, which the signing settings need.
    expect(unsigned.stderr).toMatch(/Invalid configuration \(.*SECRET_SETTINGS.*\)/);
  });
});
