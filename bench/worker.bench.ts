/**
 * The built Worker (dist/worker.js) under HTTP load in workerd (Miniflare), next to a pass-through
 * Worker, all on 127.0.0.1: workerd's own CPU time per request (its threads' schedstat, Linux only)
 * and, noisier, throughput. Two workerd processes per row, each measured every round. What is
 * measured and why: docs/benchmarks.md. Run with `npm run bench:worker`; prints and writes
 * bench/results/worker.md. Knobs (env): BENCH_WORKER_ DURATION_S (4), WARMUP_S (1), ROUNDS (3),
 * POOL (10000), CONNECTIONS (32), RATE (requests/s over all connections; default: unlimited), PIN (1: workerd
 * on the last CPU, this process with the load, the origin and the issuer on the others; 0: not pinned);
 * BENCH_WORKER_ONLY, a regular expression: only the rows it matches (and the baseline), written to
 * bench/results/worker.<BENCH_WORKER_OUT>.md instead (default `only`); BENCH_WORKER_OUT alone also
 * writes there (a trial run that leaves the committed report alone).
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import autocannon from "autocannon";
import type { Miniflare } from "miniflare";
import { newAssertionKey } from "../dev/assertion-key.ts";
import { startDevIssuer } from "../dev/issuer.ts";
import { startWorker } from "../test/cloudflare/miniflare.ts";
import { cpus } from "node:os";
import { childPids, cpuWindow, pin } from "./process-cpu.ts";
import {
  BUNDLE_MAX_BYTES,
  TOKEN_CACHE_ENTRIES,
  bundleSection,
  fail,
  fixed,
  integer,
  loadAverages,
  machineLines,
  median,
  mintTokens,
  setting,
  targetLine,
  times,
  watchdog,
} from "./common.ts";

const DURATION_S = setting("BENCH_WORKER_DURATION_S", 4);
const WARMUP_S = setting("BENCH_WORKER_WARMUP_S", 1);
const ROUNDS = setting("BENCH_WORKER_ROUNDS", 3);
const POOL = setting("BENCH_WORKER_POOL", 10_000);
const CONNECTIONS = setting("BENCH_WORKER_CONNECTIONS", 32);
/** Requests per second over all connections; undefined: as fast as the connections go. */
const RATE = process.env.BENCH_WORKER_RATE === undefined ? undefined : setting("BENCH_WORKER_RATE", 1);
/**
 * workerd and everything else on CPUs of their own: sharing one, each evicts the other's caches, and the
 * spread between two processes of one row was as wide as the targets (0.82×–1.18× for two pass-throughs).
 */
const PINNED = process.env.BENCH_WORKER_PIN !== "0" && cpus().length > 1;
const WORKERD_CPU = cpus().length - 1;
const pinning = (): string =>
  PINNED
    ? `pinned with the origin and the issuer to CPU(s) 0–${WORKERD_CPU - 1}, every workerd to CPU ${WORKERD_CPU}`
    : "**not pinned**: it competes with workerd for the CPUs (it changes throughput, hardly workerd's CPU per request)";
/** workerd processes (Miniflare instances) per row. */
const PROCESSES = 2;
/** After a warmup, before the CPU window opens: the warmup's last requests leave workerd. */
const DRAIN_MS = 200;
const PATH = "/api/items?id=42";
/** The claim-header row: CLAIM_HEADERS sends the token's claim CLAIM_NAME as CLAIM_HEADER (docs/claim-headers.md). */
const [CLAIM_HEADER, CLAIM_NAME, CLAIM_VALUE] = ["x-user-email", "email", "bench-repeated@example.com"];
const ONLY = process.env.BENCH_WORKER_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_WORKER_ONLY);
const OUT = process.env.BENCH_WORKER_OUT ?? (ONLY === undefined ? undefined : "only");
const RESULTS = resolve(import.meta.dirname, OUT === undefined ? "results/worker.md" : `results/worker.${OUT}.md`);
/** Issue targets: workerd CPU per request ÷ the pass-through Worker's (issue 21). */
const REPEATED_TARGET = 1.05;
const FRESH_TARGET = 1.3;
const RESOLVER_TARGET = 1.05;

