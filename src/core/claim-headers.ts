/**
 * `CLAIM_HEADERS`: claims of the verified token sent to the origin in headers the operator names
 * (docs/claim-headers.md). The setting is read here, its names checked against every header a
 * client, a proxy or the gate already gives a meaning to, and each identity's values computed
 * once (claim-encoding.ts) for every request of its token.
 */
import * as v from "valibot";
import { encodeClaim, MAX_CLAIM_HEADERS_TOTAL_BYTES, type OmissionReason } from "./claim-encoding.ts";
import type { Identity } from "./identity.ts";
import { isIdentityHeaderName } from "./identity.ts";
import { canonicalHeaderName, isOverrideHeader } from "./overrides.ts";
import type { Logger } from "./ports.ts";
import { TOKEN_PATTERN } from "./setting-schemas.ts";

/** Most entries `CLAIM_HEADERS` may hold. */
export const MAX_CLAIM_HEADERS = 32;
/** Longest claim name accepted (a custom claim is often a URL). */
const MAX_CLAIM_NAME_LENGTH = 255;

/** One configured header: its name (lower case), the claim it carries, its authorizer context key. */
export interface ClaimHeader {
  readonly header: string;
  readonly claim: string;
  readonly contextKey: string;
}

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);
const CLIENT_REQUEST: ReadonlySet<string> = new Set([
  "authorization",
  "cookie",
  "host",
  "content-length",
  "content-type",
  "origin",
]);

/**
 * Why a header name cannot carry a claim, or `undefined` when it can. Compared in its canonical
 * spelling (`-`, `_` and `.` alike, any case), as the Worker strips client copies.
 */
export function reservedHeaderReason(name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  if (isIdentityHeaderName(canonical)) return "is one of the gate's own headers (x-authgear-*)";
  if (HOP_BY_HOP.has(canonical)) return "is a hop-by-hop header";
  if (isOverrideHeader(canonical)) return "can make the origin serve another method or path than the gate decided on";
  if (CLIENT_REQUEST.has(canonical)) return "carries the client's request (credentials, host, body, origin)";
  if (canonical === "forwarded" || canonical.startsWith("x-forwarded-") || canonical.startsWith("cf-")) {
    return "is set by proxies on the way (Cloudflare, load balancers)";
  }
  if (canonical.startsWith("sec-")) return "is set by browsers, and origins trust it as theirs";
  return undefined;
}

/** `x-user-email` -> `claimXUserEmail`: `claim`, then each `-`, `_` or `.` part capitalised. */
function contextKeyOf(header: string): string {
  const parts = canonicalHeaderName(header).split("-");
  return `claim${parts.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join("")}`;
}

/** The problems of one `CLAIM_HEADERS` object, each naming the entry; empty when it is good. */
function mappingProblems(entries: ReadonlyArray<readonly [string, unknown]>): string[] {
  const problems: string[] = [];
  if (entries.length > MAX_CLAIM_HEADERS) {
    problems.push(`holds ${entries.length} entries, more than ${MAX_CLAIM_HEADERS}`);
  }
  const spellings = new Map<string, string>();
  const keys = new Map<string, string>();
  for (const [header, claim] of entries) {
    if (!TOKEN_PATTERN.test(header)) {
      problems.push(`"${header.slice(0, 64)}" is not a header name (an RFC 9110 token)`);
      continue;
    }
    const reserved = reservedHeaderReason(header);
    if (reserved !== undefined) problems.push(`${header} ${reserved}`);
    if (typeof claim !== "string" || claim === "" || claim.length > MAX_CLAIM_NAME_LENGTH) {
      problems.push(`${header} must name a claim (a string of 1 to ${MAX_CLAIM_NAME_LENGTH} characters)`);
    }
    const canonical = canonicalHeaderName(header);
    const twin = spellings.get(canonical);
    if (twin !== undefined) problems.push(`${header} is another spelling of ${twin} (-, _ and . alike, any case)`);
    spellings.set(canonical, header);
    const key = contextKeyOf(header);
    const sameKey = keys.get(key);
    if (sameKey !== undefined && twin === undefined) {
      problems.push(`${header} and ${sameKey} share the authorizer context key ${key}`);
    }
    keys.set(key, header);
  }
  return problems;
}

