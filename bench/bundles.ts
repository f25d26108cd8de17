/**
 * `npm run bench:bundles`: what each way in costs a user's bundle. Every entry point (the built Worker, the
 * authorizer, and the package's five library entries) bundled as a user's tool would bundle it: esbuild,
 * minified, the Worker's and the library's for workerd (wrangler's conditions), `/aws` and the authorizer for
 * Node. Hono is the application's own (a peer dependency), so it is left out of the `/hono` figure. Prints and
 * writes bench/results/bundles.md: minified and gzipped bytes per entry point, and what each package contributes.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type BuildOptions } from "esbuild";
import { ROOT, fail, fixed, integer, loadAverages, machineLines } from "./common.ts";

const RESULTS = resolve(import.meta.dirname, "results/bundles.md");
const WORKERD: BuildOptions = {
  format: "esm",
  platform: "browser",
  target: "es2024",
  conditions: ["workerd", "worker", "browser"],
  define: { "process.env.NODE_ENV": '"production"' },
};
const NODE: BuildOptions = { format: "esm", platform: "node", target: "node20" };

interface Entry {
  readonly name: string;
  readonly source: string;
  readonly options: BuildOptions;
}

const ENTRIES: readonly Entry[] = [
  { name: "the Worker (dist/worker.js, `npm run build`)", source: "src/cloudflare/worker.ts", options: WORKERD },
  {
    name: "the authorizer (dist/lambda/authorizer.mjs, `npm run build`)",
    source: "src/aws/authorizer.ts",
    options: NODE,
  },
  { name: "`authgear-edge` (the core)", source: "src/core/index.ts", options: WORKERD },
  { name: "`authgear-edge/cloudflare`", source: "src/cloudflare/index.ts", options: WORKERD },
  { name: "`authgear-edge/aws`", source: "src/aws/index.ts", options: NODE },
  {
    name: "`authgear-edge/hono` (without Hono itself)",
    source: "src/hono/index.ts",
    options: { ...WORKERD, external: ["hono", "hono/*"] },
  },
  { name: "`authgear-edge/assertion` (the origin's verifier)", source: "src/assertion/index.ts", options: WORKERD },
];

/** Who a bundled input belongs to: its npm package, or its directory under src/. */
function owner(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? /^src\/[^/]+/.exec(path)?.[0] ?? path;
}

interface Measured {
  readonly bytes: number;
  readonly gzipped: number;
  readonly shares: ReadonlyMap<string, number>;
}

async function measure(entry: Entry): Promise<Measured> {
  const result = await build({
    ...entry.options,
    entryPoints: [resolve(ROOT, entry.source)],
    bundle: true,
    minify: true,
    metafile: true,
    write: false,
    outfile: "out.js",
    logLevel: "warning",
    absWorkingDir: ROOT,
  });
  const [file] = result.outputFiles;
  const output = result.metafile.outputs["out.js"];
  if (file === undefined || output === undefined) fail(`esbuild wrote nothing for ${entry.source}`);
  const shares = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    shares.set(owner(path), (shares.get(owner(path)) ?? 0) + bytesInOutput);
  }
  return { bytes: file.contents.length, gzipped: gzipSync(file.contents, { level: 9 }).length, shares };
}

const started = new Date();
const loadBefore = loadAverages();
const measured = new Map<Entry, Measured>();
for (const entry of ENTRIES) measured.set(entry, await measure(entry));
const parts = [...new Set([...measured.values()].flatMap(({ shares }) => [...shares.keys()]))].sort();
const share = (entry: Entry, part: string): string => {
  const bytes = measured.get(entry)?.shares.get(part);
  return bytes === undefined ? "–" : integer(bytes);
};
const lines = [
  ...machineLines("Bundle size per entry point", ["esbuild", "jose", "valibot"], started, loadBefore, "BENCH_BUNDLES_"),
  "- Each entry point bundled alone with esbuild, minified; workerd conditions for the Worker and the library, " +
    "Node for `/aws` and the authorizer. Parts: esbuild's metafile `bytesInOutput` by package or src/ directory; " +
    "the rest is esbuild's glue",
  "",
  `| entry point | minified | gzipped (level 9) | ${parts.join(" | ")} |`,
  `|---|---:|---:|${parts.map(() => "---:").join("|")}|`,
  ...ENTRIES.map((entry) => {
    const { bytes, gzipped } = measured.get(entry) ?? fail("not measured");
    const size = `${integer(bytes)} (${fixed(bytes / 1024)} KiB)`;
    const row = [entry.name, size, integer(gzipped), ...parts.map((part) => share(entry, part))];
    return `| ${row.join(" | ")} |`;
  }),
  "",
];
console.log(lines.join("\n"));
writeFileSync(RESULTS, lines.join("\n"));
console.error(`bench: written to ${RESULTS}`);
