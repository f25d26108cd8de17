/**
 * The built Worker (dist/worker.js) under HTTP load in workerd (Miniflare), next to a pass-through
 * Worker, all on 127.0.0.1. What is measured and why: README.md, "Benchmarks". Run with
 * `npm run bench:worker`; prints and writes bench/results/worker.md. Knobs (env): BENCH_WORKER_
 * DURATION_S (5), WARMUP_S (1.5), ROUNDS (3), POOL (10000), CONNECTIONS (32); BENCH_WORKER_ONLY, a
 * regular expression: only the rows it matches (and the baseline), written to
 * bench/results/worker.<BENCH_WORKER_OUT>.md instead (default `only`).
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import autocannon from "autocannon";
import type { Miniflare } from "miniflare";
import { newAssertionKey } from "../dev/assertion-key.ts";
import { startDevIssuer } from "../dev/issuer.ts";
import { startWorker } from "../test/cloudflare/miniflare.ts";
import {
  BUNDLE_MAX_BYTES, TOKEN_CACHE_ENTRIES, bundleSection, fail, fixed, integer, loadAverages, machineLines, median, mintTokens, ratios, setting,
  targetLine, times, watchdog,
} from "./common.ts";

const DURATION_S = setting("BENCH_WORKER_DURATION_S", 5);
const WARMUP_S = setting("BENCH_WORKER_WARMUP_S", 1.5);
const ROUNDS = setting("BENCH_WORKER_ROUNDS", 3);
const POOL = setting("BENCH_WORKER_POOL", 10_000);
const CONNECTIONS = setting("BENCH_WORKER_CONNECTIONS", 32);
const PATH = "/api/items?id=42";
const ONLY = process.env.BENCH_WORKER_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_WORKER_ONLY);
const RESULTS = resolve(import.meta.dirname, ONLY === undefined ? "results/worker.md" : `results/worker.${process.env.BENCH_WORKER_OUT ?? "only"}.md`);
/** Issue targets: throughput ÷ the pass-through Worker's. */
const REPEATED_TARGET = 0.9;
const FRESH_TARGET = 0.8;

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
  /** Resolver calls allowed: none (default), at most 1% of the responses (warm cache), or some and at most one per response. */
  readonly resolver?: "cached" | "shared";
  /** A new credential per request: the origin must see that many distinct users. */
  readonly distinct?: boolean;
  /** The reference row runs in the first round only. */
  readonly once?: boolean;
  /** Every request the origin sees carries the signed assertion (else none does). */
  readonly asserted?: boolean;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly resolverCalls: number;
  readonly logLines: number;
}

interface Target {
  readonly url: string;
  readonly logs: string[];
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
    const requests = [{ method: "GET" as const, path: PATH, setupRequest: (request: autocannon.Request) => ({ ...request, headers: headers() }) }];
    const instance = autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: seconds, timeout: 10, requests }, (error: unknown, result) => {
      if (error) reject(error instanceof Error ? error : new Error("autocannon failed", { cause: error }));
      else resolveRun({ responses: latencies.length, seconds: result.duration, statuses, errors: result.errors, latencies });
    });
    instance.on("response", (_client, status, _bytes, ms) => {
      latencies.push(ms);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  });
}