/** The `CLAIM_HEADERS` setting: a JSON object `{ "header-name": "claim name" }`. */
export const claimHeadersSchema = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }): readonly ClaimHeader[] => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(dataset.value);
    } catch {
      addIssue({ message: "is not JSON" });
      return NEVER;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      addIssue({ message: 'must be a JSON object mapping header names to claim names ({"x-user-email": "email"})' });
      return NEVER;
    }
    // Object.entries: own properties only, so a "__proto__" key is an entry like any other.
    const entries = Object.entries(parsed);
    const problems = mappingProblems(entries);
    if (problems.length > 0) {
      addIssue({ message: problems.join("; ") });
      return NEVER;
    }
    return Object.freeze(
      entries.map(([header, claim]) =>
        Object.freeze({ header: header.toLowerCase(), claim: claim as string, contextKey: contextKeyOf(header) }),
      ),
    );
  }),
);

/**
 * `CLAIM_HEADERS` entries whose names another setting gives one of the gate's own headers
 * (`ORIGIN_SECRET_HEADER`, ...): `others` maps each such setting to its header name, when set.
 */
export function claimHeaderCollisions(
  claimHeaders: readonly ClaimHeader[],
  others: Readonly<Record<string, string | undefined>>,
): ReadonlyMap<string, string> {
  const clashes: string[] = [];
  for (const [setting, name] of Object.entries(others)) {
    if (name === undefined) continue;
    const taken = claimHeaders.find(({ header }) => canonicalHeaderName(header) === canonicalHeaderName(name));
    if (taken !== undefined) clashes.push(`${taken.header} is the header of ${setting}`);
  }
  return new Map(clashes.length === 0 ? [] : [["CLAIM_HEADERS", clashes.join("; ")]]);
}

/** A header left out for an identity, and why (never its value). */
export interface OmittedClaimHeader {
  readonly header: string;
  readonly claim: string;
  readonly reason: OmissionReason;
}

/** What one identity's token gives the configured headers. */
export interface ClaimHeaderValues {
  /** Each header that travels, in `CLAIM_HEADERS`' order: its name (lower case) and value. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The same values under their authorizer context keys. */
  readonly context: Readonly<Record<string, string>>;
  readonly omitted: readonly OmittedClaimHeader[];
}

export interface ClaimHeaders {
  readonly entries: readonly ClaimHeader[];
  /** Each configured name in `canonicalHeaderName` spelling: a client's copy in any spelling is removed. */
  readonly canonicalNames: ReadonlySet<string>;
  /** The values for `identity`, computed once per identity object (one per cached token or verdict). */
  valuesOf(identity: Identity): ClaimHeaderValues;
}

const NONE: ClaimHeaderValues = Object.freeze({
  headers: Object.freeze([]),
  context: Object.freeze({}),
  omitted: Object.freeze([]),
});

function compute(entries: readonly ClaimHeader[], claims: Readonly<Record<string, unknown>>): ClaimHeaderValues {
  const headers: Array<readonly [string, string]> = [];
  const context: Record<string, string> = {};
  const omitted: OmittedClaimHeader[] = [];
  let total = 0;
  for (const { header, claim, contextKey } of entries) {
    // Own claims only: a claim named "__proto__" or "constructor" is the token's, never Object's.
    if (!Object.hasOwn(claims, claim)) continue;
    const encoded = encodeClaim(claims[claim]);
    if ("omitted" in encoded) {
      omitted.push({ header, claim, reason: encoded.omitted });
      continue;
    }
    const size = header.length + encoded.value.length;
    if (total + size > MAX_CLAIM_HEADERS_TOTAL_BYTES) {
      omitted.push({ header, claim, reason: "total_too_long" });
      continue;
    }
    total += size;
    headers.push([header, encoded.value]);
    context[contextKey] = encoded.value;
  }
  return Object.freeze({
    headers: Object.freeze(headers),
    context: Object.freeze(context),
    omitted: Object.freeze(omitted),
  });
}

/** The per-identity values of `entries` (`CLAIM_HEADERS`), each computed once. */
export function createClaimHeaders(entries: readonly ClaimHeader[]): ClaimHeaders {
  const cache = new WeakMap<Identity, ClaimHeaderValues>();
  return {
    entries,
    canonicalNames: new Set(entries.map(({ header }) => canonicalHeaderName(header))),
    valuesOf(identity) {
      if (entries.length === 0) return NONE;
      let values = cache.get(identity);
      if (values === undefined) {
        values = compute(entries, identity.claims);
        cache.set(identity, values);
      }
      return values;
    },
  };
}

/** One `claim_header_omitted` line per header left out: its name, claim and reason, never a value. */
export function logOmittedClaimHeaders(values: ClaimHeaderValues, logger: Logger): void {
  for (const { header, claim, reason } of values.omitted) logger.log("claim_header_omitted", { header, claim, reason });
}