/** The baseline: forwards every request to the origin as the gate does, without authenticating. */
const PASS_THROUGH = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, { method: request.method, headers: request.headers, body: request.body, redirect: "manual" });
  },
};`;

/**
 * The origin, in a worker thread of its own (its own event loop): 200 `ok` to everything. It counts
 * in shared memory: [0] a generation the driver bumps before each run, [1] requests, [2] requests
 * carrying x-authgear-user-id, [3] distinct user ids seen in this generation, [4] requests carrying
 * the signed assertion.
 */
const ORIGIN = `
const { createServer } = require("node:http");
const { parentPort, workerData: counts } = require("node:worker_threads");
let generation = -1;
let users = new Set();
createServer((req, res) => {
  if (Atomics.load(counts, 0) !== generation) [generation, users] = [Atomics.load(counts, 0), new Set()];
  Atomics.add(counts, 1, 1);
  const user = req.headers["x-authgear-user-id"];
  if (user !== undefined) {
    Atomics.add(counts, 2, 1);
    Atomics.store(counts, 3, users.add(user).size);
  }
  if (req.headers["x-authgear-edge-assertion"] !== undefined) Atomics.add(counts, 4, 1);
  if (req.headers["${CLAIM_HEADER}"] === "${CLAIM_VALUE}") Atomics.add(counts, 5, 1);
  res.writeHead(200, { "content-type": "text/plain", "content-length": 2 }).end("ok");
}).listen(0, "127.0.0.1", function () { parentPort.postMessage(this.address().port); });
`;

type HeaderMap = Record<string, string>;

interface Scenario {
  readonly name: string;
  /** The gate's settings, or the pass-through's; none: the origin directly. */
  readonly bindings?: HeaderMap;
  readonly script?: string;
  readonly status: 200 | 401;
  /** What the origin must see: requests with identity headers, requests without, or nothing. */
  readonly reaches: "identified" | "anonymous" | "nothing";
  readonly headers: () => HeaderMap;
  /**
   * Resolver calls allowed: none (default), at most 1% of the responses (warm cache), or some and at most one per
   * response.
   */
  readonly resolver?: "cached" | "shared";
  /** A new credential per request: the origin must see that many distinct users. */
  readonly distinct?: boolean;
  /** The reference row runs in the first round only, on one process. */
  readonly once?: boolean;
  /** Every request the origin sees carries the signed assertion (else none does). */
  readonly asserted?: boolean;
  /** Every request the origin sees carries the CLAIM_HEADERS header with the token's claim (else none does). */
  readonly claimed?: boolean;
}

interface Sample {
  readonly round: number;
  readonly process: number;
  /** workerd's CPU time per response, µs; NaN without workerd (the reference row). */
  readonly cpu: number;
  /** workerd's CPU time ÷ the window's wall time (1 = one core busy). */
  readonly busy: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly resolverCalls: number;
  readonly logLines: number;
  readonly lostThreads: number;
}

/** One Miniflare instance of a row: its entry URL and its workerd process (none for the reference row). */
interface Target {
  readonly url: string;
  readonly logs: string[];
  readonly pid?: number;
}

interface Run {
  readonly responses: number;
  readonly seconds: number;
  readonly statuses: Map<number, number>;
  readonly errors: number;
  /** Per response, in ms. */
  readonly latencies: number[];
}

/** autocannon at `url` for `seconds`, a request built per request; latencies per response in fractional ms. */
function load(url: string, seconds: number, headers: () => HeaderMap): Promise<Run> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  return new Promise((resolveRun, reject) => {
    const requests = [
      {
        method: "GET" as const,
        path: PATH,
        setupRequest: (request: autocannon.Request) => ({ ...request, headers: headers() }),
      },
    ];
    const options = {
      url,
      connections: CONNECTIONS,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests,
      ...(RATE !== undefined && { overallRate: RATE }),
    };
    const instance = autocannon(options, (error: unknown, result) => {
      if (error) reject(error instanceof Error ? error : new Error("autocannon failed", { cause: error }));
      else
        resolveRun({
          responses: latencies.length,
          seconds: result.duration,
          statuses,
          errors: result.errors,
          latencies,
        });
    });
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

async function startOrigin(): Promise<{ url: string; counts: Int32Array; close: () => Promise<number> }> {
  const counts = new Int32Array(new SharedArrayBuffer(24));
  const thread = new Worker(ORIGIN, { eval: true, workerData: counts });
  const port = await new Promise<number>((resolvePort, reject) => {
    thread.once("message", resolvePort);
    thread.once("error", reject);
  });
  return { url: `http://127.0.0.1:${port}`, counts, close: () => thread.terminate() };
}

