/**
 * Soak: a bounded, mixed load on loopback, through the built Worker (dist/worker.js in workerd,
 * through the Miniflare API) and the built authorizer (dist/lambda/authorizer.mjs, one warm
 * container in this process), against the dev issuer and the demo origin. It checks the one
 * figure that must stay 0 under any load — **wrong allows**: every request the origin received must
 * be one that should have passed, with exactly the identity it should carry, and no authorizer
 * answer may allow a request that should be refused — and reports unexpected 5xx outside the
 * issuer outage, latency per phase and memory over time.
 *
 * Phases (fractions of the run): warm-up (0–20%), steady (20–40%), a key rotation (a new signing
 * key published) at 40%, and in runs of 30 s or more the issuer down from 55% (served from the
 * stale key set) until past the stale window, then back up. The Worker runs with a 1 s key-set max
 * age and a stale window of a tenth of the run, so the outage outlasts it: 5xx are expected from
 * then until the key set is fetched again (at most `Retry-After` later), and nowhere else.
 *
 * Run: `npm run soak` (2 minutes), `npm run soak -- --minutes N` or `--seconds N`. Writes its
 * report to bench/results/soak.md. `test/bench/soak.test.ts` runs it for 5 seconds in `npm test`.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin, type ReceivedRequest } from "../dev/origin.ts";
import { RETRY_AFTER_SECONDS } from "../src/core/index.ts";
import { fixed, integer, median, mintTokens, ROOT } from "./common.ts";

const ROLES = "https://authgear.com/claims/user/roles";
const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod";
const RULES = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);
/** Memory may grow this much after warm-up, with every cache at its bound, before the run fails. */
export const MEMORY_BOUND_MIB = 64;

type Expect = "allow" | "anonymous" | "refuse";

interface Scenario {
  readonly name: string;
  readonly weight: number;
  /** The request, and what must happen to it. */
  readonly make: () => { path: string; headers: Record<string, string>; expect: Expect; userId?: string };
}

