/**
 * The configuration reference, rendered from the settings schemas themselves: which packagings read
 * each name, its default (`defaultOf`), the values its schema allows (read from the valibot pipe:
 * picklists, numeric bounds, string lengths) and its prose (setting-prose.ts).
 */
import * as v from "valibot";
import { EDGE_SETTINGS } from "../../src/aws-edge/config.ts";
import { SECRET_SOURCE_SETTINGS } from "../../src/aws-edge/secret-settings.ts";
import { LAMBDA_SETTINGS } from "../../src/aws/config.ts";
import { WORKER_SETTINGS } from "../../src/cloudflare/config.ts";
import { ASSERTION_SETTINGS } from "../../src/core/assertion-settings.ts";
import { CORE_SETTINGS } from "../../src/core/config.ts";
import { extendSettings } from "../../src/core/settings.ts";
import { SETTING_PROSE, type SettingProse } from "./setting-prose.ts";

/** What the reference reads of a settings object (a method: any object's narrower names fit). */
interface AnySettings {
  readonly entries: Readonly<Record<string, unknown>>;
  readonly names: readonly string[];
  defaultOf(name: string): string | undefined;
}

/** Who reads a setting, in the order of the reference's column. */
/** What `npm run build:edge` reads: the function's settings and where its secrets come from. */
const EDGE_BUILD_SETTINGS = extendSettings(EDGE_SETTINGS, SECRET_SOURCE_SETTINGS);

const PACKAGINGS: ReadonlyArray<{ readonly key: string; readonly settings: AnySettings }> = [
  { key: "worker", settings: WORKER_SETTINGS },
  { key: "authorizer", settings: LAMBDA_SETTINGS },
  { key: "edge", settings: EDGE_BUILD_SETTINGS },
  { key: "core", settings: CORE_SETTINGS },
];

/** A group's heading, by the packagings that read its settings. */
const GROUP_TITLES: Readonly<Record<string, string>> = {
  "worker authorizer edge core":
    "Read by every packaging: the Worker, the authorizer, the Lambda@Edge function, the core (`createGate`) and " +
    "Hono's `authgear()`",
  "worker authorizer edge":
    "Read by the Worker, the authorizer and the Lambda@Edge function (not by the core alone nor by `authgear()`)",
  "worker edge": "Read by the gates in front of an origin: the Worker and the Lambda@Edge function",
  worker: "Worker only (`createWorker`)",
  authorizer: "Lambda authorizer only (`createHandler`)",
  edge: "Lambda@Edge only (`npm run build:edge`, [lambda-edge.md](lambda-edge.md))",
};

/** Every settings object a packaging is built from; a name is listed in the first one's order. */
const ALL: readonly AnySettings[] = [
  CORE_SETTINGS,
  ASSERTION_SETTINGS,
  WORKER_SETTINGS,
  LAMBDA_SETTINGS,
  EDGE_BUILD_SETTINGS,
];

export class ProseError extends Error {}

/** Every setting name of every schema, in schema order. */
export function settingNames(): string[] {
  return [...new Set(ALL.flatMap((settings) => settings.names))];
}

/** The names the prose lacks, and the prose entries no schema has: both empty when all is well. */
export function proseProblems(
  names: readonly string[],
  prose: Readonly<Record<string, SettingProse>>,
): { readonly missing: string[]; readonly unknown: string[] } {
  return {
    missing: names.filter((name) => !Object.hasOwn(prose, name)),
    unknown: Object.keys(prose).filter((name) => !names.includes(name)),
  };
}

interface PipeItem {
  readonly kind: string;
  readonly type: string;
  /** A bound of `min_value`, `max_value`, `min_length`, `max_length`: numbers in every setting. */
  readonly requirement?: number;
  readonly options?: readonly string[];
  readonly pipe?: readonly PipeItem[];
  readonly wrapped?: PipeItem;
}

/** The unit a setting's number is in, from its name. */
function unitOf(name: string): string {
  if (name.endsWith("_SECONDS")) return " s";
  if (name.endsWith("_MS")) return " ms";
  return "";
}

