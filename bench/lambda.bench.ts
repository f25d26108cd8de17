/**
 * The built Lambda authorizer (dist/lambda/authorizer.mjs, `handler`) next to an authorizer built
 * the way AWS documents it (bench/aws-jwt-verify-authorizer.ts: aws-jwt-verify's `JwtVerifier`,
 * an Allow policy for `methodArn`, claims as `context`), side by side in one run, on the same
 * events. Everything listens on and talks to 127.0.0.1 only.
 *
 * Pieces, all started by this process and closed at the end:
 * - the dev issuer (dev/issuer.ts): this authorizer's `AUTHGEAR_ENDPOINT` (discovery and JWKS over
 *   loopback http), and the minter of the tokens;
 * - a loopback https server serving the dev issuer's JWKS, with a self-signed certificate for
 *   127.0.0.1 made by the `openssl` CLI in a temporary directory: aws-jwt-verify fetches over
 *   https only, and its cold starts fetch the JWKS from here, trusting the certificate through
 *   `NODE_EXTRA_CA_CERTS` (given to every child process, of both authorizers, so they boot alike).
 *   Without `openssl`, the aws-jwt-verify cold
 *   starts load the JWKS from a file with `cacheJwks` instead, and the report says so;
 * - the aws-jwt-verify authorizer, bundled by esbuild exactly as `npm run build` bundles this one
 *   (`--bundle --format=esm --platform=node --target=node20 --minify`), into the temporary directory.
 *
 * Three measurements, and a diagnostic:
 * 1. Warm container: invocations per second of `handler`, imported in this process (a fresh module
 *    instance, i.e. a new container, per row and round; the key set loaded by an untimed first
 *    call: this authorizer fetches discovery and JWKS from the dev issuer, aws-jwt-verify has the
 *    JWKS preloaded with `cacheJwks` from a file). Rows: REST TOKEN events (test/aws/fixtures.ts
 *    `tokenEvent`) with (a) the same token every time and (b) a new token per invocation, from a pool
 *    of `BENCH_LAMBDA_POOL` (default 4000) distinct tokens minted before timing — more than this
 *    authorizer's 1000-entry verified-token cache, and rotated in order, so every invocation is a
 *    full verification — and (c) REST REQUEST v1 events (`requestEvent`, `Authorization` header)
 *    with the same token. tinybench, one invocation at a time, `BENCH_LAMBDA_ROUNDS` (default 3)
 *    rounds with the rows rotated each round, `BENCH_LAMBDA_TIME_MS` (default 2000) per row and
 *    round after `BENCH_LAMBDA_WARMUP_MS` (default 300). Every answer is checked (principal = the
 *    token's `sub`), a key-set fetch inside a timed loop fails the run, and log lines written during
 *    the timed loop are counted (CloudWatch is paid per line).
 * 2. Bundle size: dist/lambda/authorizer.mjs as built, and the aws-jwt-verify authorizer's bundle,
 *    minified and gzipped.
 * 3. Cold start to first answer: a new Node process (`process.execPath`, a clean environment, no
 *    tsx) runs a tiny runner that imports a bundle and answers one event, printing the answer on
 *    stdout; the time is taken in this process from just before `spawn` to the answer line
 *    arriving. Variants: a TOKEN event with a valid token (the first answer includes the key-set
 *    fetch: discovery + JWKS over loopback http here, the JWKS over loopback https for
 *    aws-jwt-verify), and a token-less TOKEN event (`Basic` credentials), refused before any key is
 *    needed, which isolates module load; plus Node alone (a runner importing a one-line handler).
 *    `BENCH_LAMBDA_COLD_RUNS` (default 20) runs of each, the variants rotated run by run; the
 *    target compares the two authorizers run by run (the median of per-run ratios, as
 *    bench/core.bench.ts does per round), and the ratio of the medians is shown next to it.
 *    The runner also reports, on the child's own clock, when it started (Node's boot), how long the
 *    import took, and how long the handler took; this authorizer's `keyset_refreshed` log line
 *    gives the discovery + JWKS fetch time.
 *    Then `BENCH_LAMBDA_COLD_RUNS` diagnostic processes do, with Node's built-ins alone, the steps of both first
 *    answers (a first `Headers`, which loads Node's bundled undici; two `fetch` GETs; WebCrypto
 *    import and verify; a node:https GET; node:crypto import and verify), each timed, to show
 *    what a cold start is made of.
 *
 * Run: `npm run bench:lambda` (`npm run build`, then `tsx bench/lambda.bench.ts`). Prints a
 * Markdown table and writes it to bench/results/lambda.md.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { arch, cpus, platform, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { Bench } from "tinybench";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { requestEvent, tokenEvent } from "../test/aws/fixtures.ts";
import { ROOT, fail, fixed, integer, kib, loadAverages, median, mintTokens, packageVersion, targetLine } from "./common.ts";

const TIME_MS = Number(process.env.BENCH_LAMBDA_TIME_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_LAMBDA_WARMUP_MS ?? 300);
const ROUNDS = Number(process.env.BENCH_LAMBDA_ROUNDS ?? 3);
const POOL_SIZE = Number(process.env.BENCH_LAMBDA_POOL ?? 4000);
const COLD_RUNS = Number(process.env.BENCH_LAMBDA_COLD_RUNS ?? 20);
/** The authorizer's verified-token cache size (README, "The verified-token cache"). */
const TOKEN_CACHE_ENTRIES = 1000;
/** A child that has not answered by then fails the run. */
const CHILD_TIMEOUT_MS = 15_000;
/** The whole run is stopped (and fails) past this. */
const WATCHDOG_MS = 5 * 60 * 1000;
/** Issue targets. */
const BUNDLE_MAX_BYTES = 60 * 1024;
const COLD_MAX_RATIO_VS_AWS = 1.5;

