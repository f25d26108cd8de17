/**
 * CloudWatch Embedded Metric Format: with `METRICS=emf`, one JSON line per invocation on standard
 * output, which CloudWatch Logs turns into metrics in the `authgear-edge` namespace, by outcome,
 * with no API call and no extra latency.
 */
import type { CountingMeter } from "../core/index.ts";

/** The same on every line: what CloudWatch is to read. */
const METRICS = [
  {
    Namespace: "authgear-edge",
    Dimensions: [["Outcome"]],
    Metrics: ["Requests", "KeySetFetches", "KeySetFetchFailures", "ResolverCalls", "ResolverCacheHits"].map((name) => ({
      Name: name,
      Unit: "Count",
    })),
  },
];

/** `outcome`: `allowed`, `public`, the refusal's code, `report-only <code>`. */
export function emfLine(outcome: string, meter: CountingMeter, at: number): string {
  const {
    keyset_fetch: fetches,
    keyset_fetch_failed: failures,
    resolver_call: calls,
    resolver_cache_hit: hits,
  } = meter.counts;
  return JSON.stringify({
    _aws: { Timestamp: at, CloudWatchMetrics: METRICS },
    Outcome: outcome,
    Requests: 1,
    KeySetFetches: fetches,
    KeySetFetchFailures: failures,
    ResolverCalls: calls,
    ResolverCacheHits: hits,
  });
}
