/**
 * `npm run build:lib`: the package's entry points (docs/library.md) compiled to lib/
 * as ES modules with declarations, one TypeScript project per entry (each with its platform's
 * types: none for the core, Hono and `/assertion`, Workers for `/cloudflare`, Node for `/aws`).
 * tsc rewrites the sources' relative `.ts` imports in the JavaScript it emits but not in
 * declarations; they are rewritten here, so a consumer's TypeScript resolves them.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const LIB = join(ROOT, "lib");
const ENTRIES = ["core", "cloudflare", "aws", "aws-edge", "hono", "assertion"];
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(LIB, { recursive: true, force: true });
// In parallel: each project writes its own files (and identical copies of the core's).
const builds = await Promise.allSettled(
  ENTRIES.map((entry) =>
    promisify(execFile)(process.execPath, [tsc, "-p", join(ROOT, "src", entry, "tsconfig.lib.json")]),
  ),
);
const failed = builds.flatMap((build, index) =>
  build.status === "rejected"
    ? [`${ENTRIES[index] ?? "?"}: ${String((build.reason as { stdout?: unknown }).stdout ?? build.reason)}`]
    : [],
);
if (failed.length > 0) {
  console.error(`build:lib failed:\n${failed.join("\n")}`);
  process.exit(1);
}
for (const file of readdirSync(LIB, { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".d.ts")) continue;
  const path = join(LIB, file);
  const text = readFileSync(path, "utf8");
  // `from "./x.ts"` and inline `import("./x.ts")` types alike.
  writeFileSync(path, text.replace(/((?:from\s+|import\()"\.{1,2}\/[^"]*)\.ts"/g, '$1.js"'));
}
