/**
 * What the benchmarks share: the project root, statistics, formatting, bundle sizes, report lines, pinned children
 * and cold starts.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { arch, cpus, loadavg, platform, totalmem } from "node:os";
import { basename, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type BuildOptions } from "esbuild";
import type { DevIssuer } from "../dev/issuer.ts";
import type { CpuSample } from "./cpu-per-call.ts";

export const ROOT = resolve(import.meta.dirname, "..");
/**
 * The verified-token cache's size (docs/authentication.md): a pool larger than this misses it on every
 * request.
 */
export const TOKEN_CACHE_ENTRIES = 1000;
/** The bundle-size target of both the Worker and the authorizer: 54.4 KiB minified. */
export const BUNDLE_MAX_BYTES = 55_706;

export function fail(message: string): never {
  throw new Error(`bench: ${message}`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? fail("no samples");
  return sorted.length % 2 === 1 ? upper : (upper + (sorted[middle - 1] ?? upper)) / 2;
}

/** Element by element `a[i] / b[i]`: ratios between rows measured in the same round or run. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, index) => value / (b[index] ?? Number.NaN));
}

/** A number from the environment (the benches' knobs), or `fallback`. */
export function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) fail(`${name} must be a positive number`);
  return value;
}

/** Stops the process (a failure) if the run is still going after `seconds`. */
export function watchdog(seconds: number): void {
  setTimeout(() => {
    console.error(`bench: still running after ${seconds} s; stopping`);
    process.exit(1);
  }, seconds * 1000).unref();
}

/** The installed version of a package, from its manifest in node_modules. */
export function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(resolve(ROOT, "node_modules", name, "package.json"), "utf8")) as {
    version?: string;
  };
  return manifest.version ?? "?";
}

export const fixed = (value: number, digits = 1): string => value.toFixed(digits);
export const integer = (value: number): string => Math.round(value).toLocaleString("en-US");
export const kib = (bytes: number): string => `${fixed(bytes / 1024)} KiB`;
export const times = (value: number): string => `${fixed(value, 2)}×`;
export const loadAverages = (): string =>
  loadavg()
    .map((value) => fixed(value, 2))
    .join(", ");

export function targetLine(pass: boolean, text: string): string {
  return `- ${pass ? "PASS" : "MISS"}: ${text}`;
}

/**
 * The report's opening lines: machine, versions, date, duration and load; a warning when `knobs` (env names by prefix)
 * shortened the run.
 */
export function machineLines(
  title: string,
  packages: readonly string[],
  started: Date,
  loadBefore: string,
  knobs: string,
): string[] {
  const cpu = cpus();
  const set = Object.keys(process.env)
    .filter((name) => name.startsWith(knobs))
    .map((name) => `${name}=${process.env[name] ?? ""}`);
  return [
    `# ${title}`,
    "",
    ...(set.length > 0 ? [`**Not the default run: ${set.join(", ")}.**`, ""] : []),
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} logical CPUs), ${integer(totalmem() / 2 ** 20)} MiB RAM, ${platform()} ${arch()}`,
    `- Node ${process.version}; ${packages.map((name) => `${name} ${packageVersion(name)}`).join(", ")}`,
    `- Date: ${started.toISOString()}; whole run ${fixed((Date.now() - started.getTime()) / 1000)} s; load average (1, 5, 15 min) ${loadBefore} before, ${loadAverages()} after`,
  ];
}

/**
 * `count` distinct access tokens for subjects `bench-user-<i>`, minted a few at a time (WebCrypto signs on libuv's
 * thread pool).
 */
export async function mintTokens(issuer: DevIssuer, count: number): Promise<string[]> {
  const pool: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        pool[index] = await issuer.mintAccessToken({ sub: `bench-user-${index}` });
      }
    }),
  );
  if (new Set(pool).size !== count) fail("the token pool is not distinct");
  return pool;
}

/** Who a bundled input belongs to: its npm package, or its directory under src/. */
function owner(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? /^src\/[^/]+/.exec(path)?.[0] ?? path;
}

/**
 * The bundle section of a report: `file` as built (minified and gzipped bytes, against the target),
 * and what each package contributes, from esbuild's metafile of `entry` rebuilt with `options`;
 * `label` names the file in the report (default `file`).
 */
export async function bundleSection(
  file: string,
  entry: string,
  options: BuildOptions,
  label = file,
): Promise<{ bytes: number; gzipped: number; lines: string[] }> {
  let source: Buffer;
  try {
    source = readFileSync(resolve(ROOT, file));
  } catch {
    fail(`${file} is missing: run \`npm run build\` first`);
  }
  const result = await build({
    ...options,
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    minify: true,
    metafile: true,
    write: false,
    outfile: "out.js",
    logLevel: "warning",
    absWorkingDir: ROOT,
  });
  const output = result.metafile.outputs["out.js"] ?? fail("esbuild wrote no out.js");
  const shares = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs))
    shares.set(owner(path), (shares.get(owner(path)) ?? 0) + bytesInOutput);
  const attributed = [...shares.values()].reduce((sum, bytes) => sum + bytes, 0);
  const gzipped = gzipSync(source, { level: 9 }).length;
  const lines = [
    `${label}: **${integer(source.length)} bytes (${kib(source.length)}) minified**, ${integer(gzipped)} bytes gzipped (level 9). What each part contributes (esbuild metafile, \`bytesInOutput\`, of ${entry} rebuilt alike: ${integer(output.bytes)} bytes):`,
    "",
    "| part | bytes | share |",
    "|---|---:|---:|",
    ...[...shares]
      .sort((a, b) => b[1] - a[1])
      .map(([name, bytes]) => `| ${name} | ${integer(bytes)} | ${fixed((100 * bytes) / output.bytes)}% |`),
    `| (esbuild's glue: imports, exports, helpers) | ${integer(output.bytes - attributed)} | ${fixed((100 * (output.bytes - attributed)) / output.bytes)}% |`,
    "",
  ];
  return { bytes: source.length, gzipped, lines };
}

