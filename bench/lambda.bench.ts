/**
 * The built authorizer (dist/lambda/authorizer.mjs) next to the aws-jwt-verify authorizer of
 * bench/aws-jwt-verify-authorizer.ts, on the same API Gateway events, all on 127.0.0.1. What is
 * measured and why: docs/benchmarks.md. Run with `npm run bench:lambda`; prints and writes
 * bench/results/lambda.md. Knobs (env): BENCH_LAMBDA_ TIME_MS (2000), WARMUP_MS (300), ROUNDS (3),
 * POOL (4000), COLD_RUNS (20), CPU_MS (1000: per pinned cell and round), DELAY_MS (50: the slow
 * issuer's delay); BENCH_LAMBDA_ONLY, a regular expression: only the warm and pinned rows it
 * matches (with their aws-jwt-verify peers and the raw verify), no cold starts, written to
 * bench/results/lambda.<BENCH_LAMBDA_OUT>.md instead (default `only`); BENCH_LAMBDA_OUT alone also
 * writes there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { build } from "esbuild";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { Bench } from "tinybench";
import { newAssertionKey } from "../dev/assertion-key.ts";
import { startDevIssuer } from "../dev/issuer.ts";
import { tokenEvent } from "../test/aws/fixtures.ts";
import {
  BUNDLE_MAX_BYTES,
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
import type { CpuCell, CpuJob, CpuSample } from "./lambda-cpu.ts";
import { KINDS, checkAllowed, type Kind } from "./lambda-events.ts";
import { startSlowIssuer } from "./slow-issuer.ts";

const TIME_MS = setting("BENCH_LAMBDA_TIME_MS", 2000);
const WARMUP_MS = setting("BENCH_LAMBDA_WARMUP_MS", 300);
const ROUNDS = setting("BENCH_LAMBDA_ROUNDS", 3);
const POOL = setting("BENCH_LAMBDA_POOL", 4000);
const ONLY = process.env.BENCH_LAMBDA_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_LAMBDA_ONLY);
const COLD_RUNS = ONLY === undefined ? setting("BENCH_LAMBDA_COLD_RUNS", 20) : 0;
const CPU_MS = setting("BENCH_LAMBDA_CPU_MS", 1000);
const DELAY_MS = setting("BENCH_LAMBDA_DELAY_MS", 50);
const OUT = process.env.BENCH_LAMBDA_OUT ?? (ONLY === undefined ? undefined : "only");
const RESULTS = resolve(import.meta.dirname, OUT === undefined ? "results/lambda.md" : `results/lambda.${OUT}.md`);
/** `npm run build`'s esbuild options, for the peer too. */
const BUILD = { bundle: true, format: "esm", platform: "node", target: "node20", minify: true } as const;
/** Issue targets: repeated, aws-jwt-verify's CPU ÷ ours; new token, CPU ÷ a raw verify's; cold starts, ÷ the peer's. */
const REPEATED_TARGET = 10;
const RAW_TARGET = 1.3;
const COLD_TARGET = 1.0;

type Handler = (event: unknown) => Promise<unknown>;
type Who = "ours" | "aws" | "raw" | "jose";

interface Cell {
  readonly who: Who;
  readonly kind: Kind | undefined;
  readonly distinct: boolean;
  readonly name: string;
  /** The signed assertion's rows: AUTHORIZER_CACHE_SECONDS=30 (what it allows), with it off or on. */
  readonly assertion?: "off" | "on";
}

interface Sample {
  readonly ops: number;
  /** µs per invocation. */
  readonly mean: number;
  readonly logLines: number;
}

