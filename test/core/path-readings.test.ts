/**
 * Differential, property-based: for generated paths (each character literal, percent-encoded in
 * either hex case or case-flipped; valid and invalid escapes, UTF-8 overlongs, dot segments,
 * slashes, suffixes), the gate either refuses the request or decides at least as strictly as it
 * would on every plausible origin reading of that path: the path as the Worker forwards it (WHATWG
 * URL parsing), decoded (`decodeURIComponent`), dot segments resolved after decoding, case-folded
 * (lower case, and upper case as .NET's OrdinalIgnoreCase compares), a trailing slash dropped
 * (Express's non-strict routing), a `.suffix` dropped (Spring's suffix patterns), segments
 * trimmed of whitespace (Spring before 4.3), and the NFKC form. Once as the Worker decides (on the
 * WHATWG pathname), once as the authorizer does (on the path as API Gateway may hand it over,
 * unnormalised).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/core/authenticator.ts";
import { parseConfig } from "../../src/core/config.ts";
import { createDecider, type Decider, type DeciderOptions, type Decision } from "../../src/core/decision.ts";
import { AuthError } from "../../src/core/errors.ts";
import type { Identity, UserIdentity } from "../../src/core/identity.ts";
import {
  decodeLeniently,
  isAmbiguous,
  isPublic,
  pathApplies,
  resolveDots,
  type OracleWorld,
  type OverrideMode,
} from "../aws/rule-oracle.ts";
import { userIdentity } from "../fixtures/identities.ts";
import { authorizerDecider, WORKER_DECIDER } from "../fixtures/gate.ts";

interface Rule {
  readonly path: string;
  readonly methods?: readonly string[];
  readonly roles: readonly string[];
}

/** The rules of the fixed cases; the property draws its rule sets from these and more. */
const RULES: readonly Rule[] = [
  { path: "/admin/*", roles: ["admin"] },
  { path: "/account/delete", roles: ["admin"] },
  { path: "/orders/*", methods: ["DELETE"], roles: ["admin"] },
  { path: "/Settings", roles: ["admin"] },
  { path: "/key/*", roles: ["admin"] },
];
const MORE_RULES: readonly Rule[] = [
  { path: "/account/*", methods: ["POST", "DELETE"], roles: ["staff"] },
  { path: "/x/", roles: ["staff"] },
  { path: "/orders/x", methods: ["GET"], roles: ["staff", "admin"] },
  { path: "/ADMIN/Key", roles: ["staff"] },
  { path: "/*", methods: ["DELETE"], roles: ["root"] },
];
const PUBLIC = "/public";
/** The public path as the README's oracle reads it (rule-oracle.ts). */
const PUBLIC_WORLD: OracleWorld = { rules: [], publicPaths: [`${PUBLIC}/*`], mode: "none" };
const WORDS = ["admin", "account", "delete", "public", "orders", "settings", "key", "x", "Admin"] as const;
const WORKER = WORKER_DECIDER;
const AUTHORIZER = authorizerDecider(0);

const bob = user([]);

function user(roles: readonly string[]): UserIdentity {
  return userIdentity({ roles });
}

function authenticatorFor(identity: Identity | undefined): Authenticator {
  return {
    authenticate: () =>
      Promise.resolve(
        identity === undefined
          ? { ok: false, error: new AuthError("ERR_CREDENTIALS_MISSING", "none") }
          : { ok: true, identity, source: "header" },
      ),
    verifyToken: () => Promise.reject(new Error("not used")),
    prefetchKeys: () => Promise.resolve(true),
  };
}

interface World {
  readonly rules: readonly Rule[];
  /** METHOD_OVERRIDE (docs/method-override.md): under `any` a request that is not a GET is decided as every method. */
  readonly mode: OverrideMode;
  readonly identity: UserIdentity;
  readonly worker: { readonly user: Decider; readonly anonymous: Decider };
  readonly authorizer: { readonly user: Decider; readonly anonymous: Decider };
}

function world(rules: readonly Rule[], identity: UserIdentity, mode: OverrideMode = "any"): World {
  const routes = JSON.stringify(rules);
  const settings = {
    AUTHGEAR_ENDPOINT: "https://auth.example.com",
    ROUTES: routes,
    PUBLIC_PATHS: `${PUBLIC}/*`,
    METHOD_OVERRIDE: mode,
  };
  const config = parseConfig(settings);
  const make = (options: DeciderOptions) => ({
    user: createDecider(config, authenticatorFor(identity), options),
    anonymous: createDecider(config, authenticatorFor(undefined), options),
  });
  return { rules, mode, identity, worker: make(WORKER), authorizer: make(AUTHORIZER) };
}

const fixed = world(RULES, bob);

/** Spring's AntPathMatcher before 4.3 trimmed path tokens (CVE-2016-5007). */
function trimSegments(path: string): string {
  return path
    .split("/")
    .map((segment) => segment.trim())
    .join("/");
}

