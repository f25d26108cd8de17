/**
 * `npm run doctor` as a user runs it: src/doctor/cli.ts in a child process, its settings from the
 * environment, against the dev issuer on 127.0.0.1. One line per check, the exit status, and
 * neither the token nor a secret's value in anything it prints.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { ALL_SETTING_NAMES } from "../../src/doctor/settings.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Every setting of either packaging, empty: the settings of the environment the tests run in do not leak in. */
const NO_SETTINGS = Object.fromEntries(ALL_SETTING_NAMES.map((name) => [name, ""]));
const CHILD_TIMEOUT_MS = 20_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/doctor/cli.ts", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...NO_SETTINGS, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`doctor did not exit within ${CHILD_TIMEOUT_MS} ms: ${stdout}${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? "");
  });
}

let issuer: DevIssuer;

beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

describe("npm run doctor", () => {
  it("prints one passing line per check and exits 0 for a healthy setup and a valid token", async () => {
    const token = await issuer.mintAccessToken({ sub: "dev-user" });
    const run = await runCli(["--token", token], { AUTHGEAR_ENDPOINT: issuer.origin });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines.map((line) => /^(\S) (\w+):/.exec(line)?.slice(1, 3).join(" "))).toEqual([
      "✓ configuration",
      "✓ discovery",
      "✓ issuer",
      "✓ jwks",
      "✓ keys",
      "✓ algorithms",
      "– resolver",
      "✓ token",
      undefined,
    ]);
    expect(lines[7]).toContain("✓ token: valid: verified by the gate itself (RS256, kid ");
    expect(lines[8]).toBe("All checks passed.");
    expect(run.stdout + run.stderr).not.toContain(token);
  }, 30_000);

  it("names each failure with its fix on its line, exits 1, and prints neither the token nor a secret", async () => {
    const token = issuer.createSession("dev-user").opaqueAccessToken;
    const secret = "s3cr3t-origin-value-0123456789abcdefghijklmnop";
    const run = await runCli(["--token", token], {
      AUTHGEAR_ENDPOINT: issuer.origin,
      ALGORITHMS: "ES256",
      ORIGIN_SECRET: secret,
    });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toContainEqual(
      expect.stringMatching(/^✗ algorithms: ALGORITHMS=ES256, but the published key .* — fix: set ALGORITHMS=RS256 /),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^✗ token: an opaque token, not a JWT .* — the gate answers 401 ERR_JWT_MALFORMED — fix: .*enable \*Issue JWT as access token\* for the client/,
      ),
    );
    expect(lines.at(-1)).toBe("2 checks failed: algorithms, token.");
    expect(run.stdout + run.stderr).not.toContain(token);
    expect(run.stdout + run.stderr).not.toContain(secret);
  }, 30_000);

  it("reads the token from standard input with --token -", async () => {
    const token = await issuer.mintAccessToken();
    const run = await runCli(["--token", "-"], { AUTHGEAR_ENDPOINT: issuer.origin }, `${token}\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("✓ token: valid");
    expect(run.stdout).not.toContain(token);
  }, 30_000);

  it("checks every issuer of ISSUERS, each line naming its issuer, and explains a machine token read from standard input", async () => {
    const machine = await startDevIssuer();
    try {
      const token = await machine.mintClientAccessToken({
        clientId: "inventory",
        resource: "https://api.example.local",
      });
      const ISSUERS = JSON.stringify([
        { issuer: issuer.origin },
        { issuer: machine.origin, resources: ["https://api.example.local"] },
      ]);
      const ROUTES = '[{"path":"/m2m/*","subject":"client"}]';
      const run = await runCli(["--token", "-"], { ISSUERS, ROUTES }, `${token}\n`);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const lines = run.stdout.trimEnd().split("\n");
      for (const origin of [issuer.origin, machine.origin]) {
        for (const name of ["discovery", "issuer", "jwks", "keys", "algorithms"]) {
          expect(lines).toContainEqual(
            expect.stringMatching(new RegExp(`^✓ ${name} \\(${origin.replaceAll(".", "\\.")}\\): `)),
          );
        }
      }
      expect(lines).toContainEqual(
        expect.stringMatching(
          /^✓ token: valid: .*; a machine client's token \(client-credentials grant\): client inventory, .*ROUTES\[0\] \/m2m\/\* admits it$/,
        ),
      );
      expect(run.stdout + run.stderr).not.toContain(token);
    } finally {
      await machine.close();
    }
  }, 30_000);

  it("fails a look-alike name (AUTH_MOD=hybrid) and a configuration the authorizer refuses at start-up, exit 1", async () => {
    const lookalike = await runCli([], { AUTHGEAR_ENDPOINT: issuer.origin, AUTH_MOD: "hybrid" });
    expect(lookalike.code, lookalike.stdout).toBe(1);
    expect(lookalike.stdout).toMatch(
      /^✗ configuration: valid .*AUTH_MODE=jwt.*: AUTH_MOD \(did you mean AUTH_MODE\?\)\. — fix: rename each/m,
    );
    expect(lookalike.stdout.trimEnd().split("\n").at(-1)).toBe("1 check failed: configuration.");
    const env = { AUTHGEAR_ENDPOINT: issuer.origin, AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "300" };
    const refused = await runCli([], env);
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stdout).toMatch(
      /^✗ configuration: valid .*; read as a Lambda authorizer's \(AUTHORIZER_CACHE_SECONDS set\), which refuses to start with it: Invalid configuration \(AUTHORIZER_CACHE_SECONDS\)\. AUTHORIZER_CACHE_SECONDS: cookie credentials .* — fix: for each setting the message names, do what it says/m,
    );
    expect(refused.stdout.trimEnd().split("\n").at(-1)).toBe("1 check failed: configuration.");
  }, 30_000);

  it("stops at a bad configuration with the one message naming every bad key, and exits 1; a usage error exits 2", async () => {
    const bad = await runCli([], { AUTH_MODE: "bogus" });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^✗ configuration: Invalid configuration \(AUTHGEAR_ENDPOINT, AUTH_MODE\)\. .* — fix: /);
    const usage = await runCli(["--tokn", "x"], { AUTHGEAR_ENDPOINT: issuer.origin });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown argument "--tokn"');
  }, 30_000);
});
