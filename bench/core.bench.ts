/**
 * The core's RS256 verification next to its peers, side by side in one run, on one pool of
 * access tokens minted by the dev issuer on 127.0.0.1. Every peer gets its keys from the
 * issuer's JWKS over loopback HTTP before its timed loop (or has them preloaded); the issuer's
 * hit counters are checked after each loop, so a fetch inside the loop fails the run. Nothing
 * leaves loopback.
 *
 * Rows:
 * - core, cold: `verifyToken` with the token cache off (`maxEntries: 0`), on a rotating pool of
 *   distinct tokens, so every call is a full verification (signature, claims, identity);
 * - core, repeated token: the default token cache, the same token every iteration;
 * - aws-jwt-verify `JwtVerifier` (JWKS preloaded with `cacheJwks`; `typ: at+jwt` checked in
 *   `customJwtCheck`, as the core checks it);
 * - jsonwebtoken + jwks-rsa (key fetched once through the cached client and imported once as a
 *   `KeyObject`, the peer at its best; `typ` checked on the decoded header);
 * - raw `crypto.subtle.verify` (key imported once): per token only the split, the base64url
 *   decoding of the signature and the encoding of the signing input, then the WebCrypto call.
 *   The floor for anything built on WebCrypto;
 * - for reference, jose's `jwtVerify` alone with the core's options and a `createLocalJWKSet`
 *   getter: the floor for a core built on jose.
 *
 * The rows run in `BENCH_ROUNDS` rounds (default 3), each row once per round in a rotated order
 * with a fresh verifier, so a noisy neighbour or the order does not decide a ratio; the table
 * shows medians over the rounds. Time per row and round: `BENCH_TIME_MS` (default 1500) after
 * `BENCH_WARMUP_MS` (default 300) of warmup.
 *
 * Run: `npm run bench:core` (`tsx --expose-gc bench/core.bench.ts`; `npm run bench` runs every
 * benchmark). Prints a Markdown table and writes it to bench/results/core.md.
 */
import { createPublicKey } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { writeFileSync } from "node:fs";
import { cpus, arch, platform, totalmem } from "node:os";
import { resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { JwtVerifier } from "aws-jwt-verify";
import type { Jwks } from "aws-jwt-verify/jwk";
import jwt from "jsonwebtoken";
import jwksClient from "jwks-rsa";
import { Bench } from "tinybench";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { createAuthenticator, parseConfig, silentLogger } from "../src/core/index.ts";
import { fail, fixed, integer, median, packageVersion, targetLine } from "./common.ts";

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1500);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POOL_SIZE = 512;
/** Issue targets. */
const COLD_MAX_COST_VS_RAW = 1.3;
const REPEATED_MIN_SPEEDUP_VS_AWS = 10;

const RESULTS = resolve(import.meta.dirname, "results/core.md");

/** One verification of token `index` of the pool; throws when the token is refused. */
type Verify = (index: number) => Promise<void>;

interface Peer {
  readonly key: "coreCold" | "coreRepeated" | "aws" | "jsonwebtoken" | "raw" | "jose";
  readonly name: string;
  /** Builds the verifier; its keys are fetched or preloaded here, never in the timed loop. */
  readonly create: (issuer: DevIssuer, pool: readonly Token[]) => Promise<Verify>;
}

interface Token {
  readonly jwt: string;
  readonly sub: string;
}

/** One row in one round. */
interface Sample {
  readonly opsPerSecond: number;
  /** Microseconds. */
  readonly mean: number;
  readonly p99: number;
  /** Bytes, after a full GC, with this verifier alive. */
  readonly heapAfter: number;
  readonly heapDelta: number;
  readonly rssDelta: number;
}

/** Medians over the rounds. */
interface Row extends Sample {
  readonly peer: Peer;
  readonly rounds: readonly Sample[];
}


function tokenAt(pool: readonly Token[], index: number): Token {
  return pool[index % pool.length] ?? fail("empty token pool");
}

async function fetchJwks(issuer: DevIssuer): Promise<Jwks> {
  const response = await fetch(issuer.jwksUri);
  if (!response.ok) fail(`JWKS answered ${response.status}`);
  return (await response.json()) as Jwks;
}

