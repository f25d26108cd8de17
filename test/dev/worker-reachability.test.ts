/**
 * The check `npm run deploy:worker` runs before `wrangler deploy`: wrangler configurations in
 * temporary directories, read with wrangler's own reader, and the command itself (with
 * `--dry-run`, so nothing is uploaded).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reachability, readWorkerTargets } from "../../dev/worker-reachability.ts";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const WORKER = join(ROOT, "src/cloudflare/worker.ts");
const ROUTE = 'routes = [{ pattern = "api.example.com/*", zone_name = "example.com" }]';

let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "authgear-edge-reach-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A wrangler.toml of `lines` after name, main and compatibility_date; returns its path. */
async function config(...lines: string[]): Promise<string> {
  const file = join(dir, `wrangler-${++count}.toml`);
  const head = ['name = "gate"', `main = "${WORKER}"`, 'compatibility_date = "2026-04-26"'];
  await writeFile(file, [...head, ...lines, ""].join("\n"));
  return file;
}

async function check(lines: string[], env?: string) {
  return reachability(readWorkerTargets(await config(...lines), env), env);
}

describe("a Worker no request can reach is refused", () => {
  it("the repository's own wrangler.toml, as shipped (workers_dev = false, no route)", () => {
    const { refusal } = reachability(readWorkerTargets(join(ROOT, "wrangler.toml")));
    expect(refusal).toContain(
      "authgear-edge would deploy unreachable: wrangler.toml has workers_dev = false and no route",
    );
    expect(refusal).toContain("Set a route");
    expect(refusal).toContain("workers_dev = true with ORIGIN_URL");
  });

  it("workers_dev = false and an empty routes list", async () => {
    expect((await check(["workers_dev = false", "routes = []"])).refusal).toContain("would deploy unreachable");
  });

  it("an environment without a route, though the top level has one", async () => {
    const lines = ["workers_dev = false", ROUTE, "[env.staging]", "workers_dev = false", "routes = []"];
    expect((await check(lines, "staging")).refusal).toContain("wrangler.toml's [env.staging] has workers_dev = false");
    expect((await check(lines)).refusal).toBeUndefined();
  });
});

describe("a Worker that can be reached is let through", () => {
  it.each([
    ["routes", ["workers_dev = false", ROUTE]],
    ["route", ["workers_dev = false", 'route = "api.example.com/*"']],
    ["a custom domain", ["workers_dev = false", 'routes = [{ pattern = "api.example.com", custom_domain = true }]']],
    [
      "workers_dev = true with ORIGIN_URL",
      ["workers_dev = true", "[vars]", 'ORIGIN_URL = "https://origin.example.com"'],
    ],
    ["wrangler's default (workers.dev) with ORIGIN_URL", ["[vars]", 'ORIGIN_URL = "https://origin.example.com"']],
  ])("%s", async (_, lines) => {
    expect(await check(lines)).toEqual({ refusal: undefined, warnings: [] });
  });

  it("workers.dev alone without ORIGIN_URL: a warning (a secret may set it), not a refusal", async () => {
    const { refusal, warnings } = await check(["workers_dev = true"]);
    expect(refusal).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining("sets no ORIGIN_URL")]);
  });
});

describe("npm run deploy:worker", () => {
  const deploy = (args: string[]) =>
    run(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "dev/deploy-worker.ts"), ...args], {
      cwd: dir,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_SEND_ERROR_REPORTS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_HIDE_BANNER: "true",
      },
      timeout: 60_000,
    });

  it("stops before wrangler with the reason, exit status 1", { timeout: 70_000 }, async () => {
    const outdir = join(dir, "refused");
    const refused = await deploy([
      "--config",
      await config("workers_dev = false"),
      "--dry-run",
      "--outdir",
      outdir,
    ]).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain("Not deploying: gate would deploy unreachable");
    // wrangler never ran: it would have written the bundle.
    await expect(readFile(join(outdir, "worker.js"), "utf8")).rejects.toThrow("ENOENT");
  });

  it("runs wrangler deploy with the same options when the Worker can be reached", { timeout: 70_000 }, async () => {
    const outdir = join(dir, "out");
    await deploy(["--config", await config("workers_dev = false", ROUTE), "--dry-run", "--outdir", outdir]);
    expect(await readFile(join(outdir, "worker.js"), "utf8")).toContain("fetch");
  });
});
