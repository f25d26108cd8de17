/**
 * The level of each log event: error when traffic is refused because something is broken, warn for refusals
 * and degraded service.
 */
import { describe, expect, it } from "vitest";
import { logLevel } from "../../src/core/ports.ts";

describe("logLevel", () => {
  it.each([
    ["config_invalid", {}, "error"],
    ["authorizer_failed", {}, "error"],
    ["authenticate_failed", {}, "error"],
    ["resolver_failed", {}, "error"],
    ["origin_unreachable", {}, "error"],
    ["keyset_refresh_failed", { serving_stale: false }, "error"],
    ["keyset_refresh_failed", { serving_stale: true }, "warn"],
    ["request_refused", {}, "warn"],
    ["request_forbidden", {}, "warn"],
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