/** Whether `entry` takes exactly the words `true` and `false` (a flag), as its schema answers. */
function isFlag(entry: unknown): boolean {
  const schema = entry as v.GenericSchema;
  return v.is(schema, "true") && v.is(schema, "false") && !v.is(schema, "yes") && !v.is(schema, "1");
}

/**
 * What a setting's schema allows, read from its valibot pipe: the options of a picklist, the bounds
 * of a number, the length of a string (before any transformation: a list's length is not a string's).
 */
export function allowedValues(name: string, entry: unknown): string {
  let schema = entry as PipeItem;
  while (schema.wrapped !== undefined) schema = schema.wrapped;
  const items: readonly PipeItem[] = schema.pipe ?? [schema];
  let options: readonly string[] | undefined;
  let min: number | undefined;
  let max: number | undefined;
  let minLength: number | undefined;
  let maxLength: number | undefined;
  let transformed = false;
  for (const item of items) {
    if (item.kind === "schema" && item.type === "picklist") options = item.options;
    if (item.kind === "schema" && item.pipe?.some((inner) => inner.kind === "transformation")) transformed = true;
    if (item.kind === "transformation") transformed = true;
    if (item.kind !== "validation") continue;
    if (item.type === "min_value") min = item.requirement;
    if (item.type === "max_value") max = item.requirement;
    if (item.type === "min_length" && !transformed) minLength = item.requirement;
    if (item.type === "max_length" && !transformed) maxLength = item.requirement;
  }
  if (options !== undefined) return options.map((option) => `\`${option}\``).join(", ");
  // A flag's schema is a custom check (text or a boolean): ask it which words it takes.
  if (isFlag(entry)) return "`true`, `false`";
  const unit = unitOf(name);
  if (min !== undefined && max !== undefined) return `${String(min)}–${String(max)}${unit}`;
  if (min !== undefined) return `at least ${String(min)}${unit}`;
  if (max !== undefined) return `at most ${String(max)}${unit}`;
  if (minLength !== undefined && maxLength !== undefined) return `${String(minLength)}–${String(maxLength)} characters`;
  if (maxLength !== undefined) return `at most ${String(maxLength)} characters`;
  return "—";
}

function defaultCell(settings: AnySettings, name: string, prose: SettingProse): string {
  const fallback = settings.defaultOf(name);
  if (fallback === undefined) return prose.whenUnset ?? "unset";
  if (fallback === "") return prose.whenUnset ?? "none";
  return `\`${fallback}\``;
}

/** The heading of the group of settings the same packagings read. */
function groupTitle(readers: readonly string[]): string {
  return GROUP_TITLES[readers.join(" ")] ?? `Read by: ${readers.join(", ")}`;
}

/**
 * The reference's Markdown: one table per group of settings the same packagings read. Throws a
 * `ProseError` naming every setting without prose and every prose entry without a setting.
 */
export function renderSettingsReference(prose: Readonly<Record<string, SettingProse>> = SETTING_PROSE): string {
  const names = settingNames();
  const { missing, unknown } = proseProblems(names, prose);
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`settings without prose in dev/docs/setting-prose.ts: ${missing.join(", ")}`] : []),
      ...(unknown.length > 0 ? [`prose for settings no schema has: ${unknown.join(", ")}`] : []),
    ];
    throw new ProseError(parts.join("; "));
  }
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const readers = PACKAGINGS.filter(({ settings }) => settings.names.includes(name)).map(({ key }) => key);
    const title = groupTitle(readers);
    groups.set(title, [...(groups.get(title) ?? []), name]);
  }
  const out: string[] = [];
  for (const [title, members] of groups) {
    out.push(`### ${title}`, "", "| setting | default | allowed | meaning |", "|---|---|---|---|");
    for (const name of members) {
      const owner = ALL.find((settings) => settings.names.includes(name)) as AnySettings;
      const entry = prose[name] as SettingProse;
      const cells = [
        `\`${name}\``,
        defaultCell(owner, name, entry),
        allowedValues(name, owner.entries[name]),
        entry.meaning,
      ];
      out.push(`| ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}
