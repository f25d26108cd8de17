/**
 * The generated parts of docs/: each file's text as `npm run docs` makes it, from the settings
 * schemas (docs/configuration.md) and bench/results/*.md (docs/benchmarks.md). Only the text
 * between a file's markers is generated; the prose around it is written by hand, once.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { renderSettingsReference } from "./settings-reference.ts";

export class GenerationError extends Error {}

const CONFIGURATION = "docs/configuration.md";
const BENCHMARKS = "docs/benchmarks.md";
const RESULTS = "bench/results";

const SETTINGS_BEGIN =
  "<!-- BEGIN GENERATED: settings reference (npm run docs; prose in dev/docs/setting-prose.ts) -->";
const SETTINGS_END = "<!-- END GENERATED: settings reference -->";

function resultsBegin(file: string): string {
  return `<!-- BEGIN GENERATED: ${RESULTS}/${file} (npm run docs) -->`;
}
function resultsEnd(file: string): string {
  return `<!-- END GENERATED: ${RESULTS}/${file} -->`;
}

/** `text` with what lies between `begin` and `end` replaced by `content`; both markers must be there once. */
export function replaceBetween(text: string, file: string, begin: string, end: string, content: string): string {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start === -1 || stop === -1 || stop < start || text.indexOf(begin, start + 1) !== -1)
    throw new GenerationError(`${file}: needs the markers "${begin}" and "${end}", once each and in that order`);
  return `${text.slice(0, start + begin.length)}\n${content.trimEnd()}\n${text.slice(stop)}`;
}

/**
 * A results file's tables, for embedding: its title and date, then each table under the section
 * heading it stands in (as bold text: the page's own headings keep their anchors).
 */
export function renderResults(file: string, text: string): string {
  const lines = text.split("\n");
  const title = lines.find((line) => line.startsWith("# "))?.slice(2) ?? file;
  const date = lines.find((line) => line.startsWith("- Date: "))?.slice("- Date: ".length);
  const out = [`From [${RESULTS}/${file}](../${RESULTS}/${file}): ${title}${date === undefined ? "" : `, ${date}`}.`];
  let section: string | undefined;
  let shown: string | undefined;
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith("## ")) section = line.slice(3);
    const isRow = line.startsWith("|");
    if (isRow && !inTable) {
      if (section !== undefined && section !== shown) out.push("", `**${section}**`);
      shown = section;
      out.push("");
    }
    if (isRow) out.push(line);
    inTable = isRow;
  }
  return out.join("\n");
}

/** docs/configuration.md as generated from `current`. */
export function renderConfiguration(current: string): string {
  return replaceBetween(current, CONFIGURATION, SETTINGS_BEGIN, SETTINGS_END, renderSettingsReference());
}

/** docs/benchmarks.md as generated from `current` and every results file (each must have its markers). */
export function renderBenchmarks(current: string, results: ReadonlyMap<string, string>): string {
  let text = current;
  for (const [file, content] of results)
    text = replaceBetween(text, BENCHMARKS, resultsBegin(file), resultsEnd(file), renderResults(file, content));
  return text;
}

/** Each generated file of the checkout at `root`, by its path, with the text it should hold. */
export function generatedDocs(root: string): Map<string, string> {
  const read = (path: string): string => readFileSync(join(root, path), "utf8");
  const results = new Map(
    readdirSync(join(root, RESULTS))
      .filter((name) => name.endsWith(".md"))
      .sort()
      .map((name) => [name, read(`${RESULTS}/${name}`)] as const),
  );
  return new Map([
    [CONFIGURATION, renderConfiguration(read(CONFIGURATION))],
    [BENCHMARKS, renderBenchmarks(read(BENCHMARKS), results)],
  ]);
}
