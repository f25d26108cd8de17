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
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** Edits a part of a name may be off by: one for a short word (`MOD`, `URL`), two for a longer one. */
const partLimit = (part: string): number => (part.length <= 4 ? 1 : 2);

/**
 * Whether `name` (upper case, `_`-separated) is a near miss of `setting`: the same words but one,
 * which is off by a letter or two (`ALGORITHM` for `ALGORITHMS`, `AUTH_MOD` for `AUTH_MODE`,
 * `ORIGIN_URLS`); or, with the same first word, a prefix of it or at most two edits from it
 * (`JWKS_MAX_AGE`, `AUTHORIZER_CACHE`).
 */
function nearMiss(name: string, setting: string): boolean {
  if (name === setting) return true;
  const parts = name.split("_");
  const wanted = setting.split("_");
  if (parts.length === wanted.length) {
    const differing = parts.flatMap((part, index) => (part === wanted[index] ? [] : [index]));
    const [only] = differing;
    if (differing.length === 1 && only !== undefined) {
      const expected = wanted[only] ?? "";
      if (distance(parts[only] ?? "", expected, partLimit(expected)) <= partLimit(expected)) return true;
    }
  }
  if (parts[0] !== wanted[0]) return false;
  return setting.startsWith(name) || distance(name, setting, 2) <= 2;
}

/** Each name in `env` that is none of `names` but is a near miss of one of them, with the setting it resembles. */
export function lookalikeSettings<N extends string>(
  env: Readonly<Record<string, unknown>>,
  names: readonly N[],
): Array<readonly [string, N]> {
  const found: Array<readonly [string, N]> = [];
  for (const name of Object.keys(env)) {
    if ((names as readonly string[]).includes(name)) continue;
    const upper = name.toUpperCase().replace(/[-.]/g, "_");
    const match = names.find((setting) => nearMiss(upper, setting));
    if (match !== undefined) found.push([name, match]);
  }
  return found;
}
