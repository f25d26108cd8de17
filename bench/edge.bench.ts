/**
 * `npm run bench:edge`: the built Lambda@Edge viewer-request function (`buildEdge`, dev/build-edge.ts,
 * into a temporary directory with the dev issuer's loopback endpoint baked in) beside the built
 * authorizer (dist/lambda/authorizer.mjs, `npm run build`), on the same requests (bench/edge-events.ts),
 * all on 127.0.0.1: CPU per event pinned to one CPU, cold starts (with aws-jwt-verify's authorizer,
 * bench/aws-jwt-verify-authorizer.ts), the function's bundle against Lambda@Edge's 1 MB and memory
 * after many events. What is measured and why: docs/benchmarks.md. Prints and writes
 * bench/results/edge.md. Knobs (env): BENCH_EDGE_ CPU_MS (1000: per pinned cell and round),
 * WARMUP_MS (300), ROUNDS (3), POOL (4000), COLD_RUNS (20), MEMORY_EVENTS (10000); BENCH_EDGE_OUT
 * writes bench/results/edge.<OUT>.md instead.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { build } from "esbuild";
import { VIEWER_REQUEST_PACKAGE_LIMIT, buildEdge, checkEdgeSettings } from "../dev/build-edge.ts";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import {
  COLD_RUNNER,
  ROOT,
  TOKEN_CACHE_ENTRIES,
  bundleSection,
  canPin,
  fail,
  fixed,
  integer,
  kib,
  loadAverages,
  machineLines,
  makeCertificate,
  median,
  mintTokens,
  ratios,
  runChild,
  runJobChild,
  setting,
  startHttpsJwks,
  targetLine,
  times,
  watchdog,
} from "./common.ts";
import type { CpuSample } from "./cpu-per-call.ts";
import type { EdgeCpuCell, EdgeCpuJob } from "./edge-cpu.ts";
import {
  PACKAGING_NAMES,
  PUBLIC_PATHS,
  SCENARIOS,
  SCENARIO_NAMES,
  answerChecked,
  eventOf,
  type Packaging,
} from "./edge-events.ts";
import type { EdgeMemory, EdgeMemoryJob } from "./edge-memory.ts";

/** Lambda@Edge's memory for a viewer-request function ("Quotas on Lambda@Edge"), MiB. */
export const VIEWER_REQUEST_MEMORY_MIB = 128;
/**
 * The memory runs' V8 flags: Node's defaults (V8 sizes the young generation from this machine's memory), and the
 * young generation's semi-spaces capped at 1 MiB.
 */
const MEMORY_FLAGS = { default: [], "semi-space 1 MiB": ["--max-semi-space-size=1"] } as const;
type MemoryFlags = keyof typeof MEMORY_FLAGS;

export interface MemoryRun {
  readonly packaging: Packaging;
  readonly flags: MemoryFlags;
  readonly memory: EdgeMemory;
}
/** `npm run build`'s and `npm run build:edge`'s esbuild options. */
const BUILD = { bundle: true, format: "esm", platform: "node", target: "node20", minify: true } as const;
const PACKAGINGS: readonly Packaging[] = ["edge", "authorizer"];
/** The cold starts: the function, the authorizer and the authorizer built on aws-jwt-verify. */
type Who = Packaging | "aws";
const WHO_NAMES: Readonly<Record<Who, string>> = { ...PACKAGING_NAMES, aws: "aws-jwt-verify authorizer" };

export interface EdgeBenchOptions {
  /** ms of timed calls per pinned cell and round, after `warmupMs` of untimed ones. */
  readonly cpuMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  /** New tokens, more than the verified-token cache holds. */
  readonly pool: number;
  /** Cold starts of each of the three. */
  readonly coldRuns: number;
  /** Events (a new token each) before memory is read. */
  readonly memoryEvents: number;
  /** The authorizer's bundle; default dist/lambda/authorizer.mjs (`npm run build`). */
  readonly authorizerFile?: string;
}

