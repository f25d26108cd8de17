/**
 * The Lambda authorizer's start-up checks, run by the authorizer itself: `createHandler` builds its
 * gate from the settings as in a Lambda container, and refuses what API Gateway cannot carry out
 * safely (src/aws/cache-safety.ts: AUTHORIZER_CACHE_SECONDS against cookie credentials, simple
 * responses with rules, public paths a rule covers, report-only, a rule's maxAuthAge, the
 * assertion's lifetime) and the Worker's own settings (LAMBDA_FOREIGN_SETTINGS). It then logs
 * `config_invalid` with one message naming every bad key, and fails every request: that message is
 * what the configuration check reports.
 */
import { DEFAULT_AUTHORIZER_CACHE_SECONDS, LAMBDA_FOREIGN_SETTINGS } from "../../aws/config.ts";
import { createHandler } from "../../aws/create-handler.ts";
import { WORKER_FOREIGN_SETTINGS } from "../../cloudflare/config.ts";
import type { LogFields } from "../../core/ports.ts";

/** What the configuration line adds: a clause, and for a refusal the fix (the check then fails). */
export interface StartupNote {
  readonly detail: string;
  readonly fix?: string;
}

const REFUSED_FIX =
  "for each setting the message names, do what it says (docs/authorizer.md, Refused at start-up); " +
  "until then the authorizer fails every request (503 through the gateway responses)";

function isSet(env: Readonly<Record<string, unknown>>, name: string): boolean {
  const value = env[name];
  return typeof value === "string" && value.trim() !== "";
}

/** The authorizer's `config_invalid` line: the keys it refuses and its message; undefined when it starts. */
export function authorizerRefusal(
  env: Readonly<Record<string, unknown>>,
): { readonly keys: string; readonly message: string } | undefined {
  const strings = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  let refusal: { keys: string; message: string } | undefined;
  const logger = {
    log(event: string, fields: LogFields) {
      if (event === "config_invalid") refusal = { keys: String(fields.keys), message: String(fields.message) };
    },
  };
  createHandler({ env: strings, logger });
  return refusal;
}

/**
 * A configuration that sets one of the authorizer's own settings (which a Worker refuses) is the
 * authorizer's: the check fails when the authorizer refuses to start with it. One that sets one of
 * the Worker's own (which the authorizer refuses) is the Worker's: nothing to add. One that sets
 * neither may be either's: a Worker starts with it, and the keys an authorizer would refuse at
 * the default AUTHORIZER_CACHE_SECONDS are noted without failing.
 */
export function authorizerStartup(env: Readonly<Record<string, unknown>>): StartupNote | undefined {
  const own = [...WORKER_FOREIGN_SETTINGS.keys()].filter((name) => isSet(env, name));
  const workers = [...LAMBDA_FOREIGN_SETTINGS.keys()].filter((name) => isSet(env, name));
  if (own.length === 0 && workers.length > 0) return undefined;
  const refusal = authorizerRefusal(env);
  if (own.length === 0) {
    if (refusal === undefined) return undefined;
    return {
      detail:
        `read as a Worker's; with AUTHORIZER_CACHE_SECONDS unset (${DEFAULT_AUTHORIZER_CACHE_SECONDS}) a Lambda ` +
        `authorizer would refuse it (${refusal.keys}): give AUTHORIZER_CACHE_SECONDS as the Lambda's environment ` +
        "has it to check it as the authorizer's",
    };
  }
  const read = `read as a Lambda authorizer's (${own.join(", ")} set)`;
  if (refusal === undefined) return { detail: `${read}, which starts with it` };
  // Both packagings' own settings: meant for a Worker, it would refuse the authorizer's.
  const worker = workers.length === 0 ? "" : `; for a Worker, remove ${own.join(", ")} (a Worker refuses them)`;
  return { detail: `${read}, which refuses to start with it: ${refusal.message}`, fix: `${REFUSED_FIX}${worker}` };
}