/** What ordinary origins could route `path` to (each a path their router compares with its routes). */
function originReadings(path: string): { caseSensitive: string[]; caseInsensitive: string[] } {
  const whatwg = new URL(`https://origin.example.com${path.startsWith("/") ? path : `/${path}`}`).pathname;
  const decoded = [path, whatwg]
    .flatMap((p) => [decodeLeniently(p), resolveDots(decodeLeniently(p))])
    .flatMap((p) => [p, trimSegments(p)]);
  const exact = [path, whatwg, ...decoded];
  const folded = decoded.flatMap((p) => [
    p.toLowerCase(),
    p.toUpperCase().toLowerCase(),
    p.normalize("NFKC").toLowerCase(),
  ]);
  const variants = folded.flatMap((p) => {
    const noSlash = p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
    const lastDot = noSlash.lastIndexOf(".");
    const noSuffix = lastDot > noSlash.lastIndexOf("/") + 1 ? noSlash.slice(0, lastDot) : noSlash;
    return [p, noSlash, noSuffix];
  });
  return { caseSensitive: exact, caseInsensitive: variants };
}

/** Whether an origin router with some reading would reach the handler of a rule the user fails, for `method`. */
function reachesRuledHandler(w: World, path: string, method: string): string | undefined {
  const { caseSensitive, caseInsensitive } = originReadings(path);
  for (const rule of w.rules) {
    if (rule.roles.some((role) => w.identity.roles.includes(role))) continue;
    if (
      rule.methods !== undefined &&
      !rule.methods.includes(method) &&
      !(method === "HEAD" && rule.methods.includes("GET"))
    )
      continue;
    const subtree = rule.path.endsWith("/*");
    const base = subtree ? rule.path.slice(0, -2) : rule.path;
    const hits = (reading: string, target: string) =>
      reading === target || (subtree && reading.startsWith(`${target}/`));
    if (
      caseSensitive.some((reading) => hits(reading, base)) ||
      caseInsensitive.some((reading) => hits(reading, base.toLowerCase()))
    )
      return `${rule.path} via ${path}`;
  }
  return undefined;
}

/**
 * A legitimate request for the user: the path has a single reading (README), and no rule the user
 * fails governs (README's rule table: the rule's path, matched broadly; its methods, or under
 * METHOD_OVERRIDE=any every method for a request that is not a GET) any origin reading of it.
 */
function legitimate(w: World, path: string, method: string): boolean {
  if (isAmbiguous(path)) return false;
  const { caseSensitive, caseInsensitive } = originReadings(path);
  const failed = w.rules.filter((rule) => !rule.roles.some((role) => w.identity.roles.includes(role)));
  const covers = (rule: Rule) =>
    rule.methods === undefined || rule.methods.includes(method) || (method === "HEAD" && rule.methods.includes("GET"));
  const governed = failed.filter((rule) => (w.mode === "any" && method !== "GET") || covers(rule));
  return ![...caseSensitive, ...caseInsensitive].some((reading) =>
    governed.some((rule) => pathApplies(rule.path, reading)),
  );
}

function outsidePublic(path: string): boolean {
  const { caseSensitive, caseInsensitive } = originReadings(path);
  return [...caseSensitive, ...caseInsensitive].some((reading) => {
    const lower = reading.toLowerCase();
    return lower !== PUBLIC && !lower.startsWith(`${PUBLIC}/`);
  });
}

const char = (c: string) =>
  /[A-Za-z]/.test(c)
    ? fc.constantFrom(c, c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(), pct(c), pct(c).toLowerCase())
    : fc.constantFrom(c, pct(c), pct(c).toLowerCase());
function pct(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}
const spelled = fc.constantFrom(...WORDS).chain((w) => fc.tuple(...Array.from(w, char)).map((chars) => chars.join("")));
// Words as written too, so that legitimate requests (and public paths) are common.
const word = fc.oneof({ weight: 3, arbitrary: spelled }, { weight: 1, arbitrary: fc.constantFrom(...WORDS) });
const oddity = fc.constantFrom(
  "",
  ".",
  "..",
  "%2e%2e",
  "%2E.",
  "%u002e",
  "%c0%ae",
  "%C0%AE%C0%AE",
  "%2F",
  "%2f",
  "%5C",
  "%00",
  ";x",
  "%3B",
  "%252e",
  "%2561",
  "%EF%BC%8F",
  "%C5%BF",
  "%E2%84%AA",
  "%",
  "%zz",
  "%e2%80",
  "\\",
  "x.json",
  "%2e",
  "admin%20",
  "delete%09",
);
const segment = fc.oneof({ weight: 5, arbitrary: word }, { weight: 2, arbitrary: oddity });
const paths = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom("", "/", ".json", "%2F", ".", "%20", "%09"))
  .map(([segments, tail]) => `/${segments.join("/")}${tail}`);
const methods = fc.constantFrom("GET", "HEAD", "POST", "DELETE");

async function decide(
  w: World,
  kind: "worker" | "authorizer",
  who: "user" | "anonymous",
  method: string,
  path: string,
): Promise<Decision> {
  return w[kind][who].decide({ method, path, headers: new Headers(), hasBody: false });
}

