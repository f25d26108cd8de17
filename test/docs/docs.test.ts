/**
 * docs/ is never stale: the generated parts of docs/configuration.md and docs/benchmarks.md are
 * exactly what `npm run docs` makes from the settings schemas and bench/results, every setting has
 * its prose, and no prose names a setting that does not exist.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generatedDocs, renderResults } from "../../dev/docs/generated.ts";
import { SETTING_PROSE } from "../../dev/docs/setting-prose.ts";
import { allowedValues, ProseError, renderSettingsReference, settingNames } from "../../dev/docs/settings-reference.ts";
import { CORE_SETTINGS } from "../../src/core/config.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("npm run docs", () => {
  it.each([...generatedDocs(ROOT)])(
    "leaves %s as it is (run npm run docs after changing a schema or a result)",
    (path, text) => {
      expect(readFileSync(join(ROOT, path), "utf8")).toBe(text);
    },
  );

  it("fails naming a setting without prose, and prose without a setting", () => {
    const { AUTH_MODE: _, ...without } = SETTING_PROSE;
    expect(() => renderSettingsReference(without)).toThrow(
      new ProseError("settings without prose in dev/docs/setting-prose.ts: AUTH_MODE"),
    );
    const extra = { ...SETTING_PROSE, AUTH_MOD: { meaning: "a typo" } };
    expect(() => renderSettingsReference(extra)).toThrow(/prose for settings no schema has: AUTH_MOD/);
  });

  it("lists every setting of every packaging, with the values its schema allows", () => {
    const reference = renderSettingsReference();
    for (const name of settingNames()) expect(reference).toContain(`| \`${name}\` |`);
    expect(reference).toContain("| `AUTH_MODE` | `jwt` | `jwt`, `resolver`, `hybrid` |");
    expect(reference).toContain("| `CLOCK_TOLERANCE_SECONDS` | `0` | 0–300 s |");
    expect(reference).toContain("| `AUTHORIZER_CACHE_SECONDS` | `300` | 0–3600 s |");
    expect(allowedValues("RESOLVER_TIMEOUT_MS", CORE_SETTINGS.entries.RESOLVER_TIMEOUT_MS)).toBe("100–30000 ms");
    expect(allowedValues("RESOLVER_COOKIE_PREFIX", CORE_SETTINGS.entries.RESOLVER_COOKIE_PREFIX)).toBe(
      "at most 64 characters",
    );
    // A list's minimum length is a number of items, not of characters.
    expect(allowedValues("AUDIENCE", CORE_SETTINGS.entries.AUDIENCE)).toBe("—");
  });

  it("embeds a results file's tables under their sections", () => {
    const results = [
      "# A bench",
      "",
      "- Date: today",
      "",
      "| a |",
      "|---|",
      "| 1 |",
      "",
      "## Part",
      "",
      "| b |",
      "|---|",
    ];
    expect(renderResults("x.md", results.join("\n"))).toBe(
      [
        "From [bench/results/x.md](../bench/results/x.md): A bench, today.",
        "",
        "| a |",
        "|---|",
        "| 1 |",
        "",
        "**Part**",
        "",
        "| b |",
        "|---|",
      ].join("\n"),
    );
  });
});

describe("docs/contributing.md's Layout", () => {
  it("lists every file under src/, under its directory", () => {
    const text = readFileSync(join(ROOT, "docs/contributing.md"), "utf8");
    const block = text.slice(text.indexOf("## Layout")).split("```")[1] ?? "";
    const listed = new Set<string>();
    let directory = "";
    for (const line of block.split("\n")) {
      const entry = /^(\s*)(\S+)/.exec(line);
      if (entry === null) continue;
      if (entry[1] === "") directory = entry[2]!;
      else listed.add(`${directory}${entry[2]!}`);
    }
    const files = execFileSync("git", ["ls-files", "src"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n");
    expect(files.filter((file) => !listed.has(file))).toEqual([]);
    expect([...listed].filter((file) => !files.includes(file))).toEqual([]);
  });
});
