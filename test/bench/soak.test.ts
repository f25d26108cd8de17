/**
 * The soak script (JWT and resolver mode side by side), run for 5 seconds so that it cannot rot: its report's
 * invariants hold.
 */
import { describe, expect, it } from "vitest";
import { MEMORY_BOUND_MIB, runSoak, soakMarkdown } from "../../bench/soak.ts";

describe("npm run soak", () => {
  it("lets nothing wrong through in a short run, and reports bounded memory", async () => {
    const report = await runSoak({ seconds: 5, concurrency: 4 });
    expect(report.wrongAllowDetails).toEqual([]);
    expect(report.wrongAllows).toBe(0);
    // Nothing that should pass was refused, in the JWT Worker's lanes and the authorizer's.
    expect(report.wrongRefusals).toEqual({});
    expect(report.outcomes["new token → 200"]).toBeGreaterThan(0);
    expect(report.outcomes["public path → 200"]).toBeGreaterThan(0);
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
    // Resolver mode: every answer as the core promises through logout, slow and flapping phases.
    expect(report.resolver.wrongAnswers).toEqual({});
    expect(report.resolver.wrongAllowsAfterLogout).toBe(0);
    expect(report.resolver.lastAllowAfterLogoutSeconds).toBeLessThanOrEqual(report.resolver.cacheSeconds + 0.5);
    expect(report.resolver.calls).toBeGreaterThan(10);
    expect(report.outcomes["resolver: session → 200"]).toBeGreaterThan(0);
    expect(report.outcomes["resolver: logged-out session → 401"]).toBeGreaterThan(0);
    expect(report.outcomes["resolver: forged session → 401"]).toBeGreaterThan(0);
    expect(report.outcomes["resolver: no session → 401"]).toBeGreaterThan(0);
    // The flapping resolver was seen: some requests got no verdict, and were answered 503.
    const unavailable = Object.entries(report.outcomes).filter(
      ([key]) => key.startsWith("resolver: ") && key.endsWith(" → 503"),
    );
    expect(unavailable.reduce((sum, [, count]) => sum + count, 0)).toBeGreaterThan(0);
    expect(soakMarkdown(report)).toContain("wrong allows: 0\n");
  }, 60_000);
});
