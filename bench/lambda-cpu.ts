/**
 * The child of bench/lambda.bench.ts that measures CPU per call, run pinned to one CPU
 * (`taskset -c 0`) as a Lambda function up to 1,769 MB has one vCPU. Bundled by the benchmark
 * (jose and the events included; the authorizers are imported at run time from their bundles).
 * Reads a job (JSON, the file named by its one argument), writes the result (JSON) to stdout.
 *
 * Per cell and round: a new module instance of the authorizer (a new container) and an untimed
 * first call (the key fetch), calls for `warmupMs`, then calls one at a time for `timeMs` between
 * two `process.cpuUsage()` readings: user + system time of every thread of the process (jose's
 * RS256 verify runs on libuv's thread pool, pinned to the same CPU).
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { KINDS, checkAllowed } from "./lambda-events.ts";

export interface CpuCell {
  readonly name: string;
  readonly who: "ours" | "aws" | "raw" | "jose";
  /** An event kind's name (KINDS); none for the raw verify and jose. */
  readonly kind?: string;
  readonly distinct: boolean;
}

export interface CpuJob {
  readonly urls: { readonly ours: string; readonly aws: string };
  readonly pool: readonly string[];
  /** The repeated token, for subject `bench-repeated`; the pool's i-th is for `bench-user-<i>`. */
  readonly token: string;
  readonly jwks: string;
  readonly issuer: string;
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly cells: readonly CpuCell[];
}

export interface CpuSample {
  /** µs per call: CPU (user + system, all threads) and wall. */
  readonly cpu: number;
  readonly wall: number;
  readonly calls: number;
  readonly logLines: number;
}

type Call = (index: number) => Promise<void>;

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as CpuJob;
const pool = job.pool;
let logLines = 0;
// The authorizers' log lines would mix with the result on stdout; counted instead.
console.log = () => (logLines += 1);
let containers = 0;
const keySet = JSON.parse(job.jwks) as JSONWebKeySet;
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const key = await crypto.subtle.importKey("jwk", keySet.keys[0] as JsonWebKey, RSA, false, ["verify"]);
const encoder = new TextEncoder();
const joseKeys = createLocalJWKSet(keySet);
const joseOptions = {
  issuer: job.issuer,
  audience: job.issuer,
  typ: "at+jwt",
  algorithms: ["RS256"],
  requiredClaims: ["exp", "iat", "sub"],
};
const pick = (index: number): string => pool[index % pool.length] ?? "";

async function start(cell: CpuCell): Promise<Call> {
  if (cell.who === "jose") {
    return async (index) => {
      const { payload } = await jwtVerify(pick(index), joseKeys, joseOptions);
      if (payload.sub !== `bench-user-${index % pool.length}`) throw new Error("bench: jose verified the wrong token");
    };
  }
  if (cell.who === "raw") {
    return async (index) => {
      const jwt = pick(index);
      const dot = jwt.lastIndexOf(".");
      const signature = Buffer.from(jwt.slice(dot + 1), "base64url");
      const valid = await crypto.subtle.verify(RSA.name, key, signature, encoder.encode(jwt.slice(0, dot)));
      if (!valid) throw new Error("bench: the raw verify refused a token");
    };
  }
  const kind = KINDS.find((candidate) => candidate.name === cell.kind);
  if (kind === undefined) throw new Error(`bench: no event kind ${String(cell.kind)}`);
  process.env.HTTP_API_RESPONSE = kind.response;
  containers += 1;
  type Module = { handler: (event: unknown) => Promise<unknown> };
  const { handler } = (await import(`${job.urls[cell.who]}?container=${containers}`)) as Module;
  const repeated = kind.event(job.token);
  const distinct = pool.map((token) => kind.event(token));
  return async (index) => {
    const at = index % pool.length;
    const [event, sub] = cell.distinct ? [distinct[at], `bench-user-${at}`] : [repeated, "bench-repeated"];
    checkAllowed(await handler(event), sub, kind, cell.name);
  };
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

async function measure(cell: CpuCell): Promise<CpuSample> {
  const call = await start(cell);
  await call(0);
  const first = await callFor(call, 1, job.warmupMs);
  logLines = 0;
  const [cpuBefore, wallBefore] = [process.cpuUsage(), performance.now()];
  const next = await callFor(call, first, job.timeMs);
  const [cpu, wall] = [process.cpuUsage(cpuBefore), performance.now() - wallBefore];
  const calls = next - first;
  return { cpu: (cpu.user + cpu.system) / calls, wall: (wall * 1000) / calls, calls, logLines: logLines / calls };
}

const samples: CpuSample[][] = job.cells.map(() => []);
for (let round = 0; round < job.rounds; round += 1) {
  // Rotated: each round starts elsewhere, so no cell always follows the same one.
  const shift = (round * 5) % job.cells.length;
  const order = job.cells.map((_, index) => (index + shift) % job.cells.length);
  for (const index of order) {
    const cell = job.cells[index];
    if (cell === undefined) continue;
    process.stderr.write(`bench: pinned, round ${round + 1}/${job.rounds}: ${cell.name}\n`);
    samples[index]?.push(await measure(cell));
  }
}
process.stdout.write(JSON.stringify(samples), () => process.exit(0));
