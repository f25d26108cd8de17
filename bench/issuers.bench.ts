/**
 * What trusting several issuers costs a request: the built authorizer's whole `handler(event)` and
 * the built Worker's whole request (workerd, through Miniflare), with 1 and with 10 issuers in
 * `ISSUERS`, side by side in one run. Each issuer is a dev issuer on 127.0.0.1 serving its own
 * discovery document and key set; the tokens are the last issuer's, the same in both
 * configurations, so the rows differ only in the list's length (a scan of the list would show up
 * there). Only the token's issuer may ever be fetched. Run with `npm run bench:issuers`; prints and
 * writes bench/results/issuers.md. Knobs (env): BENCH_ISSUERS_ TIME_MS (1000), WARMUP_MS (300),
 * DURATION_S (3), WORKER_WARMUP_S (1), ROUNDS (5), POOL (3000), CONNECTIONS (32).
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import autocannon from "autocannon";
import type { Miniflare } from "miniflare";
import { Bench } from "tinybench";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { startWorker } from "../test/cloudflare/miniflare.ts";
import { tokenEvent } from "../test/aws/fixtures.ts";
import {
  ROOT,
  TOKEN_CACHE_ENTRIES,
  fail,
  fixed,
  integer,
  loadAverages,
  machineLines,
  median,
  mintTokens,
  ratios,
  setting,
  targetLine,
  times,
  watchdog,
} from "./common.ts";

const TIME_MS = setting("BENCH_ISSUERS_TIME_MS", 1000);
const WARMUP_MS = setting("BENCH_ISSUERS_WARMUP_MS", 300);
const DURATION_S = setting("BENCH_ISSUERS_DURATION_S", 3);
const WORKER_WARMUP_S = setting("BENCH_ISSUERS_WORKER_WARMUP_S", 1);
const ROUNDS = setting("BENCH_ISSUERS_ROUNDS", 5);
const POOL = setting("BENCH_ISSUERS_POOL", 3000);
const CONNECTIONS = setting("BENCH_ISSUERS_CONNECTIONS", 32);
const ISSUER_COUNT = 10;
const PATH = "/api/items?id=42";
const RESULTS = resolve(import.meta.dirname, "results/issuers.md");
/** 10 issuers ÷ 1 issuer, throughput: the `iss` lookup is one `Map` access, so the same within noise. */
const RATIO_TARGET = 0.9;
const PACKAGES = ["workerd", "miniflare", "autocannon", "jose", "tinybench"];

/**
 * The origin, in a worker thread of its own: 200 `ok`, counting requests [0] and those whose
 * `x-authgear-edge-issuer` is the token's issuer [1].
 */
const ORIGIN = `
const { createServer } = require("node:http");
const { parentPort, workerData: { counts, issuer } } = require("node:worker_threads");
createServer((req, res) => {
  Atomics.add(counts, 0, 1);
  if (req.headers["x-authgear-edge-issuer"] === issuer) Atomics.add(counts, 1, 1);
  res.writeHead(200, { "content-type": "text/plain", "content-length": 2 }).end("ok");
}).listen(0, "127.0.0.1", function () { parentPort.postMessage(this.address().port); });
`;

type Handler = (event: unknown) => Promise<unknown>;

function rowName(packaging: Row["packaging"], issuers: number, token: Token): string {
  const what = packaging === "authorizer" ? "authorizer handler(event)" : "Worker request";
  return `${what}, ${issuers} issuer${issuers === 1 ? "" : "s"}, ${token === "new" ? "new token" : "repeated token"}`;
}
type Token = "repeated" | "new";

interface Row {
  readonly packaging: "authorizer" | "worker";
  readonly issuers: 1 | 10;
  readonly token: Token;
  readonly name: string;
}

interface Sample {
  readonly ops: number;
  /** The authorizer's mean invocation in µs, or the Worker's median latency in ms. */
  readonly latency: number;
}

/** An Allow of the whole stage for `sub`, the context naming the token's issuer. */
function checkAllowed(answer: unknown, sub: string, issuer: string): void {
  const got = answer as
    | {
        principalId?: unknown;
        context?: { edgeIssuer?: unknown };
        policyDocument?: { Statement?: Array<{ Effect?: unknown }> };
      }
    | undefined;
  const allowed = got?.principalId === sub && got.policyDocument?.Statement?.[0]?.Effect === "Allow";
  if (!allowed || got.context?.edgeIssuer !== issuer) fail(`answered ${JSON.stringify(answer)}, not ${sub}'s Allow`);
}

interface Run extends Sample {
  readonly responses: number;
}

interface Origin {
  readonly url: string;
  readonly counts: Int32Array;
  readonly close: () => Promise<number>;
}

async function startOrigin(issuer: string): Promise<Origin> {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const thread = new Worker(ORIGIN, { eval: true, workerData: { counts, issuer } });
  const port = await new Promise<number>((resolvePort, reject) => {
    thread.once("message", resolvePort);
    thread.once("error", reject);
  });
  return { url: `http://127.0.0.1:${port}`, counts, close: () => thread.terminate() };
}

