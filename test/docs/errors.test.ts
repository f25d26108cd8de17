/**
 * docs/operations.md documents every error code, with the status and challenge the code really
 * gets: a code added to `AUTH_ERRORS` without a row in its "## Errors" table fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUTH_ERRORS, RETRY_AFTER_SECONDS } from "../../src/core/errors.ts";

const PAGE = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");

/** The lines of a Markdown section, from its heading to the next heading of the same or a higher level. */
function section(heading: string): string[] {
  const lines = PAGE.split("\n");
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`docs/operations.md has no "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const end = lines.findIndex(
    (line, index) => index > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level,
  );
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** The body rows of the first table in `lines` (header and delimiter rows left out), cell by cell. */
function tableRows(lines: readonly string[]): string[][] {
  const first = lines.findIndex((line) => line.startsWith("|"));
  if (first === -1) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

interface Documented {
  readonly status: number;
  readonly retryAfter: boolean;
  /** `none`, `no error` (a challenge without an `error` attribute) or the challenge's `error`. */
  readonly challenge: string;
}

const rows = tableRows(section("## Errors"));
const documentedCodes = rows.flatMap(([codes = ""]) =>
  [...codes.matchAll(/`(ERR_[A-Z_]+)`/g)].map((match) => match[1]!),
);

function documented(row: readonly string[]): Documented {
  const [, status = "", challenge = ""] = row;
  return {
    status: Number(/^\d{3}/.exec(status)?.[0]),
    retryAfter: status.includes(`Retry-After: ${RETRY_AFTER_SECONDS}`),
    challenge: challenge === "none" ? "none" : (/error="([a-z_]+)"/.exec(challenge)?.[1] ?? "no error"),
  };
}

describe("docs/operations.md ## Errors", () => {
  it("has a table, each row naming at least one code", () => {
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter(([codes = ""]) => !/`ERR_[A-Z_]+`/.test(codes))).toEqual([]);
  });

  it("lists every code exactly once, and no code that does not exist", () => {
    expect(documentedCodes.filter((code, index) => documentedCodes.indexOf(code) !== index)).toEqual([]);
    expect([...documentedCodes].sort()).toEqual(Object.keys(AUTH_ERRORS).sort());
  });

  it("gives each code its status, Retry-After and challenge", () => {
    const actual: Record<string, Documented> = {};
    for (const row of rows) {
      for (const match of (row[0] ?? "").matchAll(/`(ERR_[A-Z_]+)`/g)) actual[match[1]!] = documented(row);
    }
    const expected: Record<string, Documented> = {};
    for (const [code, { status, retryable, bearerError }] of Object.entries(AUTH_ERRORS)) {
      expected[code] = {
        status,
        retryAfter: retryable,
        challenge: status >= 500 ? "none" : (bearerError ?? "no error"),
      };
    }
    expect(actual).toEqual(expected);
  });
});
