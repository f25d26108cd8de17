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
 * Alongside, a second Worker in AUTH_MODE=resolver (session cookies; RESOLVER_CACHE_SECONDS 1 under
 * 30 s, else 2) has its own lanes: resolver healthy; some sessions logged out at 20% (refused once
 * the cache time plus {@link SLACK_MS} has passed); slow (45–65%, answers 200 ms late, within the
 * deadline); flapping (65–90%, 500s and hangs between answers); healthy. Each answer is judged as the
 * core promises: a held verdict serves while it lives; without one, a failing resolver means 503.
 *
 * Run: `npm run soak` (2 minutes), `npm run soak -- --minutes N` or `--seconds N`. Writes its
 * report to bench/results/soak.md. `test/bench/soak.test.ts` runs it for 5 seconds in `npm test`.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";
import { startDevIssuer, type DevIssuer, type DevSession, type ResolverFailureMode } from "../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin, type ReceivedRequest } from "../dev/origin.ts";
import { RETRY_AFTER_SECONDS } from "../src/core/index.ts";
import { fixed, integer, median, mintTokens, ROOT } from "./common.ts";

const ROLES = "https://authgear.com/claims/user/roles";
const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod";
const RULES = JSON.stringify([{ path: "/admin/*", roles: ["admin"] }]);
/** Memory may grow this much after warm-up, with every cache at its bound, before the run fails. */
export const MEMORY_BOUND_MIB = 64;
/**
 * The resolver Worker's deadline; how late the slow resolver answers; how much later than the resolver's answer a
 * verdict may live past the cache time.
 */
const [RESOLVER_TIMEOUT_MS, SLOW_MS, SLACK_MS] = [1000, 200, 500];

type Expect = "allow" | "anonymous" | "refuse";

interface Scenario {
  readonly name: string;
  readonly weight: number;
  /**
   * The request and what must happen to it; `judge`: is a status right for one sent at `t0`, answered now (else: a 5xx
   * only in the outage).
   */
  readonly make: () => {
    path: string;
    headers: Record<string, string>;
    expect: Expect;
    userId?: string;
    judge?: (status: number, t0: number) => boolean;
  };
}

export interface SoakReport {
  readonly seconds: number;
  readonly requests: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly wrongAllows: number;
  readonly wrongAllowDetails: readonly string[];
  readonly unexpected5xx: number;
  readonly phases: ReadonlyArray<{
    readonly name: string;
    readonly count: number;
    readonly p50: number;
    readonly p99: number;
  }>;
  readonly memory: ReadonlyArray<{ readonly atSeconds: number; readonly rssMiB: number; readonly heapMiB: number }>;
  /** Heap growth from the first sample after warm-up to the last, MiB. */
  readonly heapGrowthMiB: number;
  readonly authorizer: { readonly calls: number; readonly wrongAllows: number };
  /**
   * Refusals of requests that should have passed, by `lane: scenario → answer`, in the JWT Worker's
   * lanes and the authorizer's (the resolver lanes judge theirs in `resolver.wrongAnswers`). Not
   * counted: 503s during the issuer outage, and a new signing key's tokens refused with
   * ERR_JWT_KEY_NOT_FOUND after the rotation (the kid-miss cooldown, README).
   */
  readonly wrongRefusals: Readonly<Record<string, number>>;
  /**
   * `wrongAnswers`: by `scenario → status`, what a judge refused (5xx aside); `lastAllowAfterLogoutSeconds`: the latest
   * a request of a logged-out session sent after the logout got through.
   */
  readonly resolver: {
    cacheSeconds: number;
    calls: number;
    wrongAnswers: Readonly<Record<string, number>>;
    wrongAllowsAfterLogout: number;
    lastAllowAfterLogoutSeconds: number;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, ms)));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The resolver-mode half: its sessions, scenarios judged by when they were sent, and the resolver's timeline. */
