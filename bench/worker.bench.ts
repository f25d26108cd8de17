/**
 * The built Worker (dist/worker.js) under HTTP load, inside real workerd through the Miniflare API
 * (not `wrangler dev`, whose proxy and per-request logging would dominate), next to a pass-through
 * Worker that forwards the same requests to the same origin without authenticating. Everything
 * listens on and talks to 127.0.0.1 only.
 *
 * Pieces, all in this process:
 * - the dev issuer (dev/issuer.ts) in a worker thread (this same file, loaded there through tsx's
 *   `tsImport`): the Worker's `AUTHGEAR_ENDPOINT`, the minter of the tokens and sessions, and the
 *   resolver endpoint of the resolver rows. It gets its own event loop so that, in the rows where
 *   workerd calls it on every request, it does not compete with autocannon for the main thread
 *   (the two still share the machine's cores). The driver asks it for tokens, sessions and its
 *   hit counters by message;
 * - a minimal origin of this file's own (not the demo origin, which echoes every request as
 *   pretty-printed JSON and would be the bottleneck): node:http in a worker thread, answering 200
 *   `ok` to everything. It counts the requests it gets, those carrying `x-authgear-user-id`, and
 *   the distinct user ids, so each run checks what reached it;
 * - one Miniflare (one workerd process) per row, created with the same options;
 * - autocannon, driving `BENCH_WORKER_CONNECTIONS` (default 32) keep-alive connections at the
 *   Miniflare entry URL (`BENCH_WORKER_DIRECT=1`: at each Worker's own socket), without
 *   pipelining, for `BENCH_WORKER_DURATION_S` (default 5) seconds after `BENCH_WORKER_WARMUP_S`
 *   (default 1.5) seconds of warmup, the same settings for every row.
 *   Every row builds each request through autocannon's `setupRequest`, so the client does the same
 *   work per request whatever the row.
 *
 * Rows (`GET /api/items?id=42` in every row):
 * - pass-through: a module Worker that does `fetch(ORIGIN_URL + path, { method, headers, body,
 *   redirect: "manual" })` and returns the origin's response as is. The baseline. It gets the same
 *   `Authorization` header as the repeated-token row, and forwards it;
 * - this Worker, repeated token: the same valid access token on every request;
 * - this Worker, new token per request: a pool of `BENCH_WORKER_POOL` (default 10,000) distinct
 *   tokens minted before the run, one after the other. The Worker's verified-token cache keeps the
 *   last 1000 tokens, so with a pool this much larger every request pays a full verification;
 * - this Worker, refused: no credentials, every answer a 401 (any other status fails the run);
 * - this Worker, resolver mode, warm verdict cache: `AUTH_MODE=resolver`,
 *   `RESOLVER_CACHE_SECONDS=60`, the same `session` cookie (a dev-issuer session) on every request,
 *   with a filler cookie that makes the `Cookie` line as long as the bearer rows' `Authorization`
 *   line (the resolver gets only `session`): the verdict is fetched during warmup and then served
 *   from the cache;
 * - this Worker, resolver mode, cache off: the same with `RESOLVER_CACHE_SECONDS=0`, so every
 *   request asks the resolver, except that concurrent identical requests share one call (single
 *   flight);
 * - (diagnostic) this Worker, resolver mode, new session per request, cache off: a pool of
 *   `BENCH_WORKER_POOL` sessions of distinct users, one after the other, so no two requests in
 *   flight share a call: one resolver call per request, the cost of a cache miss;
 * - this Worker, hybrid mode, repeated token: `AUTH_MODE=hybrid` with the repeated-token row's
 *   JWT, verified locally (the resolver must see no call).
 *   Each of these counts the resolver calls it caused (the dev issuer's `resolverHits` over the
 *   measured run) per response; any other row must cause none;
 * - (diagnostic) pass-through + response copy: the pass-through Worker, plus what the gate does
 *   to the origin's response (`new Response(res.body, res)` and one header appended), which
 *   separates the cost of that copy from the cost of authentication;
 * - (diagnostic) this Worker on a public path (`PUBLIC_PATHS=/api/*`) with `Authorization: Basic`
 *   as long as the bearer header (the gate ignores other schemes): everything the gate does except
 *   verifying a token and adding identity headers, on requests of the same size;
 * - (reference) the origin directly, no Worker, in the first round only: the ceiling the origin
 *   and client allow.
 *
 * Every row runs in `BENCH_WORKER_ROUNDS` rounds (default 3), in listed order in even rounds and
 * reversed in odd rounds, so the order does not decide a ratio; the table shows medians over the
 * rounds, ratios are computed per round and their median is shown. On a small shared machine
 * the noise comes in bursts of seconds, so three shorter rounds give a steadier median than two
 * longer ones in the same time (about 4 minutes in all, with 5 s rows). Any connection error,
 * timeout or unexpected status fails the run, as does a request reaching the origin without the
 * identity headers (or with them from the pass-through), fewer distinct identities at the origin
 * than the new-token and new-session rows sent, a key-set fetch inside a measured run, or resolver
 * calls out of line with the row (any in a row that must make none; more than 1% of the responses
 * with a warm cache; none, or more than one per response, with the cache off).
 *
 * The machine's cores are shared by autocannon, workerd and the origin (and whatever else runs):
 * on 2 vCPUs, compare rows rather than absolute figures, and mind the per-round spread.
 *
 * Run: `npm run bench:worker` (`npm run build`, then `tsx bench/worker.bench.ts`). Prints a
 * Markdown table and writes it to bench/results/worker.md.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { arch, cpus, platform, totalmem } from "node:os";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { startDevIssuer } from "../dev/issuer.ts";
import { ROOT, fail, fixed, integer, kib, loadAverages, median, mintTokens, packageVersion, targetLine } from "./common.ts";

const CONNECTIONS = Number(process.env.BENCH_WORKER_CONNECTIONS ?? 32);
const DURATION_S = Number(process.env.BENCH_WORKER_DURATION_S ?? 5);
const WARMUP_S = Number(process.env.BENCH_WORKER_WARMUP_S ?? 1.5);
const ROUNDS = Number(process.env.BENCH_WORKER_ROUNDS ?? 3);
const POOL_SIZE = Number(process.env.BENCH_WORKER_POOL ?? 10_000);
/**
 * `BENCH_WORKER_DIRECT=1`: load each Worker on its own socket (Miniflare's `unsafeDirectSockets`)
 * instead of the entry URL, skipping Miniflare's entry worker, which every request otherwise
 * passes through first (it rebuilds the request with a `cf` object and copies the response), as
 * no request on Cloudflare does. Default: the entry URL.
 */
