/**
 * The child of bench/edge.bench.ts that measures CPU per event, run pinned to one CPU (`taskset -c 0`):
 * the built Lambda@Edge function and the built authorizer, each imported at run time from its bundle,
 * a new module instance (a new container) per cell and round, measured as bench/cpu-per-call.ts says.
 * Reads a job (JSON, the file named by its one argument), writes the samples (JSON) to stdout.
 */
import { readFileSync } from "node:fs";
import { countLogLines, measureCells, writeSamples, type Call } from "./cpu-per-call.ts";
import { answerChecked, eventOf, type Packaging, type Scenario } from "./edge-events.ts";

export interface EdgeCpuCell {
  readonly name: string;
  readonly packaging: Packaging;
  readonly scenario: Scenario;
}

export interface EdgeCpuJob {
  readonly urls: Readonly<Record<Packaging, string>>;
  /** Read by the authorizer when a container loads it (the function's settings are in its bundle). */
  readonly authorizerEnv: Readonly<Record<string, string>>;
  /** New tokens, the i-th for subject `bench-user-<i>`; more than the verified-token cache holds. */
  readonly pool: readonly string[];
  /** The repeated token, for subject `bench-repeated`. */
  readonly token: string;
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly cells: readonly EdgeCpuCell[];
}

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as EdgeCpuJob;
countLogLines();
Object.assign(process.env, job.authorizerEnv);
let containers = 0;

async function start(cell: EdgeCpuCell): Promise<Call> {
  containers += 1;
  type Module = { handler: (event: unknown) => Promise<unknown> };
  const { handler } = (await import(`${job.urls[cell.packaging]}?container=${containers}`)) as Module;
  const { packaging, scenario } = cell;
  if (scenario === "new") {
    const events = job.pool.map((token) => eventOf(packaging, scenario, token));
    return (index) => {
      const at = index % events.length;
      return answerChecked(handler, packaging, scenario, events[at], `bench-user-${at}`, cell.name);
    };
  }
  const event = eventOf(packaging, scenario, job.token);
  return () => answerChecked(handler, packaging, scenario, event, "bench-repeated", cell.name);
}

writeSamples(await measureCells({ ...job, start }));