const OURS_BUNDLE = resolve(ROOT, "dist/lambda/authorizer.mjs");
const AWS_SOURCE = resolve(import.meta.dirname, "aws-jwt-verify-authorizer.ts");
const RESULTS = resolve(import.meta.dirname, "results/lambda.md");
const JWKS_PATH = "/oauth2/jwks";
/** The token-less credentials of the refused cold-start variant: not a bearer token, so no key is needed. */
const BASIC_CREDENTIALS = "Basic dXNlcjpwYXNzd29yZA==";

/** Imports a bundle, answers the event given as JSON, prints one `@@answer` line and exits. */
const RUNNER_SCRIPT = `
const started = performance.now();
const [moduleUrl, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const { handler } = await import(moduleUrl);
const imported = performance.now();
let answer;
try {
  const result = await handler(event);
  answer = { effect: result?.policyDocument?.Statement?.[0]?.Effect ?? null, principalId: result?.principalId ?? null };
} catch (error) {
  answer = { error: error instanceof Error ? error.message : String(error) };
}
const answered = performance.now();
process.stdout.write("\\n@@answer " + JSON.stringify({ answer, started, imported, answered }) + "\\n", () => process.exit(0));
`;

/**
 * What the first answer is made of, with Node's built-ins only, in one new process, in this order:
 * the steps this authorizer takes (a `Headers`, which loads Node's bundled undici on first use; the
 * discovery and JWKS GETs with `fetch`; WebCrypto key import and RS256 verification), then the
 * steps aws-jwt-verify takes (node:https GET of the JWKS, node:crypto key import and verification).
 */
const PROBE_SCRIPT = `
const [discoveryUrl, httpsJwksUrl, token] = process.argv.slice(2);
const stages = { boot: performance.now() };
let last = stages.boot;
const mark = (name) => { const now = performance.now(); stages[name] = now - last; last = now; };
new Headers({ authorization: "Bearer " + token });
mark("headers");
const discovery = await (await fetch(discoveryUrl)).json();
mark("fetchDiscovery");
const jwks = await (await fetch(discovery.jwks_uri)).json();
mark("fetchJwks");
const [head, body, signature] = token.split(".");
const { kid } = JSON.parse(Buffer.from(head, "base64url").toString());
const jwk = jwks.keys.find((key) => key.kid === kid);
const key = await crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
mark("subtleImport");
const input = new TextEncoder().encode(head + "." + body);
if (!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, Buffer.from(signature, "base64url"), input))) throw new Error("subtle: bad signature");
mark("subtleVerify");
let awsJwk = jwk;
if (httpsJwksUrl !== "") {
  const { get } = await import("node:https");
  const text = await new Promise((resolve, reject) => {
    get(httpsJwksUrl, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve(Buffer.concat(chunks).toString()));
    }).on("error", reject);
  });
  awsJwk = JSON.parse(text).keys.find((candidate) => candidate.kid === kid);
  mark("httpsGet");
}
const { createPublicKey, verify } = await import("node:crypto");
const keyObject = createPublicKey({ key: awsJwk, format: "jwk" });
mark("nodeImport");
if (!verify("RSA-SHA256", Buffer.from(head + "." + body), keyObject, Buffer.from(signature, "base64url"))) throw new Error("node:crypto: bad signature");
mark("nodeVerify");
process.stdout.write("\\n@@answer " + JSON.stringify({ answer: { stages }, started: 0, imported: 0, answered: 0 }) + "\\n", () => process.exit(0));
`;

/** Node alone: a handler with nothing to load, refusing everything. */
const BARE_HANDLER = `export async function handler() { throw new Error("Unauthorized"); }\n`;

type Handler = (event: unknown) => Promise<unknown>;
type AuthorizerKey = "ours" | "aws";
type ScenarioKey = "tokenRepeated" | "tokenFresh" | "requestRepeated";

interface Authorizer {
  readonly key: AuthorizerKey;
  readonly name: string;
  /** The bundle's file URL. */
  readonly url: string;
}

interface Invocation {
  readonly event: unknown;
  readonly sub: string;
}

interface Scenario {
  readonly key: ScenarioKey;
  readonly name: string;
  readonly events: readonly Invocation[];
}

/** One row in one round. */
interface Sample {
  readonly opsPerSecond: number;
  /** Microseconds. */
  readonly mean: number;
  readonly p99: number;
  readonly logLinesPerInvocation: number;
}

interface Row extends Sample {
  readonly authorizer: Authorizer;
  readonly scenario: Scenario;
  readonly rounds: readonly Sample[];
}

interface Bundle {
  readonly label: string;
  readonly bytes: number;
  readonly gzipped: number;
}

type ColdKey = "bare" | "oursRefused" | "awsRefused" | "oursAllow" | "awsAllow";

interface ColdVariant {
  readonly key: ColdKey;
  readonly authorizer: string;
  readonly event: string;
  readonly moduleUrl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly payload: unknown;
  /** What the answer must be. */
  readonly expect: { readonly effect: "Allow"; readonly principalId: string } | { readonly error: "Unauthorized" };
  /** Fetches the child must make from the loopback servers. */
  readonly fetches: { readonly discovery: number; readonly jwks: number; readonly https: number };
}