async function startOrigin(): Promise<{ url: string; counts: Int32Array; close: () => Promise<number> }> {
  const counts = new Int32Array(new SharedArrayBuffer(20));
  const thread = new Worker(ORIGIN, { eval: true, workerData: counts });
  const port = await new Promise<number>((resolvePort, reject) => {
    thread.once("message", resolvePort);
    thread.once("error", reject);
  });
  return { url: `http://127.0.0.1:${port}`, counts, close: () => thread.terminate() };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? fail("no responses");
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverages();
  if (POOL <= TOKEN_CACHE_ENTRIES) fail(`BENCH_WORKER_POOL must exceed the ${TOKEN_CACHE_ENTRIES}-entry token cache`);
  const bundle = await bundleSection("dist/worker.js", "src/cloudflare/worker.ts", {
    // As wrangler 4 bundles a Worker (wrangler.toml: minify, no keep_names).
    format: "esm", platform: "browser", target: "es2024", conditions: ["workerd", "worker", "browser"], keepNames: false,
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const issuer = await startDevIssuer();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  try {
    console.error(`bench: minting ${POOL} tokens`);
    const pool = await mintTokens(issuer, POOL);
    const token = await issuer.mintAccessToken({ sub: "bench-repeated" });
    const session = issuer.createSession("bench-session").cookie;
    let next = 0;
    const bearer = (value: string): HeaderMap => ({ authorization: `Bearer ${value}` });
    // The session cookie padded to the bearer header's length: rows differ in authentication, not in bytes.
    const cookie = `session=${session}; bench_pad=`.padEnd(`authorization: Bearer ${token}`.length - "cookie: ".length, "A");
    const gate = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url };
    const resolver = (seconds: string): HeaderMap => ({ ...gate, AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: seconds });
    const repeated = (): HeaderMap => bearer(token);
    const asserting = {
      ...gate, ASSERTION_KEY: JSON.stringify(await newAssertionKey("bench")), ASSERTION_ISSUER: "https://gate.example", ASSERTION_AUDIENCE: "https://origin.example",
    };
    const rotating = (): HeaderMap => bearer(pool[next++ % POOL] ?? fail("empty pool"));
    const base: Scenario = { name: "pass-through Worker, no authentication (baseline)", bindings: { ORIGIN_URL: origin.url }, script: PASS_THROUGH, status: 200, reaches: "anonymous", headers: repeated };
    const scenarios: Scenario[] = [
      base,
      { name: "repeated token", bindings: gate, status: 200, reaches: "identified", headers: repeated },
      {
        name: `new token per request (${integer(POOL)} tokens)`, bindings: gate, status: 200, reaches: "identified", distinct: true,
        headers: () => bearer(pool[next++ % POOL] ?? fail("empty pool")),
      },
      { name: "refused: no token (401)", bindings: gate, status: 401, reaches: "nothing", headers: () => ({}) },
      { name: "resolver mode, repeated session cookie, warm verdict cache (60 s)", bindings: resolver("60"), status: 200, reaches: "identified", headers: () => ({ cookie }), resolver: "cached" },
      { name: "resolver mode, repeated session cookie, verdict cache off", bindings: resolver("0"), status: 200, reaches: "identified", headers: () => ({ cookie }), resolver: "shared" },
      { name: "hybrid mode, repeated token (verified locally)", bindings: { ...gate, AUTH_MODE: "hybrid" }, status: 200, reaches: "identified", headers: repeated },
      { name: "repeated token, SERVER_TIMING=true", bindings: { ...gate, SERVER_TIMING: "true" }, status: 200, reaches: "identified", headers: repeated },
      { name: "repeated token, signed assertion on (ES256, reused)", bindings: asserting, status: 200, reaches: "identified", headers: repeated, asserted: true },
      {
        name: `new token per request, signed assertion on (one ES256 signature each; ${integer(POOL)} tokens)`, bindings: asserting, status: 200, reaches: "identified",
        distinct: true, asserted: true, headers: rotating,
      },
      { name: "(reference) the origin directly, no Worker", status: 200, reaches: "anonymous", headers: repeated, once: true },
    ];
    const [repeatedRow, freshRow] = [scenarios[1], scenarios[2]] as [Scenario, Scenario];
    if (ONLY !== undefined) scenarios.splice(0, scenarios.length, ...scenarios.filter((scenario) => scenario === base || ONLY.test(scenario.name)));

    const targets = new Map<Scenario, Target>();
    for (const scenario of scenarios) {
      const logs: string[] = [];
      let url = origin.url;
      if (scenario.bindings !== undefined) {
        const mf = startWorker(scenario.bindings, 1, logs, scenario.script);
        instances.push(mf);
        url = (await mf.ready).origin;
      }
      const first = await fetch(`${url}${PATH}`, { headers: scenario.headers() });
      await first.arrayBuffer();
      if (first.status !== scenario.status) fail(`${scenario.name}: first answer ${first.status}, expected ${scenario.status}`);
      // The gate adds Server-Timing when asked to, and only then.
      if (scenario.bindings?.AUTHGEAR_ENDPOINT !== undefined && first.headers.has("server-timing") !== (scenario.bindings.SERVER_TIMING === "true")) {
        fail(`${scenario.name}: Server-Timing ${first.headers.has("server-timing") ? "present" : "absent"}`);
      }
      targets.set(scenario, { url, logs });
    }

    const measure = async (scenario: Scenario, target: Target): Promise<Sample> => {
      await load(target.url, WARMUP_S, scenario.headers);
      const counts = origin.counts;
      Atomics.add(counts, 0, 1);
      Atomics.store(counts, 3, 0);
      const [requests, identified, hits, resolverHits, logLines] = [counts[1]!, counts[2]!, { ...issuer.hits }, issuer.resolverHits, target.logs.length];
      const asserted = counts[4]!;
      const run = await load(target.url, DURATION_S, scenario.headers);
      const seen = { total: counts[1]! - requests, identified: counts[2]! - identified, users: counts[3]!, asserted: counts[4]! - asserted };
      const calls = issuer.resolverHits - resolverHits;
      const problem = (text: string): never => fail(`${scenario.name}: ${text}\n${target.logs.slice(-5).join("\n")}`);
      const statuses = [...run.statuses].map(([status, count]) => `${status} × ${count}`).join(", ");
      if (run.errors > 0) problem(`${run.errors} connection errors or timeouts`);
      if (run.responses === 0 || run.statuses.size !== 1 || !run.statuses.has(scenario.status)) problem(`expected only ${scenario.status}, got ${statuses}`);
      if (issuer.hits.discovery !== hits.discovery || issuer.hits.jwks !== hits.jwks) problem("the Worker fetched keys inside the measured run");
      // In-flight requests of the warmup may still reach the origin during the run, hence `>=`.
      if (scenario.reaches === "nothing" ? seen.total !== 0 : seen.total < run.responses) problem(`${run.responses} answered, the origin saw ${seen.total}`);
      if (seen.identified !== (scenario.reaches === "identified" ? seen.total : 0)) problem(`${seen.identified} of the origin's ${seen.total} requests carried identity headers`);
      if (seen.asserted !== (scenario.asserted === true ? seen.total : 0)) problem(`${seen.asserted} of the origin's ${seen.total} requests carried the assertion`);
      if (scenario.distinct === true && seen.users < Math.min(run.responses, POOL) - CONNECTIONS) problem(`${run.responses} answered, the origin saw ${seen.users} users`);
      const allowed = scenario.resolver === "cached" ? calls <= 0.01 * run.responses : scenario.resolver === "shared" ? calls > 0 && calls <= run.responses + 2 * CONNECTIONS : calls === 0;
      if (!allowed) problem(`${calls} resolver calls for ${run.responses} responses`);
      const sorted = run.latencies.sort((a, b) => a - b);
      const logged = target.logs.length - logLines;
      target.logs.length = 0;
      return {
        rps: run.responses / run.seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99),
        resolverCalls: calls / run.responses, logLines: logged / run.responses,
      };
    };

    const samples = new Map<Scenario, Sample[]>(scenarios.map((scenario) => [scenario, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const scenario of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
        if (scenario.once === true && round > 0) continue;
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${scenario.name}`);
        samples.get(scenario)?.push(await measure(scenario, targets.get(scenario) ?? fail("no target")));
      }
    }

    const of = (scenario: Scenario): Sample[] => samples.get(scenario) ?? fail("no samples");
    const mid = (scenario: Scenario, field: keyof Sample): number => median(of(scenario).map((sample) => sample[field]));
    const vsBase = (scenario: Scenario): number[] => ratios(of(scenario).map((s) => s.rps), of(base).map((s) => s.rps));
    const target = (scenario: Scenario, goal: number): string => {
      const perRound = vsBase(scenario);
      return targetLine(median(perRound) >= goal, `${scenario.name}: at least ${goal}× the pass-through's throughput: **${times(median(perRound))}** (per round ${perRound.map(times).join(", ")})`);
    };
    const lines = [
      ...machineLines("Worker benchmark", ["workerd", "miniflare", "autocannon", "wrangler", "esbuild"], started, loadBefore, "BENCH_WORKER_"),
      `- Load: autocannon, ${CONNECTIONS} keep-alive connections, \`GET ${PATH}\`, ${DURATION_S} s per row after ${WARMUP_S} s warmup, ${ROUNDS} round(s) in alternating order; medians over rounds, ratios per round (their median shown). Every Worker in its own Miniflare, load at its entry URL`,
      `- Tokens: RS256 access tokens from the dev issuer; the new-token row rotates through ${integer(POOL)} tokens, more than the ${TOKEN_CACHE_ENTRIES}-entry verified-token cache`,
      "",
      "| scenario | req/s | req/s per round | p50 (ms) | p99 (ms) | req/s ÷ pass-through | µs/request over pass-through | resolver calls/response | log lines/response |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...scenarios.map((scenario) => {
        const extra = 1e6 / mid(scenario, "rps") - 1e6 / mid(base, "rps");
        return `| ${scenario.name} | ${integer(mid(scenario, "rps"))} | ${of(scenario).map((s) => integer(s.rps)).join(" / ")} | ${fixed(mid(scenario, "p50"), 2)} | ${fixed(mid(scenario, "p99"), 2)} | ${times(median(vsBase(scenario)))} | ${scenario === base ? "—" : integer(extra)} | ${fixed(mid(scenario, "resolverCalls"), 3)} | ${fixed(mid(scenario, "logLines"), 2)} |`;
      }),
      "",
      "## Bundle",
      "",
      ...bundle.lines,
      "## Targets",
      "",
      ...(scenarios.includes(repeatedRow) ? [target(repeatedRow, REPEATED_TARGET)] : []),
      ...(scenarios.includes(freshRow) ? [target(freshRow, FRESH_TARGET)] : []),
      targetLine(bundle.bytes <= BUNDLE_MAX_BYTES, `dist/worker.js at most ${integer(BUNDLE_MAX_BYTES)} bytes minified: **${integer(bundle.bytes)}**`),
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

watchdog(180 + ROUNDS * 11 * (DURATION_S + WARMUP_S + 1));
await main();