const DIRECT = process.env.BENCH_WORKER_DIRECT === "1";
/** The Worker's verified-token cache size (README, "The verified-token cache"). */
const TOKEN_CACHE_ENTRIES = 1000;
const PATH = "/api/items?id=42";
const HOST = "127.0.0.1";
/** The whole run is stopped (and fails) past this. */
const WATCHDOG_MS = 6 * 60 * 1000;
/** Issue targets. */
const REPEATED_MIN_THROUGHPUT_VS_PASS_THROUGH = 0.9;
const BUNDLE_MAX_BYTES = 40 * 1024;

const WORKER_SCRIPT = resolve(ROOT, "dist/worker.js");
const RESULTS = resolve(import.meta.dirname, "results/worker.md");
/** wrangler.toml's `compatibility_date`. */
const COMPATIBILITY_DATE = "2026-04-26";

const PASS_THROUGH_SCRIPT = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
  },
};
`;

const PASS_THROUGH_COPY_SCRIPT = `
export default {
  async fetch(request, env) {
    const started = performance.now();
    const url = new URL(request.url);
    const response = await fetch(env.ORIGIN_URL + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
    const forwarded = new Response(response.body, response);
    forwarded.headers.append("server-timing", "pass-through;dur=" + (performance.now() - started).toFixed(1));
    return forwarded;
  },
};
`;

/** The origin, as a CommonJS script for a worker thread: node:http, 200 `ok` to everything. */
const ORIGIN_SCRIPT = `
const { parentPort } = require("node:worker_threads");
const { createServer } = require("node:http");
const body = Buffer.from("ok");
let total = 0;
let identified = 0;
const users = new Set();
const server = createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  total += 1;
  const user = req.headers["x-authgear-user-id"];
  if (user !== undefined) {
    identified += 1;
    users.add(user);
  }
  req.resume();
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
parentPort.on("message", (message) => {
  if (message === "stats") parentPort.postMessage({ total, identified, users: users.size });
  else if (message === "reset") {
    total = 0;
    identified = 0;
    users.clear();
    parentPort.postMessage("reset");
  } else if (message === "close") {
    server.close(() => parentPort.postMessage("closed"));
    server.closeAllConnections();
  }
});
server.listen(0, "${HOST}", () => parentPort.postMessage({ port: server.address().port }));
`;

interface OriginStats {
  readonly total: number;
  readonly identified: number;
  readonly users: number;
}

interface Origin {
  readonly url: string;
  stats(): Promise<OriginStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

type RowKey =
  | "passThrough"
  | "repeated"
  | "fresh"
  | "refused"
  | "resolverWarm"
  | "resolverOff"
  | "resolverFresh"
  | "hybrid"
  | "passThroughCopy"
  | "public"
  | "origin";

/**
 * The resolver calls a row may cause, per response: none (the default); `cached`, a warm verdict
 * cache (at most 1% of the responses: an entry expiring mid-run); `shared`, the cache off with one
 * credential (more than none, at most one per response: single flight merges concurrent ones);
 * `each`, the cache off with a credential per request (about one per response).
 */
type ResolverCalls = "none" | "cached" | "shared" | "each";

interface Scenario {
  readonly key: RowKey;
  readonly name: string;
  /** The only status this row may answer. */
  readonly status: 200 | 401;
  /** What the origin must see: identity headers on every request, none, or no request at all. */
  readonly reaches: "identified" | "anonymous" | "nothing";
  /** Headers of the next request (called once per request). */
  readonly headers: () => IncomingHttpHeaders;
  /** The Worker in front of the origin; none: the load goes to the origin itself. */
  readonly worker?: BenchWorker;
  /** Measured in the first round only (a reference, not compared round by round). */
  readonly once?: true;
  /** Default `none`. */
  readonly resolverCalls?: ResolverCalls;
  /** The row sends this many distinct identities in rotation; the origin must see (nearly) all it can. */
  readonly distinctUsers?: number;
}

/** One row in one round. */
interface Sample {
  readonly requestsPerSecond: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly responses: number;
  readonly originUsers: number;
  /** Lines the Worker wrote to stdout (its log), per response, during the measured run. */
  readonly logLinesPerResponse: number;
  /** Calls the dev issuer's resolver endpoint received during the measured run, per response. */
  readonly resolverCallsPerResponse: number;
}

/** A row's medians over its rounds. */
interface Row extends Sample {
  readonly scenario: Scenario;
  readonly rounds: readonly Sample[];
}

interface LoadResult {
  readonly responses: number;
  readonly seconds: number;
  readonly statuses: ReadonlyMap<number, number>;
  readonly errors: number;
  readonly timeouts: number;
  /** Milliseconds, one per response, unsorted. */
  readonly latencies: Float64Array;
}


function startOrigin(): Promise<Origin> {
  const thread = new Worker(ORIGIN_SCRIPT, { eval: true });
  const replies: ((message: unknown) => void)[] = [];
  const ask = (message: string): Promise<unknown> =>
    new Promise((resolvePromise) => {
      replies.push(resolvePromise);
      thread.postMessage(message);
    });
  return new Promise((resolvePromise, reject) => {
    thread.once("error", reject);
    thread.once("message", (first: { port: number }) => {
      thread.off("error", reject);
      thread.on("message", (message: unknown) => replies.shift()?.(message));
      thread.on("error", (error) => {
        console.error("bench: origin thread:", error);
      });
      resolvePromise({
        url: `http://${HOST}:${first.port}`,
        stats: () => ask("stats") as Promise<OriginStats>,
        reset: async () => {
          await ask("reset");
        },
        close: async () => {
          await ask("close");
          await thread.terminate();
        },
      });
    });
  });
}

