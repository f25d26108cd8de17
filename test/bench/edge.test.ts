/**
 * `npm run bench:edge`, run for a few seconds so that it cannot rot: the built Lambda@Edge function
 * and the built authorizer answered every request as they should (the run checks each answer and
 * fails otherwise), fetched their keys only at init, and the report holds every row. Timings are
 * not asserted.
 */
import { describe, expect, it } from "vitest";
import { runEdgeBench } from "../../bench/edge.bench.ts";

const VIEWER_REQUEST_LIMIT_BYTES = 1024 * 1024;

describe("npm run bench:edge", () => {
  it("measures every request of both, cold starts of the three, memory and the bundle", async () => {
    const options = { cpuMs: 40, warmupMs: 10, rounds: 1, pool: 1010, coldRuns: 1, memoryEvents: 1100 };
    const report = await runEdgeBench(options);
    const names = report.cells.map((cell) => `${cell.packaging} ${cell.scenario}`);
    expect(names.sort()).toEqual(
      ["repeated", "new", "public", "refused"]
        .flatMap((scenario) => [`authorizer ${scenario}`, `edge ${scenario}`])
        .sort(),
    );
    report.cells.forEach((cell, index) => {
      const samples = report.cpu[index] ?? [];
      expect(samples).toHaveLength(1);
      for (const sample of samples) {
        expect(sample.calls).toBeGreaterThan(0);
        expect(sample.cpu).toBeGreaterThan(0);
        // A refusal is logged once; nothing else is (LOG_DECISIONS off).
        expect(sample.logLines).toBe(cell.scenario === "refused" ? 1 : 0);
      }
    });
    for (const who of ["edge", "authorizer", "aws"] as const) {
      expect(report.cold[who]).toHaveLength(1);
      const [run] = report.cold[who];
      expect(run?.served).toBeGreaterThan(0);
      // The function and the authorizer logged their key fetch at init; the peer has no such line.
      expect(Number.isNaN(run?.keyFetch)).toBe(who === "aws");
    }
    expect(report.memory.map((run) => `${run.packaging} ${run.flags}`).sort()).toEqual([
      "authorizer default",
      "authorizer semi-space 1 MiB",
      "edge default",
      "edge semi-space 1 MiB",
    ]);
    for (const { memory } of report.memory) {
      expect(memory.answered).toBe(options.memoryEvents);
      expect(memory.peakRss).toBeGreaterThanOrEqual(memory.rssImported);
      expect(memory.heapUsedAfterGc).toBeGreaterThan(0);
    }
    expect(report.bundle.bytes).toBeLessThan(VIEWER_REQUEST_LIMIT_BYTES);
    expect(report.bundle.gzipped).toBeLessThan(report.bundle.bytes);
    const text = report.lines.join("\n");
    for (const heading of [
      "CPU per event",
      "The function ÷ the authorizer, same requests",
      "Cold start",
      "Memory",
      "Bundle",
      "Limits",
    ]) {
      expect(text).toContain(`## ${heading}`);
    }
    expect(text).toContain("- PASS: viewer-request package at most 1 MB");
  }, 120_000);
});