function resolverLoad(issuer: DevIssuer, seconds: number, log: (line: string) => void) {
  const cacheMs = (seconds < 30 ? 1 : 2) * 1000;
  const sessions = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, index) => issuer.createSession(`${prefix}-${index}`));
  const [live, leaving] = [sessions("resolver-user", 8), sessions("resolver-leaving", 4)];
  const forged = live.map((session) => ({ ...session, cookie: `${session.cookie}x` }));
  let [phase, next, loggedOutAt, lastAllowAfterLogout, recoveredAt, failingSince] = [
    "resolver: healthy",
    0,
    Infinity,
    0,
    -Infinity,
    undefined as number | undefined,
  ];
  const setFailure = (mode: ResolverFailureMode): void => {
    issuer.setResolverFailure(mode);
    if (mode !== "none") failingSince ??= performance.now();
    else if (failingSince !== undefined) [failingSince, recoveredAt] = [undefined, performance.now()];
  };
  /**
   * A request and its judge; `answers(t0)`: what the resolver's verdict gives. Sent while the resolver was failing, and
   * still
   * failing now, only a verdict held from before can serve it: never a new credential's, and none past the cache time
   * into the
   * failure — then only a 503 is right. Otherwise a 503 is right too, unless the resolver answered throughout (joined
   * flights too).
   */
  const request = (session: DevSession, answers: (t0: number) => number[], neverSeen = false) => ({
    path: "/api/me",
    headers: { cookie: `theme=dark; session=${session.cookie}` },
    userId: session.sub,
    judge: (status: number, t0: number): boolean => {
      if (status === 200 && leaving.includes(session) && t0 > loggedOutAt)
        lastAllowAfterLogout = Math.max(lastAllowAfterLogout, t0 - loggedOutAt);
      const dark = failingSince !== undefined && failingSince <= t0;
      if (dark && (neverSeen || t0 > (failingSince ?? 0) + cacheMs + SLACK_MS)) return status === 503;
      return (
        answers(t0).includes(status) ||
        (status === 503 && !(failingSince === undefined && t0 > recoveredAt + RESOLVER_TIMEOUT_MS + SLACK_MS))
      );
    },
  });
  const late = (t0: number) => t0 > loggedOutAt + cacheMs + SLACK_MS;
  // A logged-out session: allowed until the logout, then maybe while a verdict held from before lives, then refused.
  const afterLogout = (t0: number): number[] => {
    if (performance.now() < loggedOutAt) return [200];
    return late(t0) ? [401] : [200, 401];
  };
  const scenarios: Scenario[] = [
    {
      name: "resolver: session",
      weight: 5,
      make: () => ({ ...request(live[next++ % live.length]!, () => [200]), expect: "allow" }),
    },
    {
      name: "resolver: new session",
      weight: 1,
      make: () => ({ ...request(issuer.createSession(`resolver-new-${next++}`), () => [200], true), expect: "allow" }),
    },
    {
      name: "resolver: logged-out session",
      weight: 3,
      make: () => ({
        ...request(leaving[next++ % leaving.length]!, afterLogout),
        expect: late(performance.now()) ? "refuse" : "allow",
      }),
    },
    {
      name: "resolver: forged session",
      weight: 1,
      make: () => ({ ...request(forged[next++ % forged.length]!, () => [401]), expect: "refuse" }),
    },
    {
      name: "resolver: no session",
      weight: 1,
      make: () => ({
        path: "/api/me",
        headers: { cookie: "theme=dark" },
        expect: "refuse",
        judge: (status) => status === 401,
      }),
    },
  ];
  const events = async (at: (fraction: number) => Promise<void>, total: number): Promise<void> => {
    await at(0.2);
    for (const session of leaving) issuer.logout(session.id);
    [loggedOutAt, phase] = [performance.now(), "resolver: sessions logged out"];
    log("soak: resolver sessions logged out");
    for (const [fraction, name, delayMs] of [
      [0.45, "resolver: slow", SLOW_MS],
      [0.65, "resolver: flapping", 0],
    ] as const) {
      await at(fraction);
      issuer.setResolverDelay(delayMs);
      phase = name;
    }
    // Long runs fail for longer than the cache time, so that held verdicts run out mid-failure.
    const [failMs, upMs, end] = [
      seconds < 30 ? 400 : cacheMs + 1500,
      seconds < 30 ? 200 : 1000,
      performance.now() + 0.25 * total,
    ];
    for (let round = 0; performance.now() < end; round++) {
      setFailure(round % 2 === 0 ? "http500" : "hang");
      await sleep(Math.min(failMs, end - performance.now()));
      setFailure("none");
      await sleep(Math.min(upMs, end - performance.now()));
    }
    phase = "resolver: recovered";
  };
  const bindings = {
    AUTH_MODE: "resolver",
    RESOLVER_CACHE_SECONDS: String(cacheMs / 1000),
    RESOLVER_TIMEOUT_MS: String(RESOLVER_TIMEOUT_MS),
  };
  const summary = (wrongAnswers: Record<string, number>): SoakReport["resolver"] => ({
    cacheSeconds: cacheMs / 1000,
    calls: issuer.resolverHits,
    wrongAnswers,
    wrongAllowsAfterLogout: wrongAnswers["resolver: logged-out session → 200"] ?? 0,
    lastAllowAfterLogoutSeconds: lastAllowAfterLogout / 1000,
  });
  return { scenarios, events, bindings, phase: () => phase, summary };
}