/** One cold start, in milliseconds. */
interface ColdSample {
  /** Parent clock: just before `spawn` to the answer line arriving. */
  readonly total: number;
  /** Child clock (since its time origin, i.e. Node's start): when the runner began. */
  readonly boot: number;
  readonly importing: number;
  readonly handling: number;
  /** This authorizer's `keyset_refreshed` log line: discovery + JWKS fetch; undefined when absent. */
  readonly keyFetch: number | undefined;
}

interface ColdRow {
  readonly variant: ColdVariant;
  readonly samples: readonly ColdSample[];
}


// ---------------------------------------------------------------------------------------------
// Loopback https for aws-jwt-verify

interface HttpsJwks {
  readonly uri: string;
  /** The certificate file for NODE_EXTRA_CA_CERTS. */
  readonly certFile: string;
  hits(): number;
  close(): Promise<void>;
}

/** A self-signed P-256 certificate for 127.0.0.1 via the openssl CLI; undefined when that fails. */
function makeCertificate(dir: string): { certFile: string; keyFile: string } | undefined {
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  try {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore", timeout: 10_000 },
    );
    return { certFile, keyFile };
  } catch {
    return undefined;
  }
}

async function startHttpsJwks(files: { certFile: string; keyFile: string }, jwks: string): Promise<HttpsJwks> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const body = Buffer.from(jwks);
  const server: Server = createServer({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }, (req, res) => {
    if (req.url !== JWKS_PATH || req.method !== "GET") {
      res.writeHead(404, { "content-length": 0 });
      res.end();
      return;
    }
    hits += 1;
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolvePromise();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    uri: `https://127.0.0.1:${port}${JWKS_PATH}`,
    certFile: files.certFile,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => {
          resolvePromise();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Warm container

/** A new module instance of the bundle: what a new Lambda container would load. */
async function loadContainer(authorizer: Authorizer, container: number): Promise<Handler> {
  const module = (await import(`${authorizer.url}?container=${container}`)) as { handler?: unknown };
  if (typeof module.handler !== "function") fail(`${authorizer.name} exports no handler`);
  return module.handler as Handler;
}

function checkAllowed(result: unknown, sub: string, who: string): void {
  const principalId = (result as { principalId?: unknown } | undefined)?.principalId;
  if (principalId !== sub) fail(`${who} answered principal ${JSON.stringify(principalId)} instead of ${sub}`);
}

function invocationAt(events: readonly Invocation[], index: number): Invocation {
  return events[index % events.length] ?? fail("no events");
}

let containers = 0;

async function measure(authorizer: Authorizer, scenario: Scenario, issuer: DevIssuer, https: HttpsJwks | undefined): Promise<Sample> {
  containers += 1;
  const handler = await loadContainer(authorizer, containers);
  const who = `${authorizer.name}, ${scenario.name}`;
  // Log lines go to stdout as in Lambda; here they are counted instead of printed.
  const print = console.log.bind(console);
  let logLines = 0;
  console.log = () => {
    logLines += 1;
  };
  try {
    // Untimed: loads the key set (this authorizer) and proves the answers are right.
    const first = invocationAt(scenario.events, 0);
    checkAllowed(await handler(first.event), first.sub, who);
    const hits = { ...issuer.hits, https: https?.hits() ?? 0 };
    let next = 1;
    const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: WARMUP_MS, throws: true });
    bench.add(who, async () => {
      const invocation = invocationAt(scenario.events, next);
      next += 1;
      checkAllowed(await handler(invocation.event), invocation.sub, who);
    });
    logLines = 0;
    await bench.run();
    if (issuer.hits.discovery !== hits.discovery || issuer.hits.jwks !== hits.jwks || (https?.hits() ?? 0) !== hits.https) {
      fail(`${who} fetched keys inside the timed loop`);
    }
    const result = bench.tasks[0]?.result;
    if (result?.state !== "completed") fail(`${who} did not complete: ${result?.state ?? "no task"}`);
    return {
      opsPerSecond: result.throughput.mean,
      mean: result.latency.mean * 1000,
      p99: result.latency.p99 * 1000,
      logLinesPerInvocation: logLines / Math.max(1, next - 1),
    };
  } finally {
    console.log = print;
  }
}

// ---------------------------------------------------------------------------------------------
// Cold start

interface ChildAnswer {
  /** Parent clock: just before `spawn` to the answer line arriving, in ms. */
  readonly total: number;
  /** The JSON after `@@answer `. */
  readonly line: string;
  readonly stdout: string;
}

/** Runs `script` in a new Node process and waits for its `@@answer` line and its exit. */
function runChild(script: string, args: readonly string[], env: Readonly<Record<string, string>>, who: string): Promise<ChildAnswer> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let answered: { at: number; line: string } | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (answered !== undefined) return;
      const match = /^@@answer (.*)\n/m.exec(stdout);
      if (match?.[1] !== undefined) answered = { at: performance.now(), line: match[1] };
    });
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (answered === undefined) {
        reject(new Error(`bench: ${who}: no answer (exit ${code ?? signal ?? "?"})\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr}`));
        return;
      }
      resolvePromise({ total: answered.at - started, line: answered.line, stdout });
    });
  });
}

type Hits = { readonly discovery: number; readonly jwks: number; readonly https: number };

function hitsNow(issuer: DevIssuer, https: HttpsJwks | undefined): Hits {
  return { discovery: issuer.hits.discovery, jwks: issuer.hits.jwks, https: https?.hits() ?? 0 };
}

