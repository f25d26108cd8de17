/**
 * Metrics through Workers Analytics Engine: with an `ANALYTICS` binding
 * (`[[analytics_engine_datasets]]` in wrangler.toml) every request writes one data point — its
 * outcome, and what it cost the issuer and the resolver — and without one nothing is written.
 * One point per request, not per event: Analytics Engine sums them at query time.
 */
import type { CountingMeter } from "../core/index.ts";

export function analyticsOf(env: Readonly<Record<string, unknown>>): AnalyticsEngineDataset | undefined {
  const binding = env.ANALYTICS as Partial<AnalyticsEngineDataset> | undefined;
  return typeof binding?.writeDataPoint === "function" ? (binding as AnalyticsEngineDataset) : undefined;
}

/**
 * blob1: the outcome (`authenticated`, `public`, the refusal's code, `report-only <code>`,
 * `metadata`, `origin_unreachable`); doubles: requests (1), key-set fetches, key-set fetch
 * failures, resolver calls, verdict-cache hits, the gate's milliseconds; index: the outcome.
 */
export function writeRequestPoint(
  dataset: AnalyticsEngineDataset,
  outcome: string,
  meter: CountingMeter,
  ms: number,
): void {
  const {
    keyset_fetch: fetches,
    keyset_fetch_failed: failures,
    resolver_call: calls,
    resolver_cache_hit: hits,
  } = meter.counts;
  dataset.writeDataPoint({ blobs: [outcome], doubles: [1, fetches, failures, calls, hits, ms], indexes: [outcome] });
}
