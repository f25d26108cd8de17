/**
 * `npm run docs`: regenerates the configuration reference and the benchmark tables of docs/.
 * `--check` writes nothing and exits with 1 when a file is stale. Either way, a setting without
 * prose (or prose without a setting) and a missing marker exit with 1 and say which.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedDocs } from "./generated.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const check = process.argv.includes("--check");

try {
  const stale: string[] = [];
  for (const [path, text] of generatedDocs(ROOT)) {
    if (readFileSync(join(ROOT, path), "utf8") === text) continue;
    stale.push(path);
    if (!check) writeFileSync(join(ROOT, path), text);
  }
  if (check && stale.length > 0) {
    console.error(`stale, run npm run docs: ${stale.join(", ")}`);
    process.exitCode = 1;
  } else if (!check) {
    console.log(stale.length === 0 ? "docs: up to date" : `docs: regenerated ${stale.join(", ")}`);
  }
} catch (error) {
  console.error(`npm run docs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
