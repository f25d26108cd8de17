/**
 * The Worker's log under `npm start`: the core's JSON lines (`{"level":"info","event":...}`,
 * src/core/ports.ts), which workerd writes on wrangler's standard output, printed one readable
 * line per event.
 */

/** A string as is when it reads unambiguously (no space, quote or `=`), otherwise as JSON. */
function spell(value: unknown): string {
  if (typeof value === "string" && /^[^\s"=]+$/.test(value)) return value;
  return JSON.stringify(value);
}

/**
 * `worker: request_refused code=ERR_CREDENTIALS_MISSING status=401 method=GET path=/hello` for a
 * line of the core's JSON logger; `undefined` for any other line.
 */
export function formatWorkerEvent(line: string): string | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { event } = parsed as { event?: unknown };
  if (typeof event !== "string") return undefined;
  const fields = Object.entries(parsed).filter(([name]) => name !== "event" && name !== "level");
  return ["worker:", event, ...fields.map(([name, value]) => `${name}=${spell(value)}`)].join(" ");
}