interface Cold {
  /** Spawn to answer, on this process's clock; the rest on the child's clock. All in ms. */
  readonly total: number;
  readonly boot: number;
  readonly importing: number;
  readonly firstCall: number;
  /** From the start of the import to the answer. */
  readonly served: number;
  readonly keyFetch: number;
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverages();
  if (POOL <= TOKEN_CACHE_ENTRIES) fail(`BENCH_LAMBDA_POOL must exceed the ${TOKEN_CACHE_ENTRIES}-entry token cache`);
  const ours = await bundleSection("dist/lambda/authorizer.mjs", "src/aws/authorizer.ts", BUILD);
  const dir = mkdtempSync(join(tmpdir(), "authgear-edge-lambda-bench-"));
  const issuer = await startDevIssuer();
  const jwks = await (await fetch(issuer.jwksUri)).text();
  const certificate = makeCertificate(dir);
  const https = await startHttpsJwks(certificate, jwks);
  const slowHttps = await startHttpsJwks(certificate, jwks, DELAY_MS);
  const slow = await startSlowIssuer(issuer.origin, DELAY_MS);
  const print = console.log.bind(console);
  try {
    const peerFile = join(dir, "aws-jwt-verify-authorizer.mjs");
    await build({
      ...BUILD,
      entryPoints: [resolve(import.meta.dirname, "aws-jwt-verify-authorizer.ts")],
      outfile: peerFile,
      logLevel: "warning",
    });
    const peerBytes = readFileSync(peerFile).length;
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, jwks);
    const urls = {
      ours: pathToFileURL(resolve(ROOT, "dist/lambda/authorizer.mjs")).href,
      aws: pathToFileURL(peerFile).href,
    };
    // Read by each bundle when a container loads it; the warm peer has its JWKS preloaded from the file.
    const peerEnv = { JWT_ISSUER: issuer.origin, JWT_AUDIENCE: issuer.origin, JWT_JWKS_URI: https.uri };
    Object.assign(process.env, { AUTHGEAR_ENDPOINT: issuer.origin, ...peerEnv, JWT_JWKS_FILE: jwksFile });