const PEERS: readonly Peer[] = [
  {
    key: "coreCold",
    name: "this core, cold (cache off, distinct tokens)",
    create(issuer, pool) {
      // The key set is fetched (discovery, then JWKS, over loopback) by the untimed first call.
      const authenticator = createAuthenticator(parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin }), {
        logger: silentLogger,
        tokenCache: { maxEntries: 0 },
      });
      return Promise.resolve(async (index: number) => {
        const token = tokenAt(pool, index);
        const identity = await authenticator.verifyToken(token.jwt);
        if (identity.userId !== token.sub) fail("core returned the wrong identity");
      });
    },
  },
  {
    key: "coreRepeated",
    name: "this core, repeated token (cache on)",
    create(issuer, pool) {
      const authenticator = createAuthenticator(parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin }), { logger: silentLogger });
      const token = tokenAt(pool, 0);
      return Promise.resolve(async () => {
        const identity = await authenticator.verifyToken(token.jwt);
        if (identity.userId !== token.sub) fail("core returned the wrong identity");
      });
    },
  },
  {
    key: "aws",
    name: "aws-jwt-verify JwtVerifier (JWKS preloaded)",
    async create(issuer, pool) {
      const verifier = JwtVerifier.create({
        issuer: issuer.origin,
        audience: issuer.origin,
        // aws-jwt-verify fetches over https only; the JWKS is preloaded below, so this URI is never fetched.
        jwksUri: issuer.jwksUri,
        customJwtCheck: ({ header }) => {
          if (header.typ !== "at+jwt") fail("typ is not at+jwt");
        },
      });
      verifier.cacheJwks(await fetchJwks(issuer));
      return async (index) => {
        const token = tokenAt(pool, index);
        const payload = await verifier.verify(token.jwt);
        if (payload.sub !== token.sub) fail("aws-jwt-verify returned the wrong payload");
      };
    },
  },
  {
    key: "jsonwebtoken",
    name: "jsonwebtoken + jwks-rsa (key fetched once)",
    async create(issuer, pool) {
      const client = jwksClient({ jwksUri: issuer.jwksUri, cache: true });
      const key = createPublicKey((await client.getSigningKey(issuer.signingKid)).getPublicKey());
      const options = { algorithms: ["RS256" as const], issuer: issuer.origin, audience: issuer.origin, complete: true as const };
      return (index) => {
        const token = tokenAt(pool, index);
        const { header, payload } = jwt.verify(token.jwt, key, options);
        if (header.typ !== "at+jwt") fail("typ is not at+jwt");
        if (typeof payload === "string" || payload.sub !== token.sub) fail("jsonwebtoken returned the wrong payload");
        return Promise.resolve();
      };
    },
  },
  {
    key: "raw",
    name: "raw crypto.subtle.verify (key imported once)",
    async create(issuer, pool) {
      const jwk = (await fetchJwks(issuer)).keys.find((candidate) => candidate.kid === issuer.signingKid) ?? fail("signing key not published");
      const key = await crypto.subtle.importKey("jwk", jwk as JsonWebKey, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
      const encoder = new TextEncoder();
      return async (index) => {
        const token = tokenAt(pool, index).jwt;
        const dot = token.lastIndexOf(".");
        const signature = Buffer.from(token.slice(dot + 1), "base64url");
        if (!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, encoder.encode(token.slice(0, dot))))) {
          fail("raw subtle.verify refused a good token");
        }
      };
    },
  },
  {
    key: "jose",
    name: "(reference) jose jwtVerify alone, core's options",
    async create(issuer, pool) {
      const getKey = createLocalJWKSet({ keys: [...(await fetchJwks(issuer)).keys] });
      const options = {
        algorithms: ["RS256"],
        issuer: issuer.origin,
        audience: [issuer.origin],
        typ: "at+jwt",
        clockTolerance: 0,
        requiredClaims: ["exp", "iat", "sub"],
      };
      return async (index) => {
        const token = tokenAt(pool, index);
        const { payload } = await jwtVerify(token.jwt, getKey, { ...options, currentDate: new Date() });
        if (payload.sub !== token.sub) fail("jose returned the wrong payload");
      };
    },
  },
];

