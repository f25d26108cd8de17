/**
 * Resolver calls per session per minute when one location runs several isolates of the Worker.
 *
 * The verdict cache lives per isolate, and a busy location runs an isolate per machine: without
 * sharing, one session costs Authgear a resolver call per isolate per `RESOLVER_CACHE_SECONDS`. The
 * Worker also shares verdicts through the Cache API (src/cloudflare/cache-verdict-store.ts). This
 * measures both on the built Worker (dist/worker.js) in workerd: one Miniflare holding `ISOLATES`
 * copies of it (separate isolates, as the Worker tests use them), `SESSIONS` session cookies of the
 * dev issuer, `LANES` requests in flight, each to a random session on a random isolate, for a fixed
 * window; the dev issuer counts the resolver calls. Every request must be answered 200, and the
 * origin must see each one as the session's own user.
 *
 * - after: the isolates share `caches.default`, as in a Cloudflare location.
 * - before: the same, with Miniflare's per-worker `cache: false`, under which `caches.default` keeps
 *   nothing (`match` always misses, `put` is dropped: miniflare's cache-entry-noop worker) — the
 *   unchanged Worker then has only its per-isolate verdict cache, which is what it had before the
 *   shared store.
 *
 * Run: `npm run bench:resolver-load` (two runs of 20 s). Knobs: RESOLVER_LOAD_SECONDS,
 * RESOLVER_LOAD_ISOLATES, RESOLVER_LOAD_SESSIONS, RESOLVER_LOAD_CACHE_SECONDS, RESOLVER_LOAD_LANES.
 * Writes bench/results/resolver-load.md.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin } from "../dev/origin.ts";
import { fail, fixed, integer, loadAverages, machineLines, ROOT, setting } from "./common.ts";

const SECONDS = setting("RESOLVER_LOAD_SECONDS", 20);
const ISOLATES = setting("RESOLVER_LOAD_ISOLATES", 4);
const SESSIONS = setting("RESOLVER_LOAD_SESSIONS", 50);
const CACHE_SECONDS = setting("RESOLVER_LOAD_CACHE_SECONDS", 5);
const LANES = setting("RESOLVER_LOAD_LANES", 8);

interface Run {
  readonly requests: number;
  readonly seconds: number;
  readonly calls: number;
  /** Resolver calls per session per minute. */
  readonly rate: number;
}

/** A small seeded generator (mulberry32): both runs draw the same sequence of sessions and isolates. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

async function run(label: string, shared: boolean, issuer: DevIssuer, origin: DemoOrigin): Promise<Run> {
  const bindings = {
    AUTHGEAR_ENDPOINT: issuer.origin,
    ORIGIN_URL: origin.url,
    AUTH_MODE: "resolver",
    RESOLVER_CACHE_SECONDS: String(CACHE_SECONDS),
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    cf: false,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.resume();
      stderr.resume();
    },
    workers: Array.from({ length: ISOLATES }, (_, index) => ({
      name: `gate-${index}`,
      modules: true,
      scriptPath: resolve(ROOT, "dist/worker.js"),
      compatibilityDate: "2026-04-26",
      bindings,
      cache: shared,
    })),
  });
  try {
    const gates = await Promise.all(Array.from({ length: ISOLATES }, (_, index) => mf.getWorker(`gate-${index}`)));
    const sessions = Array.from({ length: SESSIONS }, (_, index) => issuer.createSession(`load-${label}-${index}`));
    const draw = random(2026);
    origin.takeRequests();
    let requests = 0;
    const before = issuer.resolverHits;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (performance.now() - started < SECONDS * 1000) {
          const index = Math.floor(draw() * SESSIONS);
          const gate = gates[Math.floor(draw() * ISOLATES)] ?? fail("no such isolate");
          const session = sessions[index] ?? fail("no such session");
          const response = await gate.fetch(`https://gate.example.com/load/${index}`, {
            headers: { cookie: `session=${session.cookie}` },
          });
          await response.arrayBuffer();
          if (response.status !== 200) fail(`${label}: a request for session ${index} was answered ${response.status}`);
          requests += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const total = issuer.resolverHits - before;
    // The origin saw every request as its own session's user (a shared verdict never crosses sessions).
    const seen = origin.takeRequests();
    if (seen.length !== requests) fail(`${label}: the origin saw ${seen.length} requests, not ${requests}`);
    for (const request of seen) {
      const index = request.path.split("/")[2] ?? "";
      if (request.headers["x-authgear-user-id"] !== `load-${label}-${index}`)
        fail(`${label}: ${request.path} reached the origin as ${String(request.headers["x-authgear-user-id"])}`);
    }
    return { requests, seconds, calls: total, rate: total / SESSIONS / (seconds / 60) };
  } finally {
    await mf.dispose();
  }
}

const startedAt = new Date();
const loadBefore = loadAverages();
const issuer = await startDevIssuer();
const origin = await startDemoOrigin();
try {
  const before = await run("before", false, issuer, origin);
  const after = await run("after", true, issuer, origin);
  const perLocation = 60 / CACHE_SECONDS;
  // In a window of SECONDS, a verdict is asked for at the start and after each expiry inside it.
  const windowCalls = Math.floor(SECONDS / CACHE_SECONDS) + 1;
  const row = (name: string, result: Run) =>
    `| ${name} | ${integer(result.requests)} | ${integer(result.requests / result.seconds)} | ${integer(result.calls)} | ${fixed(result.calls / SESSIONS, 2)} | **${fixed(result.rate)}** |`;
  const lines = [
    ...machineLines(
      "Resolver calls per session per minute, several isolates",
      ["miniflare"],
      startedAt,
      loadBefore,
      "RESOLVER_LOAD_",
    ),
    `- Settings: ${ISOLATES} isolates of dist/worker.js in one Miniflare, AUTH_MODE=resolver, RESOLVER_CACHE_SECONDS=${CACHE_SECONDS}, ${SESSIONS} session cookies, ${LANES} requests in flight, each to a random session on a random isolate, ${SECONDS} s per run; resolver calls counted by the dev issuer; every answer 200 and seen by the origin as its session's user`,
    "",
    `Bounds: one call per session per RESOLVER_CACHE_SECONDS per location = **${fixed(perLocation)}** / minute; one per isolate = ${ISOLATES} × that = **${fixed(ISOLATES * perLocation)}** / minute. ` +
      `In a ${SECONDS} s window (the first call included): at most ${windowCalls} calls per session per location, ${ISOLATES * windowCalls} per session with ${ISOLATES} isolates.`,
    "",
    "| verdicts | requests | req/s | resolver calls | calls / session | calls / session / minute |",
    "|---|---:|---:|---:|---:|---:|",
    row("before: per isolate only (`cache: false`)", before),
    row("after: shared through `caches.default`", after),
    "",
    `after ÷ before: **${fixed(after.rate / before.rate, 2)}×** (one call per location instead of one per isolate would be 1/${ISOLATES} = ${fixed(1 / ISOLATES, 2)}×).`,
    "",
  ];
  const markdown = lines.join("\n");
  console.log(markdown);
  writeFileSync(resolve(ROOT, "bench/results/resolver-load.md"), markdown);
} finally {
  await origin.close();
  await issuer.close();
}
