/** The built Worker (dist/worker.js) inside real workerd, through the Miniflare API, with a dev issuer and a demo origin on loopback. */
import { request as httpRequest } from "node:http";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { beforeEach } from "vitest";
import type { DemoOrigin, ReceivedRequest } from "../../dev/origin.ts";

export const WORKER_SCRIPT = resolve(import.meta.dirname, "../../dist/worker.js");
export const COMPATIBILITY_DATE = "2026-04-26";

/**
 * One Miniflare holding `isolates` copies of the Worker (separate isolates sharing caches.default).
 * What the Worker logs is appended to `logs` when given, one entry per line.
 */
export function startWorker(bindings: Record<string, string>, isolates = 1, logs?: string[]): Miniflare {
  return new Miniflare({
    ...(logs && {
      handleRuntimeStdio(stdout: Readable, stderr: Readable) {
        for (const stream of [stdout, stderr]) {
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => logs.push(...chunk.split("\n").filter((line) => line.trim() !== "")));
        }
      },
    }),
    workers: Array.from({ length: isolates }, (_, index) => ({
      name: `gate-${index}`,
      modules: true,
      scriptPath: WORKER_SCRIPT,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings,
    })),
  });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * Sends a request with a raw request-target (no client-side URL normalization), the way an
 * attacker's client can.
 */
export async function rawRequest(mf: Miniflare, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const base = await mf.ready;
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method, path: target, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/**
 * What the demo origin received since the current test began: registers a `beforeEach` that marks
 * the start. `origin` is read lazily, since suites start it in `beforeAll`.
 */
export function originRequestsThisTest(origin: () => DemoOrigin): () => ReceivedRequest[] {
  let before = 0;
  beforeEach(() => {
    before = origin().requests.length;
  });
  return () => origin().requests.slice(before);
}
