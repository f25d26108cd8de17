/**
 * `npm run build:edge [-- --settings file.json] [--outdir dir]`: the Lambda@Edge function,
 * dist/edge/viewer-request.mjs, with its settings baked in (Lambda@Edge has no environment). The
 * settings are read by their usual names from the environment, over those of a JSON file; they are
 * checked here, by the function's own start-up (`createEdgeHandler`), so a bad configuration fails
 * the build, naming every bad key, and never reaches an edge location.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { ConfigError, overlaySettings } from "../src/core/index.ts";
import { lookalikeSettings } from "../src/core/lookalike.ts";
import { EDGE_FOREIGN_SETTINGS, EDGE_SECRET_SOURCE, EDGE_SETTINGS } from "../src/aws-edge/config.ts";
import { createEdgeHandler } from "../src/aws-edge/create-edge-handler.ts";
import { SECRET_SOURCE_SETTINGS, withLoadedSecrets } from "../src/aws-edge/secret-settings.ts";
import { newAssertionKey } from "./assertion-key.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Lambda@Edge's limit on a viewer-request function's package, in bytes ("Quotas on Lambda@Edge"). */
export const VIEWER_REQUEST_PACKAGE_LIMIT = 1024 * 1024;

/** Settings whose value is a secret: anyone who can read the function's code can read them once baked. */
const SECRET_SETTINGS = ["ORIGIN_SECRET", "ASSERTION_KEY", "ASSERTION_SECOND_KEY"];

/**
 * Every name the build reads: the function's settings, where its secrets come from, and the other
 * packagings' own settings (the function's start-up refuses those, rather than the build dropping them).
 */
const BUILD_NAMES: readonly string[] = [
  ...EDGE_SETTINGS.names,
  ...SECRET_SOURCE_SETTINGS.names,
  ...EDGE_FOREIGN_SETTINGS.keys(),
];

/**
 * The settings to bake: the file's, with each set (non-blank) variable of the environment of a
 * setting's name over it.
 */
export function edgeSettingsFrom(
  env: Readonly<Record<string, string | undefined>>,
  file: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> {
  const named = Object.fromEntries(Object.entries(env).filter(([name]) => BUILD_NAMES.includes(name)));
  return overlaySettings(file, named);
}

/**
 * The file's names that are no setting of the function: unlike an environment, a settings file holds
 * nothing else, so each is a mistake (a misspelling would otherwise be baked in and ignored).
 */
export function strayFileNames(file: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(file).filter((name) => !BUILD_NAMES.includes(name));
}

/**
 * Checks `settings` as the function will at start-up; the `ConfigError` names every bad key. The
 * settings `SECRET_SETTINGS` says the secret holds are checked with stand-ins of their form (the
 * secret's own values are checked when the function reads them), so that every other rule that
 * depends on them holds already (`ASSERTION_ISSUER` needs `ASSERTION_KEY`, ...).
 */
export async function checkEdgeSettings(settings: Readonly<Record<string, unknown>>): Promise<ConfigError | undefined> {
  const problems = new Map<string, string>();
  let source: readonly string[] = [];
  try {
    source = EDGE_SECRET_SOURCE.parse(settings).secretSource?.names ?? [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const [key, problem] of error.problems) problems.set(key, problem);
  }
  const standIns: Record<string, string> = {};
  for (const name of source) standIns[name] = await standIn(name);
  try {
    const quiet = { log: () => undefined };
    createEdgeHandler({ settings: withLoadedSecrets(settings, standIns), onInvalidConfig: "throw", logger: quiet });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const [key, problem] of error.problems) if (!problems.has(key)) problems.set(key, problem);
  }
  return problems.size === 0 ? undefined : new ConfigError(problems);
}

/** A value of the form a secret setting takes, for the build's check only. */
async function standIn(name: string): Promise<string> {
  if (name === "ORIGIN_SECRET") return "stand-in".padEnd(64, "0");
  return JSON.stringify(await newAssertionKey(`build-check-${name.toLowerCase()}`));
}

/** Writes `viewer-request.mjs` into `outdir`; its size in bytes. */
export async function buildEdge(settings: Readonly<Record<string, unknown>>, outdir: string): Promise<number> {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, "viewer-request.mjs");
  await build({
    entryPoints: [join(ROOT, "src/aws-edge/viewer-request.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    minify: true,
    logLevel: "warning",
    outfile,
    define: { AUTHGEAR_EDGE_SETTINGS: JSON.stringify(settings) },
    // aws4 (the secret's request signer) is CommonJS and requires Node's modules: an ES module has no `require`.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
  });
  return statSync(outfile).size;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { settings: { type: "string" }, outdir: { type: "string" } } });
  const file =
    values.settings === undefined
      ? undefined
      : (JSON.parse(readFileSync(values.settings, "utf8")) as Readonly<Record<string, unknown>>);
  if (file !== undefined && (typeof file !== "object" || Array.isArray(file))) {
    throw new Error(`${values.settings ?? ""}: must hold a JSON object of settings by name`);
  }
  const strays = file === undefined ? [] : strayFileNames(file);
  if (strays.length > 0) {
    process.stderr.write(
      `build:edge: ${values.settings ?? ""} names what is no setting of the function: ${strays.join(", ")} ` +
        "(ORIGIN_URL is CloudFront's origin, which the deployment reads from the environment). Nothing was built.\n",
    );
    process.exit(1);
  }
  for (const [name, setting] of lookalikeSettings(process.env, BUILD_NAMES)) {
    process.stderr.write(`build:edge: warning: ${name} is no setting, and is not baked in: did you mean ${setting}?\n`);
  }
  const settings = edgeSettingsFrom(process.env, file);
  const error = await checkEdgeSettings(settings);
  if (error !== undefined) {
    process.stderr.write(`build:edge: ${error.message}\nNothing was built (docs/configuration.md).\n`);
    process.exit(1);
  }
  for (const name of SECRET_SETTINGS.filter((secret) => settings[secret] !== undefined)) {
    process.stderr.write(
      `build:edge: warning: ${name} is baked into the function's code, readable by anyone who may read ` +
        "the function (lambda:GetFunction) or its deployment assets: put it in the secret SECRET_ARN names " +
        "(docs/lambda-edge.md#secrets).\n",
    );
  }
  const outdir = values.outdir ?? join(ROOT, "dist/edge");
  const size = await buildEdge(settings, outdir);
  if (size > VIEWER_REQUEST_PACKAGE_LIMIT) {
    process.stderr.write(`build:edge: ${String(size)} bytes, over Lambda@Edge's 1 MB viewer-request limit.\n`);
    process.exit(1);
  }
  const names = Object.keys(settings).join(", ");
  process.stdout.write(
    `build:edge: ${join(outdir, "viewer-request.mjs")}, ${(size / 1024).toFixed(0)} KiB; settings: ${names}\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
