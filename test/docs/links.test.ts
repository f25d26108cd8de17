/**
 * Every relative link of the README, the changelog and docs/*.md points at a file of the repository, and every
 * `#fragment` at a heading of its target, as GitHub renders them (its heading ids: lower case,
 * punctuation dropped, spaces to hyphens, a repeated id suffixed `-1`, `-2`...).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const DOCS = [
  "README.md",
  "CHANGELOG.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** GitHub's id of a heading's text. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The ids of a Markdown file's headings (outside code fences). */
function anchorsOf(text: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (heading === null) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    ids.add(count === 0 ? base : `${base}-${count}`);
  }
  return ids;
}

/** The targets of a file's inline links, outside code fences and code spans. */
function linksOf(text: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) links.push(match[1]!);
  }
  return links;
}

describe.each(DOCS)("the links of %s", (file) => {
  const text = readFileSync(join(ROOT, file), "utf8");
  const local = linksOf(text).filter((target) => !/^[a-z]+:/i.test(target));

  it("point at files of the repository, and at headings that exist", () => {
    const broken: string[] = [];
    for (const target of local) {
      const [path = "", fragment] = target.split("#");
      const resolved = path === "" ? join(ROOT, file) : join(ROOT, dirname(file), path);
      if (!existsSync(resolved)) {
        broken.push(`${target} (no ${relative(ROOT, resolved)})`);
        continue;
      }
      if (fragment === undefined || !resolved.endsWith(".md")) continue;
      if (!anchorsOf(readFileSync(resolved, "utf8")).has(fragment)) broken.push(`${target} (no heading #${fragment})`);
    }
    expect(broken).toEqual([]);
  });
});

describe("slug", () => {
  it("spells GitHub's heading ids", () => {
    expect(slug("Forward authentication: resolver and hybrid modes")).toBe(
      "forward-authentication-resolver-and-hybrid-modes",
    );
    expect(slug("Diagnosing a deployment: `npm run doctor`")).toBe("diagnosing-a-deployment-npm-run-doctor");
    expect(slug("Route rules under API Gateway's cache")).toBe("route-rules-under-api-gateways-cache");
    expect(slug("The rule (`METHOD_OVERRIDE`)")).toBe("the-rule-method_override");
    expect(slug("§7 Machine-to-machine tokens, and one issuer per project")).toBe(
      "7-machine-to-machine-tokens-and-one-issuer-per-project",
    );
  });
});
