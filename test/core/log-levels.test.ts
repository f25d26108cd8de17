/**
 * The level of each log event (error when traffic is refused because something is broken, warn for
 * degraded service, info for the rest, a 4xx refusal among them), and what each LOG_LEVEL writes.
 */
import { describe, expect, it } from "vitest";
import { atLevel, logLevel, type LogFields, type LogLevel } from "../../src/core/ports.ts";

describe("logLevel", () => {
  it.each([
    ["config_invalid", {}, "error"],
    ["authorizer_failed", {}, "error"],
    ["authenticate_failed", {}, "error"],
    ["resolver_failed", {}, "error"],
    ["secrets_load_failed", {}, "error"],
    ["secrets_loaded", {}, "info"],
    ["origin_unreachable", {}, "error"],
    ["keyset_refresh_failed", { serving_stale: false }, "error"],
    ["keyset_refresh_failed", { serving_stale: true }, "warn"],
    ["request_refused", { status: 503 }, "error"],
    ["request_refused", { status: 500 }, "error"],
    ["request_refused", {}, "info"],
    ["request_refused", { status: 401 }, "info"],
    ["request_refused", { status: 403 }, "info"],
    ["request_refused", { status: 400 }, "info"],
    ["request_forbidden", {}, "info"],
    ["would_refuse", {}, "warn"],
    ["config_unknown_setting", {}, "warn"],
    ["keyset_key_ignored", {}, "warn"],
    ["keyset_store_failed", {}, "warn"],
    ["verdict_store_failed", {}, "warn"],
    ["claim_header_omitted", {}, "warn"],
    ["keyset_refreshed", {}, "info"],
    ["request_allowed", {}, "info"],
    ["request_redirected_to_login", {}, "info"],
  ] as const)("%s %j is %s", (event, fields, level) => {
    expect(logLevel(event, fields)).toBe(level);
  });
});

describe("atLevel (LOG_LEVEL)", () => {
  const lines: ReadonlyArray<readonly [string, LogFields]> = [
    ["config_invalid", {}],
    ["request_refused", { status: 503 }],
    ["keyset_refresh_failed", { serving_stale: true }],
    ["would_refuse", {}],
    ["request_refused", { status: 401 }],
    ["request_allowed", {}],
  ];
  const written = (level: LogLevel): string[] => {
    const seen: string[] = [];
    const logger = atLevel({ log: (event, fields) => seen.push(`${event} ${JSON.stringify(fields)}`) }, level);
    for (const [event, fields] of lines) logger.log(event, fields);
    return seen;
  };

  it.each([
    ["error", 2],
    ["warn", 4],
    ["info", 6],
    ["debug", 6],
  ] as const)("%s writes the first %i lines, in order, unchanged", (level, count) => {
    expect(written(level)).toEqual(
      lines.slice(0, count).map(([event, fields]) => `${event} ${JSON.stringify(fields)}`),
    );
  });
});