/** `global.gc` when node runs with --expose-gc (the npm script passes it); otherwise exposed through V8 flags. */
function resolveGc(): { gc: () => void; how: string } {
  if (typeof globalThis.gc === "function") {
    const exposed = globalThis.gc;
    return {
      gc: () => {
        exposed();
      },
      how: "global.gc (node --expose-gc, passed by `tsx --expose-gc` in the npm script)" };
  }
  setFlagsFromString("--expose-gc");
  const fromContext = runInNewContext("gc") as () => void;
  return { gc: fromContext, how: "v8.setFlagsFromString('--expose-gc') (run without --expose-gc)" };
}

const { gc, how: gcHow } = resolveGc();

function settledMemory(): { heapUsed: number; rss: number } {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

async function measure(peer: Peer, issuer: DevIssuer, pool: readonly Token[]): Promise<Sample> {
  const before = settledMemory();
  const verify = await peer.create(issuer, pool);
  // One untimed call: proves the peer accepts the tokens, and loads the core's key set.
  await verify(0);
  const hits = { ...issuer.hits };
  let next = 0;
  const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: WARMUP_MS, throws: true });
  bench.add(peer.name, async () => {
    await verify(next);
    next += 1;
  });
  await bench.run();
  if (issuer.hits.discovery !== hits.discovery || issuer.hits.jwks !== hits.jwks) {
    fail(`${peer.name} fetched from the issuer inside the timed loop`);
  }
  const after = settledMemory();
  // Keeps the verifier (and its caches) alive until memory has been read.
  if (typeof verify !== "function") fail("unreachable");
  const result = bench.tasks[0]?.result;
  if (result?.state !== "completed") fail(`${peer.name} did not complete: ${result?.state ?? "no task"}`);
  return {
    opsPerSecond: result.throughput.mean,
    mean: result.latency.mean * 1000,
    p99: result.latency.p99 * 1000,
    heapAfter: after.heapUsed,
    heapDelta: after.heapUsed - before.heapUsed,
    rssDelta: after.rss - before.rss,
  };
}