export interface ColdStart {
  /** Spawn to answer, on this process's clock; the rest on the child's clock. All in ms. */
  readonly total: number;
  readonly boot: number;
  /** The import: a container's init, the key-set prefetch included (not the peer's: it fetches in its first call). */
  readonly importing: number;
  readonly firstCall: number;
  /** From the start of the import to the answer. */
  readonly served: number;
  /** The `keyset_refreshed` log line's `ms`; NaN for the peer. */
  readonly keyFetch: number;
}

export interface EdgeBenchReport {
  readonly lines: readonly string[];
  readonly cells: readonly EdgeCpuCell[];
  /** Per cell, in `cells`' order, one sample per round; every call's answer was checked. */
  readonly cpu: readonly (readonly CpuSample[])[];
  readonly cold: Readonly<Record<Who, readonly ColdStart[]>>;
  readonly memory: readonly MemoryRun[];
  readonly bundle: { readonly bytes: number; readonly gzipped: number };
}

/** Requests the three made of the issuer (by path) and of the peer's JWKS server (`https`). */
type Fetched = Record<string, number>;

function spread(values: readonly number[]): string {
  return `${times(Math.min(...values))}–${times(Math.max(...values))}`;
}

export async function runEdgeBench(options: EdgeBenchOptions): Promise<EdgeBenchReport> {
  const started = new Date();
  const loadBefore = loadAverages();
  if (options.pool <= TOKEN_CACHE_ENTRIES) fail(`the pool must exceed the ${TOKEN_CACHE_ENTRIES}-entry token cache`);
  const authorizerFile = options.authorizerFile ?? resolve(ROOT, "dist/lambda/authorizer.mjs");
  if (!existsSync(authorizerFile)) fail(`${authorizerFile} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), "authgear-edge-edge-bench-"));
  const issuer = await startDevIssuer();
  const certificate = makeCertificate(dir);
  const https = await startHttpsJwks(certificate, await (await fetch(issuer.jwksUri)).text());
  try {
    const settings = { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS };
    const invalid = await checkEdgeSettings(settings);
    if (invalid !== undefined) fail(`the function's settings: ${invalid.message}`);
    const edgeDir = join(dir, "edge");
    await buildEdge(settings, edgeDir);
    const edgeFile = join(edgeDir, "viewer-request.mjs");
    const bundle = await bundleSection(
      edgeFile,
      "src/aws-edge/viewer-request.ts",
      { ...BUILD, define: { AUTHGEAR_EDGE_SETTINGS: JSON.stringify(settings) } },
      "dist/edge/viewer-request.mjs (`buildEdge`, the dev issuer's endpoint and PUBLIC_PATHS baked in)",
    );
    const peerFile = join(dir, "aws-jwt-verify-authorizer.mjs");
    const peerEntry = resolve(import.meta.dirname, "aws-jwt-verify-authorizer.ts");
    await build({ ...BUILD, entryPoints: [peerEntry], outfile: peerFile, logLevel: "warning" });
    const urls: Record<Who, string> = {
      edge: pathToFileURL(edgeFile).href,
      authorizer: pathToFileURL(authorizerFile).href,
      aws: pathToFileURL(peerFile).href,
    };
    const authorizerEnv = { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS, HTTP_API_RESPONSE: "iam" };
    const fetches = (): number => issuer.hits.discovery + issuer.hits.jwks;

    console.error(`bench: minting ${options.pool} tokens`);
    const pool = await mintTokens(issuer, options.pool);
    const token = await issuer.mintAccessToken({ sub: "bench-repeated" });

    const cells: EdgeCpuCell[] = SCENARIOS.flatMap((scenario) =>
      PACKAGINGS.map((packaging) => ({
        name: `${PACKAGING_NAMES[packaging]}, ${SCENARIO_NAMES[scenario]}`,
        packaging,
        scenario,
      })),
    );
    const pinned = canPin();
    if (!pinned) console.error("bench: taskset (util-linux) is missing or cannot pin: the CPU rows run unpinned");
    const cpuChild = join(dir, "edge-cpu.mjs");
    await build({ ...BUILD, entryPoints: [resolve(import.meta.dirname, "edge-cpu.ts")], outfile: cpuChild });
    const cpuJob: EdgeCpuJob = {
      urls: { edge: urls.edge, authorizer: urls.authorizer },
      authorizerEnv,
      pool,
      token,
      timeMs: options.cpuMs,
      warmupMs: options.warmupMs,
      rounds: options.rounds,
      cells,
    };
    const beforeCpu = fetches();
    const cpu = await runJobChild(cpuChild, cpuJob, dir, pinned, { PATH: process.env.PATH ?? "" });
    // One discovery and one JWKS request per container, at its init: any more is a fetch while timed.
    const cpuFetches = fetches() - beforeCpu;
    if (cpuFetches !== 2 * cells.length * options.rounds) {
      fail(`pinned rows: ${cpuFetches} key fetches for ${cells.length * options.rounds} containers`);
    }

    // The peer's certificate for all three: loading it is part of Node's boot.
    const coldEnv = { NODE_EXTRA_CA_CERTS: certificate.certFile };
    const cold = await coldStarts(options.coldRuns, dir, urls, issuer, https, {
      edge: coldEnv,
      authorizer: { ...coldEnv, ...authorizerEnv },
      aws: {
        ...coldEnv,
        HTTP_API_RESPONSE: "iam",
        JWT_ISSUER: issuer.origin,
        JWT_AUDIENCE: issuer.origin,
        JWT_JWKS_URI: https.uri,
      },
    });

    const memoryChild = join(dir, "edge-memory.mjs");
    await build({ ...BUILD, entryPoints: [resolve(import.meta.dirname, "edge-memory.ts")], outfile: memoryChild });
    const memory: MemoryRun[] = [];
    for (const flags of Object.keys(MEMORY_FLAGS) as MemoryFlags[]) {
      for (const packaging of PACKAGINGS) {
        console.error(`bench: memory of the ${PACKAGING_NAMES[packaging]} after ${options.memoryEvents} events`);
        const env = packaging === "edge" ? {} : authorizerEnv;
        const job: EdgeMemoryJob = { url: urls[packaging], packaging, env, pool, events: options.memoryEvents };
        const nodeArgs = ["--expose-gc", ...MEMORY_FLAGS[flags]];
        const before = fetches();
        const result = await runJobChild<EdgeMemory>(memoryChild, job, dir, false, {}, nodeArgs);
        if (result.answered !== options.memoryEvents) fail(`memory of ${packaging}: ${result.answered} answers`);
        if (fetches() - before !== 2) fail(`memory of ${packaging}: ${fetches() - before} key fetches, expected 2`);
        memory.push({ packaging, flags, memory: result });
      }
    }

    const lines = reportLines({ options, started, loadBefore, pinned, cells, cpu, cold, memory, bundle });
    return { lines, cells, cpu, cold, memory, bundle };
  } finally {
    https.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `runs` cold starts of each of the three, in rotating order, each checked: its answer and its key fetches. */
async function coldStarts(
  runs: number,
  dir: string,
  urls: Readonly<Record<Who, string>>,
  issuer: DevIssuer,
  https: { hits: () => number },
  envs: Readonly<Record<Who, Record<string, string>>>,
): Promise<Record<Who, ColdStart[]>> {
  const runner = join(dir, "runner.mjs");
  writeFileSync(runner, COLD_RUNNER);
  const discoveryPath = "/.well-known/openid-configuration";
  const jwksPath = new URL(issuer.jwksUri).pathname;
  const count = (): Fetched => ({
    [discoveryPath]: issuer.hits.discovery,
    [jwksPath]: issuer.hits.jwks,
    https: https.hits(),
  });
  // Discovery and the JWKS once each (at init); the peer, given the JWKS URL, the JWKS once (first call).
  const expected: Record<Who, Fetched> = {
    edge: { [discoveryPath]: 1, [jwksPath]: 1 },
    authorizer: { [discoveryPath]: 1, [jwksPath]: 1 },
    aws: { https: 1 },
  };
  const token = await issuer.mintAccessToken({ sub: "bench-cold" });
  const cold: Record<Who, ColdStart[]> = { edge: [], authorizer: [], aws: [] };
  const order: readonly Who[] = ["edge", "authorizer", "aws"];
  if (runs > 0) console.error(`bench: ${runs} cold starts of each`);
  for (let run = 0; run < runs; run += 1) {
    for (const who of [...order.slice(run % 3), ...order.slice(0, run % 3)]) {
      const event = JSON.stringify(eventOf(who === "edge" ? "edge" : "authorizer", "repeated", token));
      const before = count();
      const child = await runChild(runner, [urls[who], event], envs[who]);
      const deltas = Object.entries(count()).map(([path, hits]): [string, number] => [
        path,
        hits - (before[path] ?? 0),
      ]);
      const fetched = Object.fromEntries(deltas.filter(([, hits]) => hits !== 0));
      if (!isDeepStrictEqual(fetched, expected[who])) {
        fail(`cold start of ${who}: fetched ${JSON.stringify(fetched)}, expected ${JSON.stringify(expected[who])}`);
      }
      type Report = { answer: unknown; started: number; imported: number; answered: number };
      const report = JSON.parse(child.report) as Report;
      const answer = (): Promise<unknown> => Promise.resolve(report.answer);
      const packaging = who === "edge" ? "edge" : "authorizer";
      await answerChecked(answer, packaging, "repeated", undefined, "bench-cold", `cold start of ${who}`);
      const refreshed = /"event":"keyset_refreshed".*"ms":([\d.]+)/.exec(child.stdout)?.[1];
      cold[who].push({
        total: child.total,
        boot: report.started,
        importing: report.imported - report.started,
        firstCall: report.answered - report.imported,
        served: report.answered - report.started,
        keyFetch: Number(refreshed ?? Number.NaN),
      });
    }
  }
  return cold;
}

interface Measured {
  readonly options: EdgeBenchOptions;
  readonly started: Date;
  readonly loadBefore: string;
  readonly pinned: boolean;
  readonly cells: readonly EdgeCpuCell[];
  readonly cpu: readonly (readonly CpuSample[])[];
  readonly cold: Readonly<Record<Who, readonly ColdStart[]>>;
  readonly memory: readonly MemoryRun[];
  readonly bundle: { readonly bytes: number; readonly gzipped: number; readonly lines: readonly string[] };
}

function reportLines(measured: Measured): string[] {
  const { options, cells, cpu, cold, memory, bundle } = measured;
  const samplesOf = (cell: EdgeCpuCell): readonly CpuSample[] => cpu[cells.indexOf(cell)] ?? fail("no samples");
  const mid = (cell: EdgeCpuCell, field: keyof CpuSample): number =>
    median(samplesOf(cell).map((sample) => sample[field]));
  const opsOf = (cell: EdgeCpuCell): number[] => samplesOf(cell).map((sample) => 1e6 / sample.wall);
  const authorizerOf = (cell: EdgeCpuCell): EdgeCpuCell =>
    cells.find((other) => other.packaging === "authorizer" && other.scenario === cell.scenario) ?? fail("no pair");
  /** Per round, the function's figure ÷ the authorizer's on the same requests. */
  const perRound = (cell: EdgeCpuCell, of: (cell: EdgeCpuCell) => number[]): number[] =>
    ratios(of(cell), of(authorizerOf(cell)));
  const cpuOf = (cell: EdgeCpuCell): number[] => samplesOf(cell).map((sample) => sample.cpu);
  const edgeCells = cells.filter((cell) => cell.packaging === "edge");

  const coldMid = (who: Who, field: keyof ColdStart): number => median(cold[who].map((sample) => sample[field]));
  const coldRatios = (who: Who, other: Who, field: "total" | "served"): number[] =>
    ratios(
      cold[who].map((sample) => sample[field]),
      cold[other].map((sample) => sample[field]),
    );
  const optional = (value: number): string => (Number.isNaN(value) ? "—" : fixed(value));
  const coldFields = ["total", "boot", "importing", "firstCall", "served", "keyFetch"] as const;
  const coldRatio = (other: Who, field: "total" | "served"): string => {
    const values = coldRatios("edge", other, field);
    return `**${times(median(values))}** (per run ${spread(values)})`;
  };
  const mib = (value: number): string => fixed(value);
  const cpuDescription =
    `a child process ${measured.pinned ? "pinned to one CPU (`taskset -c 0`)" : "**not pinned (no taskset)**"}, ` +
    "a new module instance (container) per row and round, its first call untimed, " +
    `${options.warmupMs} ms of warmup, then ${options.cpuMs} ms of events one at a time between two ` +
    "`process.cpuUsage()` readings (user + system, every thread); " +
    `${options.rounds} round(s), rows rotated; medians over rounds, ratios per round. New-token rows rotate ` +
    `through ${integer(options.pool)} tokens (token cache: ${TOKEN_CACHE_ENTRIES}); every answer checked`;

  return [
    ...machineLines(
      "Lambda@Edge function benchmark",
      ["jose", "valibot", "aws-jwt-verify", "esbuild"],
      measured.started,
      measured.loadBefore,
      "BENCH_EDGE_",
    ),
    `- CPU: ${cpuDescription}. events/s = 1 / wall time per event, one at a time on that CPU`,
    "- Requests: `GET /api/items` with a bearer token (the same one, or a new one each time), without one, and " +
      `\`GET /public/logo.png\` (PUBLIC_PATHS=${PUBLIC_PATHS}) without one; for the function a CloudFront ` +
      "viewer-request event, for the authorizer an API Gateway REST REQUEST event (HTTP_API_RESPONSE=iam, " +
      "AUTHORIZER_CACHE_SECONDS default)",
    "",
    "## CPU per event, pinned to one CPU",
    "",
    "| function, request | CPU µs/event | CPU µs per round | wall µs/event | events/s | log lines/event |",
    "|---|---:|---:|---:|---:|---:|",
    ...cells.map((cell) => {
      const perRoundCpu = cpuOf(cell)
        .map((value) => fixed(value))
        .join(" / ");
      const row = [
        cell.name,
        fixed(mid(cell, "cpu")),
        perRoundCpu,
        fixed(mid(cell, "wall")),
        integer(median(opsOf(cell))),
        fixed(mid(cell, "logLines"), 2),
      ];
      return `| ${row.join(" | ")} |`;
    }),
    "",
    "## The function ÷ the authorizer, same requests",
    "",
    "| request | CPU ÷ authorizer | per round | events/s ÷ authorizer | per round |",
    "|---|---:|---:|---:|---:|",
    ...edgeCells.map((cell) => {
      const [cpuRatios, opsRatios] = [perRound(cell, cpuOf), perRound(cell, opsOf)];
      const row = [
        SCENARIO_NAMES[cell.scenario],
        `**${times(median(cpuRatios))}**`,
        spread(cpuRatios),
        times(median(opsRatios)),
        spread(opsRatios),
      ];
      return `| ${row.join(" | ")} |`;
    }),
    "",
    ...(options.coldRuns === 0
      ? []
      : [
          "## Cold start to the first answer",
          "",
          `A new Node process per run imports the bundle and answers one request with a valid token; ${options.coldRuns} ` +
            "runs of each, rotating. The function and the authorizer fetch discovery and the JWKS from the dev issuer " +
            "over loopback http during the import (init); aws-jwt-verify's authorizer, given the JWKS URL, fetches it " +
            "over loopback https (one TLS handshake) in its first call; all three load its certificate at boot " +
            "(`NODE_EXTRA_CA_CERTS`). Medians, ms; total from spawn to answer, the rest on the child's clock.",
          "",
          "| function | total | boot | import (init) | first event | import → answer | of which key fetch (log) |",
          "|---|---:|---:|---:|---:|---:|---:|",
          ...(["edge", "authorizer", "aws"] as const).map((who) => {
            const values = coldFields.map((field) => optional(coldMid(who, field)));
            return `| ${WHO_NAMES[who]} | ${values.join(" | ")} |`;
          }),
          "",
          "| the function ÷ | total (spawn → answer) | import → answer |",
          "|---|---:|---:|",
          `| the authorizer | ${coldRatio("authorizer", "total")} | ${coldRatio("authorizer", "served")} |`,
          `| aws-jwt-verify's authorizer | ${coldRatio("aws", "total")} | ${coldRatio("aws", "served")} |`,
          "",
          "Ratios: median of per-run ratios. AWS's cloudfront-authorization-at-edge sample (Cognito, aws-jwt-verify) " +
            "has no published cold-start measurement; its users report a first load of about 1 s through CloudFront " +
            "(aws-samples/cloudfront-authorization-at-edge#185), a figure that includes the network and Cognito " +
            "and is not measured here.",
          "",
        ]),
    "## Memory",
    "",
    `A new Node process (\`--expose-gc\`) per function and V8 flags imports the bundle and answers ` +
      `${integer(options.memoryEvents)} requests with a new token each (the ${integer(options.pool)} tokens in turn: ` +
      `the ${TOKEN_CACHE_ENTRIES}-entry token cache full); MiB. Lambda counts the whole process against a ` +
      `viewer-request function's ${VIEWER_REQUEST_MEMORY_MIB} MB. "Before import" is Node with the run's token pool.`,
    "",
    "| function | V8 flags | RSS before import | after import (init) | after the events | peak RSS " +
      "| after GC | heap used / heap size after GC | external |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ...memory.map(({ packaging, flags, memory: m }) => {
      const values = [m.rssBeforeImport, m.rssImported, m.rssAfterEvents, m.peakRss, m.rssAfterGc];
      const heap = `${mib(m.heapUsedAfterGc)} / ${mib(m.heapTotalAfterGc)}`;
      return `| ${PACKAGING_NAMES[packaging]} | ${flags} | ${values.map(mib).join(" | ")} | ${heap} | ${mib(m.externalAfterGc)} |`;
    }),
    "",
    "## Bundle",
    "",
    ...bundle.lines,
    "## Limits",
    "",
    targetLine(
      bundle.bytes <= VIEWER_REQUEST_PACKAGE_LIMIT,
      `viewer-request package at most 1 MB (${integer(VIEWER_REQUEST_PACKAGE_LIMIT)} bytes): **${integer(bundle.bytes)}** ` +
        `bytes minified (${kib(bundle.bytes)}), ${integer(bundle.gzipped)} gzipped, ` +
        `${fixed((100 * bundle.bytes) / VIEWER_REQUEST_PACKAGE_LIMIT)}% of the limit`,
    ),
    ...memory
      .filter((run) => run.packaging === "edge")
      .map(({ flags, memory: m }) =>
        targetLine(
          m.peakRss <= VIEWER_REQUEST_MEMORY_MIB,
          `memory at most ${VIEWER_REQUEST_MEMORY_MIB} MB, V8 flags ${flags}: peak RSS **${mib(m.peakRss)} MiB** ` +
            `after ${integer(options.memoryEvents)} events (the whole Node process; heap used after GC ` +
            `${mib(m.heapUsedAfterGc)} MiB)`,
        ),
      ),
    "",
  ];
}

async function main(): Promise<void> {
  const options: EdgeBenchOptions = {
    cpuMs: setting("BENCH_EDGE_CPU_MS", 1000),
    warmupMs: setting("BENCH_EDGE_WARMUP_MS", 300),
    rounds: setting("BENCH_EDGE_ROUNDS", 3),
    pool: setting("BENCH_EDGE_POOL", 4000),
    coldRuns: setting("BENCH_EDGE_COLD_RUNS", 20),
    memoryEvents: setting("BENCH_EDGE_MEMORY_EVENTS", 10_000),
  };
  const out = process.env.BENCH_EDGE_OUT;
  const results = resolve(import.meta.dirname, out === undefined ? "results/edge.md" : `results/edge.${out}.md`);
  // Pinned cells (each with a container's first call), three sets of cold starts, four memory runs.
  watchdog(180 + (8 * options.rounds * (options.cpuMs + options.warmupMs + 500)) / 1000 + 3 * options.coldRuns);
  const { lines } = await runEdgeBench(options);
  console.log(lines.join("\n"));
  writeFileSync(results, lines.join("\n"));
  console.error(`bench: written to ${results}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
