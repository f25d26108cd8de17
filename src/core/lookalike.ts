/**
 * Names in an environment that are not settings but look like one (`PUBLIC_PATH`, `JWKS_MAX_AGE`,
 * `routes`), warned about once at start-up: unknown names are otherwise ignored (a Lambda
 * environment holds many), so a mistyped setting would silently keep its default.
 */

/** Levenshtein distance, capped: `limit + 1` as soon as it exceeds `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/**
 * Each name in `env` that is none of `names` but has the same first word as one of them and is at
 * most two edits from it or a prefix of it, with the setting it resembles.
 */
export function lookalikeSettings<N extends string>(env: Readonly<Record<string, unknown>>, names: readonly N[]): Array<readonly [string, N]> {
  const found: Array<readonly [string, N]> = [];
  for (const name of Object.keys(env)) {
    if ((names as readonly string[]).includes(name)) continue;
    const upper = name.toUpperCase().replace(/[-.]/g, "_");
    const word = upper.split("_", 1)[0];
    const match = names.find(
      (setting) => setting.split("_", 1)[0] === word && (setting === upper || setting.startsWith(upper) || distance(upper, setting, 2) <= 2),
    );
    if (match !== undefined) found.push([name, match]);
  }
  return found;
}
