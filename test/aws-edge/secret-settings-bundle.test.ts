/**
 * The secrets' code as the edge bundle carries it (esbuild, ESM, Node): small, working against the Secrets
 * Manager stand-in in a fresh Node process, and without loading undici (Node's `fetch`, `Headers`: tens of
 * milliseconds of a cold start). aws4 is CommonJS and `require`s Node's modules, which an ESM bundle only
 * offers when the build defines `require` (`REQUIRE_BANNER`): without it, the import fails.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "./secrets-manager-stand-in.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** What an ESM bundle for Node needs in front for a CommonJS dependency's `require("crypto")`. */
const REQUIRE_BANNER = 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);';
const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge-AbC123";
const ROLE = {
  accessKeyId: "ASIAEDGEEXAMPLE00002",
  secretAccessKey: "bundleSecretAccessKeyEXAMPLE/0123456789ab",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLEbundleSessionToken",
};
const ORIGIN_SECRET = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6-bundled";
/** Far more than the secrets' code needs (about 30 KB with the core's settings and valibot), far less than 1 MB. */
const MAX_BYTES = 64 * 1024;

const dir = mkdtempSync(join(tmpdir(), "secrets-bundle-"));
let server: SecretsManagerStandIn;

beforeAll(async () => {
  server = await startSecretsManagerStandIn({
    region: "us-east-1",
    keys: [ROLE],
    secrets: [{ arn: ARN, secretString: JSON.stringify({ ORIGIN_SECRET }) }],
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function bundle(name: string, banner: string | undefined): Promise<string> {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    stdin: {
      contents: 'export { createSecretSettings } from "./src/aws-edge/secret-settings.ts";',
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    minify: true,
    outfile,
    logLevel: "silent",
    ...(banner === undefined ? {} : { banner: { js: banner } }),
  });
  return outfile;
}

/** Loads the secret in a new Node process through the bundle; what it got, and whether undici was loaded. */
async function loadInChild(file: string): Promise<{ values?: unknown; error?: string; undici: boolean }> {
  const script = `
    const out = (result) => console.log(JSON.stringify({ ...result, undici: process.moduleLoadList.some((m) => m.includes("undici")) }));
    try {
      const { createSecretSettings } = await import(${JSON.stringify(pathToFileURL(file).href)});
      const settings = createSecretSettings(${JSON.stringify(ARN)}, ["ORIGIN_SECRET"], {
        endpoint: ${JSON.stringify(server.endpoint)},
        credentials: () => (${JSON.stringify(ROLE)}),
      });
      out({ values: await settings.load() });
    } catch (error) {
      out({ error: String(error) });
    }`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout) as { values?: unknown; error?: string; undici: boolean };
}

describe("the secrets in a bundle", () => {
  it("load in a fresh Node process, without undici, from a bundle far under the limit", async () => {
    const file = await bundle("with-require", REQUIRE_BANNER);
    expect(statSync(file).size).toBeLessThan(MAX_BYTES);
    expect(await loadInChild(file)).toEqual({ values: { ORIGIN_SECRET }, undici: false });
  });

  it("cannot load without a require in the bundle (aws4 is CommonJS)", async () => {
    const file = await bundle("without-require", undefined);
    const { error } = await loadInChild(file);
    expect(error).toMatch(/Dynamic require of "\w+" is not supported/);
  });
});
