/**
 * CPU per call, measured inside a benchmark's pinned child (bench/lambda-cpu.ts, bench/edge-cpu.ts;
 * bundled with it, so nothing here may import esbuild or the parent's helpers). Per cell and round:
 * the cell's first call untimed (a new container's key fetch), calls for `warmupMs`, then calls one
 * at a time for `timeMs` between two `process.cpuUsage()` readings: user + system time of every
 * thread of the process (WebCrypto verifies on libuv's thread pool, pinned to the same CPU).
 */

export interface CpuSample {
  /** µs per call: CPU (user + system, all threads) and wall. */
  readonly cpu: number;
  readonly wall: number;
  readonly calls: number;
  readonly logLines: number;
}

/** One checked call, by index (a cell picks its event and expected answer from it). */
export type Call = (index: number) => Promise<void>;

let logLines = 0;
/**
 * Counts the console lines of what is measured instead of printing them: they would mix with the
 * child's result on stdout.
 */
export function countLogLines(): void {
  console.log = () => (logLines += 1);
}

/** Calls `call` one at a time for `ms`, from index `first`; returns the next index. */
async function callFor(call: Call, first: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let index = first;
  // Checking the clock every 16 calls keeps its cost out of the figure.
  while (index === first || (index - first) % 16 !== 0 || performance.now() < until) {
    await call(index);
    index += 1;
  }
  return index;
}

async function measure(call: Call, warmupMs: number, timeMs: number): Promise<CpuSample> {
  await call(0);
  const first = await callFor(call, 1, warmupMs);
  logLines = 0;
  const [cpuBefore, wallBefore] = [process.cpuUsage(), performance.now()];
  const next = await callFor(call, first, timeMs);
  const [cpu, wall] = [process.cpuUsage(cpuBefore), performance.now() - wallBefore];
  const calls = next - first;
  return { cpu: (cpu.user + cpu.system) / calls, wall: (wall * 1000) / calls, calls, logLines: logLines / calls };
}

export interface CpuRun<C> {
  readonly cells: readonly C[];
  readonly rounds: number;
  /** ms of calls before the timed ones, and timed, per cell and round. */
  readonly warmupMs: number;
  readonly timeMs: number;
  /** A new container for the cell, and its checked call. */
  readonly start: (cell: C) => Promise<Call>;
}

/** Each cell's samples, one per round, in the cells' order; rounds rotate, so no cell always follows the same one. */
export async function measureCells<C extends { readonly name: string }>(run: CpuRun<C>): Promise<CpuSample[][]> {
  const { cells } = run;
  const samples: CpuSample[][] = cells.map(() => []);
  for (let round = 0; round < run.rounds; round += 1) {
    const shift = (round * 5) % cells.length;
    for (let step = 0; step < cells.length; step += 1) {
      const index = (step + shift) % cells.length;
      const cell = cells[index];
      if (cell === undefined) continue;
      process.stderr.write(`bench: pinned, round ${round + 1}/${run.rounds}: ${cell.name}\n`);
      samples[index]?.push(await measure(await run.start(cell), run.warmupMs, run.timeMs));
    }
  }
  return samples;
}

/** Writes the samples (JSON) to stdout, the child's one output, and exits. */
export function writeSamples(samples: CpuSample[][]): void {
  process.stdout.write(JSON.stringify(samples), () => process.exit(0));
}