/**
 * The path each packaging decides on: the Worker its WHATWG-parsed URL's pathname; the authorizer what
 * API Gateway hands over.
 */
function seenBy(kind: "worker" | "authorizer", raw: string): string {
  return kind === "worker" ? new URL(`https://gate.example.com${raw}`).pathname : raw;
}

/**
 * Both directions, as each packaging sees the path: what the gate lets through reaches no handler
 * of a rule the user fails (nor, anonymously, anything outside the public path); and a legitimate
 * request (`legitimate`) is allowed, and anonymously too when it is a public path as written.
 * Returns how many of those it asserted.
 */
async function check(w: World, method: string, raw: string): Promise<number> {
  let asserted = 0;
  for (const kind of ["worker", "authorizer"] as const) {
    const path = seenBy(kind, raw);
    const asUser = await decide(w, kind, "user", method, path);
    const reached = reachesRuledHandler(w, path, method);
    const who = w.identity.roles.join("+") || "a user without roles";
    // Public paths bypass the rules (README, "Route rules").
    if (isPublic(PUBLIC_WORLD, path))
      expect(asUser.allowed, `${kind} refused ${who} the public ${method} ${raw}`).toBe(true);
    else if (asUser.allowed)
      expect(reached, `${kind} let ${who} ${method} ${raw} (seen as ${path}) through`).toBeUndefined();
    else expect(legitimate(w, path, method), `${kind} refused ${who} ${method} ${raw} (seen as ${path})`).toBe(false);
    const asAnonymous = await decide(w, kind, "anonymous", method, path);
    if (asAnonymous.allowed)
      expect(outsidePublic(path), `${kind} let ${method} ${raw} (seen as ${path}) through as public`).toBe(false);
    else
      expect(isPublic(PUBLIC_WORLD, path), `${kind} refused the public ${method} ${raw} (seen as ${path})`).toBe(false);
    asserted += 2;
  }
  return asserted;
}

const worlds = fc
  .tuple(
    fc.subarray([...RULES, ...MORE_RULES], { minLength: 1 }),
    fc.subarray(["admin", "staff", "root"]),
    fc.constantFrom<OverrideMode>("none", "any"),
  )
  .map(([rules, roles, mode]) => world(rules, user(roles), mode));

describe("the gate reads a path at least as strictly as every plausible origin", () => {
  it("on generated paths, as the Worker and as the authorizer", async () => {
    const legitimately = { user: 0, anonymous: 0 };
    await fc.assert(
      fc.asyncProperty(worlds, methods, paths, async (w, method, raw) => {
        expect(await check(w, method, raw)).toBe(4);
        for (const kind of ["worker", "authorizer"] as const) {
          const path = seenBy(kind, raw);
          if (legitimate(w, path, method)) legitimately.user += 1;
          if (isPublic(PUBLIC_WORLD, path)) legitimately.anonymous += 1;
        }
      }),
      { numRuns: 5000 },
    );
    // Legitimate requests were among them, for users and anonymously (the generator is not all attacks).
    expect(legitimately.user).toBeGreaterThan(1000);
    expect(legitimately.anonymous).toBeGreaterThan(10);
  }, 60_000);

  it.each([
    // The attacks the hardening issue reproduced, and the counterexamples this property found.
    ["GET", "/%61dmin/x"],
    ["GET", "/account/delet%65"],
    ["GET", "/ADMIN/x"],
    ["GET", "/account/delete/"],
    ["GET", "/account/delete.json"],
    ["GET", "/public/%c0%ae%c0%ae/admin"],
    ["GET", "/public/%u002e%u002e/admin"],
    ["DELETE", "/ORDERS/1"],
    ["GET", "/%C5%BFettings"],
    ["GET", "/%E2%84%AAey/x"],
    ["GET", "/public/%2e%2e/admin"],
    ["GET", "/public/%252e%252e/admin"],
    ["GET", "/settings//.."],
    ["GET", "/account/delete%20"],
    ["GET", "/admin%20/x"],
    ["GET", "/account/delete%09"],
    ["GET", "/../admin/%2e%2e%2F"],
  ])("%s %s", async (method, raw) => {
    await check(fixed, method, raw);
    expect((await decide(fixed, "worker", "user", method, seenBy("worker", raw))).allowed).toBe(false);
    expect((await decide(fixed, "authorizer", "user", method, raw)).allowed).toBe(false);
    expect((await decide(fixed, "worker", "anonymous", method, seenBy("worker", raw))).allowed).toBe(false);
  });

  it("does not count an encoded spelling of a public path as public (an origin routing on the raw path reads another path)", async () => {
    await check(fixed, "GET", "/publ%69c/admin");
    expect((await decide(fixed, "worker", "anonymous", "GET", "/publ%69c/admin")).allowed).toBe(false);
    expect((await decide(fixed, "worker", "anonymous", "GET", "/public/admin")).allowed).toBe(true);
  });
});