/**
 * A cold start's child (written to a file, run by plain Node): imports a bundle, answers one event, prints the answer
 * and its own clock.
 */
export const COLD_RUNNER = `
const started = performance.now();
const [url, event] = process.argv.slice(2);
const { handler } = await import(url);
const imported = performance.now();
const answer = await handler(JSON.parse(event)).catch((error) => ({ error: String(error) }));
const answered = performance.now();
process.stdout.write("\\n@@answer " + JSON.stringify({ answer, started, imported, answered }) + "\\n", () => process.exit(0));
`;

/** A self-signed certificate for 127.0.0.1 (openssl CLI), trusted by the cold-start children (NODE_EXTRA_CA_CERTS). */
export function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore", timeout: 10_000 },
  );
  return { certFile, keyFile };
}

/** An https server of the JWKS (aws-jwt-verify fetches over https only), each answer `delayMs` late. */
export async function startHttpsJwks(
  certificate: { certFile: string; keyFile: string },
  jwks: string,
  delayMs = 0,
): Promise<{ uri: string; hits: () => number; close: () => void }> {
  let hits = 0;
  const tls = { cert: readFileSync(certificate.certFile), key: readFileSync(certificate.keyFile) };
  const server = createServer(tls, (req, res) => {
    hits += 1;
    const answer = (): void => {
      const headers = { "content-type": "application/json", connection: "close" };
      res.writeHead(req.url === "/jwks" ? 200 : 404, headers).end(jwks);
    };
    setTimeout(answer, delayMs);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { uri: `https://127.0.0.1:${port}/jwks`, hits: () => hits, close: () => server.close() };
}

/** Whether `taskset` (util-linux) can pin a process here. */
export function canPin(): boolean {
  return spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore", timeout: 10_000 }).status === 0;
}

/**
 * Runs a bundled child on `job` (JSON, in a file of `dir` named by its one argument), pinned to CPU 0 when `pinned`
 * (`taskset -c 0`), with `nodeArgs` before it; resolves with what it writes to stdout, as JSON. The CPU children
 * (bench/cpu-per-call.ts) write their samples per cell, in the job's order.
 */
export function runJobChild<T = CpuSample[][]>(
  child: string,
  job: unknown,
  dir: string,
  pinned: boolean,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<T> {
  const jobFile = join(dir, `${basename(child)}.job.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const node = [process.execPath, ...nodeArgs, child, jobFile];
  const [command, args] = pinned ? ["taskset", ["-c", "0", ...node]] : [process.execPath, node.slice(1)];
  return new Promise((resolveRun, reject) => {
    const run = spawn(command, args, { env, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    run.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    run.on("error", reject).on("close", (code) => {
      if (code === 0) resolveRun(JSON.parse(stdout) as T);
      else reject(new Error(`bench: the child ${basename(child)} exited with ${String(code)}`));
    });
  });
}

/**
 * Runs COLD_RUNNER (a file) in a new Node process; resolves with the answer line's JSON, the stdout and the time from
 * spawn to that line.
 */
export function runChild(
  runner: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ total: number; report: string; stdout: string }> {
  return new Promise((resolveChild, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [runner, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    let [stdout, stderr, total] = ["", "", 0];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (total === 0 && /^@@answer .*\n/m.test(stdout)) total = performance.now() - started;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject).on("close", () => {
      clearTimeout(timer);
      const report = /^@@answer (.*)$/m.exec(stdout)?.[1];
      if (report === undefined || total === 0)
        reject(new Error(`bench: no answer from a cold start\n${stdout}\n${stderr}`));
      else resolveChild({ total, report, stdout });
    });
  });
}