/** autocannon at `url` for `seconds`; every answer must be a 200. */
async function load(url: string, seconds: number, authorization: () => string): Promise<Run> {
  const result = await new Promise<autocannon.Result>((done, reject) => {
    const setupRequest = (request: autocannon.Request) => ({ ...request, headers: { authorization: authorization() } });
    const requests = [{ method: "GET" as const, path: PATH, setupRequest }];
    const options = { url, connections: CONNECTIONS, pipelining: 1, duration: seconds, timeout: 10, requests };
    autocannon(options, (error: unknown, outcome) => {
      if (error) reject(error instanceof Error ? error : new Error("autocannon failed", { cause: error }));
      else done(outcome);
    });
  });
  const ok = result["2xx"];
  if (result.errors > 0 || result.non2xx > 0 || ok === 0) {
    fail(`${url}: ${ok} × 2xx, ${result.non2xx} others, ${result.errors} errors`);
  }
  return { ops: ok / result.duration, latency: result.latency.p50, responses: ok };
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverages();
  if (POOL <= TOKEN_CACHE_ENTRIES) fail(`BENCH_ISSUERS_POOL must exceed the ${TOKEN_CACHE_ENTRIES}-entry token cache`);
  const issuers: DevIssuer[] = [];
  const instances: Miniflare[] = [];
  const print = console.log.bind(console);
  let origin: Origin | undefined;
  try {
    for (let index = 0; index < ISSUER_COUNT; index += 1) issuers.push(await startDevIssuer());
    const own = issuers[ISSUER_COUNT - 1] ?? fail("no issuer");
    origin = await startOrigin(own.origin);
    const lists = {
      1: JSON.stringify([{ issuer: own.origin }]),
      10: JSON.stringify(issuers.map(({ origin: issuer }) => ({ issuer }))),
    } as const;
    console.error(`bench: minting ${POOL} tokens of the last issuer`);
    const pool = await mintTokens(own, POOL);
    const token = await own.mintAccessToken({ sub: "bench-repeated" });
    const others = (): number => issuers.slice(0, -1).reduce((sum, { hits }) => sum + hits.discovery + hits.jwks, 0);
    const ownFetches = (): number => own.hits.discovery + own.hits.jwks;

    // Each 10-issuer row right after its 1-issuer row (before it in the reversed rounds): the
    // ratio is between runs seconds apart, on a machine whose load moves.
    const rows: Row[] = (["authorizer", "worker"] as const).flatMap((packaging) =>
      (["repeated", "new"] as const).flatMap((kind) =>
        ([1, 10] as const).map((count) => ({
          packaging,
          issuers: count,
          token: kind,
          name: rowName(packaging, count, kind),
        })),
      ),
    );

    // The authorizer: a new module instance (container) per row and round, its first call untimed.
    let logLines = 0;
    console.log = () => (logLines += 1);
    let containers = 0;
    const authorizerUrl = pathToFileURL(resolve(ROOT, "dist/lambda/authorizer.mjs")).href;
    const container = async (count: 1 | 10): Promise<Handler> => {
      Object.assign(process.env, { ISSUERS: lists[count], HTTP_API_RESPONSE: "iam" });
      containers += 1;
      return ((await import(`${authorizerUrl}?container=${containers}`)) as { handler: Handler }).handler;
    };
    const tokenAt = (row: Row, index: number): [string, string] => {
      if (row.token === "repeated") return [token, "bench-repeated"];
      return [pool[index % POOL] ?? fail("empty pool"), `bench-user-${index % POOL}`];
    };
    const measureAuthorizer = async (row: Row): Promise<Sample> => {
      const handler = await container(row.issuers);
      const call = async (index: number) => {
        const [value, sub] = tokenAt(row, index);
        checkAllowed(await handler(tokenEvent(`Bearer ${value}`)), sub, own.origin);
      };
      await call(0);
      const before = ownFetches();
      let next = 1;
      const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: WARMUP_MS, throws: true });
      bench.add(row.name, () => call(next++));
      await bench.run();
      if (ownFetches() !== before) fail(`${row.name}: a key fetch inside the timed loop`);
      const result = bench.tasks[0]?.result;
      if (result?.state !== "completed") fail(`${row.name}: ${result?.state ?? "no result"}`);
      return { ops: result.throughput.mean, latency: result.latency.mean * 1000 };
    };

    // The Worker: one Miniflare per configuration, its key set fetched by the first request.
    const workers = new Map<1 | 10, string>();
    for (const count of [1, 10] as const) {
      const mf = startWorker({ ISSUERS: lists[count], ORIGIN_URL: origin.url }, 1, []);
      instances.push(mf);
      const url = (await mf.ready).origin;
      const first = await fetch(`${url}${PATH}`, { headers: { authorization: `Bearer ${token}` } });
      await first.arrayBuffer();
      if (first.status !== 200) fail(`Worker with ${count} issuers: first answer ${first.status}`);
      workers.set(count, url);
    }
    const measureWorker = async (row: Row): Promise<Sample> => {
      const url = workers.get(row.issuers) ?? fail("no Worker");
      let next = 0;
      const authorization = () => `Bearer ${tokenAt(row, next++)[0]}`;
      await load(url, WORKER_WARMUP_S, authorization);
      const before = { fetches: ownFetches(), seen: Atomics.load(origin?.counts ?? fail("no origin"), 0) };
      const identified = Atomics.load(origin?.counts ?? fail("no origin"), 1);
      const run = await load(url, DURATION_S, authorization);
      const counts = origin?.counts ?? fail("no origin");
      const seen = Atomics.load(counts, 0) - before.seen;
      if (ownFetches() !== before.fetches) fail(`${row.name}: a key fetch inside the measured run`);
      // In-flight requests of the warmup may still reach the origin during the run, hence `>=`.
      if (seen < run.responses || Atomics.load(counts, 1) - identified !== seen) {
        fail(`${row.name}: ${run.responses} answered, the origin saw ${seen}, not all with the token's issuer`);
      }
      return run;
    };

    const samples = new Map<Row, Sample[]>(rows.map((row) => [row, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const row of round % 2 === 0 ? rows : [...rows].reverse()) {
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${row.name}`);
        const sample = row.packaging === "authorizer" ? await measureAuthorizer(row) : await measureWorker(row);
        samples.get(row)?.push(sample);
      }
    }
    console.log = print;
    if (others() !== 0) fail(`the issuers other than the token's were fetched ${others()} times`);

    const of = (row: Row): Sample[] => samples.get(row) ?? fail("no samples");
    const one = (row: Row): Row =>
      rows.find((other) => other.packaging === row.packaging && other.token === row.token && other.issuers === 1) ??
      fail("no row");
    const vsOne = (row: Row): number[] =>
      ratios(
        of(row).map((s) => s.ops),
        of(one(row)).map((s) => s.ops),
      );
    const mid = (row: Row, field: keyof Sample): number => median(of(row).map((sample) => sample[field]));
    const tens = rows.filter((row) => row.issuers === 10);
    const ratioCells = (row: Row): string[] =>
      row.issuers === 1 ? ["—", "—"] : [times(median(vsOne(row))), vsOne(row).map(times).join(" / ")];
    const target = (row: Row): string => {
      const ratio = median(vsOne(row));
      const text = `${row.name}: at least ${RATIO_TARGET}× the throughput with 1 issuer: **${times(ratio)}**`;
      return targetLine(ratio >= RATIO_TARGET, text);
    };
    const lines = [
      ...machineLines("Several issuers benchmark", PACKAGES, started, loadBefore, "BENCH_ISSUERS_"),
      `- ${ISSUER_COUNT} dev issuers on 127.0.0.1, each with its own RS256 key, discovery document and key set; ` +
        `\`ISSUERS\` lists the last one alone, or all ${ISSUER_COUNT} with the token's issuer last. ` +
        "Every token is the last issuer's (the same tokens in both configurations); " +
        `the other ${ISSUER_COUNT - 1} issuers were fetched ` +
        `${others()} times in the whole run`,
      "- Authorizer: dist/lambda/authorizer.mjs, `handler(event)` on a REST TOKEN event, a new module instance " +
        `(container) per row and round, its first call untimed; tinybench, one invocation at a time, ${TIME_MS} ms ` +
        `after ${WARMUP_MS} ms warmup`,
      "- Worker: dist/worker.js in workerd (Miniflare), one per configuration, before an origin in a worker thread " +
        `that checks \`x-authgear-edge-issuer\` on every request; autocannon, ${CONNECTIONS} connections, ` +
        `\`GET ${PATH}\`, ${DURATION_S} s per row after ${WORKER_WARMUP_S} s warmup`,
      `- ${ROUNDS} round(s), rows in alternating order; medians over rounds, ratios per round (their median shown). ` +
        `New-token rows rotate through ${integer(POOL)} tokens (token cache: ${TOKEN_CACHE_ENTRIES})`,
      "",
      "| packaging, issuers, token | ops/s (req/s) | per round | latency (authorizer: mean; Worker: p50) " +
        "| ÷ 1 issuer | per round |",
      "|---|---:|---:|---:|---:|---:|",
      ...rows.map((row) => {
        const perRound = of(row)
          .map((s) => integer(s.ops))
          .join(" / ");
        const latency = `${fixed(mid(row, "latency"))} ${row.packaging === "authorizer" ? "µs" : "ms"}`;
        const cells = [row.name, integer(mid(row, "ops")), perRound, latency, ...ratioCells(row)];
        return `| ${cells.join(" | ")} |`;
      }),
      "",
      "## Targets",
      "",
      ...tens.map(target),
      targetLine(others() === 0, `only the token's issuer fetched (others: **${others()}** times)`),
      "",
    ];
    console.log(lines.join("\n"));
    writeFileSync(RESULTS, lines.join("\n"));
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    console.log = print;
    await Promise.allSettled(instances.map((mf) => mf.dispose()));
    await origin?.close();
    await Promise.allSettled(issuers.map((issuer) => issuer.close()));
  }
}

watchdog(240 + ROUNDS * 8 * (Math.max(TIME_MS / 1000, DURATION_S) + WORKER_WARMUP_S + 1));
await main();