function tamper(token: string): string {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
  return `${header}.${payload}.${flipped}`;
}

export async function runSoak(options: {
  seconds: number;
  concurrency?: number;
  log?: (line: string) => void;
}): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const totalMs = options.seconds * 1000;
  const staleSeconds = Math.max(1, Math.round(options.seconds / 10));
  const issuer: DevIssuer = await startDevIssuer();
  const origin: DemoOrigin = await startDemoOrigin();
  const common = { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url };
  const bindings = {
    ...common,
    PUBLIC_PATHS: "/public/*",
    ROUTES: RULES,
    JWKS_MAX_AGE_SECONDS: "1",
    JWKS_STALE_SECONDS: String(staleSeconds),
  };
  const resolverMode = resolverLoad(issuer, options.seconds, log);
  // One workerd, two Workers: `jwt` (the entrypoint, reached by dispatchFetch) and `resolver`.
  const mf = new Miniflare({
    host: "127.0.0.1",
    cf: false,
    workers: [bindings, { ...common, ...resolverMode.bindings }].map((vars, index) => ({
      name: ["jwt", "resolver"][index],
      modules: true,
      scriptPath: resolve(ROOT, "dist/worker.js"),
      compatibilityDate: "2026-04-26",
      bindings: vars,
    })),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.resume();
      stderr.resume();
    },
  });
  const resolverGate = await mf.getWorker("resolver");
  // The authorizer reads its configuration from the environment when its module loads.
  const savedEnv = { ...process.env };
  // ORIGIN_URL is the Worker's alone: the authorizer refuses a setting it would ignore.
  const { ORIGIN_URL: _workerOnly, ...authorizerSettings } = bindings;
  Object.assign(process.env, authorizerSettings, { HTTP_API_RESPONSE: "iam" });
  const silence = console.log;
  console.log = () => undefined;
  const { handler } = (await import(pathToFileURL(resolve(ROOT, "dist/lambda/authorizer.mjs")).href)) as {
    handler: (
      event: unknown,
    ) => Promise<{ policyDocument?: { Statement: Array<{ Effect: string; Resource: string[] }> } }>;
  };
  try {
    const alice = await issuer.mintAccessToken({ sub: "alice", claims: { [ROLES]: ["admin"] } });
    const bob = await issuer.mintAccessToken({ sub: "bob" });
    const expired = await issuer.mintAccessToken({ sub: "eve", expiresIn: -5 });
    let pool = await mintTokens(issuer, 300);
    let next = 0;
    const scenarios: Scenario[] = [
      {
        name: "repeated token",
        weight: 6,
        make: () => ({
          path: "/api/orders",
          headers: { authorization: `Bearer ${alice}` },
          expect: "allow",
          userId: "alice",
        }),
      },
      {
        name: "new token",
        weight: 2,
        make: () => ({
          path: "/api/orders",
          headers: { authorization: `Bearer ${pool[next % pool.length] ?? ""}` },
          expect: "allow",
          userId: `bench-user-${next++ % pool.length}`,
        }),
      },
      {
        name: "forged token",
        weight: 1,
        make: () => ({ path: "/api/orders", headers: { authorization: `Bearer ${tamper(alice)}` }, expect: "refuse" }),
      },
      {
        name: "expired token",
        weight: 1,
        make: () => ({ path: "/api/orders", headers: { authorization: `Bearer ${expired}` }, expect: "refuse" }),
      },
      { name: "no token", weight: 1, make: () => ({ path: "/api/orders", headers: {}, expect: "refuse" }) },
      { name: "public path", weight: 1, make: () => ({ path: "/public/docs", headers: {}, expect: "anonymous" }) },
      {
        name: "spoofed identity",
        weight: 1,
        make: () => ({
          path: "/public/docs",
          headers: { "x-authgear-user-id": "alice", x_authgear_user_roles: "admin" },
          expect: "anonymous",
        }),
      },
      {
        name: "rule refuses",
        weight: 1,
        make: () => ({ path: "/admin/users", headers: { authorization: `Bearer ${bob}` }, expect: "refuse" }),
      },
      {
        name: "variant spelling",
        weight: 1,
        make: () => ({ path: "/%61dmin/users", headers: { authorization: `Bearer ${bob}` }, expect: "refuse" }),
      },
    ];
    const deckOf = (list: Scenario[]) =>
      list.flatMap((scenario) => Array.from({ length: scenario.weight }, () => scenario));
    const expected = new Map<string, { expect: Expect; userId: string | undefined; scenario: string }>();
    const outcomes: Record<string, number> = {};
    const latencies = new Map<string, number[]>();
    const wrong: string[] = [];
    const wrongAnswers: Record<string, number> = {};
    let unexpected5xx = 0;
    let sent = 0;
    let phase = "warm-up";
    let outage = false;
    let rotated = false;
    const memory: Array<{ atSeconds: number; rssMiB: number; heapMiB: number }> = [];
    const started = performance.now();
    const at = (fraction: number) => sleep(started + fraction * totalMs - performance.now());

    const check = (received: readonly ReceivedRequest[]): void => {
      for (const request of received) {
        const id = request.headers["x-soak-id"];
        const entry = typeof id === "string" ? expected.get(id) : undefined;
        const identity = Object.entries(request.headers).filter(([name]) => /^x[-_.]authgear[-_.]/i.test(name));
        const userId = request.headers["x-authgear-user-id"];
        if (entry === undefined) wrong.push(`the origin received an unknown request ${request.method} ${request.path}`);
        else if (entry.expect === "refuse")
          wrong.push(`${entry.scenario}: ${request.method} ${request.path} reached the origin`);
        else if (entry.expect === "anonymous" && identity.length > 0)
          wrong.push(`${entry.scenario}: identity headers reached the origin`);
        else if (entry.expect === "allow" && userId !== entry.userId)
          wrong.push(`${entry.scenario}: reached the origin as ${String(userId)}, not ${String(entry.userId)}`);
        if (typeof id === "string") expected.delete(id);
      }
    };

    const events = async (): Promise<void> => {
      await at(0.2);
      phase = "steady";
      await at(0.4);
      phase = "after rotation";
      rotated = true;
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
      await sleep((staleSeconds + 2) * 1000);
      issuer.setFailure("none");
      phase = "recovered";
      log("soak: the issuer is back");
      await sleep((RETRY_AFTER_SECONDS + 2) * 1000);
      outage = false;
      phase = "after recovery";
    };

    const sampler = setInterval(
      () => {
        (globalThis as { gc?: () => void }).gc?.();
        const usage = process.memoryUsage();
        memory.push({
          atSeconds: Math.round((performance.now() - started) / 1000),
          rssMiB: usage.rss / 2 ** 20,
          heapMiB: usage.heapUsed / 2 ** 20,
        });
        check(origin.takeRequests());
      },
      Math.min(10_000, Math.max(1000, totalMs / 10)),
    );

    type Send = (
      url: string,
      init: { headers: Record<string, string>; redirect: "manual" },
    ) => Promise<{ status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
    const lane = async (send: Send, deck: readonly Scenario[], first: number, phaseOf: () => string): Promise<void> => {
      for (let turn = first; performance.now() - started < totalMs; turn++) {
        const scenario = deck[turn % deck.length];
        if (scenario === undefined) return;
        const id = String(sent++);
        const request = scenario.make();
        expected.set(id, { expect: request.expect, userId: request.userId, scenario: scenario.name });
        const t0 = performance.now();
        const response = await send(`https://gate.example.com${request.path}`, {
          headers: { ...request.headers, "x-soak-id": id },
          redirect: "manual",
        });
        const body = new TextDecoder().decode(await response.arrayBuffer());
        const phase = phaseOf();
        (latencies.get(phase) ?? latencies.set(phase, []).get(phase))?.push(performance.now() - t0);
        const key = `${scenario.name} → ${response.status}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        if (
          request.judge === undefined &&
          request.expect !== "refuse" &&
          response.status >= 400 &&
          response.status < 500
        ) {
          if (!(scenario.name === "new token" && rotated && body.includes("ERR_JWT_KEY_NOT_FOUND")))
            refused(`worker: ${key}`);
        }
        if (request.judge === undefined ? response.status >= 500 && !outage : !request.judge(response.status, t0)) {
          if (response.status >= 500) unexpected5xx += 1;
          else wrongAnswers[key] = (wrongAnswers[key] ?? 0) + 1;
          // (One the origin got, and that was to be refused, counts there.)
          if (response.status < 300 && request.expect !== "refuse")
            wrong.push(`${key} (request ${id}, sent at ${fixed((t0 - started) / 1000, 2)} s)`);
        }
        // What should not reach the origin, and what the gate answered itself, is not looked up
        // again: a request of either kind that did reach the origin shows up there as unknown.
        if (request.expect === "refuse" || response.status >= 300) expected.delete(id);
        // The authorizer, in the same warm container all run long: one event per Worker request.
        await authorize(request, id, scenario.name);
      }
    };

    let authorizerCalls = 0;
    let authorizerWrong = 0;
    const wrongRefusals: Record<string, number> = {};
    const refused = (key: string): void => {
      wrongRefusals[key] = (wrongRefusals[key] ?? 0) + 1;
    };
    const authorize = async (
      request: { path: string; headers: Record<string, string>; expect: Expect },
      id: string,
      name: string,
    ): Promise<void> => {
      if (request.headers.authorization === undefined || request.path.startsWith("/public/")) return;
      authorizerCalls += 1;
      const arn = `${STAGE}/GET${request.path}`;
      let allowed = false;
      let failure = "";
      try {
        const result = await handler({
          type: "TOKEN",
          authorizationToken: request.headers.authorization,
          methodArn: arn,
        });
        const statements = result.policyDocument?.Statement ?? [];
        const denied = statements.some(
          (s) =>
            s.Effect === "Deny" &&
            s.Resource.some((r) => r === arn || (r.endsWith("*") && arn.startsWith(r.slice(0, -1)))),
        );
        allowed =
          !denied &&
          statements.some(
            (s) =>
              s.Effect === "Allow" &&
              s.Resource.some((r) => r === arn || (r.endsWith("*") && arn.startsWith(r.slice(0, -1)))),
          );
      } catch (error) {
        allowed = false;
        failure = error instanceof Error ? error.message : "";
      }
      // During the outage the authorizer fails (503); after the rotation a new key's token may meet the kid-miss
      // cooldown.
      const excused =
        (outage && failure === "Service Unavailable") ||
        (name === "new token" && rotated && failure === "Unauthorized");
      if (!allowed && request.expect === "allow" && !excused) refused(`authorizer: ${name} → ${failure || "Deny"}`);
      if (allowed && request.expect === "refuse") {
        authorizerWrong += 1;
        wrong.push(`authorizer allowed ${request.path} (request ${id})`);
      }
    };

    const lanes = (count: number, send: Send, list: Scenario[], phaseOf: () => string) =>
      Array.from({ length: count }, (_, index) => lane(send, deckOf(list), index * 3, phaseOf));
    await Promise.all([
      events(),
      resolverMode.events(at, totalMs),
      ...lanes(
        options.concurrency ?? 8,
        (url, init) => mf.dispatchFetch(url, init),
        scenarios,
        () => phase,
      ),
      ...lanes(
        Math.max(2, (options.concurrency ?? 8) / 2),
        (url, init) => resolverGate.fetch(url, init),
        resolverMode.scenarios,
        resolverMode.phase,
      ),
    ]);
    clearInterval(sampler);
    // Every answer is in, so what the origin served it has recorded; what is still expected there is
    // looked for until it arrives (at most 2 s), and otherwise stays unseen.
    check(origin.takeRequests());
    for (const settled = performance.now() + 2000; expected.size > 0 && performance.now() < settled;) {
      await sleep(10);
      check(origin.takeRequests());
    }
    const afterWarmup = memory.find((sample) => sample.atSeconds >= options.seconds * 0.2) ?? memory[0];
    const last = memory.at(-1);
    return {
      seconds: options.seconds,
      requests: sent,
      outcomes,
      wrongAllows: wrong.length,
      wrongAllowDetails: wrong.slice(0, 20),
      unexpected5xx,
      phases: [...latencies].map(([name, values]) => ({
        name,
        count: values.length,
        p50: median(values),
        p99: percentile(values, 99),
      })),
      memory,
      heapGrowthMiB: afterWarmup !== undefined && last !== undefined ? last.heapMiB - afterWarmup.heapMiB : 0,
      authorizer: { calls: authorizerCalls, wrongAllows: authorizerWrong },
      wrongRefusals,
      resolver: resolverMode.summary(wrongAnswers),
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
  const r = report.resolver;
  const lines = [
    `# Soak (${report.seconds} s, ${new Date().toISOString().slice(0, 10)})`,
    "",
    `wrong allows: ${report.wrongAllows}`,
    `unexpected 5xx (outside the issuer outage): ${report.unexpected5xx}`,
    `requests through the Workers (both modes): ${integer(report.requests)}; authorizer events: ${integer(report.authorizer.calls)} (wrong allows ${report.authorizer.wrongAllows})`,
    `wrong refusals (JWT Worker lanes and authorizer): ${JSON.stringify(report.wrongRefusals)}`,
    `heap growth after warm-up: ${fixed(report.heapGrowthMiB)} MiB (bound ${MEMORY_BOUND_MIB} MiB)`,
    `resolver mode (RESOLVER_CACHE_SECONDS=${r.cacheSeconds}, RESOLVER_TIMEOUT_MS=${RESOLVER_TIMEOUT_MS}): ${integer(r.calls)} resolver calls; wrong answers: ${JSON.stringify(r.wrongAnswers)}` +
      `; wrong allows after logout: ${r.wrongAllowsAfterLogout}; last allow of a logged-out session sent ${fixed(r.lastAllowAfterLogoutSeconds, 2)} s after the logout (bound ${fixed(r.cacheSeconds + SLACK_MS / 1000)} s)`,
    "",
    "| outcome | requests |",
    "|---|---:|",
    ...Object.entries(report.outcomes)
      .sort()
      .map(([name, count]) => `| ${name} | ${integer(count)} |`),
    "",
    "| phase | requests | p50 ms | p99 ms |",
    "|---|---:|---:|---:|",
    ...report.phases.map((p) => `| ${p.name} | ${integer(p.count)} | ${fixed(p.p50)} | ${fixed(p.p99)} |`),
    "",
    "| at s | RSS MiB | heap MiB (after GC) |",
    "|---:|---:|---:|",
    ...report.memory.map((m) => `| ${m.atSeconds} | ${fixed(m.rssMiB)} | ${fixed(m.heapMiB)} |`),
    ...(report.wrongAllowDetails.length > 0
      ? ["", "Wrong allows:", ...report.wrongAllowDetails.map((line) => `- ${line}`)]
      : []),
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
  const report = await runSoak({
    seconds,
    log: (line) => {
      console.error(line);
    },
  });
  const markdown = soakMarkdown(report);
  console.log(markdown);
  writeFileSync(resolve(ROOT, "bench/results/soak.md"), markdown);
  const wrongAnswers = Object.keys(report.resolver.wrongAnswers).length + Object.keys(report.wrongRefusals).length;
  const right = report.wrongAllows === 0 && report.unexpected5xx === 0 && wrongAnswers === 0;
  process.exitCode = right && report.heapGrowthMiB <= MEMORY_BOUND_MIB ? 0 : 1;
}
