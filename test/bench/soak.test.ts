/** The soak script, run for 5 seconds so that it cannot rot: its report's invariants hold. */
import { describe, expect, it } from "vitest";
import { MEMORY_BOUND_MIB, runSoak, soakMarkdown } from "../../bench/soak.ts";

describe("npm run soak", () => {
  it("lets nothing wrong through in a short run, and reports bounded memory", async () => {
    const report = await runSoak({ seconds: 5, concurrency: 4 });
    expect(report.wrongAllowDetails).toEqual([]);
    expect(report.wrongAllows).toBe(0);
    expect(report.unexpected5xx).toBe(0);
    expect(report.requests).toBeGreaterThan(100);
    expect(report.authorizer.calls).toBeGreaterThan(50);
    expect(report.outcomes["repeated token → 200"]).toBeGreaterThan(0);
    expect(report.outcomes["rule refuses → 403"]).toBeGreaterThan(0);
    expect(report.outcomes["forged token → 401"]).toBeGreaterThan(0);
    expect(report.memory.length).toBeGreaterThanOrEqual(3);
    for (const sample of report.memory) {
      expect(sample.rssMiB).toBeGreaterThan(0);
      expect(sample.heapMiB).toBeGreaterThan(0);
    }
    expect(report.heapGrowthMiB).toBeLessThanOrEqual(MEMORY_BOUND_MIB);
    expect(soakMarkdown(report)).toContain("wrong allows: 0\n");
  }, 60_000);
});