function version(name: string): string {
  return `${name} ${packageVersion(name)}`;
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const signedMib = (bytes: number): string => `${bytes >= 0 ? "+" : ""}${mib(bytes)}`;

function byKey(rows: readonly Row[], key: Peer["key"]): Row {
  return rows.find((row) => row.peer.key === key) ?? fail(`no ${key} row`);
}


function summarize(peer: Peer, rounds: readonly Sample[]): Row {
  const of = (field: keyof Sample): number => median(rounds.map((sample) => sample[field]));
  return {
    peer,
    rounds,
    opsPerSecond: of("opsPerSecond"),
    mean: of("mean"),
    p99: of("p99"),
    heapAfter: of("heapAfter"),
    heapDelta: of("heapDelta"),
    rssDelta: of("rssDelta"),
  };
}

/** Per round, `a` ops/s over `b` ops/s. */
function roundRatios(a: Row, b: Row): number[] {
  return a.rounds.map((sample, index) => sample.opsPerSecond / (b.rounds[index]?.opsPerSecond ?? Number.NaN));
}

function report(rows: readonly Row[], started: Date, totalSeconds: number): string {
  const raw = byKey(rows, "raw");
  const aws = byKey(rows, "aws");
  const cold = byKey(rows, "coreCold");
  const repeated = byKey(rows, "coreRepeated");
  const cpu = cpus();
  // Ratios pair the rows of one round (run seconds apart), then take the median over the rounds.
  const costVsRaw = (row: Row): number => median(roundRatios(raw, row));
  const speedVsAws = (row: Row): number => median(roundRatios(row, aws));
  const coldCost = costVsRaw(cold);
  const repeatedSpeedup = speedVsAws(repeated);
  const lines = [
    "# Core verification benchmark",
    "",
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} logical CPUs), ${mib(totalmem())} MiB RAM, ${platform()} ${arch()}`,
    `- Node ${process.version}; ${["jose", "aws-jwt-verify", "jsonwebtoken", "jwks-rsa", "tinybench"].map(version).join(", ")}`,
    `- Date: ${started.toISOString()}; whole run ${fixed(totalSeconds)} s`,
    `- Tokens: ${POOL_SIZE} distinct RS256 \`at+jwt\` access tokens (RSA-2048) from the dev issuer on 127.0.0.1; keys from its JWKS over loopback, fetched or preloaded before each timed loop (a fetch inside a loop fails the run)`,
    `- tinybench: ${ROUNDS} rounds × ${TIME_MS} ms per row after ${WARMUP_MS} ms warmup, rows rotated each round, a fresh verifier per row and round; one verification at a time (no concurrency). Figures are medians over the rounds ("ops/s per round" shows the spread); ratios are computed per round, between rows run seconds apart, and their median is shown`,
    `- Memory: after a full GC with the verifier alive; heap after = process heap used; Δ against just before the verifier was created. GC: ${gcHow}`,
    "",
    "| verifier | ops/s | ops/s per round | mean (µs) | p99 (µs) | time ÷ raw subtle | ops/s ÷ aws-jwt-verify | heap after (MiB) | heap Δ (MiB) | rss Δ (MiB) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((row) =>
      [
        "",
        ` ${row.peer.name} `,
        ` ${integer(row.opsPerSecond)} `,
        ` ${row.rounds.map((sample) => integer(sample.opsPerSecond)).join(" / ")} `,
        ` ${fixed(row.mean)} `,
        ` ${fixed(row.p99)} `,
        ` ${fixed(costVsRaw(row), 2)}× `,
        ` ${fixed(speedVsAws(row), 2)}× `,
        ` ${mib(row.heapAfter)} `,
        ` ${signedMib(row.heapDelta)} `,
        ` ${signedMib(row.rssDelta)} `,
        "",
      ].join("|"),
    ),
    "",
    "## Targets",
    "",
    targetLine(
      coldCost <= COLD_MAX_COST_VS_RAW,
      `first-seen RS256 token costs at most ${COLD_MAX_COST_VS_RAW}× raw crypto.subtle.verify: ${fixed(coldCost, 2)}× ` +
        `(median of per-round ratios; core cold ${integer(cold.opsPerSecond)} ops/s, raw ${integer(raw.opsPerSecond)} ops/s; ` +
        `per round ${roundRatios(raw, cold).map((ratio) => `${fixed(ratio, 2)}×`).join(", ")})`,
    ),
    targetLine(
      repeatedSpeedup >= REPEATED_MIN_SPEEDUP_VS_AWS,
      `repeated token at least ${REPEATED_MIN_SPEEDUP_VS_AWS}× faster than aws-jwt-verify: ${fixed(repeatedSpeedup, 1)}× ` +
        `(median of per-round ratios; core repeated ${integer(repeated.opsPerSecond)} ops/s, aws-jwt-verify ${integer(aws.opsPerSecond)} ops/s; ` +
        `per round ${roundRatios(repeated, aws).map((ratio) => `${fixed(ratio, 1)}×`).join(", ")})`,
    ),
    "",
  ];
  return lines.join("\n");
}


async function main(): Promise<void> {
  const started = new Date();
  const clock = performance.now();
  const issuer = await startDevIssuer();
  try {
    const pool: Token[] = [];
    for (let i = 0; i < POOL_SIZE; i += 1) {
      const sub = `bench-user-${i}`;
      pool.push({ jwt: await issuer.mintAccessToken({ sub }), sub });
    }
    const samples = new Map<Peer, Sample[]>(PEERS.map((peer) => [peer, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = [...PEERS.slice(round % PEERS.length), ...PEERS.slice(0, round % PEERS.length)];
      for (const peer of order) {
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${peer.name}`);
        samples.get(peer)?.push(await measure(peer, issuer, pool));
      }
    }
    const rows = PEERS.map((peer) => summarize(peer, samples.get(peer) ?? []));
    const markdown = report(rows, started, (performance.now() - clock) / 1000);
    console.log(markdown);
    writeFileSync(RESULTS, markdown);
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    await issuer.close();
  }
}

await main();
