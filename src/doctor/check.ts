/**
 * One line of the doctor's report, what every check is given, and the line of a check that did not run.
 */
import type { FetchLimits } from "../core/http.ts";
import type { Fetcher } from "../core/ports.ts";
import type { Recorder } from "./recorder.ts";

export type CheckName =
  "configuration" | "discovery" | "issuer" | "jwks" | "keys" | "algorithms" | "resolver" | "token";

/** One line of the report. A skipped check counts as passed (`ok: true`). */
export interface Check {
  readonly name: CheckName;
  readonly ok: boolean;
  /** What was found; never a token or a secret's value. */
  readonly detail: string;
  /** For a failure: what to change. */
  readonly fix?: string;
  /** The check did not apply (the mode does not use it) or could not run (an earlier check failed). */
  readonly skipped?: boolean;
  /** The issuer this check is about, when several are trusted (discovery, issuer, jwks, keys, algorithms). */
  readonly issuer?: string;
}

/** What each check that fetches, or judges a time, is given. */
export interface Context {
  readonly fetcher: Fetcher;
  readonly exchanges: Recorder;
  readonly now: () => number;
  readonly limits: FetchLimits;
}

/** A check that did not apply or could not run: it counts as passed. */
export function skip(name: CheckName, why: string): Check {
  return { name, ok: true, skipped: true, detail: `skipped: ${why}` };
}