function checkFetches(who: string, before: Hits, after: Hits, expected: Hits): void {
  const fetched = { discovery: after.discovery - before.discovery, jwks: after.jwks - before.jwks, https: after.https - before.https };
  if (fetched.discovery !== expected.discovery || fetched.jwks !== expected.jwks || fetched.https !== expected.https) {
    fail(`${who}: fetched ${JSON.stringify(fetched)}, expected ${JSON.stringify(expected)}`);
  }
}

async function coldStart(variant: ColdVariant, runner: string, issuer: DevIssuer, https: HttpsJwks | undefined): Promise<ColdSample> {
  const who = `${variant.authorizer}, ${variant.event}`;
  const before = hitsNow(issuer, https);
  const child = await runChild(runner, [variant.moduleUrl, JSON.stringify(variant.payload)], variant.env, who);
  checkFetches(who, before, hitsNow(issuer, https), variant.fetches);
  return readColdSample(variant, child);
}

const PROBE_STAGES = ["boot", "headers", "fetchDiscovery", "fetchJwks", "subtleImport", "subtleVerify", "httpsGet", "nodeImport", "nodeVerify"] as const;
type ProbeStage = (typeof PROBE_STAGES)[number];
type ProbeSample = Partial<Record<ProbeStage, number>> & { readonly total: number };

async function probe(script: string, issuer: DevIssuer, https: HttpsJwks | undefined, env: Readonly<Record<string, string>>, token: string): Promise<ProbeSample> {
  const who = "(diagnostic) Node built-ins' first use";
  const before = hitsNow(issuer, https);
  const child = await runChild(script, [`${issuer.origin}/.well-known/openid-configuration`, https?.uri ?? "", token], env, who);
  checkFetches(who, before, hitsNow(issuer, https), { discovery: 1, jwks: 1, https: https === undefined ? 0 : 1 });
  const { answer } = JSON.parse(child.line) as { answer: { stages: Record<string, unknown> } };
  const sample: Partial<Record<ProbeStage, number>> = {};
  for (const stage of PROBE_STAGES) {
    const value = answer.stages[stage];
    if (typeof value === "number") sample[stage] = value;
  }
  return { ...sample, total: child.total };
}