    console.error(`bench: minting ${POOL} tokens`);
    const pool = await mintTokens(issuer, POOL);
    const token = await issuer.mintAccessToken({ sub: "bench-repeated" });
    const events = new Map(
      KINDS.map((kind) => [kind, { repeated: kind.event(token), distinct: pool.map((value) => kind.event(value)) }]),
    );
    const fetches = (): number => issuer.hits.discovery + issuer.hits.jwks + https.hits();
    let logLines = 0;
    console.log = () => (logLines += 1);
    let containers = 0;
    const assertionEnv = {
      ASSERTION_KEY: JSON.stringify(await newAssertionKey("bench")),
      ASSERTION_ISSUER: "https://gate.example",
      ASSERTION_AUDIENCE: "https://backend.example",
    };
    const container = async (who: "ours" | "aws", kind: Kind, assertion?: "off" | "on"): Promise<Handler> => {
      process.env.HTTP_API_RESPONSE = kind.response;
      for (const name of [...Object.keys(assertionEnv), "AUTHORIZER_CACHE_SECONDS"])
        Reflect.deleteProperty(process.env, name);
      if (assertion !== undefined) process.env.AUTHORIZER_CACHE_SECONDS = "30";
      if (assertion === "on") Object.assign(process.env, assertionEnv);
      containers += 1;
      return ((await import(`${urls[who]}?container=${containers}`)) as { handler: Handler }).handler;
    };
    // The same answer from both, for every event kind: both do the same work.
    for (const kind of KINDS) {
      const event = events.get(kind)?.repeated;
      const [ourAnswer, peerAnswer] = [
        await (await container("ours", kind))(event),
        await (await container("aws", kind))(event),
      ];
      checkAllowed(ourAnswer, "bench-repeated", kind, kind.name);
      if (!isDeepStrictEqual(ourAnswer, peerAnswer))
        fail(`${kind.name}: the answers differ:\n${JSON.stringify(ourAnswer)}\n${JSON.stringify(peerAnswer)}`);
    }
    const key = await crypto.subtle.importKey(
      "jwk",
      (JSON.parse(jwks) as { keys: JsonWebKey[] }).keys[0] ?? fail("no key"),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const encoder = new TextEncoder();
    const joseKeys = createLocalJWKSet(JSON.parse(jwks) as JSONWebKeySet);
    const joseOptions = {
      issuer: issuer.origin,
      audience: issuer.origin,
      typ: "at+jwt",
      algorithms: ["RS256"],
      requiredClaims: ["exp", "iat", "sub"],
    };

    /** One checked invocation of the cell, by index (the first one untimed: it loads the key set). */
    const start = async (cell: Cell): Promise<(index: number) => Promise<void>> => {
      if (cell.who === "jose") {
        return async (index) => {
          const { payload } = await jwtVerify(pool[index % POOL] ?? fail("empty pool"), joseKeys, joseOptions);
          if (payload.sub !== `bench-user-${index % POOL}`) fail("jose verified the wrong token");
        };
      }
      if (cell.kind === undefined) {
        return async (index) => {
          const jwt = pool[index % POOL] ?? fail("empty pool");
          const dot = jwt.lastIndexOf(".");
          if (
            !(await crypto.subtle.verify(
              "RSASSA-PKCS1-v1_5",
              key,
              Buffer.from(jwt.slice(dot + 1), "base64url"),
              encoder.encode(jwt.slice(0, dot)),
            ))
          )
            fail("raw verify refused a token");
        };
      }
      const { kind } = cell;
      const handler = await container(cell.who === "ours" ? "ours" : "aws", kind, cell.assertion);
      const set = events.get(kind) ?? fail("no events");
      return async (index) => {
        const [event, sub] = cell.distinct
          ? [set.distinct[index % POOL], `bench-user-${index % POOL}`]
          : [set.repeated, "bench-repeated"];
        checkAllowed(await handler(event), sub, kind, cell.name, cell.assertion === "on");
      };
    };
    const measure = async (cell: Cell): Promise<Sample> => {
      const call = await start(cell);
      await call(0);
      const before = fetches();
      let next = 1;
      const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: WARMUP_MS, throws: true });
      bench.add(cell.name, () => call(next++));
      logLines = 0;
      await bench.run();
      if (fetches() !== before) fail(`${cell.name}: a key fetch inside the timed loop`);
      const result = bench.tasks[0]?.result;
      if (result?.state !== "completed") fail(`${cell.name}: ${result?.state ?? "no result"}`);
      return { ops: result.throughput.mean, mean: result.latency.mean * 1000, logLines: logLines / next };
    };

    const cells: Cell[] = KINDS.flatMap((kind) =>
      [false, true].flatMap((distinct) =>
        (["ours", "aws"] as const).map((who) => ({
          who,
          kind,
          distinct,
          name: `${who === "ours" ? "this authorizer" : "aws-jwt-verify"}, ${kind.name}, ${distinct ? "new token" : "repeated token"}`,
        })),
      ),
    );
    const raw: Cell = {
      who: "raw",
      kind: undefined,
      distinct: true,
      name: "raw crypto.subtle.verify RS256 (key imported once)",
    };
    const jose: Cell = {
      who: "jose",
      kind: undefined,
      distinct: true,
      name: "(reference) jose jwtVerify alone, the same claims checked (no event, no cache, no policy)",
    };
    cells.push(raw, jose);
    const rest = KINDS[1] ?? fail("no REST REQUEST kind");
    for (const distinct of [false, true]) {
      for (const assertion of ["off", "on"] as const) {
        const token = distinct ? "new token" : "repeated token";
        const what =
          assertion === "on"
            ? `signed assertion on (${distinct ? "one ES256 signature each" : "reused"})`
            : "signed assertion off";
        cells.push({
          who: "ours",
          kind: rest,
          distinct,
          assertion,
          name: `this authorizer, ${rest.name}, ${token}, AUTHORIZER_CACHE_SECONDS=30, ${what}`,
        });
      }
    }
    if (ONLY !== undefined) {
      const chosen = cells.filter((cell) => ONLY.test(cell.name));
      const peers = cells.filter(
        (cell) =>
          cell.who === "aws" && chosen.some((mine) => mine.kind === cell.kind && mine.distinct === cell.distinct),
      );
      cells.splice(
        0,
        cells.length,
        ...cells.filter((cell) => chosen.includes(cell) || peers.includes(cell) || cell === raw),
      );
    }
    const samples = new Map<Cell, Sample[]>(cells.map((cell) => [cell, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const shift = (round * 5) % cells.length;
      for (const cell of [...cells.slice(shift), ...cells.slice(0, shift)]) {
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${cell.name}`);
        samples.get(cell)?.push(await measure(cell));
      }
    }

    console.log = print;
    const pinned = canPin();
    if (!pinned) console.error("bench: taskset (util-linux) is missing or cannot pin: the CPU rows run unpinned");
    const cpuCells: CpuCell[] = [
      ...KINDS.flatMap((kind) =>
        [false, true].flatMap((distinct) =>
          (["ours", "aws"] as const).map((who) => {
            const authorizer = who === "ours" ? "this authorizer" : "aws-jwt-verify";
            const name = `${authorizer}, ${kind.name}, ${distinct ? "new token" : "repeated token"}`;
            return { who, kind: kind.name, distinct, name };
          }),
        ),
      ),
      { who: "raw", distinct: true, name: raw.name },
      { who: "jose", distinct: true, name: jose.name },
    ];
    if (ONLY !== undefined) {
      const chosen = cpuCells.filter((cell) => ONLY.test(cell.name));
      const peerOfChosen = (cell: CpuCell): boolean =>
        cell.who === "aws" && chosen.some((mine) => mine.kind === cell.kind && mine.distinct === cell.distinct);
      const keep = (cell: CpuCell): boolean => chosen.includes(cell) || cell.who === "raw" || peerOfChosen(cell);
      cpuCells.splice(0, cpuCells.length, ...cpuCells.filter(keep));
    }
    const cpuChild = join(dir, "lambda-cpu.mjs");
    const cpuEntry = resolve(import.meta.dirname, "lambda-cpu.ts");
    await build({ ...BUILD, entryPoints: [cpuEntry], outfile: cpuChild, logLevel: "warning" });
    const cpuJob: CpuJob = {
      urls,
      pool,
      token,
      jwks,
      issuer: issuer.origin,
      timeMs: CPU_MS,
      warmupMs: WARMUP_MS,
      rounds: ROUNDS,
      cells: cpuCells,
    };
    const cpuEnv = {
      PATH: process.env.PATH ?? "",
      AUTHGEAR_ENDPOINT: issuer.origin,
      ...peerEnv,
      JWT_JWKS_FILE: jwksFile,
    };
    const keyFetches = fetches();
    const cpuSamples = await runJobChild(cpuChild, cpuJob, dir, pinned, cpuEnv);
    // One discovery and one JWKS request per container of this authorizer (the peer's JWKS comes
    // from the file): any more is a fetch while timed.
    const containersOfOurs = cpuCells.filter((cell) => cell.who === "ours").length * ROUNDS;
    const pinnedFetches = fetches() - keyFetches;
    if (pinnedFetches !== 2 * containersOfOurs) {
      fail(`pinned rows: ${pinnedFetches} key fetches for ${containersOfOurs} containers of this authorizer`);
    }

    const runner = join(dir, "runner.mjs");
    writeFileSync(runner, COLD_RUNNER);
    const childEnv = { NODE_EXTRA_CA_CERTS: certificate.certFile, HTTP_API_RESPONSE: "iam" };
    const coldEvent = (token: string): string => JSON.stringify(tokenEvent(`Bearer ${token}`));
    /** Requests each authorizer made of each server: `issuer` counted by path, `https` the peer's JWKS server. */
    type Fetched = Record<string, number>;
    const discoveryPath = "/.well-known/openid-configuration";
    const jwksPath = new URL(issuer.jwksUri).pathname;
    const coldSetups = [
      {
        name: "near",
        token: await issuer.mintAccessToken({ sub: "bench-cold" }),
        envs: { ours: { ...childEnv, AUTHGEAR_ENDPOINT: issuer.origin }, aws: { ...childEnv, ...peerEnv } },
        count: (): Fetched => ({
          [discoveryPath]: issuer.hits.discovery,
          [jwksPath]: issuer.hits.jwks,
          https: https.hits(),
        }),
      },
      {
        name: "far",
        // The slow issuer is an issuer of its own: its origin is the token's iss and aud.
        token: await issuer.mintAccessToken({ sub: "bench-cold", claims: { iss: slow.origin, aud: [slow.origin] } }),
        envs: {
          ours: { ...childEnv, AUTHGEAR_ENDPOINT: slow.origin },
          aws: { ...childEnv, JWT_ISSUER: slow.origin, JWT_AUDIENCE: slow.origin, JWT_JWKS_URI: slowHttps.uri },
        },
        count: (): Fetched => ({ ...Object.fromEntries(slow.hits), https: slowHttps.hits() }),
      },
    ] as const;
    // Either way (discovery then JWKS, or both at once) this authorizer asks the issuer for
    // discovery and for the JWKS once each.
    const expected = { ours: { [discoveryPath]: 1, [jwksPath]: 1 }, aws: { https: 1 } };
    const cold = { near: { ours: [] as Cold[], aws: [] as Cold[] }, far: { ours: [] as Cold[], aws: [] as Cold[] } };
    for (const setup of COLD_RUNS === 0 ? [] : coldSetups) {
      const where = setup.name === "near" ? "on loopback" : `${DELAY_MS} ms away`;
      console.error(`bench: ${COLD_RUNS} cold starts of each, issuer ${where}`);
      for (let run = 0; run < COLD_RUNS; run += 1) {
        for (const who of run % 2 === 0 ? (["ours", "aws"] as const) : (["aws", "ours"] as const)) {
          const before = setup.count();
          const child = await runChild(runner, [urls[who], coldEvent(setup.token)], setup.envs[who]);
          const after = setup.count();
          const deltas = Object.entries(after).map(([path, hits]): [string, number] => {
            return [path, hits - (before[path] ?? 0)];
          });
          const fetched = Object.fromEntries(deltas.filter(([, hits]) => hits !== 0));
          if (!isDeepStrictEqual(fetched, expected[who])) {
            const [got, wanted] = [JSON.stringify(fetched), JSON.stringify(expected[who])];
            fail(`cold start of ${who} (${setup.name}): fetched ${got}, expected ${wanted}`);
          }
          type Report = { answer: unknown; started: number; imported: number; answered: number };
          const report = JSON.parse(child.report) as Report;
          checkAllowed(report.answer, "bench-cold", KINDS[0], `cold start of ${who}`);
          const refreshed = /"event":"keyset_refreshed".*"ms":([\d.]+)/.exec(child.stdout)?.[1];
          cold[setup.name][who].push({
            total: child.total,
            boot: report.started,
            importing: report.imported - report.started,
            firstCall: report.answered - report.imported,
            served: report.answered - report.started,
            keyFetch: Number(refreshed ?? Number.NaN),
          });
        }
      }
    }
    console.log = print;

    console.log = print;

    const of = (cell: Cell): Sample[] => samples.get(cell) ?? fail("no samples");
    const mid = (cell: Cell, field: keyof Sample): number => median(of(cell).map((sample) => sample[field]));
    const peerOf = (cell: Cell): Cell =>
      cells.find((other) => other.who === "aws" && other.kind === cell.kind && other.distinct === cell.distinct) ??
      fail("no peer");
    const vsPeer = (cell: Cell): number =>
      median(
        ratios(
          of(cell).map((s) => s.ops),
          of(peerOf(cell)).map((s) => s.ops),
        ),
      );
    const vsRaw = (cell: Cell): number =>
      median(
        ratios(
          of(cell).map((s) => s.mean),
          of(raw).map((s) => s.mean),
        ),
      );

    const cpuOf = (cell: CpuCell): CpuSample[] => cpuSamples[cpuCells.indexOf(cell)] ?? fail("no pinned samples");
    const cpuMid = (cell: CpuCell, field: keyof CpuSample): number =>
      median(cpuOf(cell).map((sample) => sample[field]));
    const cpuRaw = cpuCells.find((cell) => cell.who === "raw") ?? fail("no raw row");
    const cpuPeer = (cell: CpuCell): CpuCell | undefined =>
      cpuCells.find((other) => other.who === "aws" && other.kind === cell.kind && other.distinct === cell.distinct);
    /** Per round, the cell's CPU per call ÷ the other's. */
    const cpuRatios = (cell: CpuCell, other: CpuCell): number[] =>
      ratios(
        cpuOf(cell).map((s) => s.cpu),
        cpuOf(other).map((s) => s.cpu),
      );
    const spread = (values: readonly number[]): string => `${times(Math.min(...values))}–${times(Math.max(...values))}`;
    const cpuMine = cpuCells.filter((cell) => cell.who === "ours");

    type Where = "near" | "far";
    const coldOf = (where: Where, who: "ours" | "aws", field: keyof Cold): number =>
      median(cold[where][who].map((sample) => sample[field]));
    const perRun = (where: Where, field: keyof Cold): number[] =>
      ratios(
        cold[where].ours.map((s) => s[field]),
        cold[where].aws.map((s) => s[field]),
      );
    const optional = (value: number): string => (Number.isNaN(value) ? "—" : fixed(value));
    const coldRows = (where: Where): string[] =>
      (["ours", "aws"] as const).map((who) => {
        const fields = ["total", "boot", "importing", "firstCall", "served", "keyFetch"] as const;
        const cells = fields.map((field) => optional(coldOf(where, who, field)));
        return `| ${who === "ours" ? "this authorizer" : "aws-jwt-verify"} | ${cells.join(" | ")} |`;
      });
    const coldHeader = [
      "| authorizer | total | boot | import | first call | import → answer | of which key fetch (log) |",
      "|---|---:|---:|---:|---:|---:|---:|",
    ];
    const coldTarget = (where: Where, field: "total" | "served", what: string): string => {
      const values = perRun(where, field);
      const ofMedians = times(coldOf(where, "ours", field) / coldOf(where, "aws", field));
      const text =
        `${what} at most ${fixed(COLD_TARGET)}× aws-jwt-verify's: **${times(median(values))}** median of ` +
        `per-run ratios (ratio of medians ${ofMedians}; per run ${spread(values)})`;
      return targetLine(median(values) <= COLD_TARGET, text);
    };
    const lines = [
      ...machineLines(
        "Lambda authorizer benchmark",
        ["jose", "valibot", "aws-jwt-verify", "esbuild", "tinybench"],
        started,
        loadBefore,
        "BENCH_LAMBDA_",
      ),
      `- CPU, pinned: a child process ${pinned ? "pinned to one CPU (`taskset -c 0`)" : "**not pinned (no taskset)**"} ` +
        "(a Lambda function up to 1,769 MB has one vCPU), a new module instance (container) per row and round, its " +
        `first call untimed, ${WARMUP_MS} ms of warmup, then ${CPU_MS} ms of calls one at a time between two ` +
        "`process.cpuUsage()` readings (user + system, every thread: WebCrypto verifies on libuv's thread pool); " +
        `${ROUNDS} round(s), rows rotated; medians over rounds, ratios per round`,
      "- Warm (wall time, unpinned, noisy): `handler` imported in this process, a new container per row and round, " +
        `its first call untimed; tinybench, one invocation at a time, ${ROUNDS} round(s) × ${TIME_MS} ms after ` +
        `${WARMUP_MS} ms warmup, rows rotated; medians over rounds, ratios per round (their median shown). ` +
        "New-token rows rotate through " +
        `${integer(POOL)} tokens (token cache: ${TOKEN_CACHE_ENTRIES})`,
      "",
      "## CPU per call, pinned to one CPU",
      "",
      "| authorizer, event, token | CPU µs/call | CPU µs per round | wall µs/call | CPU ÷ aws-jwt-verify " +
        "| CPU ÷ raw verify | log lines/call |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...cpuCells.map((cell) => {
        const peer = cpuPeer(cell);
        const vsAws = peer === undefined || peer === cell ? "—" : times(median(cpuRatios(cell, peer)));
        const vsRawCpu = cell.distinct ? times(median(cpuRatios(cell, cpuRaw))) : "—";
        const perRoundCpu = cpuOf(cell)
          .map((s) => fixed(s.cpu))
          .join(" / ");
        const row = [
          cell.name,
          fixed(cpuMid(cell, "cpu")),
          perRoundCpu,
          fixed(cpuMid(cell, "wall")),
          vsAws,
          vsRawCpu,
          fixed(cpuMid(cell, "logLines"), 2),
        ];
        return `| ${row.join(" | ")} |`;
      }),
      "",
      "## Warm container (wall time, unpinned; noisy)",
      "",
      "| authorizer, event, token | ops/s | ops/s per round | mean (µs) | ops/s ÷ aws-jwt-verify | time ÷ raw verify | log lines/invocation |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...cells.map(
        (cell) =>
          `| ${cell.name} | ${integer(mid(cell, "ops"))} | ${of(cell)
            .map((s) => integer(s.ops))
            .join(
              " / ",
            )} | ${fixed(mid(cell, "mean"))} | ${cell.kind === undefined ? "—" : times(vsPeer(cell))} | ${cell.distinct ? times(vsRaw(cell)) : "—"} | ${fixed(mid(cell, "logLines"), 2)} |`,
      ),
      "",
      ...(COLD_RUNS === 0
        ? []
        : [
            "## Cold start to the first Allow",
            "",
            "A new Node process per run imports the bundle and answers one REST TOKEN event, fetching its keys (this " +
              "authorizer: discovery + JWKS over http; aws-jwt-verify, given the JWKS URL: JWKS over https, one TLS " +
              `handshake); ${COLD_RUNS} runs each, alternating. Medians, ms; total from spawn to answer, the rest on ` +
              "the child's clock.",
            "",
            "Issuer on loopback:",
            "",
            ...coldHeader,
            ...coldRows("near"),
            "",
            `Issuer ${DELAY_MS} ms away (each answer of the issuer and of the peer's JWKS server ${DELAY_MS} ms late; ` +
              "connection set-up not delayed):",
            "",
            ...coldHeader,
            ...coldRows("far"),
            "",
          ]),
      "## Bundle",
      "",
      ...ours.lines,
      `The aws-jwt-verify authorizer, bundled alike: ${integer(peerBytes)} bytes (${kib(peerBytes)}).`,
      "",
      "## Targets",
      "",
      ...cpuMine
        .filter((cell) => !cell.distinct)
        .flatMap((cell) => {
          const peer = cpuPeer(cell);
          if (peer === undefined) return [];
          const values = cpuRatios(peer, cell);
          const text =
            `${cell.name}: at least ${REPEATED_TARGET}× less CPU per call than aws-jwt-verify (pinned): ` +
            `**${times(median(values))}** (per round ${spread(values)}; ` +
            `${fixed(cpuMid(cell, "cpu"))} µs vs ${fixed(cpuMid(peer, "cpu"))} µs)`;
          return [targetLine(median(values) >= REPEATED_TARGET, text)];
        }),
      ...cpuMine
        .filter((cell) => cell.distinct)
        .map((cell) => {
          const values = cpuRatios(cell, cpuRaw);
          const text =
            `${cell.name}: CPU per call at most ${RAW_TARGET}× one raw WebCrypto verify of the same token ` +
            `(pinned): **${times(median(values))}** (per round ${spread(values)}; ` +
            `${fixed(cpuMid(cell, "cpu"))} µs vs ${fixed(cpuMid(cpuRaw, "cpu"))} µs)`;
          return targetLine(median(values) <= RAW_TARGET, text);
        }),
      ...(COLD_RUNS === 0
        ? []
        : [
            coldTarget("far", "served", `cold start, import to the first Allow, issuer ${DELAY_MS} ms away,`),
            coldTarget("near", "total", "cold start to the first Allow, issuer on loopback, spawn to answer,"),
          ]),
      targetLine(
        ours.bytes <= BUNDLE_MAX_BYTES,
        `dist/lambda/authorizer.mjs at most ${integer(BUNDLE_MAX_BYTES)} bytes minified: **${integer(ours.bytes)}**`,
      ),
      "",
    ];
    console.log(lines.join("\n"));
    writeFileSync(RESULTS, lines.join("\n"));
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    console.log = print;
    https.close();
    slowHttps.close();
    slow.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Warm rows, pinned rows (each with a container's first call), two sets of cold starts.
const timedMs = ROUNDS * (22 * (TIME_MS + WARMUP_MS + 500) + 18 * (CPU_MS + WARMUP_MS + 500));
watchdog(180 + timedMs / 1000 + 4 * COLD_RUNS * (1 + DELAY_MS / 100));
await main();
