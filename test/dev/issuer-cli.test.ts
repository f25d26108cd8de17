/**
 * `npx tsx dev/issuer-cli.ts`: the dev issuer alone. What it prints says how to mint tokens (`expires_in`,
 * `kind`), and every doctor command it prints reads the token from standard input (`--token -`), never from
 * the command line, and works as printed.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_SETTING_NAMES } from "../../src/doctor/settings.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NO_SETTINGS = Object.fromEntries(ALL_SETTING_NAMES.map((name) => [name, ""]));
const READY = "Ctrl-C stops the issuer.";

let child: ChildProcess | undefined;
let printed = "";

beforeAll(async () => {
  const started = spawn(process.execPath, ["--import", "tsx", "dev/issuer-cli.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...NO_SETTINGS, DEV_ISSUER_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  await new Promise<void>((resolve, reject) => {
    started.stdout.on("data", (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes(READY)) resolve();
    });
    started.stderr.on("data", (chunk: Buffer) => (printed += chunk.toString()));
    started.once("exit", (code) => {
      reject(new Error(`issuer-cli exited (${String(code)}) before it was ready:\n${printed}`));
    });
  });
}, 60_000);

afterAll(() => {
  child?.kill("SIGTERM");
});

/** The printed commands, a command's `\`-continued lines joined. */
function commands(): string[] {
  return printed
    .replaceAll("\\\n", " ")
    .split("\n")
    .filter((line) => /^(curl|echo) /.test(line));
}

/** Runs a printed command in bash from the project root: its exit status and what it wrote. */
function runPrinted(command: string): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", `set -o pipefail; ${command}`],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...NO_SETTINGS }, timeout: 90_000 },
      (error, stdout, stderr) => {
        // A command killed or not started: -1, never taken for an exit status.
        let status = error === null ? 0 : -1;
        if (typeof error?.code === "number") status = error.code;
        resolve({ status, output: stdout + stderr });
      },
    );
  });
}

describe("issuer-cli", () => {
  it("documents POST /_dev/token: expires_in (negative: already expired) and kind id_token", () => {
    expect(printed).toContain('"expires_in"?: integer seconds, -86400 to 86400, negative: already expired');
    expect(printed).toContain('"kind"?: "access_token" | "id_token"');
    expect(printed).toMatch(/^curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/_dev\/token .*"expires_in":-60/m);
    expect(printed).toMatch(/^curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/_dev\/token .*"kind":"id_token"/m);
  });

  it("prints every doctor command with --token - (standard input), none with a token on the command line", () => {
    const doctorCommands = commands().filter((command) => command.includes("npm run"));
    expect(doctorCommands).toHaveLength(5);
    for (const command of doctorCommands) expect(command).toMatch(/ \| [^|]*npm run -s doctor -- --token -$/);
    expect(printed).not.toMatch(/--token(?:=| +)(?!-\W|-$)\S/m);
  });

  it("each printed doctor command works as printed, and the doctor explains its token", async () => {
    const doctorCommands = commands().filter((command) => command.includes("npm run"));
    const results = await Promise.all(doctorCommands.map(runPrinted));
    const tokenLines = results.map(({ output }) => /^[✓✗] token: .*$/m.exec(output)?.[0] ?? output);
    expect(results.map(({ status }) => status)).toEqual([0, 1, 1, 1, 1]);
    expect(tokenLines[0]).toMatch(/^✓ token: valid: .*user dev-user/);
    expect(tokenLines[1]).toMatch(/^✗ token: expired: .*ERR_JWT_EXPIRED/);
    expect(tokenLines[2]).toMatch(/^✗ token: an ID token, not an access token: .*ERR_JWT_TYPE/);
    expect(tokenLines[3]).toMatch(/^✗ token: valid, but useless here: .*client dev-machine, .*scope orders:read/);
    expect(tokenLines[4]).toMatch(/^✗ token: an opaque token, not a JWT/);
  }, 120_000);
});
