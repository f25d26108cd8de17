/**
 * The report as `npm run doctor` prints it: one line per check, then the verdict.
 */
import type { Check } from "./check.ts";

/** ✓ passed, ✗ failed, – skipped. */
function markOf(check: Check): string {
  if (check.skipped === true) return "–";
  return check.ok ? "✓" : "✗";
}

/** One line: the mark, the name, what was found, and for a failure the fix. */
export function formatCheck(check: Check): string {
  const fix = check.ok || check.fix === undefined ? "" : ` — fix: ${check.fix}`;
  const about = check.issuer === undefined ? "" : ` (${check.issuer})`;
  return `${markOf(check)} ${check.name}${about}: ${check.detail}${fix}`;
}

/** The last line: `All checks passed.`, or how many failed and which. */
export function summary(checks: readonly Check[]): string {
  const failed = checks.filter((check) => !check.ok);
  if (failed.length === 0) return "All checks passed.";
  const names = failed.map((check) => check.name).join(", ");
  return `${failed.length} check${failed.length === 1 ? "" : "s"} failed: ${names}.`;
}