/** A Miniflare instance of the row and its workerd: the one `workerd` child of this process not there before. */
async function startTarget(scenario: Scenario, instances: Miniflare[]): Promise<Target> {
  const logs: string[] = [];
  const before = childPids("workerd");
  const mf = startWorker(scenario.bindings ?? fail("no bindings"), 1, logs, scenario.script);
  instances.push(mf);
  const { origin } = await mf.ready;
  const [pid, ...more] = [...childPids("workerd")].filter((child) => !before.has(child));
  if (pid === undefined || more.length > 0) {
    fail(`${scenario.name}: ${more.length + (pid === undefined ? 0 : 1)} new workerd processes, expected 1`);
  }
  if (PINNED && !pin(pid, String(WORKERD_CPU))) {
    fail(`${scenario.name}: could not pin workerd ${pid} to CPU ${WORKERD_CPU}`);
  }
  return { url: origin, logs, pid };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? fail("no responses");
}

const pause = (ms: number): Promise<void> => new Promise((resolvePause) => setTimeout(resolvePause, ms));
const span = (values: readonly number[], format: (value: number) => string): string =>
  `${format(Math.min(...values))}–${format(Math.max(...values))}`;

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverages();
  if (POOL <= TOKEN_CACHE_ENTRIES) fail(`BENCH_WORKER_POOL must exceed the ${TOKEN_CACHE_ENTRIES}-entry token cache`);
  const bundle = await bundleSection("dist/worker.js", "src/cloudflare/worker.ts", {
    // As wrangler 4 bundles a Worker (wrangler.toml: minify, no keep_names).
    format: "esm",
    platform: "browser",
    target: "es2024",
    conditions: ["workerd", "worker", "browser"],
    keepNames: false,
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const others = Array.from({ length: WORKERD_CPU }, (_, cpu) => cpu).join(",");
  if (PINNED && !pin(process.pid, others)) {
    fail("could not pin this process (taskset, util-linux); BENCH_WORKER_PIN=0 runs unpinned");
  }
  const issuer = await startDevIssuer();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  try {
    console.error(`bench: minting ${POOL} tokens`);
    const pool = await mintTokens(issuer, POOL);
    // Every row sends this token (the claim-header row reads its claim), so all carry the same bytes.
    const token = await issuer.mintAccessToken({ sub: "bench-repeated", claims: { [CLAIM_NAME]: CLAIM_VALUE } });
    const session = issuer.createSession("bench-session").cookie;
    let next = 0;
    const bearer = (value: string): HeaderMap => ({ authorization: `Bearer ${value}` });
    // The session cookie padded to the bearer header's length: rows differ in authentication, not in bytes.
    const cookie = `session=${session}; bench_pad=`.padEnd(
      `authorization: Bearer ${token}`.length - "cookie: ".length,
      "A",
    );
    // A key set younger than JWKS_MAX_AGE_SECONDS is used with no fetch: an hour keeps the scheduled
    // refresh (default 300 s) out of this run's windows; the per-request work is the same.
    const gate = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, JWKS_MAX_AGE_SECONDS: "3600" };
    const resolver = (seconds: string): HeaderMap => ({
      ...gate,
      AUTH_MODE: "resolver",
      RESOLVER_CACHE_SECONDS: seconds,
    });
    const repeated = (): HeaderMap => bearer(token);
    const asserting = {
      ...gate,
      ASSERTION_KEY: JSON.stringify(await newAssertionKey("bench")),
      ASSERTION_ISSUER: "https://gate.example",
      ASSERTION_AUDIENCE: "https://origin.example",
    };
    const claimHeaders = { ...gate, CLAIM_HEADERS: JSON.stringify({ [CLAIM_HEADER]: CLAIM_NAME }) };
    const rotating = (): HeaderMap => bearer(pool[next++ % POOL] ?? fail("empty pool"));
    const base: Scenario = {
      name: "pass-through Worker, no authentication (baseline)",
      bindings: { ORIGIN_URL: origin.url },
      script: PASS_THROUGH,
      status: 200,
      reaches: "anonymous",
      headers: repeated,
    };
    const repeatedRow: Scenario = {
      name: "repeated token",
      bindings: gate,
      status: 200,
      reaches: "identified",
      headers: repeated,
    };
    const freshRow: Scenario = {
      name: `new token per request (${integer(POOL)} tokens)`,
      bindings: gate,
      status: 200,
      reaches: "identified",
      distinct: true,
      headers: rotating,
    };
    const resolverRow: Scenario = {
      name: "resolver mode, repeated session cookie, warm verdict cache (60 s)",
      bindings: resolver("60"),
      status: 200,
      reaches: "identified",
      headers: () => ({ cookie }),
      resolver: "cached",
    };
    const scenarios: Scenario[] = [
      base,
      repeatedRow,
      freshRow,
      resolverRow,
      {
        name: "repeated token, signed assertion on (ES256, reused)",
        bindings: asserting,
        status: 200,
        reaches: "identified",
        headers: repeated,
        asserted: true,
      },
      {
        name: `repeated token, CLAIM_HEADERS (one claim: ${CLAIM_HEADER})`,
        bindings: claimHeaders,
        status: 200,
        reaches: "identified",
        headers: repeated,
        claimed: true,
      },
      { name: "refused: no token (401)", bindings: gate, status: 401, reaches: "nothing", headers: () => ({}) },
      {
        name: "resolver mode, repeated session cookie, verdict cache off",
        bindings: resolver("0"),
        status: 200,
        reaches: "identified",
        headers: () => ({ cookie }),
        resolver: "shared",
      },
      {
        name: "hybrid mode, repeated token (verified locally)",
        bindings: { ...gate, AUTH_MODE: "hybrid" },
        status: 200,
        reaches: "identified",
        headers: repeated,
      },
      {
        name: "repeated token, SERVER_TIMING=true",
        bindings: { ...gate, SERVER_TIMING: "true" },
        status: 200,
        reaches: "identified",
        headers: repeated,
      },
      {
        name: `new token per request, signed assertion on (one ES256 signature each; ${integer(POOL)} tokens)`,
        bindings: asserting,
        status: 200,
        reaches: "identified",
        distinct: true,
        asserted: true,
        headers: rotating,
      },
      {
        name: "(reference) the origin directly, no Worker",
        status: 200,
        reaches: "anonymous",
        headers: repeated,
        once: true,
      },
    ];
    if (ONLY !== undefined)
      scenarios.splice(
        0,
        scenarios.length,
        ...scenarios.filter((scenario) => scenario === base || ONLY.test(scenario.name)),
      );

    const targets = new Map<Scenario, Target[]>();
    for (const scenario of scenarios) {
      const what = scenario.bindings === undefined ? "the origin's row" : `${PROCESSES} workerd`;
      console.error(`bench: starting ${what}: ${scenario.name}`);
      const list: Target[] = scenario.bindings === undefined ? [{ url: origin.url, logs: [] }] : [];
      // One at a time: each instance's workerd is the child process that appears while it starts.
      while (scenario.bindings !== undefined && list.length < PROCESSES) {
        list.push(await startTarget(scenario, instances));
      }
      for (const { url } of list) {
        const first = await fetch(`${url}${PATH}`, { headers: scenario.headers() });
        await first.arrayBuffer();
        if (first.status !== scenario.status) {
          fail(`${scenario.name}: first answer ${first.status}, expected ${scenario.status}`);
        }
        // The gate adds Server-Timing when asked to, and only then.
        const timed = scenario.bindings?.SERVER_TIMING === "true";
        if (scenario.bindings?.AUTHGEAR_ENDPOINT !== undefined && first.headers.has("server-timing") !== timed) {
          fail(`${scenario.name}: Server-Timing ${first.headers.has("server-timing") ? "present" : "absent"}`);
        }
      }
      targets.set(scenario, list);
    }

    const measure = async (scenario: Scenario, target: Target, round: number, index: number): Promise<Sample> => {
      await load(target.url, WARMUP_S, scenario.headers);
      await pause(DRAIN_MS);
      const counts = origin.counts;
      Atomics.add(counts, 0, 1);
      Atomics.store(counts, 3, 0);
      const [requests, identified, hits, resolverHits, logLines] = [
        counts[1]!,
        counts[2]!,
        { ...issuer.hits },
        issuer.resolverHits,
        target.logs.length,
      ];
      const [asserted, claimed] = [counts[4]!, counts[5]!];
      const close = target.pid === undefined ? undefined : cpuWindow(target.pid);
      const run = await load(target.url, DURATION_S, scenario.headers);
      // Closed when the last response arrived: requests still in flight (at most one per
      // connection) count in CPU, not in responses.
      const window = close?.();
      const seen = {
        total: counts[1]! - requests,
        identified: counts[2]! - identified,
        users: counts[3]!,
        asserted: counts[4]! - asserted,
        claimed: counts[5]! - claimed,
      };
      const calls = issuer.resolverHits - resolverHits;
      const problem = (text: string): never => fail(`${scenario.name}: ${text}\n${target.logs.slice(-5).join("\n")}`);
      const statuses = [...run.statuses].map(([status, count]) => `${status} × ${count}`).join(", ");
      if (run.errors > 0) problem(`${run.errors} connection errors or timeouts`);
      if (run.responses === 0 || run.statuses.size !== 1 || !run.statuses.has(scenario.status))
        problem(`expected only ${scenario.status}, got ${statuses}`);
      if (issuer.hits.discovery !== hits.discovery || issuer.hits.jwks !== hits.jwks)
        problem("the Worker fetched keys inside the measured run");
      // In-flight requests of the warmup may still reach the origin during the run, hence `>=`.
      if (scenario.reaches === "nothing" ? seen.total !== 0 : seen.total < run.responses)
        problem(`${run.responses} answered, the origin saw ${seen.total}`);
      if (seen.identified !== (scenario.reaches === "identified" ? seen.total : 0))
        problem(`${seen.identified} of the origin's ${seen.total} requests carried identity headers`);
      if (seen.asserted !== (scenario.asserted === true ? seen.total : 0))
        problem(`${seen.asserted} of the origin's ${seen.total} requests carried the assertion`);
      if (seen.claimed !== (scenario.claimed === true ? seen.total : 0)) {
        problem(`${seen.claimed} of the origin's ${seen.total} requests carried ${CLAIM_HEADER}`);
      }
      if (scenario.distinct === true && seen.users < Math.min(run.responses, POOL) - CONNECTIONS)
        problem(`${run.responses} answered, the origin saw ${seen.users} users`);
      const allowedCalls = {
        cached: calls <= 0.01 * run.responses,
        shared: calls > 0 && calls <= run.responses + 2 * CONNECTIONS,
        none: calls === 0,
      };
      const allowed = allowedCalls[scenario.resolver ?? "none"];
      if (!allowed) problem(`${calls} resolver calls for ${run.responses} responses`);
      const sorted = run.latencies.sort((a, b) => a - b);
      const logged = target.logs.length - logLines;
      target.logs.length = 0;
      return {
        round,
        process: index,
        cpu: window === undefined ? Number.NaN : window.ns / 1000 / run.responses,
        busy: window === undefined ? Number.NaN : window.ns / 1e9 / run.seconds,
        rps: run.responses / run.seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        resolverCalls: calls / run.responses,
        logLines: logged / run.responses,
        lostThreads: window?.lostThreads ?? 0,
      };
    };

    // One unit per workerd process (the reference row: one, first round only); each round
    // rotates the order and alternates its direction.
    const units = scenarios.flatMap((scenario) =>
      (targets.get(scenario) ?? fail("no target")).map((target, index) => ({ scenario, target, index })),
    );
    const samples = new Map<Scenario, Sample[]>(scenarios.map((scenario) => [scenario, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const shift = (round * 3) % units.length;
      const rotated = [...units.slice(shift), ...units.slice(0, shift)];
      for (const { scenario, target, index } of round % 2 === 0 ? rotated : rotated.reverse()) {
        if (scenario.once === true && round > 0) continue;
        const which = scenario.bindings === undefined ? "" : ` (workerd ${index + 1})`;
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${scenario.name}${which}`);
        samples.get(scenario)?.push(await measure(scenario, target, round, index));
      }
    }

    const of = (scenario: Scenario): Sample[] => samples.get(scenario) ?? fail("no samples");
    const mid = (scenario: Scenario, field: keyof Sample): number =>
      median(of(scenario).map((sample) => sample[field]));
    /** Per sample, `field` ÷ (or − ) the pass-through's mean over its processes in the same round. */
    type Compare = (value: number, baseline: number) => number;
    const perRound = (scenario: Scenario, field: "cpu" | "rps", compare: Compare): number[] =>
      of(scenario).map((sample) => {
        const baseline = of(base)
          .filter((other) => other.round === sample.round)
          .map((other) => other[field]);
        return compare(sample[field], baseline.reduce((sum, value) => sum + value, 0) / baseline.length);
      });
    const cpuRatios = (scenario: Scenario): number[] =>
      perRound(scenario, "cpu", (value, baseline) => value / baseline);
    const target = (scenario: Scenario, goal: number): string => {
      const values = cpuRatios(scenario);
      return targetLine(
        median(values) <= goal,
        `${scenario.name}: workerd CPU per request at most ${goal}× the pass-through's: **${times(median(values))}** ` +
          `(${span(values, times)} over ${values.length} process-rounds)`,
      );
    };
    const lost = [...samples.values()].flat().reduce((sum, sample) => sum + sample.lostThreads, 0);
    const workerRows = scenarios.filter((scenario) => scenario.bindings !== undefined);
    const lines = [
      ...machineLines(
        "Worker benchmark",
        ["workerd", "miniflare", "autocannon", "wrangler", "esbuild"],
        started,
        loadBefore,
        "BENCH_WORKER_",
      ),
      `- Load: autocannon in the benchmark's own process, ${pinning()}, ${CONNECTIONS} keep-alive connections` +
        `${RATE === undefined ? "" : `, ${integer(RATE)} requests/s in all`}, \`GET ${PATH}\`, ` +
        `${DURATION_S} s per window after ${WARMUP_S} s warmup and ${DRAIN_MS} ms of quiet. ` +
        `Every row in ${PROCESSES} Miniflare instances ` +
        `(${PROCESSES} workerd processes), each measured in each of ${ROUNDS} round(s); the order rotates every round`,
      "- CPU: workerd's own, the sum over its threads of `/proc/<pid>/task/*/schedstat` (ns on CPU) across the " +
        "window, divided by the responses received in it; the origin (a Node worker thread) and the dev issuer run " +
        "outside workerd. Miniflare's entry worker runs in the same workerd, for the pass-through too",
      `- Ratios: each process's figure ÷ the pass-through's (mean of its ${PROCESSES} processes) in the same round; ` +
        "the median shown, with the range over rounds and processes. The pass-through carries the same " +
        "`Authorization` header as the token rows",
      `- Tokens: RS256 access tokens from the dev issuer; the new-token rows rotate through ${integer(POOL)} tokens, ` +
        `more than the ${TOKEN_CACHE_ENTRIES}-entry verified-token cache`,
      ...(lost > 0 ? [`- **${lost} workerd thread(s) exited inside windows: their CPU time there is missing**`] : []),
      "",
      "## workerd CPU per request",
      "",
      "| scenario | CPU µs/request | CPU ÷ pass-through | range over rounds × processes | µs over pass-through " +
        "| workerd busy (cores) | resolver calls/response | log lines/response |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...workerRows.map((scenario) => {
        const values = cpuRatios(scenario);
        const extra = perRound(scenario, "cpu", (value, baseline) => value - baseline);
        const [ratio, over] =
          scenario === base
            ? ["1.00×", "—"]
            : [`**${times(median(values))}**`, `${integer(median(extra))} (${span(extra, integer)})`];
        const cells = [
          scenario.name,
          fixed(mid(scenario, "cpu")),
          ratio,
          span(values, times),
          over,
          fixed(mid(scenario, "busy"), 2),
          fixed(mid(scenario, "resolverCalls"), 3),
          fixed(mid(scenario, "logLines"), 2),
        ];
        return `| ${cells.join(" | ")} |`;
      }),
      "",
      "## Throughput (noisy: load generator, origin and workerd share the CPUs with each other and the machine)",
      "",
      "| scenario | req/s | req/s per sample | p50 (ms) | p99 (ms) | req/s ÷ pass-through |",
      "|---|---:|---:|---:|---:|---:|",
      ...scenarios.map((scenario) => {
        const values = perRound(scenario, "rps", (value, baseline) => value / baseline);
        const cells = [
          scenario.name,
          integer(mid(scenario, "rps")),
          of(scenario)
            .map((s) => integer(s.rps))
            .join(" / "),
          fixed(mid(scenario, "p50"), 2),
          fixed(mid(scenario, "p99"), 2),
          times(median(values)),
        ];
        return `| ${cells.join(" | ")} |`;
      }),
      "",
      "## Bundle",
      "",
      ...bundle.lines,
      "## Targets",
      "",
      ...(
        [
          [repeatedRow, REPEATED_TARGET],
          [freshRow, FRESH_TARGET],
          [resolverRow, RESOLVER_TARGET],
        ] as const
      )
        .filter(([row]) => scenarios.includes(row))
        .map(([row, goal]) => target(row, goal)),
      targetLine(
        bundle.bytes <= BUNDLE_MAX_BYTES,
        `dist/worker.js at most ${integer(BUNDLE_MAX_BYTES)} bytes minified: **${integer(bundle.bytes)}**`,
      ),
      "",
    ];
    console.log(lines.join("\n"));
    writeFileSync(RESULTS, lines.join("\n"));
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    await Promise.allSettled(instances.map((mf) => mf.dispose()));
    await origin.close();
    await issuer.close();
  }
}

// Per unit of work: warmup, window, drain and checks; per workerd: its start.
watchdog(180 + 12 * PROCESSES * (5 + ROUNDS * (DURATION_S + WARMUP_S + DRAIN_MS / 1000 + 1)));
await main();
