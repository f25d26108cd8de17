/** What no log line of ours may hold; see test/log-scan.ts. */

/** One entry per offending line: its event and what it leaked (never the leaked value itself). */
export function logProblems(chunks: readonly string[], credentials: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const markers = [...credentials].filter((value) => value.length >= 16).map((value) => value.slice(0, 16));
  for (const line of chunks.join("\n").split("\n")) {
    const start = line.indexOf("{");
    if (start === -1 || !line.includes('"event"')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(start));
    } catch {
      continue;
    }
    if (typeof parsed !== "object" || parsed === null) continue;
    const { event, path } = parsed as { event?: unknown; path?: unknown };
    if (typeof event !== "string") continue;
    if (typeof path === "string" && path.includes("?")) problems.push(`${event}: a query string in path`);
    if (markers.some((marker) => line.includes(marker))) problems.push(`${event}: a credential or secret`);
  }
  return problems;
}