function readColdSample(variant: ColdVariant, child: ChildAnswer): ColdSample {
  const who = `${variant.authorizer}, ${variant.event}`;
  const report = JSON.parse(child.line) as { answer: Record<string, unknown>; started: number; imported: number; answered: number };
  const expected = variant.expect;
  const answer = report.answer;
  const matches = "error" in expected ? answer.error === expected.error : answer.effect === expected.effect && answer.principalId === expected.principalId;
  if (!matches) fail(`${who}: answered ${JSON.stringify(answer)}, expected ${JSON.stringify(expected)}`);
  let keyFetch: number | undefined;
  for (const logLine of child.stdout.split("\n")) {
    if (!logLine.startsWith("{")) continue;
    const parsed = JSON.parse(logLine) as { event?: unknown; ms?: unknown };
    if (parsed.event === "keyset_refreshed" && typeof parsed.ms === "number") keyFetch = parsed.ms;
  }
  return {
    total: child.total,
    boot: report.started,
    importing: report.imported - report.started,
    handling: report.answered - report.imported,
    keyFetch,
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and report


/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? fail("no samples");
}

function summarize(authorizer: Authorizer, scenario: Scenario, rounds: readonly Sample[]): Row {
  const of = (field: keyof Sample): number => median(rounds.map((sample) => sample[field]));
  return {
    authorizer,
    scenario,
    rounds,
    opsPerSecond: of("opsPerSecond"),
    mean: of("mean"),
    p99: of("p99"),
    logLinesPerInvocation: of("logLinesPerInvocation"),
  };
}

function version(name: string): string {
  return `${name} ${packageVersion(name)}`;
}



/** Per round, `a` ops/s over `b` ops/s. */
function roundRatios(a: Row, b: Row): number[] {
  return a.rounds.map((sample, index) => sample.opsPerSecond / (b.rounds[index]?.opsPerSecond ?? Number.NaN));
}

interface ReportInput {
  readonly rows: readonly Row[];
  readonly bundles: { readonly ours: Bundle; readonly aws: Bundle };
  readonly cold: readonly ColdRow[];
  readonly probes: readonly ProbeSample[];
  readonly awsFetch: "https" | "file";
  readonly started: Date;
  readonly totalSeconds: number;
  readonly loadBefore: string;
}

function report(input: ReportInput): string {
  const { rows, bundles, cold, probes, awsFetch } = input;
  const stage = (name: ProbeStage): number => median(probes.map((sample) => sample[name]).filter((value): value is number => value !== undefined));
  const probeRow = (name: ProbeStage, what: string): string => `| ${what} | ${fixed(stage(name))} |`;
  const cpu = cpus();
  const awsRow = (scenario: ScenarioKey): Row =>
    rows.find((row) => row.authorizer.key === "aws" && row.scenario.key === scenario) ?? fail(`no aws ${scenario} row`);
  const ratio = (row: Row): number => median(roundRatios(row, awsRow(row.scenario.key)));
  const coldRow = (key: ColdKey): ColdRow => cold.find((row) => row.variant.key === key) ?? fail(`no ${key} cold row`);
  const coldOf = (key: ColdKey, field: keyof ColdSample): number =>
    median(coldRow(key).samples.map((sample) => sample[field]).filter((value): value is number => value !== undefined));
  const coldRatio = (ours: ColdKey, aws: ColdKey): number => coldOf(ours, "total") / coldOf(aws, "total");
  /** Runs are paired by index: both variants ran within the same rotation, a fraction of a second apart. */
  const pairedRatios = (ours: ColdKey, aws: ColdKey): number[] => {
    const peer = coldRow(aws).samples;
    return coldRow(ours).samples.map((sample, index) => sample.total / (peer[index]?.total ?? Number.NaN));
  };
  const pairedRatio = (ours: ColdKey, aws: ColdKey): number => median(pairedRatios(ours, aws));
  const awsColdPeer = (key: ColdKey): ColdKey | undefined => (key === "oursAllow" ? "awsAllow" : key === "oursRefused" ? "awsRefused" : undefined);
  const allowRatio = pairedRatio("oursAllow", "awsAllow");
  const refusedRatio = pairedRatio("oursRefused", "awsRefused");
  const fetchNote =
    awsFetch === "https"
      ? "aws-jwt-verify fetches its JWKS over loopback **https** from this process (self-signed certificate for 127.0.0.1 trusted through `NODE_EXTRA_CA_CERTS`): one TCP connection, a TLS handshake and one GET; this authorizer fetches discovery then JWKS over loopback http from the dev issuer (two GETs)"
      : "`openssl` was unavailable, so aws-jwt-verify loads its JWKS with `cacheJwks` **from a JSON file** read at start: no network fetch at all, which favours it; this authorizer fetches discovery then JWKS over loopback http from the dev issuer";
  const fresh = rows.find((row) => row.authorizer.key === "ours" && row.scenario.key === "tokenFresh") ?? fail("no fresh row");
  const freshAws = awsRow("tokenFresh");
  const repeated = rows.find((row) => row.authorizer.key === "ours" && row.scenario.key === "tokenRepeated") ?? fail("no repeated row");

  const lines = [
    "# Lambda authorizer benchmark",
    "",
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} logical CPUs), ${fixed(totalmem() / 1024 / 1024)} MiB RAM, ${platform()} ${arch()}`,
    `- Node ${process.version}; ${["jose", "valibot", "aws-jwt-verify", "esbuild", "tinybench"].map(version).join(", ")}`,
    `- Date: ${input.started.toISOString()}; whole run ${fixed(input.totalSeconds)} s; load average (1, 5, 15 min) ${input.loadBefore} before, ${loadAverages()} after`,
    "- This authorizer: dist/lambda/authorizer.mjs as `npm run build` writes it, `AUTHGEAR_ENDPOINT` = the dev issuer on 127.0.0.1 (discovery and JWKS over loopback http). " +
      "The peer: bench/aws-jwt-verify-authorizer.ts, an authorizer built the way AWS documents it (aws-jwt-verify `JwtVerifier` created outside the handler, `iss`/`aud`/`exp` checked, `typ: at+jwt` in `customJwtCheck`, an Allow policy for `methodArn`, the claims as `context`), bundled by esbuild with the same options",
    `- Tokens: RS256 \`at+jwt\` access tokens (RSA-2048) from the dev issuer; the new-token rows rotate through ${integer(POOL_SIZE)} distinct tokens minted before timing, more than this authorizer's ${TOKEN_CACHE_ENTRIES}-entry verified-token cache holds, so every invocation is a full verification`,
    "",
    "## Warm container",
    "",
    `\`handler\` imported in the benchmark process, a new module instance (a new container) per row and round; the key set loaded by an untimed first invocation (this authorizer: fetched from the dev issuer; aws-jwt-verify: JWKS preloaded with \`cacheJwks\` from a file). Events from test/aws/fixtures.ts, built before timing. tinybench, one invocation at a time: ${ROUNDS} rounds × ${TIME_MS} ms per row after ${WARMUP_MS} ms warmup, rows rotated each round; figures are medians over the rounds, ratios are per round against the aws-jwt-verify row with the same events (median shown). Every answer is checked; a key fetch inside a timed loop fails the run.`,
    "",
    "| authorizer | events | ops/s | ops/s per round | mean (µs) | p99 (µs) | ops/s ÷ aws-jwt-verify | log lines/invocation |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((row) =>
      [
        "",
        ` ${row.authorizer.name} `,
        ` ${row.scenario.name} `,
        ` ${integer(row.opsPerSecond)} `,
        ` ${row.rounds.map((sample) => integer(sample.opsPerSecond)).join(" / ")} `,
        ` ${fixed(row.mean)} `,
        ` ${fixed(row.p99)} `,
        ` ${fixed(ratio(row), 2)}× `,
        ` ${fixed(row.logLinesPerInvocation, 2)} `,
        "",
      ].join("|"),
    ),
    "",
    "## Bundle",
    "",
    "| bundle | minified | gzipped |",
    "|---|---:|---:|",
    ...[bundles.ours, bundles.aws].map((bundle) => `| ${bundle.label} | ${integer(bundle.bytes)} bytes (${kib(bundle.bytes)}) | ${integer(bundle.gzipped)} bytes (${kib(bundle.gzipped)}) |`),
    "",
    "Both built with esbuild `--bundle --format=esm --platform=node --target=node20 --minify`; gzipped with node:zlib gzipSync, level 9.",
    "",
    "## Cold start to first answer",
    "",
    `A new Node process per run (\`process.execPath\`, clean environment with only the authorizer's settings and \`NODE_EXTRA_CA_CERTS\`, no tsx) runs a small runner that imports the bundle and answers one REST TOKEN event, then exits. **total** is measured in the benchmark process, from just before \`spawn\` to the answer line arriving on the child's stdout; the other columns are medians on the child's own clock: **boot** = Node's start to the runner's first line, **import** = loading the bundle (module evaluation included: configuration parsing), **first call** = the handler's first invocation, **key fetch** = discovery + JWKS fetch from this authorizer's \`keyset_refreshed\` log line. ${COLD_RUNS} runs per variant, the variants rotated run by run, the dev issuer and the https server still running in the benchmark process. ${fetchNote}.`,
    "",
    "| authorizer | event | answer | total median (ms) | total p90 (ms) | total min (ms) | ÷ aws-jwt-verify: median of per-run ratios | ÷ aws-jwt-verify: ratio of medians | boot (ms) | import (ms) | first call (ms) | key fetch (ms) |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...cold.map((row) => {
      const totals = row.samples.map((sample) => sample.total);
      const peer = awsColdPeer(row.variant.key);
      const fetches = row.samples.map((sample) => sample.keyFetch).filter((value): value is number => value !== undefined);
      return [
        "",
        ` ${row.variant.authorizer} `,
        ` ${row.variant.event} `,
        ` ${"error" in row.variant.expect ? "Unauthorized" : "Allow"} `,
        ` ${fixed(median(totals))} `,
        ` ${fixed(percentile(totals, 0.9))} `,
        ` ${fixed(Math.min(...totals))} `,
        ` ${peer === undefined ? "—" : `${fixed(pairedRatio(row.variant.key, peer), 2)}×`} `,
        ` ${peer === undefined ? "—" : `${fixed(coldRatio(row.variant.key, peer), 2)}×`} `,
        ` ${fixed(coldOf(row.variant.key, "boot"))} `,
        ` ${fixed(coldOf(row.variant.key, "importing"))} `,
        ` ${fixed(coldOf(row.variant.key, "handling"))} `,
        ` ${fetches.length === 0 ? "—" : fixed(median(fetches))} `,
        "",
      ].join("|");
    }),
    "",
    `Where the time goes (medians; the child-clock columns are steadier than differences between totals, which move by several ms from run to run on this shared machine): ` +
      `Node itself boots in ${fixed(coldOf("bare", "boot"))} ms and answers from a one-line handler ${fixed(coldOf("bare", "total"))} ms after spawn. ` +
      `Module load: importing the whole bundle (jose, valibot, the core, configuration parsing) takes ${fixed(coldOf("oursRefused", "importing"))} ms, aws-jwt-verify's ${fixed(coldOf("awsRefused", "importing"))} ms (which loads node:https up front). ` +
      `First call: on a token-less event, this authorizer's takes ${fixed(coldOf("oursRefused", "handling"))} ms and aws-jwt-verify's ${fixed(coldOf("awsRefused", "handling"))} ms (a first \`new Headers()\`, which loads Node's bundled undici, costs ${fixed(stage("headers"))} ms in the diagnostic below; the event reader avoids it with a plain map of headers); ` +
      `the first Allow takes ${fixed(coldOf("oursAllow", "handling"))} ms, of which ${fixed(coldOf("oursAllow", "keyFetch"))} ms the discovery + JWKS fetch (undici's first connection: ${fixed(stage("fetchDiscovery"))} + ${fixed(stage("fetchJwks"))} ms in the diagnostic) and ${fixed(coldOf("oursAllow", "handling") - coldOf("oursAllow", "keyFetch"))} ms the rest (event reading, WebCrypto key import and first RS256 verification, ${fixed(stage("subtleImport") + stage("subtleVerify"))} ms in the diagnostic, claims, policy); ` +
      `aws-jwt-verify's first Allow takes ${fixed(coldOf("awsAllow", "handling"))} ms (${awsFetch === "https" ? "the JWKS over https with a TLS handshake" : "no fetch: JWKS from a file, read during import"}, node:crypto key import and verification). ` +
      "On loopback a round trip costs well under a millisecond: against a real Authgear endpoint this authorizer's discovery GET is one more round trip than aws-jwt-verify's single JWKS GET (it is given the JWKS URI), and both pay a TLS handshake (here only aws-jwt-verify does).",
    "",
    `### Diagnostic: Node's built-ins on first use`,
    "",
    `One more new process per run (${COLD_RUNS} runs, same environment), doing with Node's built-ins alone, in this order, what the two authorizers do for their first answer; medians in ms, each step timed in the child. The later steps may reuse what earlier ones loaded (node:crypto internals after WebCrypto, for instance).`,
    "",
    "| step | ms |",
    "|---|---:|",
    probeRow("boot", "Node's start to the script's first line"),
    probeRow("headers", "first `new Headers()` (loads Node's bundled undici; the authorizer's event reader does not use it)"),
    probeRow("fetchDiscovery", "first `fetch` + `json()`: discovery from the dev issuer (new connection; undici's HTTP client)"),
    probeRow("fetchJwks", "second `fetch` + `json()`: JWKS (kept-alive connection)"),
    probeRow("subtleImport", "WebCrypto `importKey` of the RSA JWK (first use of crypto.subtle)"),
    probeRow("subtleVerify", "WebCrypto RS256 `verify` of the token"),
    ...(awsFetch === "https" ? [probeRow("httpsGet", "node:https GET of the JWKS over loopback https (module load, TLS handshake; aws-jwt-verify's fetch)")] : []),
    probeRow("nodeImport", "node:crypto `createPublicKey` from the JWK (aws-jwt-verify's key import)"),
    probeRow("nodeVerify", "node:crypto RS256 `verify` (aws-jwt-verify's)"),
    `| total, spawn to answer (parent clock) | ${fixed(median(probes.map((sample) => sample.total)))} |`,
    "",
    "## Targets",
    "",
    targetLine(
      bundles.ours.bytes <= BUNDLE_MAX_BYTES,
      `bundle at most ${kib(BUNDLE_MAX_BYTES)} minified (${integer(BUNDLE_MAX_BYTES)} bytes): ${integer(bundles.ours.bytes)} bytes (${kib(bundles.ours.bytes)}; gzipped ${kib(bundles.ours.gzipped)}; aws-jwt-verify authorizer ${kib(bundles.aws.bytes)})`,
    ),
    targetLine(
      allowRatio <= COLD_MAX_RATIO_VS_AWS,
      `cold start to first answer (TOKEN event, Allow, key set fetched) within ${COLD_MAX_RATIO_VS_AWS}× of the aws-jwt-verify authorizer: ${fixed(allowRatio, 2)}× ` +
        `(median of ${COLD_RUNS} per-run ratios; medians ${fixed(coldOf("oursAllow", "total"))} ms vs ${fixed(coldOf("awsAllow", "total"))} ms, ratio of medians ${fixed(coldRatio("oursAllow", "awsAllow"), 2)}×; ` +
        `per-run ratios from ${fixed(Math.min(...pairedRatios("oursAllow", "awsAllow")), 2)}× to ${fixed(Math.max(...pairedRatios("oursAllow", "awsAllow")), 2)}×; aws-jwt-verify's JWKS ${awsFetch === "https" ? "fetched over loopback https" : "from a file, no fetch"})`,
    ),
    targetLine(
      refusedRatio <= COLD_MAX_RATIO_VS_AWS,
      `(same bar, module load only) cold start to a token-less refusal within ${COLD_MAX_RATIO_VS_AWS}× of the aws-jwt-verify authorizer: ${fixed(refusedRatio, 2)}× ` +
        `(median of per-run ratios; medians ${fixed(coldOf("oursRefused", "total"))} ms vs ${fixed(coldOf("awsRefused", "total"))} ms, ratio of medians ${fixed(coldRatio("oursRefused", "awsRefused"), 2)}×)`,
    ),
    "",
    `Warm throughput, for the record (no target): a repeated token runs at ${fixed(ratio(repeated), 1)}× aws-jwt-verify's rate (verified-token cache), a new token per invocation at ${fixed(ratio(fresh), 2)}× (${integer(fresh.opsPerSecond)} vs ${integer(freshAws.opsPerSecond)} ops/s: jose on WebCrypto against node:crypto).`,
    "",
  ];
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