/** The dev issuer's counters: discovery and key-set requests (`hits`), and resolver calls. */
interface IssuerCounters {
  readonly discovery: number;
  readonly jwks: number;
  readonly resolver: number;
}

/** What the driver asks of the issuer thread, and what each question is answered with. */
interface IssuerOps {
  /** `count` distinct access tokens for `bench-user-<i>` (common.ts `mintTokens`). */
  mintTokens: { args: { count: number }; result: string[] };
  mintAccessToken: { args: { sub: string }; result: string };
  /** One new session per subject; the `session` cookie value of each. */
  createSessions: { args: { subs: string[] }; result: string[] };
  counters: { args: Record<string, never>; result: IssuerCounters };
  close: { args: Record<string, never>; result: null };
}

type IssuerOp = keyof IssuerOps;

interface IssuerRequest {
  readonly id: number;
  readonly op: IssuerOp;
  readonly args: IssuerOps[IssuerOp]["args"];
}

type IssuerReply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: string };

/** The dev issuer in a worker thread, seen from the driver. */
interface IssuerThread {
  /** `http://127.0.0.1:<port>`: `AUTHGEAR_ENDPOINT`. */
  readonly origin: string;
  ask<Op extends IssuerOp>(op: Op, args: IssuerOps[Op]["args"]): Promise<IssuerOps[Op]["result"]>;
  close(): Promise<void>;
}

/**
 * Runs the dev issuer in a worker thread of its own: this file again, loaded through tsx's
 * `tsImport` (a worker thread does not inherit tsx's loader on Node 20), where it takes the
 * {@link serveIssuerThread} branch.
 */
