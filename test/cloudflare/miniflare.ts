/**
 * The built Worker (dist/worker.js) in workerd through the Miniflare API, without vitest: shared by the tests
 * and bench/worker.bench.ts.
 */
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

export const WORKER_SCRIPT = resolve(import.meta.dirname, "../../dist/worker.js");
/** wrangler.toml's `compatibility_date`. */
export const COMPATIBILITY_DATE = "2026-04-26";

/**
 * One Miniflare holding `isolates` copies of the Worker (separate isolates sharing caches.default),
 * on 127.0.0.1, with Miniflare's built-in `request.cf` (no fetch of cf.json). What the Worker logs
 * is appended to `logs` when given, one entry per line. `script`: an ES module's source to run
 * instead of dist/worker.js. `port`: where it listens (default: a free port, `await mf.ready` tells).
 */
export function startWorker(
  bindings: Record<string, string>,
  isolates = 1,
  logs?: string[],
  script?: string,
  port?: number,
): Miniflare {
  return new Miniflare({
    host: "127.0.0.1",
    ...(port !== undefined && { port }),
    cf: false,
    ...(logs && {
      handleRuntimeStdio(stdout: Readable, stderr: Readable) {
        for (const stream of [stdout, stderr]) {
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => {
            const lines = chunk.split("\n").filter((line) => line.trim() !== "");
            logs.push(...lines);
            // The suite's log scan (test/log-scan.ts) reads these too.
            (globalThis as { authgearEdgeLogLines?: string[] }).authgearEdgeLogLines?.push(...lines);
          });
        }
      },
    }),
    workers: Array.from({ length: isolates }, (_, index) => ({
      name: `gate-${index}`,
      modules: true,
      ...(script === undefined ? { scriptPath: WORKER_SCRIPT } : { script }),
      compatibilityDate: COMPATIBILITY_DATE,
      bindings,
    })),
  });
}

/**
 * `entry` (a Worker module of the tests or the examples, in TypeScript) bundled as wrangler
 * bundles a Worker: one ES module for workerd, to pass to {@link startWorker} as `script`.
 */
export async function bundleWorker(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return output.text;
}