export interface SoakReport {
  readonly seconds: number;
  readonly requests: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly wrongAllows: number;
  readonly wrongAllowDetails: readonly string[];
  readonly unexpected5xx: number;
  readonly phases: ReadonlyArray<{ readonly name: string; readonly count: number; readonly p50: number; readonly p99: number }>;
  readonly memory: ReadonlyArray<{ readonly atSeconds: number; readonly rssMiB: number; readonly heapMiB: number }>;
  /** Heap growth from the first sample after warm-up to the last, MiB. */
  readonly heapGrowthMiB: number;
  readonly authorizer: { readonly calls: number; readonly wrongAllows: number };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function tamper(token: string): string {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
  return `${header}.${payload}.${flipped}`;
}

export async function runSoak(options: { seconds: number; concurrency?: number; log?: (line: string) => void }): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const totalMs = options.seconds * 1000;
  const staleSeconds = Math.max(1, Math.round(options.seconds / 10));
  const issuer: DevIssuer = await startDevIssuer();
  const origin: DemoOrigin = await startDemoOrigin();
  const bindings = {
    AUTHGEAR_ENDPOINT: issuer.origin,
    ORIGIN_URL: origin.url,
    PUBLIC_PATHS: "/public/*",
    ROUTES: RULES,
    JWKS_MAX_AGE_SECONDS: "1",
    JWKS_STALE_SECONDS: String(staleSeconds),
  };
  const mf = new Miniflare({
    modules: true,
    scriptPath: resolve(ROOT, "dist/worker.js"),
    compatibilityDate: "2026-04-26",
    bindings,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.resume();
      stderr.resume();
    },
  });
  // The authorizer reads its configuration from the environment when its module loads.
  const savedEnv = { ...process.env };
  Object.assign(process.env, bindings, { HTTP_API_RESPONSE: "iam" });
  const silence = console.log;
  console.log = () => undefined;
  const { handler } = (await import(pathToFileURL(resolve(ROOT, "dist/lambda/authorizer.mjs")).href)) as {
    handler: (event: unknown) => Promise<{ policyDocument?: { Statement: Array<{ Effect: string; Resource: string[] }> } }>;
  };
  try {
    const alice = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } });
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    const expired = await issuer.mintAccessToken({ sub: "eve", expiresIn: -5 });
    let pool = await mintTokens(issuer, 300);
    let next = 0;
    const scenarios: Scenario[] = [
      { name: "repeated token", weight: 6, make: () => ({ path: "/api/orders", headers: { authorization: `Bearer ${alice}` }, expect: "allow", userId: "alice" }) },
      {
        name: "new token",
        weight: 2,
        make: () => {
          const index = next++ % pool.length;
          return { path: "/api/orders", headers: { authorization: `Bearer ${pool[index] ?? ""}` }, expect: "allow", userId: `bench-user-${index}` };
        },
      },
      { name: "forged token", weight: 1, make: () => ({ path: "/api/orders", headers: { authorization: `Bearer ${tamper(alice)}` }, expect: "refuse" }) },
      { name: "expired token", weight: 1, make: () => ({ path: "/api/orders", headers: { authorization: `Bearer ${expired}` }, expect: "refuse" }) },
      { name: "no token", weight: 1, make: () => ({ path: "/api/orders", headers: {}, expect: "refuse" }) },
      { name: "public path", weight: 1, make: () => ({ path: "/public/docs", headers: {}, expect: "anonymous" }) },
      {
        name: "spoofed identity",
        weight: 1,
        make: () => ({ path: "/public/docs", headers: { "x-authgear-user-id": "alice", x_authgear_user_roles: "admin" }, expect: "anonymous" }),
      },
      { name: "rule refuses", weight: 1, make: () => ({ path: "/admin/users", headers: { authorization: `Bearer ${bob}` }, expect: "refuse" }) },
      { name: "variant spelling", weight: 1, make: () => ({ path: "/%61dmin/users", headers: { authorization: `Bearer ${bob}` }, expect: "refuse" }) },
    ];
    const deck = scenarios.flatMap((scenario) => Array.from({ length: scenario.weight }, () => scenario));
    const expected = new Map<string, { expect: Expect; userId: string | undefined; scenario: string }>();
    const outcomes: Record<string, number> = {};
    const latencies = new Map<string, number[]>();
    const wrong: string[] = [];
    let unexpected5xx = 0;
    let sent = 0;
    let phase = "warm-up";
    let outage = false;
    const memory: Array<{ atSeconds: number; rssMiB: number; heapMiB: number }> = [];
    const started = performance.now();

    const check = (received: readonly ReceivedRequest[]): void => {
      for (const request of received) {
        const id = request.headers["x-soak-id"];
        const entry = typeof id === "string" ? expected.get(id) : undefined;
        const identity = Object.entries(request.headers).filter(([name]) => /^x[-_.]authgear[-_.]/i.test(name));
        const userId = request.headers["x-authgear-user-id"];
        if (entry === undefined) wrong.push(`the origin received an unknown request ${request.method} ${request.path}`);
        else if (entry.expect === "refuse") wrong.push(`${entry.scenario}: ${request.method} ${request.path} reached the origin`);
        else if (entry.expect === "anonymous" && identity.length > 0) wrong.push(`${entry.scenario}: identity headers reached the origin`);
        else if (entry.expect === "allow" && userId !== entry.userId) wrong.push(`${entry.scenario}: reached the origin as ${String(userId)}, not ${String(entry.userId)}`);
        if (typeof id === "string") expected.delete(id);
      }
    };

    const events = async (): Promise<void> => {
      const at = (fraction: number) => new Promise<void>((done) => setTimeout(done, Math.max(0, started + fraction * totalMs - performance.now())));
      await at(0.2);
      phase = "steady";
      await at(0.4);
      phase = "after rotation";
      await issuer.addKey({ sign: true });
      pool = await mintTokens(issuer, 100);
      log("soak: a new signing key is published");
      // The outage needs room: past the stale window, then the 5 s in which a failed fetch is not
      // retried (`Retry-After`), then a key-set refresh. Short runs (the test's) leave it out.
      if (options.seconds < 30) return;
      await at(0.55);
      phase = "issuer down";
      outage = true;
      issuer.setFailure("http500");
      log("soak: the issuer is down");
      await new Promise<void>((done) => setTimeout(done, (staleSeconds + 2) * 1000));
      issuer.setFailure("none");
      phase = "recovered";
      log("soak: the issuer is back");
      await new Promise<void>((done) => setTimeout(done, (RETRY_AFTER_SECONDS + 2) * 1000));
      outage = false;
      phase = "after recovery";
    };

    const sampler = setInterval(() => {
      (globalThis as { gc?: () => void }).gc?.();
      const usage = process.memoryUsage();
      memory.push({ atSeconds: Math.round((performance.now() - started) / 1000), rssMiB: usage.rss / 2 ** 20, heapMiB: usage.heapUsed / 2 ** 20 });
      check(origin.takeRequests());
    }, Math.min(10_000, Math.max(1000, totalMs / 10)));

    const worker = async (lane: number): Promise<void> => {
      while (performance.now() - started < totalMs) {
        const scenario = deck[(sent + lane) % deck.length];
        if (scenario === undefined) return;
        const id = String(sent++);
        const request = scenario.make();
        expected.set(id, { expect: request.expect, userId: request.userId, scenario: scenario.name });
        const t0 = performance.now();
        const response = await mf.dispatchFetch(`https://gate.example.com${request.path}`, { headers: { ...request.headers, "x-soak-id": id }, redirect: "manual" });
        await response.arrayBuffer();
        const ms = performance.now() - t0;
        (latencies.get(phase) ?? latencies.set(phase, []).get(phase))?.push(ms);
        const key = `${scenario.name} → ${response.status}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        if (response.status >= 500 && !outage) unexpected5xx += 1;
        // What should not reach the origin, and what the gate answered itself, is not looked up
        // again: a request of either kind that did reach the origin shows up there as unknown.
        if (request.expect === "refuse" || response.status >= 300) expected.delete(id);
        // The authorizer, in the same warm container all run long: one event per Worker request.
        await authorize(request, id);
      }
    };

    let authorizerCalls = 0;
    let authorizerWrong = 0;
    const authorize = async (request: { path: string; headers: Record<string, string>; expect: Expect }, id: string): Promise<void> => {
      if (request.headers.authorization === undefined || request.path.startsWith("/public/")) return;
      authorizerCalls += 1;
      const arn = `${STAGE}/GET${request.path}`;
      let allowed = false;
      try {
        const result = await handler({ type: "TOKEN", authorizationToken: request.headers.authorization, methodArn: arn });
        const statements = result.policyDocument?.Statement ?? [];
        const denied = statements.some((s) => s.Effect === "Deny" && s.Resource.some((r) => r === arn || (r.endsWith("*") && arn.startsWith(r.slice(0, -1)))));
        allowed = !denied && statements.some((s) => s.Effect === "Allow" && s.Resource.some((r) => r === arn || (r.endsWith("*") && arn.startsWith(r.slice(0, -1)))));
      } catch {
        allowed = false;
      }
      if (allowed && request.expect === "refuse") {
        authorizerWrong += 1;
        wrong.push(`authorizer allowed ${request.path} (request ${id})`);
      }
    };

    await Promise.all([events(), ...Array.from({ length: options.concurrency ?? 8 }, (_, lane) => worker(lane))]);
    clearInterval(sampler);
    await new Promise((done) => setTimeout(done, 200));
    check(origin.takeRequests());
    const afterWarmup = memory.find((sample) => sample.atSeconds >= options.seconds * 0.2) ?? memory[0];
    const last = memory.at(-1);
    return {
      seconds: options.seconds,
      requests: sent,
      outcomes,
      wrongAllows: wrong.length,
      wrongAllowDetails: wrong.slice(0, 20),
      unexpected5xx,
      phases: [...latencies].map(([name, values]) => ({ name, count: values.length, p50: median(values), p99: percentile(values, 99) })),
      memory,
      heapGrowthMiB: afterWarmup !== undefined && last !== undefined ? last.heapMiB - afterWarmup.heapMiB : 0,
      authorizer: { calls: authorizerCalls, wrongAllows: authorizerWrong },
    };
  } finally {
    console.log = silence;
    for (const key of Object.keys(bindings)) Reflect.deleteProperty(process.env, key);
    Reflect.deleteProperty(process.env, "HTTP_API_RESPONSE");
    Object.assign(process.env, savedEnv);
    await mf.dispose();
    await origin.close();
    await issuer.close();
  }
}

export function soakMarkdown(report: SoakReport): string {
  const lines = [
    `# Soak (${report.seconds} s, ${new Date().toISOString().slice(0, 10)})`,
    "",
    `wrong allows: ${report.wrongAllows}`,
    `unexpected 5xx (outside the issuer outage): ${report.unexpected5xx}`,
    `requests through the Worker: ${integer(report.requests)}; authorizer events: ${integer(report.authorizer.calls)} (wrong allows ${report.authorizer.wrongAllows})`,
    `heap growth after warm-up: ${fixed(report.heapGrowthMiB)} MiB (bound ${MEMORY_BOUND_MIB} MiB)`,
    "",
    "| outcome | requests |",
    "|---|---:|",
    ...Object.entries(report.outcomes).sort().map(([name, count]) => `| ${name} | ${integer(count)} |`),
    "",
    "| phase | requests | p50 ms | p99 ms |",
    "|---|---:|---:|---:|",
    ...report.phases.map((p) => `| ${p.name} | ${integer(p.count)} | ${fixed(p.p50)} | ${fixed(p.p99)} |`),
    "",
    "| at s | RSS MiB | heap MiB (after GC) |",
    "|---:|---:|---:|",
    ...report.memory.map((m) => `| ${m.atSeconds} | ${fixed(m.rssMiB)} | ${fixed(m.heapMiB)} |`),
    ...(report.wrongAllowDetails.length > 0 ? ["", "Wrong allows:", ...report.wrongAllowDetails.map((line) => `- ${line}`)] : []),
    "",
  ];
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const index = args.indexOf(flag);
    return index === -1 ? undefined : Number(args[index + 1]);
  };
  const seconds = value("--seconds") ?? (value("--minutes") ?? 2) * 60;
  const report = await runSoak({ seconds, log: (line) => { console.error(line); } });
  const markdown = soakMarkdown(report);
  console.log(markdown);
  writeFileSync(resolve(ROOT, "bench/results/soak.md"), markdown);
  process.exitCode = report.wrongAllows === 0 && report.unexpected5xx === 0 && report.heapGrowthMiB <= MEMORY_BOUND_MIB ? 0 : 1;
}