function startIssuerThread(): Promise<IssuerThread> {
  const api = import.meta.resolve("tsx/esm/api");
  const self = import.meta.url;
  const boot = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(self)}, ${JSON.stringify(self)}));`;
  const thread = new Worker(boot, { eval: true });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const rejectAll = (error: Error): void => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  return new Promise((resolvePromise, reject) => {
    thread.once("error", reject);
    thread.once("message", (first: { origin: string }) => {
      thread.off("error", reject);
      thread.on("message", (reply: IssuerReply) => {
        const waiter = pending.get(reply.id);
        pending.delete(reply.id);
        if ("error" in reply) waiter?.reject(new Error(`bench: issuer thread: ${reply.error}`));
        else waiter?.resolve(reply.value);
      });
      thread.on("error", (error) => {
        console.error("bench: issuer thread:", error);
        rejectAll(error);
      });
      thread.on("exit", (code) => {
        rejectAll(new Error(`bench: the issuer thread exited (${code})`));
      });
      const ask = <Op extends IssuerOp>(op: Op, args: IssuerOps[Op]["args"]): Promise<IssuerOps[Op]["result"]> =>
        new Promise((resolveAsk, rejectAsk) => {
          const id = nextId;
          nextId += 1;
          pending.set(id, { resolve: (value) => { resolveAsk(value as IssuerOps[Op]["result"]); }, reject: rejectAsk });
          const request: IssuerRequest = { id, op, args };
          thread.postMessage(request);
        });
      resolvePromise({
        origin: first.origin,
        ask,
        close: async () => {
          await ask("close", {});
          await thread.terminate();
        },
      });
    });
  });
}

/** The issuer thread's side: starts the dev issuer and answers the driver's questions. */
async function serveIssuerThread(): Promise<void> {
  const port = parentPort ?? fail("serveIssuerThread outside a worker thread");
  const issuer = await startDevIssuer();
  const answer = async (request: IssuerRequest): Promise<unknown> => {
    switch (request.op) {
      case "mintTokens":
        return mintTokens(issuer, (request.args as IssuerOps["mintTokens"]["args"]).count);
      case "mintAccessToken":
        return issuer.mintAccessToken({ sub: (request.args as IssuerOps["mintAccessToken"]["args"]).sub });
      case "createSessions":
        return (request.args as IssuerOps["createSessions"]["args"]).subs.map((sub) => issuer.createSession(sub).cookie);
      case "counters":
        return { discovery: issuer.hits.discovery, jwks: issuer.hits.jwks, resolver: issuer.resolverHits } satisfies IssuerCounters;
      case "close":
        await issuer.close();
        return null;
    }
  };
  port.on("message", (request: IssuerRequest) => {
    answer(request).then(
      (value) => {
        port.postMessage({ id: request.id, value } satisfies IssuerReply);
      },
      (error: unknown) => {
        port.postMessage({ id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies IssuerReply);
      },
    );
  });
  port.postMessage({ origin: issuer.origin });
}

/** The part of Miniflare's `BenchWorker` used here (its full type is too deep for the linter's type checker). */
interface BenchWorker {
  readonly name: string;
  readonly modules: true | { type: "ESModule"; path: string; contents: string }[];
  readonly scriptPath?: string;
  readonly bindings: Record<string, string>;
}

/** Output of one workerd process: stdout lines are counted (the Worker's log lines), stderr's tail kept. */
interface RuntimeOutput {
  stdoutLines: number;
  stderrTail: string;
}

function createMiniflare(worker: BenchWorker, output: RuntimeOutput): Miniflare {
  const direct = DIRECT ? { unsafeDirectSockets: [{ host: HOST, port: 0 }] } : {};
  return new Miniflare({
    host: HOST,
    port: 0,
    // No fetch of workers.cloudflare.com/cf.json: a built-in `request.cf` is used.
    cf: false,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.on("data", (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 0x0a) output.stdoutLines += 1;
      });
      stderr.on("data", (chunk: Buffer) => {
        output.stderrTail = (output.stderrTail + chunk.toString()).slice(-4000);
      });
    },
    workers: [{ compatibilityDate: COMPATIBILITY_DATE, ...worker, ...direct }],
  });
}

function inlineWorker(name: string, script: string, originUrl: string): BenchWorker {
  return {
    name,
    modules: [{ type: "ESModule", path: `${name}.mjs`, contents: script }],
    bindings: { ORIGIN_URL: originUrl },
  };
}

/** Drives load at `url` for `seconds`; latencies are measured per response, in fractional milliseconds. */
function load(url: string, seconds: number, headers: () => IncomingHttpHeaders): Promise<LoadResult> {
  return new Promise((resolvePromise, reject) => {
    let latencies = new Float64Array(1 << 16);
    let responses = 0;
    const statuses = new Map<number, number>();
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [{ method: "GET", path: PATH, setupRequest: (request) => ({ ...request, headers: headers() }) }],
      },
      (error: unknown, result) => {
        if (error !== null && error !== undefined) {
          reject(error instanceof Error ? error : new Error("autocannon failed", { cause: error }));
          return;
        }
        resolvePromise({
          responses,
          seconds: result.duration,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          latencies: latencies.subarray(0, responses),
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (responses === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[responses] = responseTime;
      responses += 1;
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    });
  });
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? fail("no responses");
}

function describeStatuses(statuses: ReadonlyMap<number, number>): string {
  return [...statuses].map(([status, count]) => `${status} × ${count}`).join(", ") || "none";
}

async function measure(scenario: Scenario, url: string, output: RuntimeOutput | undefined, origin: Origin, issuer: IssuerThread): Promise<Sample> {
  const warmup = await load(url, WARMUP_S, scenario.headers);
  if (warmup.responses === 0) fail(`${scenario.name}: no response during warmup`);
  await origin.reset();
  const hits = await issuer.ask("counters", {});
  const logLines = output?.stdoutLines ?? 0;
  const run = await load(url, DURATION_S, scenario.headers);
  const logged = (output?.stdoutLines ?? 0) - logLines;
  const seen = await origin.stats();
  const hitsAfter = await issuer.ask("counters", {});
  const resolverCalls = hitsAfter.resolver - hits.resolver;
  // workerd repeats its warnings once per request: each distinct line once, with its count.
  const context = (): string => {
    if (!output?.stderrTail) return "";
    const counts = new Map<string, number>();
    for (const line of output.stderrTail.split("\n")) if (line.trim() !== "") counts.set(line, (counts.get(line) ?? 0) + 1);
    return `\nworkerd stderr (tail, distinct lines):\n${[...counts].map(([line, count]) => `${count > 1 ? `[× ${count}] ` : ""}${line}`).join("\n")}`;
  };
  if (run.errors > 0 || run.timeouts > 0) {
    fail(`${scenario.name}: ${run.errors} connection errors (${run.timeouts} timeouts)${context()}`);
  }
  const unexpected = [...run.statuses].filter(([status]) => status !== scenario.status);
  if (unexpected.length > 0 || run.responses === 0) {
    fail(`${scenario.name}: expected only ${scenario.status}, got ${describeStatuses(run.statuses)}${context()}`);
  }
  if (hitsAfter.discovery !== hits.discovery || hitsAfter.jwks !== hits.jwks) {
    fail(`${scenario.name}: the Worker fetched from the issuer inside the measured run`);
  }
  checkResolverCalls(scenario, resolverCalls, run.responses);
  // In-flight requests of a stopped run may still reach the origin, hence `>=`, never `===`.
  switch (scenario.reaches) {
    case "identified":
      if (seen.identified < run.responses || seen.identified !== seen.total) {
        fail(`${scenario.name}: ${run.responses} answered, origin saw ${seen.total} requests, ${seen.identified} with identity headers`);
      }
      break;
    case "anonymous":
      if (seen.total < run.responses || seen.identified !== 0) {
        fail(`${scenario.name}: ${run.responses} answered, origin saw ${seen.total} requests, ${seen.identified} with identity headers`);
      }
      break;
    case "nothing":
      if (seen.total !== 0) fail(`${scenario.name}: the origin saw ${seen.total} requests`);
      break;
  }
  if (scenario.distinctUsers !== undefined && seen.users < Math.min(run.responses, scenario.distinctUsers) - CONNECTIONS) {
    fail(`${scenario.name}: ${run.responses} answered, but the origin saw only ${seen.users} distinct identities`);
  }
  const sorted = run.latencies.slice().sort();
  return {
    requestsPerSecond: run.responses / run.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    responses: run.responses,
    originUsers: seen.users,
    logLinesPerResponse: logged / run.responses,
    resolverCallsPerResponse: resolverCalls / run.responses,
  };
}

/**
 * Resolver calls against what the row allows. Requests in flight when a load stops may still call
 * the resolver after the count is read, or before the next one starts, hence the slack of
 * `2 × CONNECTIONS` calls on the upper bounds of the cache-off rows.
 */
function checkResolverCalls(scenario: Scenario, calls: number, responses: number): void {
  const expected = scenario.resolverCalls ?? "none";
  const upper = responses + 2 * CONNECTIONS;
  const problem =
    expected === "none"
      ? calls !== 0 && "none expected"
      : expected === "cached"
        ? calls > 0.01 * responses && "at most 1% of the responses expected with a warm cache"
        : expected === "shared"
          ? (calls === 0 || calls > upper) && "more than none and at most one per response expected with the cache off"
          : (calls < 0.9 * responses || calls > upper) && "about one per response expected with the cache off and a credential per request";
  if (problem !== false) fail(`${scenario.name}: ${calls} resolver calls for ${responses} responses (${problem})`);
}


function summarize(scenario: Scenario, rounds: readonly Sample[]): Row {
  const of = (field: keyof Sample): number => median(rounds.map((sample) => sample[field]));
  return {
    scenario,
    rounds,
    requestsPerSecond: of("requestsPerSecond"),
    p50: of("p50"),
    p99: of("p99"),
    responses: of("responses"),
    originUsers: of("originUsers"),
    logLinesPerResponse: of("logLinesPerResponse"),
    resolverCallsPerResponse: of("resolverCallsPerResponse"),
  };
}

function version(name: string): string {
  return packageVersion(name);
}


function byKey(rows: readonly Row[], key: RowKey): Row {
  return rows.find((row) => row.scenario.key === key) ?? fail(`no ${key} row`);
}

/** Per round, `field` of `a` over `field` of `b`. */
function roundRatios(a: Row, b: Row, field: "requestsPerSecond" | "p50" | "p99"): number[] {
  return a.rounds.map((sample, index) => sample[field] / (b.rounds[index]?.[field] ?? Number.NaN));
}

/** Microseconds per request at saturation, above the pass-through's (1/throughput difference). */
function extraMicroseconds(row: Row, base: Row): number {
  return 1e6 / row.requestsPerSecond - 1e6 / base.requestsPerSecond;
}


/** Request header sizes (name, ": ", value), to compare the cookie rows with the bearer rows. */
interface HeaderBytes {
  /** `cookie: session=<value>` alone. */
  readonly sessionCookieBytes: number;
  /** The cookie line the resolver rows send, filler included. */
  readonly paddedCookieBytes: number;
  readonly bearerBytes: number;
}

interface Bundle {
  readonly bytes: number;
  readonly gzipped: number;
}


const calls = (value: number): string => fixed(value, 3);

/** The resolver and hybrid rows against JWT mode (the repeated-token row) and the pass-through. */
function resolverSection(rows: readonly Row[], base: Row, jwt: Row): string[] {
  const warm = byKey(rows, "resolverWarm");
  const off = byKey(rows, "resolverOff");
  const each = byKey(rows, "resolverFresh");
  const hybrid = byKey(rows, "hybrid");
  const vs = (row: Row, other: Row, field: "requestsPerSecond" | "p50" | "p99"): string => `${fixed(median(roundRatios(row, other, field)), 2)}×`;
  const overJwt = (row: Row): string => {
    const extra = 1e6 / row.requestsPerSecond - 1e6 / jwt.requestsPerSecond;
    return row === jwt ? "—" : `${extra >= 0 ? "+" : ""}${integer(extra)}`;
  };
  const callsPerRound = (row: Row): string => row.rounds.map((sample) => calls(sample.resolverCallsPerResponse)).join(" / ");
  const shared = off.resolverCallsPerResponse;
  return [
    "## Forward authentication: resolver and hybrid modes",
    "",
    "Ratios are medians of per-round ratios, against JWT mode (this Worker, repeated token) and against the pass-through Worker; µs/request is 10⁶/(req/s) minus JWT mode's.",
    "",
    "| scenario | req/s | p50 (ms) | p99 (ms) | req/s ÷ JWT mode | p50 ÷ JWT mode | p99 ÷ JWT mode | µs/request over JWT mode | req/s ÷ pass-through | p50 ÷ pass-through | p99 ÷ pass-through | resolver calls/response (per round) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...[jwt, warm, off, each, hybrid].map((row) =>
      [
        "",
        ` ${row === jwt ? `${row.scenario.name} (JWT mode)` : row.scenario.name} `,
        ` ${integer(row.requestsPerSecond)} `,
        ` ${fixed(row.p50, 2)} `,
        ` ${fixed(row.p99, 2)} `,
        ` ${vs(row, jwt, "requestsPerSecond")} `,
        ` ${vs(row, jwt, "p50")} `,
        ` ${vs(row, jwt, "p99")} `,
        ` ${overJwt(row)} `,
        ` ${vs(row, base, "requestsPerSecond")} `,
        ` ${vs(row, base, "p50")} `,
        ` ${vs(row, base, "p99")} `,
        ` ${calls(row.resolverCallsPerResponse)} (${callsPerRound(row)}) `,
        "",
      ].join("|"),
    ),
    "",
    `Resolver calls under load: with a warm verdict cache, ${calls(warm.resolverCallsPerResponse)} per response (the verdict is fetched during warmup, then only when the entry expires). ` +
      `With the cache off and one session cookie on every request, ${calls(shared)} per response: single flight lets the ${CONNECTIONS} concurrent identical requests share a call, ` +
      `${shared > 0 ? `about ${fixed(1 / shared)} responses per call` : "no call at all"}, so this row measures a resolver call shared by a burst, not one per request. ` +
      `With a different session on every request (cache off) nothing is shared: ${calls(each.resolverCallsPerResponse)} per response, the cost of a verdict-cache miss. ` +
      `Hybrid mode with a JWT made ${calls(hybrid.resolverCallsPerResponse)} resolver calls per response (it must make none).`,
    "",
  ];
}

function report(rows: readonly Row[], bundle: Bundle, started: Date, totalSeconds: number, loadBefore: string, headerBytes: HeaderBytes): string {
  const { sessionCookieBytes, paddedCookieBytes, bearerBytes } = headerBytes;
  const base = byKey(rows, "passThrough");
  const repeated = byKey(rows, "repeated");
  const fresh = byKey(rows, "fresh");
  const copy = byKey(rows, "passThroughCopy");
  const open = byKey(rows, "public");
  const cpu = cpus();
  const ratio = (row: Row, field: "requestsPerSecond" | "p50" | "p99"): number => median(roundRatios(row, base, field));
  const repeatedRatio = ratio(repeated, "requestsPerSecond");
  const statusText = (row: Row): string =>
    `${row.scenario.status} only${row.scenario.status === 401 ? " (expected)" : ""}`;
  const lines = [
    "# Worker benchmark",
    "",
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} logical CPUs), ${fixed(totalmem() / 1024 / 1024)} MiB RAM, ${platform()} ${arch()}`,
    `- Node ${process.version}; workerd ${version("workerd")} (miniflare ${version("miniflare")}), autocannon ${version("autocannon")}, wrangler ${version("wrangler")}`,
    `- Date: ${started.toISOString()}; whole run ${fixed(totalSeconds)} s; load average (1, 5, 15 min) ${loadBefore} before, ${loadAverages()} after`,
    `- Load: autocannon, ${CONNECTIONS} keep-alive connections, no pipelining, ${DURATION_S} s per row and round after ${WARMUP_S} s warmup, \`GET ${PATH}\`, all on 127.0.0.1; ${ROUNDS} rounds, alternately in listed and reversed order (the reference row in the first round only); figures are medians over the rounds, ratios are per round (rows run seconds apart) and their median is shown. Latencies are per response, in ms`,
    `- Each Worker row runs in its own Miniflare (one workerd process, one isolate) with the same options: ${DIRECT ? "a direct socket per Worker (`unsafeDirectSockets`, BENCH_WORKER_DIRECT=1), bypassing Miniflare's entry worker" : "load at the entry URL (`await mf.ready`), so every request also passes through Miniflare's entry worker, a fixed cost per request in every Worker row that Cloudflare does not have (BENCH_WORKER_DIRECT=1 bypasses it)"}, 127.0.0.1, \`cf: false\`, compatibility date ${COMPATIBILITY_DATE}. The gate is dist/worker.js as \`npm run build\` writes it; \`AUTHGEAR_ENDPOINT\` is the dev issuer on 127.0.0.1 (key set fetched during warmup; a fetch inside a measured run fails it)`,
    "- Origin: a minimal node:http server of the benchmark's own in a worker thread (200, body `ok`), not the demo origin, so the origin is not the bottleneck (see the reference row); it checks that every request the gate forwarded carried the identity headers",
    `- Tokens: RS256 \`at+jwt\` access tokens (RSA-2048) from the dev issuer; the new-token row rotates through ${integer(POOL_SIZE)} distinct tokens minted before the run, more than the ${TOKEN_CACHE_ENTRIES}-entry verified-token cache holds, so every request is a full verification ("origin users" counts the distinct identities the origin saw)`,
    `- Forward authentication: the resolver rows run the same dist/worker.js with \`AUTH_MODE=resolver\` and \`RESOLVER_CACHE_SECONDS\` 60 or 0; their credential is the \`session\` cookie of a dev-issuer session (\`Cookie: session=<opaque value>; bench_pad=<filler>\`: ${integer(sessionCookieBytes)} bytes of session cookie, padded to ${integer(paddedCookieBytes)} bytes like the bearer rows' ${integer(bearerBytes)}-byte \`Authorization\` line, so that rows differ in authentication, not in request size; the gate sends only the \`session\` cookie to the resolver), resolved by the dev issuer's \`/_resolver/resolve\` on 127.0.0.1, which runs in a worker thread of the benchmark's process (its own event loop; the same cores). The new-session row rotates through ${integer(POOL_SIZE)} sessions of distinct users. "Resolver calls/response" is the resolver endpoint's request count over the measured run divided by the responses; every row not in resolver mode must cause none`,
    `- **Shared cores**: the machine has ${cpu.length} logical CPUs, and autocannon (one thread), workerd and the origin (one thread) all run on them, so absolute figures are a floor for what workerd alone would do, and a heavier client or origin costs the Worker CPU time; anything else running (see the load average) adds noise, so compare rows, not absolute numbers, and read the per-round spread before a ratio`,
    "",
    "| scenario | statuses | req/s | req/s per round | p50 (ms) | p99 (ms) | req/s ÷ pass-through | p50 ÷ pass-through | p99 ÷ pass-through | µs/request over pass-through | responses | origin users | Worker log lines/response | resolver calls/response |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((row) =>
      [
        "",
        ` ${row.scenario.name} `,
        ` ${statusText(row)} `,
        ` ${integer(row.requestsPerSecond)} `,
        ` ${row.rounds.map((sample) => integer(sample.requestsPerSecond)).join(" / ")} `,
        ` ${fixed(row.p50, 2)} `,
        ` ${fixed(row.p99, 2)} `,
        ` ${fixed(ratio(row, "requestsPerSecond"), 2)}× `,
        ` ${fixed(ratio(row, "p50"), 2)}× `,
        ` ${fixed(ratio(row, "p99"), 2)}× `,
        ` ${row === base ? "—" : `${extraMicroseconds(row, base) >= 0 ? "+" : ""}${integer(extraMicroseconds(row, base))}`} `,
        ` ${integer(row.responses)} `,
        ` ${row.scenario.reaches === "identified" ? integer(row.originUsers) : "—"} `,
        ` ${row.scenario.worker === undefined ? "—" : fixed(row.logLinesPerResponse, 2)} `,
        ` ${row.scenario.worker === undefined ? "—" : calls(row.resolverCallsPerResponse)} `,
        "",
      ].join("|"),
    ),
    "",
    "Connection errors, timeouts and unexpected statuses: none (any would have failed the run). The µs/request column is 10⁶/(req/s) minus the pass-through's: the extra time per request while workerd is saturated.",
    "",
    `Where the repeated-token row's extra ${integer(extraMicroseconds(repeated, base))} µs/request go (differences between medians of rows run seconds apart on shared cores: a few tens of µs, and any negative value, are within the noise): ` +
      `${integer(extraMicroseconds(copy, base))} µs copying the origin's response and appending \`server-timing\` (pass-through + copy − pass-through); ` +
      `${integer(extraMicroseconds(open, copy))} µs the rest of the gate without authentication (URL parse, header sanitizing, configuration lookup, credential extraction; public path − pass-through + copy); ` +
      `${integer(extraMicroseconds(repeated, open))} µs authenticating a repeated token (cache lookup, identity headers; repeated − public path). ` +
      `A new token per request costs ${integer(extraMicroseconds(fresh, repeated))} µs more than a repeated one (the full RS256 verification and the cache insert).`,
    "",
    ...resolverSection(rows, base, repeated),
    "## Bundle",
    "",
    `- dist/worker.js: ${integer(bundle.bytes)} bytes (${kib(bundle.bytes)}) minified, as wrangler builds it (wrangler.toml \`minify = true\`); ${integer(bundle.gzipped)} bytes (${kib(bundle.gzipped)}) gzipped (node:zlib gzipSync, level 9)`,
    "",
    "## Targets",
    "",
    targetLine(
      repeatedRatio >= REPEATED_MIN_THROUGHPUT_VS_PASS_THROUGH,
      `repeated token at least ${REPEATED_MIN_THROUGHPUT_VS_PASS_THROUGH}× the pass-through's throughput: ${fixed(repeatedRatio, 2)}× ` +
        `(median of per-round ratios; repeated ${integer(repeated.requestsPerSecond)} req/s, pass-through ${integer(base.requestsPerSecond)} req/s; ` +
        `per round ${roundRatios(repeated, base, "requestsPerSecond").map((value) => `${fixed(value, 2)}×`).join(", ")})`,
    ),
    targetLine(
      bundle.bytes <= BUNDLE_MAX_BYTES,
      `bundle at most ${kib(BUNDLE_MAX_BYTES)} minified (${integer(BUNDLE_MAX_BYTES)} bytes): ${integer(bundle.bytes)} bytes (${kib(bundle.bytes)}; gzipped ${kib(bundle.gzipped)})`,
    ),
    "",
  ];
  return lines.join("\n");
}