function readBundle(file: string, label: string): Bundle {
  const source = readFileSync(file);
  return { label, bytes: source.length, gzipped: gzipSync(source, { level: 9 }).length };
}

async function mintPool(issuer: DevIssuer): Promise<Invocation[]> {
  const tokens = await mintTokens(issuer, POOL_SIZE);
  return tokens.map((token, index) => ({ event: tokenEvent(`Bearer ${token}`), sub: `bench-user-${index}` }));
}

async function main(): Promise<void> {
  const started = new Date();
  const clock = performance.now();
  const loadBefore = loadAverages();
  try {
    statSync(OURS_BUNDLE);
  } catch {
    fail(`${OURS_BUNDLE} is missing: run \`npm run build\` first (\`npm run bench:lambda\` does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "authgear-edge-lambda-bench-"));
  const issuer = await startDevIssuer();
  let https: HttpsJwks | undefined;
  try {
    const jwksResponse = await fetch(issuer.jwksUri);
    if (!jwksResponse.ok) fail(`JWKS answered ${jwksResponse.status}`);
    const jwks = await jwksResponse.text();
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, jwks);
    const certificate = makeCertificate(dir);
    if (certificate !== undefined) https = await startHttpsJwks(certificate, jwks);
    const awsFetch = https === undefined ? "file" : "https";
    // Never fetched when the JWKS is preloaded; in file mode, a placeholder aws-jwt-verify accepts.
    const awsJwksUri = https?.uri ?? `https://127.0.0.1${JWKS_PATH}`;

    console.error("bench: bundling the aws-jwt-verify authorizer");
    const awsBundle = join(dir, "aws-jwt-verify-authorizer.mjs");
    await build({
      entryPoints: [AWS_SOURCE],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      minify: true,
      logLevel: "warning",
      outfile: awsBundle,
    });
    const bundles = {
      ours: readBundle(OURS_BUNDLE, "dist/lambda/authorizer.mjs (this authorizer)"),
      aws: readBundle(awsBundle, "aws-jwt-verify authorizer (bench/aws-jwt-verify-authorizer.ts)"),
    };

    console.error(`bench: minting ${POOL_SIZE} tokens`);
    const pool = await mintPool(issuer);
    const repeatedToken = await issuer.mintAccessToken({ sub: "bench-repeated" });
    const scenarios: Scenario[] = [
      { key: "tokenRepeated", name: "TOKEN, repeated token", events: [{ event: tokenEvent(`Bearer ${repeatedToken}`), sub: "bench-repeated" }] },
      { key: "tokenFresh", name: `TOKEN, new token per invocation (${integer(POOL_SIZE)} tokens)`, events: pool },
      {
        key: "requestRepeated",
        name: "REQUEST v1, repeated token",
        events: [{ event: requestEvent({ headers: { Authorization: `Bearer ${repeatedToken}` } }), sub: "bench-repeated" }],
      },
    ];

    // Both bundles read their configuration from the environment when a container loads them.
    const awsEnv = { JWT_ISSUER: issuer.origin, JWT_AUDIENCE: issuer.origin, JWT_JWKS_URI: awsJwksUri };
    Object.assign(process.env, { AUTHGEAR_ENDPOINT: issuer.origin, ...awsEnv, JWT_JWKS_FILE: jwksFile });
    const authorizers: Authorizer[] = [
      { key: "ours", name: "this authorizer", url: pathToFileURL(OURS_BUNDLE).href },
      { key: "aws", name: "aws-jwt-verify authorizer", url: pathToFileURL(awsBundle).href },
    ];
    const cells = scenarios.flatMap((scenario) => authorizers.map((authorizer) => ({ authorizer, scenario })));
    const samples = new Map(cells.map((cell) => [cell, [] as Sample[]]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = [...cells.slice(round % cells.length), ...cells.slice(0, round % cells.length)];
      for (const cell of order) {
        console.error(`bench: warm, round ${round + 1}/${ROUNDS}: ${cell.authorizer.name}, ${cell.scenario.name}`);
        samples.get(cell)?.push(await measure(cell.authorizer, cell.scenario, issuer, https));
      }
    }
    const rows = cells.map((cell) => summarize(cell.authorizer, cell.scenario, samples.get(cell) ?? []));

    const runner = join(dir, "runner.mjs");
    writeFileSync(runner, RUNNER_SCRIPT);
    const bare = join(dir, "bare.mjs");
    writeFileSync(bare, BARE_HANDLER);
    const childBase: Record<string, string> = https === undefined ? {} : { NODE_EXTRA_CA_CERTS: https.certFile };
    const oursEnv = { ...childBase, AUTHGEAR_ENDPOINT: issuer.origin };
    const awsColdEnv = { ...childBase, ...awsEnv, ...(https === undefined && { JWT_JWKS_FILE: jwksFile }) };
    const coldToken = await issuer.mintAccessToken({ sub: "bench-cold" });
    const allowEvent = tokenEvent(`Bearer ${coldToken}`);
    const refusedEvent = tokenEvent(BASIC_CREDENTIALS);
    const allow = { effect: "Allow", principalId: "bench-cold" } as const;
    const refused = { error: "Unauthorized" } as const;
    const none = { discovery: 0, jwks: 0, https: 0 };
    const variants: ColdVariant[] = [
      { key: "bare", authorizer: "(reference) Node alone", event: "any (one-line handler, nothing to load)", moduleUrl: pathToFileURL(bare).href, env: childBase, payload: refusedEvent, expect: refused, fetches: none },
      { key: "oursRefused", authorizer: "this authorizer", event: "TOKEN, no bearer token (refused, no key needed)", moduleUrl: authorizers[0]?.url ?? fail("no authorizer"), env: oursEnv, payload: refusedEvent, expect: refused, fetches: none },
      { key: "awsRefused", authorizer: "aws-jwt-verify authorizer", event: "TOKEN, no bearer token (refused, no key needed)", moduleUrl: authorizers[1]?.url ?? fail("no authorizer"), env: awsColdEnv, payload: refusedEvent, expect: refused, fetches: none },
      { key: "oursAllow", authorizer: "this authorizer", event: "TOKEN, valid token (first answer fetches the key set)", moduleUrl: authorizers[0]?.url ?? fail("no authorizer"), env: oursEnv, payload: allowEvent, expect: allow, fetches: { discovery: 1, jwks: 1, https: 0 } },
      {
        key: "awsAllow",
        authorizer: "aws-jwt-verify authorizer",
        event: `TOKEN, valid token (first answer ${https === undefined ? "uses the JWKS file" : "fetches the JWKS over https"})`,
        moduleUrl: authorizers[1]?.url ?? fail("no authorizer"),
        env: awsColdEnv,
        payload: allowEvent,
        expect: allow,
        fetches: { discovery: 0, jwks: 0, https: https === undefined ? 0 : 1 },
      },
    ];
    const coldSamples = new Map<ColdVariant, ColdSample[]>(variants.map((variant) => [variant, []]));
    console.error(`bench: cold starts, ${COLD_RUNS} runs × ${variants.length} variants`);
    for (let run = 0; run < COLD_RUNS; run += 1) {
      const order = [...variants.slice(run % variants.length), ...variants.slice(0, run % variants.length)];
      for (const variant of order) coldSamples.get(variant)?.push(await coldStart(variant, runner, issuer, https));
    }
    const cold = variants.map((variant) => ({ variant, samples: coldSamples.get(variant) ?? [] }));
    console.error(`bench: diagnostic probe, ${COLD_RUNS} runs`);
    const probeScript = join(dir, "probe.mjs");
    writeFileSync(probeScript, PROBE_SCRIPT);
    const probes: ProbeSample[] = [];
    for (let run = 0; run < COLD_RUNS; run += 1) probes.push(await probe(probeScript, issuer, https, childBase, coldToken));

    const markdown = report({ rows, bundles, cold, probes, awsFetch, started, totalSeconds: (performance.now() - clock) / 1000, loadBefore });
    console.log(markdown);
    writeFileSync(RESULTS, markdown);
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    await https?.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

await main();
