/**
 * The child of bench/edge.bench.ts that measures memory: a new Node process (run with `--expose-gc`)
 * imports one bundle (a container's init, its key sets fetched), answers `events` requests with a new
 * token each (the pool's, in turn: the verified-token cache fills and churns), each answer checked,
 * and writes its memory at each step (JSON) to stdout.
 */
import { readFileSync } from "node:fs";
import { answerChecked, eventOf, type Packaging } from "./edge-events.ts";

export interface EdgeMemoryJob {
  readonly url: string;
  readonly packaging: Packaging;
  /** Set before the import (the authorizer's settings). */
  readonly env: Readonly<Record<string, string>>;
  /** The i-th for subject `bench-user-<i>`. */
  readonly pool: readonly string[];
  readonly events: number;
}

/** MiB, from `process.memoryUsage()` and `process.resourceUsage()`. */
export interface EdgeMemory {
  readonly rssBeforeImport: number;
  readonly rssImported: number;
  readonly rssAfterEvents: number;
  /** After a full garbage collection, following the events. */
  readonly heapUsedAfterGc: number;
  /** The V8 heap's size, and memory outside it that JavaScript objects hold (`external`), after the GC. */
  readonly heapTotalAfterGc: number;
  readonly externalAfterGc: number;
  readonly rssAfterGc: number;
  readonly peakRss: number;
  readonly answered: number;
}

const MIB = 2 ** 20;
const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as EdgeMemoryJob;
const gc = (globalThis as { gc?: () => void }).gc ?? ((): never => process.exit(2));
console.log = () => undefined;
Object.assign(process.env, job.env);
const rssBeforeImport = process.memoryUsage().rss / MIB;
type Module = { handler: (event: unknown) => Promise<unknown> };
const { handler } = (await import(job.url)) as Module;
const rssImported = process.memoryUsage().rss / MIB;
let answered = 0;
for (let index = 0; index < job.events; index += 1) {
  // One event at a time, as Lambda hands them over.
  const at = index % job.pool.length;
  const event = eventOf(job.packaging, "new", job.pool[at]);
  await answerChecked(handler, job.packaging, "new", event, `bench-user-${at}`, `memory, ${job.packaging}`);
  answered += 1;
}
const rssAfterEvents = process.memoryUsage().rss / MIB;
gc();
const after = process.memoryUsage();
const result: EdgeMemory = {
  rssBeforeImport,
  rssImported,
  rssAfterEvents,
  heapUsedAfterGc: after.heapUsed / MIB,
  heapTotalAfterGc: after.heapTotal / MIB,
  externalAfterGc: after.external / MIB,
  rssAfterGc: after.rss / MIB,
  peakRss: process.resourceUsage().maxRSS / 1024,
  answered,
};
process.stdout.write(JSON.stringify(result), () => process.exit(0));