function readBundle(): Bundle {
  let stat;
  try {
    stat = statSync(WORKER_SCRIPT);
  } catch {
    fail(`${WORKER_SCRIPT} is missing: run \`npm run build\` first (\`npm run bench:worker\` does)`);
  }
  const source = readFileSync(WORKER_SCRIPT);
  if (source.length !== stat.size) fail("dist/worker.js changed while being read");
  return { bytes: source.length, gzipped: gzipSync(source, { level: 9 }).length };
}


async function main(): Promise<void> {
  const started = new Date();
  const clock = performance.now();
  const loadBefore = loadAverages();
  const bundle = readBundle();
  const issuer = await startIssuerThread();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  try {
    console.error(`bench: minting ${POOL_SIZE} tokens, creating ${POOL_SIZE + 1} sessions`);
    const pool = await issuer.ask("mintTokens", { count: POOL_SIZE });
    const repeatedToken = await issuer.ask("mintAccessToken", { sub: "bench-repeated" });
    const [repeatedSession] = await issuer.ask("createSessions", { subs: ["bench-session-repeated"] });
    if (repeatedSession === undefined) fail("no session");
    const sessionPool = await issuer.ask("createSessions", { subs: Array.from({ length: POOL_SIZE }, (_, index) => `bench-session-user-${index}`) });
    if (new Set(sessionPool).size !== POOL_SIZE) fail("the session pool is not distinct");
    let nextToken = 0;
    let nextSession = 0;
    const bearer = (token: string): IncomingHttpHeaders => ({ authorization: `Bearer ${token}` });
    // Authgear's IdP session cookie, the one a website's requests carry, plus a filler cookie that
    // makes the header line as long as the bearer rows' `Authorization` line (as the public-path row
    // pads a Basic header), so that cookie and bearer rows differ in authentication, not in bytes.
    // The gate sends only the `session` cookie to the resolver; the origin gets the whole header.
    const bearerLine = `authorization: Bearer ${repeatedToken}`;
    const cookiePrefix = (value: string): string => `session=${value}; bench_pad=`;
    const padding = "A".repeat(Math.max(0, bearerLine.length - `cookie: ${cookiePrefix(repeatedSession)}`.length));
    if (sessionPool.some((value) => value.length !== repeatedSession.length)) fail("session cookies of different lengths");
    const sessionCookie = (value: string): IncomingHttpHeaders => ({ cookie: `${cookiePrefix(value)}${padding}` });
    // Not a bearer credential (the gate ignores other schemes), as long as the repeated token's header.
    const basic: IncomingHttpHeaders = { authorization: `Basic ${"A".repeat(repeatedToken.length)}` };
    const gateBindings = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url };
    const gate: BenchWorker = { name: "gate", modules: true, scriptPath: WORKER_SCRIPT, bindings: gateBindings };
    const resolverGate = (cacheSeconds: string): BenchWorker => ({
      ...gate,
      bindings: { ...gate.bindings, AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: cacheSeconds },
    });

    const passThrough = inlineWorker("pass-through", PASS_THROUGH_SCRIPT, origin.url);
    const passThroughCopy = inlineWorker("pass-through-copy", PASS_THROUGH_COPY_SCRIPT, origin.url);
    const scenarios: Scenario[] = [
      { key: "passThrough", name: "pass-through Worker, no auth (baseline)", worker: passThrough, status: 200, reaches: "anonymous", headers: () => bearer(repeatedToken) },
      { key: "repeated", name: "this Worker, repeated token", worker: gate, status: 200, reaches: "identified", headers: () => bearer(repeatedToken) },
      {
        key: "fresh",
        name: "this Worker, new token per request",
        worker: gate,
        status: 200,
        reaches: "identified",
        headers: () => {
          const token = pool[nextToken % pool.length] ?? fail("empty token pool");
          nextToken += 1;
          return bearer(token);
        },
        distinctUsers: POOL_SIZE,
      },
      { key: "refused", name: "this Worker, refused (no token)", worker: gate, status: 401, reaches: "nothing", headers: () => ({}) },
      {
        key: "resolverWarm",
        name: "this Worker, resolver mode, repeated session cookie, warm verdict cache (60 s)",
        worker: resolverGate("60"),
        status: 200,
        reaches: "identified",
        headers: () => sessionCookie(repeatedSession),
        resolverCalls: "cached",
      },
      {
        key: "resolverOff",
        name: "this Worker, resolver mode, repeated session cookie, cache off",
        worker: resolverGate("0"),
        status: 200,
        reaches: "identified",
        headers: () => sessionCookie(repeatedSession),
        resolverCalls: "shared",
      },
      {
        key: "resolverFresh",
        name: "(diagnostic) this Worker, resolver mode, new session per request, cache off",
        worker: resolverGate("0"),
        status: 200,
        reaches: "identified",
        headers: () => {
          const session = sessionPool[nextSession % sessionPool.length] ?? fail("empty session pool");
          nextSession += 1;
          return sessionCookie(session);
        },
        resolverCalls: "each",
        distinctUsers: POOL_SIZE,
      },
      {
        key: "hybrid",
        name: "this Worker, hybrid mode, repeated token (JWT, verified locally)",
        worker: { ...gate, bindings: { ...gate.bindings, AUTH_MODE: "hybrid" } },
        status: 200,
        reaches: "identified",
        headers: () => bearer(repeatedToken),
      },
      { key: "passThroughCopy", name: "(diagnostic) pass-through + response copy", worker: passThroughCopy, status: 200, reaches: "anonymous", headers: () => bearer(repeatedToken) },
      {
        key: "public",
        name: "(diagnostic) this Worker, public path, no bearer token",
        worker: { ...gate, bindings: { ...gate.bindings, PUBLIC_PATHS: "/api/*" } },
        status: 200,
        reaches: "anonymous",
        headers: () => basic,
      },
      { key: "origin", name: "(reference) origin directly, no Worker", status: 200, reaches: "anonymous", headers: () => bearer(repeatedToken), once: true },
    ];
    const targets = new Map<Scenario, { url: string; output: RuntimeOutput | undefined }>();
    for (const scenario of scenarios) {
      if (scenario.worker === undefined) {
        targets.set(scenario, { url: origin.url, output: undefined });
        continue;
      }
      const output: RuntimeOutput = { stdoutLines: 0, stderrTail: "" };
      const mf = createMiniflare(scenario.worker, output);
      instances.push(mf);
      const entry = await mf.ready;
      targets.set(scenario, { url: DIRECT ? (await mf.unsafeGetDirectURL(scenario.worker.name)).origin : entry.origin, output });
    }
    for (const [scenario, { url }] of targets) {
      const host = new URL(url).hostname;
      if (host !== HOST) fail(`${scenario.name} would send traffic to ${host}`);
    }

    const samples = new Map<Scenario, Sample[]>(scenarios.map((scenario) => [scenario, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
      for (const scenario of order) {
        if (scenario.once === true && round > 0) continue;
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${scenario.name}`);
        const target = targets.get(scenario) ?? fail(`no target for ${scenario.name}`);
        samples.get(scenario)?.push(await measure(scenario, target.url, target.output, origin, issuer));
      }
    }
    const rows = scenarios.map((scenario) => summarize(scenario, samples.get(scenario) ?? []));
    const headerBytes: HeaderBytes = {
      sessionCookieBytes: `cookie: session=${repeatedSession}`.length,
      paddedCookieBytes: `cookie: ${sessionCookie(repeatedSession).cookie ?? ""}`.length,
      bearerBytes: bearerLine.length,
    };
    const markdown = report(rows, bundle, started, (performance.now() - clock) / 1000, loadBefore, headerBytes);
    console.log(markdown);
    writeFileSync(RESULTS, markdown);
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    await Promise.allSettled(instances.map((mf) => mf.dispose()));
    await origin.close();
    await issuer.close();
  }
}

if (isMainThread) {
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  await main();
} else {
  await serveIssuerThread();
}
