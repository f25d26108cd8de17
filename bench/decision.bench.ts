/**
 * The cost of the route rules, next to authentication alone: the core's `decide` (as the Worker
 * calls it) with 0, 1, 10 and 100 rules, and the Lambda authorizer's whole compile step (decide,
 * the identity context, `failedRules` and `stagePolicy`) with 1, 10 and 100 rules; then the size of
 * the largest policy the authorizer compiles with 100 rules, next to API Gateway's documented limits.
 *
 * Every row runs a real authenticator (`createAuthenticator(parseConfig(...))`, `silentLogger`)
 * against the dev issuer on 127.0.0.1. Its key set (discovery, then JWKS, over loopback) is fetched
 * by an untimed first call; the issuer's hit counters are checked after each timed loop, so a fetch
 * inside a loop fails the run. Every row sends the same valid token on every iteration: the
 * verified-token cache hit, i.e. the hot path. So the ratios are against the cheapest
 * authentication there is; a first-seen token costs ~200× more (bench/results/lambda.md, the new-token rows).
 *
 * Rows (all on `GET /api/orders/items`, one `Headers` object with `Authorization: Bearer ...`):
 * - authentication alone: `authenticator.authenticate(headers)`;
 * - Worker decide, 0 / 1 / 10 / 100 rules: `decider.decide({ method, path, headers })` with the
 *   Worker's options (ambiguousPaths "refuse", preflightsArePublic true, validForSeconds 0), for a
 *   user who meets every rule; the path is matched by every fifth rule (1 of 1, 2 of 10, 20 of 100),
 *   so each of those is evaluated in full; the others are matched against and skipped;
 * - authorizer compile, 1 / 10 / 100 rules, for a user who fails every rule (the worst case: every
 *   rule in the Deny list; the request itself is refused with ERR_INSUFFICIENT_SCOPE, the authorizer's
 *   Deny branch) and for a user who meets them all (Allow on the stage, no Deny): the authorizer's
 *   options (ambiguousPaths "protect", preflightsArePublic false, validForSeconds =
 *   `answerLifetime(config)` = 301 with AUTHORIZER_CACHE_SECONDS=300, HTTP_API_RESPONSE=iam), the
 *   configuration checked by `cacheSafetyProblems` as the authorizer checks it at start-up; then
 *   what src/aws/authorizer.ts does for an authenticated caller with caching on: the identity
 *   context, `failedRules(identity, decision.at)`, `stagePolicy(stage, userId, failed, context)`;
 * - breakdown of the worst case with 100 rules: `failedRules` alone and `stagePolicy` alone, on
 *   the identity and moment of one decision made before timing.
 *
 * Rule sets are generated deterministically (`ruleSet(n)`): paths `/svc{i}/*` or `/svc{i}/items`,
 * every fifth rule on `/api/*`, `/api/orders/*` or `/api/orders/items`; methods none, `GET`, or
 * `POST, PUT, DELETE` (GET, or none, on the rules that match the request); requirements cycling
 * through roles, scopes, clientIds and maxAuthAge (3600 s and more) + verified, with
 * `anonymous: false` on every seventh rule.
 *
 * The policy size is measured on another rule set, the largest a rule can compile to: every rule a
 * subtree (`/svc{i}/*`) with no `methods`, i.e. 7 methods × 2 resources, for the failing user, on a
 * realistic stage ARN; `JSON.stringify` of the whole authorizer result (principalId,
 * policyDocument, context), in UTF-8 bytes. The mixed rule set's sizes are shown too.
 *
 * Rows run in `BENCH_ROUNDS` rounds (default 3), each row once per round in a rotated order with a
 * fresh authenticator and decider; figures are medians over the rounds, ratios are computed per
 * round (time ÷ the authentication row's time in the same round) and their median shown. Time per
 * row and round: `BENCH_TIME_MS` (default 900) after `BENCH_WARMUP_MS` (default 200) of warmup.
 * tinybench's own cost per iteration (an async no-op) is measured once, for 200 ms, and shown in
 * the notes: every row's figures include it.
 *
 * Run: `npm run bench:decision` (`tsx --expose-gc bench/decision.bench.ts`; `npm run bench` runs
 * every benchmark). Prints Markdown tables and writes them to bench/results/decision.md.
 */
import { writeFileSync } from "node:fs";
import { arch, cpus, platform, totalmem } from "node:os";
import { resolve } from "node:path";
import type { APIGatewayAuthorizerResult } from "aws-lambda";
import { Bench } from "tinybench";
import { startDevIssuer, type DevIssuer } from "../dev/issuer.ts";
import { answerLifetime, cacheSafetyProblems } from "../src/aws/cache-safety.ts";
import { LAMBDA_SETTINGS, type LambdaConfig } from "../src/aws/config.ts";
import { identityContext } from "../src/aws/create-handler.ts";
import { ruleResources, stagePolicy } from "../src/aws/policy.ts";
import {
  createAuthenticator,
  createDecider,
  MAX_RULE_PATH_LENGTH,
  parseConfig,
  silentLogger,
  type Config,
  type DeciderOptions,
  type RouteRule,
} from "../src/core/index.ts";
import { fail, fixed, integer, kib, loadAverages, median, packageVersion, targetLine } from "./common.ts";

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 900);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RULE_COUNTS = [1, 10, 100] as const;

const RESULTS = resolve(import.meta.dirname, "results/decision.md");

/**
 * Documented limits, API Gateway and Lambda.
 *
 * "Output from an API Gateway Lambda authorizer"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html):
 * "the Resource ARN, as shown in the policy statement output by the authorizer, is currently
 * limited to 512 characters", and an authorization-enabled method ARN is at most 1600 bytes (also
 * in "Amazon API Gateway quotas and important notes", limits.html).
 */
const MAX_RESOURCE_CHARS = 512;
const MAX_METHOD_ARN_BYTES = 1600;
/**
 * "Quotas for configuring and running a WebSocket API in API Gateway"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html):
 * the row "AWS Lambda authorizer result size", default quota 8 KB, can be increased: No. The REST
 * API and HTTP API quota tables (api-gateway-execution-service-limits-table.html,
 * http-api-quotas.html) have no such row: none is documented for REST and HTTP APIs, where the cap
 * is Lambda's (taken as 8 × 1024 bytes).
 */
const WEBSOCKET_AUTHORIZER_RESULT_BYTES = 8 * 1024;
/**
 * Lambda `Invoke` (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html, and "Lambda
 * quotas", gettingstarted-limits.html): "For synchronous invocations, the maximum payload size is
 * 6 MB" (taken as 6 × 1024 × 1024 bytes). API Gateway invokes an authorizer synchronously.
 */
const LAMBDA_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024;

/** A realistic stage ARN: `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}`. */
const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod";
const METHOD = "GET";
const PATH = "/api/orders/items";
/** The paths every fifth rule is on: each one matches `PATH`. */
const MATCHING_PATHS = ["/api/*", "/api/orders/*", "/api/orders/items"] as const;
/** Scopes, client and roles the meeting user has, and the failing user has not. */
const SCOPE = "bench:read";
const CLIENT = "bench-client";
const ROLE = "admin";
/** Whole seconds: every `maxAuthAge` in the rule sets is at least this (API Gateway's TTL is 300 s). */
const MIN_MAX_AUTH_AGE = 3600;
/** Subjects, UUID-shaped as Authgear's are: they are the principalId and `userId` in the context. */
const MEETS = "6f1f3c2a-9b4e-4d2a-8c71-3e5b9a0d4f10";
const FAILS = "b2d94e07-1c3a-4f58-9e26-7a0c5d8e1b93";

/** The requirement of rule `i` (cycling through every kind the route rules have). */
function requirement(i: number): Omit<RouteRule, "path" | "methods"> {
  const anonymous = i % 7 === 0 ? { anonymous: false as const } : {};
  switch (i % 4) {
    case 0:
      return { roles: [ROLE, `role-${i}`], ...anonymous };
    case 1:
      return { scopes: [SCOPE], ...anonymous };
    case 2:
      return { clientIds: [CLIENT, `client-${i}`], ...anonymous };
    default:
      return { maxAuthAge: MIN_MAX_AUTH_AGE + i, verified: true, ...anonymous };
  }
}

/** The mixed rule set: `n` distinct rules, every fifth on a path that matches `PATH`. */
function ruleSet(n: number): RouteRule[] {
  return Array.from({ length: n }, (_, i): RouteRule => {
    if (i % 5 === 0) {
      const path = MATCHING_PATHS[(i / 5) % MATCHING_PATHS.length] ?? fail("no path");
      // Either no methods or methods with GET: the rule applies to the request.
      const methods = (i / 5) % 2 === 0 ? {} : { methods: ["GET" as const, "POST" as const] };
      // Distinct rules on a shared path: a distinct requirement each (the role or client names `i`).
      return { path, ...methods, ...requirement(i) };
    }
    const path = i % 2 === 0 ? `/svc${i}/*` : `/svc${i}/items`;
    const methods = [
      {},
      { methods: ["GET" as const] },
      { methods: ["POST" as const, "PUT" as const, "DELETE" as const] },
    ];
    return { path, ...methods[i % 3], ...requirement(i) };
  });
}

/** `METHOD_OVERRIDE` as the benchmarked configurations leave it: the default. */
const MODE = "any" as const;

/** The largest rule set: `n` subtrees with no methods (7 methods × 2 resources each). */
function subtreeRuleSet(n: number): RouteRule[] {
  return Array.from({ length: n }, (_, i): RouteRule => ({ path: `/svc${i}/*`, ...requirement(i) }));
}

/** How many distinct resources the rules govern on `STAGE` (rules on a shared path share some). */
function distinctResources(rules: readonly RouteRule[]): number {
  return new Set(rules.flatMap((rule) => ruleResources(STAGE, rule, MODE))).size;
}

const matchingRules = (rules: readonly RouteRule[]): number => rules.filter((_, i) => i % 5 === 0).length;

const WORKER: DeciderOptions = {
  ambiguousPaths: "refuse",
  preflightsArePublic: true,
  overrideHeaders: "stripped",
  validForSeconds: 0,
};

function workerConfig(issuer: DevIssuer, rules: readonly RouteRule[]): Config {
  return parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: JSON.stringify(rules) });
}

/** As the authorizer reads its environment, with its start-up check of settings API Gateway's cache cannot carry. */
function authorizerConfig(issuer: DevIssuer, rules: readonly RouteRule[]): LambdaConfig {
  const config = LAMBDA_SETTINGS.parse({
    AUTHGEAR_ENDPOINT: issuer.origin,
    ROUTES: JSON.stringify(rules),
    AUTHORIZER_CACHE_SECONDS: "300",
    HTTP_API_RESPONSE: "iam",
  });
  const problems = cacheSafetyProblems(config);
  if (problems.size > 0) fail(`the authorizer would refuse this configuration: ${[...problems.values()].join("; ")}`);
  return config;
}

function authorizerOptions(config: LambdaConfig): DeciderOptions {
  return {
    ambiguousPaths: "protect",
    preflightsArePublic: false,
    overrideHeaders: "reach-origin",
    validForSeconds: answerLifetime(config),
  };
}

interface Tokens {
  readonly meets: Headers;
  readonly fails: Headers;
}

/** One row's work, built per row and round; the returned function is what is timed. */
type Operation = () => Promise<unknown>;

interface Scenario {
  readonly key: string;
  readonly name: string;
  /** Rules in the configuration, shown in the table. */
  readonly rules: number;
  /** Builds the authenticator and decider for `issuer`; the key set is loaded by the caller's untimed first call. */
  readonly create: (issuer: DevIssuer, tokens: Tokens) => Operation;
}

/** The authorizer's work for an authenticated caller with caching on (src/aws/authorizer.ts `handler`). */
function compileScenario(count: number, who: "fails" | "meets"): Scenario {
  const rules = ruleSet(count);
  const expectedDeny = who === "fails" ? distinctResources(rules) : 0;
  return {
    key: `compile-${who}-${count}`,
    name:
      who === "fails"
        ? "authorizer compile, user fails every rule (worst case)"
        : "authorizer compile, user meets every rule",
    rules: count,
    create(issuer, tokens) {
      const config = authorizerConfig(issuer, rules);
      const authenticator = createAuthenticator(config, { logger: silentLogger });
      const decider = createDecider(config, authenticator, authorizerOptions(config));
      const request = { method: METHOD, path: PATH, headers: tokens[who] };
      return async () => {
        const decision = await decider.decide(request);
        if (
          !decision.allowed &&
          (decision.identity === undefined || decision.error.code !== "ERR_INSUFFICIENT_SCOPE")
        ) {
          fail(`the authorizer would refuse with ${decision.error.code} instead of compiling a policy`);
        }
        const identity = decision.identity ?? fail("no identity");
        const result = stagePolicy(
          STAGE,
          identity.subject,
          decider.failedRules(identity, decision.at),
          MODE,
          identityContext(identity),
        );
        const denied = resourcesOf(result.policyDocument.Statement[1]).length;
        if (denied !== expectedDeny) fail(`expected ${expectedDeny} denied resources, got ${denied}`);
        return result;
      };
    },
  };
}

function decideScenario(count: number): Scenario {
  const rules = ruleSet(count);
  return {
    key: `decide-${count}`,
    name: `Worker decide, user meets every rule (${matchingRules(rules)} of ${count} rules match the path)`,
    rules: count,
    create(issuer, tokens) {
      const config = workerConfig(issuer, rules);
      const decider = createDecider(config, createAuthenticator(config, { logger: silentLogger }), WORKER);
      const request = { method: METHOD, path: PATH, headers: tokens.meets };
      return async () => {
        const decision = await decider.decide(request);
        if (!decision.allowed) fail(`decide refused: ${decision.error.code}`);
        return decision;
      };
    },
  };
}

/**
 * The two halves of the worst-case compile with the most rules, each alone on the identity and
 * moment of one decision: the rules failed, and the policy built from them.
 */
function breakdownScenarios(count: number): Scenario[] {
  const rules = ruleSet(count);
  const prepare = async (issuer: DevIssuer, tokens: Tokens) => {
    const config = authorizerConfig(issuer, rules);
    const decider = createDecider(
      config,
      createAuthenticator(config, { logger: silentLogger }),
      authorizerOptions(config),
    );
    const decision = await decider.decide({ method: METHOD, path: PATH, headers: tokens.fails });
    const identity = decision.identity ?? fail("no identity for the failing user");
    return { decider, identity, at: decision.at, context: identityContext(identity) };
  };
  return [
    {
      key: `failed-rules-${count}`,
      name: "(breakdown) `failedRules` alone, user fails every rule",
      rules: count,
      create(issuer, tokens) {
        const ready = prepare(issuer, tokens);
        return async () => {
          const { decider, identity, at } = await ready;
          if (decider.failedRules(identity, at).length !== count) fail("not every rule failed");
        };
      },
    },
    {
      key: `stage-policy-${count}`,
      name: "(breakdown) `stagePolicy` alone, every rule failed",
      rules: count,
      create(issuer, tokens) {
        const ready = prepare(issuer, tokens).then((prepared) => ({
          ...prepared,
          failed: prepared.decider.failedRules(prepared.identity, prepared.at),
        }));
        return async () => {
          const { identity, context, failed } = await ready;
          return stagePolicy(STAGE, identity.subject, failed, MODE, context);
        };
      },
    },
  ];
}

const AUTHENTICATION = "authentication";

const SCENARIOS: readonly Scenario[] = [
  {
    key: AUTHENTICATION,
    name: "authentication alone (`authenticate(headers)`)",
    rules: 0,
    create(issuer, tokens) {
      const authenticator = createAuthenticator(workerConfig(issuer, []), { logger: silentLogger });
      return async () => {
        const result = await authenticator.authenticate(tokens.meets);
        if (!result.ok) fail(`authentication refused: ${result.error.code}`);
        return result;
      };
    },
  },
  decideScenario(0),
  ...RULE_COUNTS.map(decideScenario),
  ...RULE_COUNTS.map((count) => compileScenario(count, "fails")),
  ...RULE_COUNTS.map((count) => compileScenario(count, "meets")),
  ...breakdownScenarios(Math.max(...RULE_COUNTS)),
];

interface Sample {
  readonly opsPerSecond: number;
  /** Microseconds. */
  readonly mean: number;
  readonly p99: number;
}

interface Row extends Sample {
  readonly scenario: Scenario;
  readonly rounds: readonly Sample[];
}

const gc = typeof globalThis.gc === "function" ? globalThis.gc : undefined;

/** How long the harness's floor is measured: once, briefly (millions of samples take seconds to summarize). */
const FLOOR_TIME_MS = Math.min(TIME_MS, 200);

/** tinybench's own cost per iteration: an async no-op, as the rows' operations are async. */
async function measureFloor(): Promise<Sample> {
  const bench = new Bench({ time: FLOOR_TIME_MS, warmup: true, warmupTime: Math.min(WARMUP_MS, 50), throws: true });
  bench.add("floor", () => Promise.resolve());
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== "completed") fail("the floor did not complete");
  return { opsPerSecond: result.throughput.mean, mean: result.latency.mean * 1000, p99: result.latency.p99 * 1000 };
}

async function measure(scenario: Scenario, issuer: DevIssuer, tokens: Tokens): Promise<Sample> {
  gc?.();
  const operation = scenario.create(issuer, tokens);
  // Untimed: loads the key set (discovery + JWKS over loopback) and puts the token in the cache.
  await operation();
  const hits = { ...issuer.hits };
  const bench = new Bench({ time: TIME_MS, warmup: true, warmupTime: WARMUP_MS, throws: true });
  bench.add(scenario.name, operation);
  await bench.run();
  if (issuer.hits.discovery !== hits.discovery || issuer.hits.jwks !== hits.jwks)
    fail(`${scenario.name} fetched from the issuer inside the timed loop`);
  const result = bench.tasks[0]?.result;
  if (result?.state !== "completed") fail(`${scenario.name} did not complete: ${result?.state ?? "no task"}`);
  return { opsPerSecond: result.throughput.mean, mean: result.latency.mean * 1000, p99: result.latency.p99 * 1000 };
}

function summarize(scenario: Scenario, rounds: readonly Sample[]): Row {
  const of = (field: keyof Sample): number => median(rounds.map((sample) => sample[field]));
  return { scenario, rounds, opsPerSecond: of("opsPerSecond"), mean: of("mean"), p99: of("p99") };
}

/** Per round, this row's time per operation over the authentication row's; the median. */
function costRatio(row: Row, authentication: Row): number {
  return median(row.rounds.map((sample, index) => sample.mean / (authentication.rounds[index]?.mean ?? Number.NaN)));
}

interface PolicySize {
  readonly label: string;
  readonly rules: number;
  readonly denied: number;
  readonly bytes: number;
  readonly contextFields: number;
  readonly longestResource: number;
}

/** The Resource entries of a statement, as a list. */
function resourcesOf(
  statement: APIGatewayAuthorizerResult["policyDocument"]["Statement"][number] | undefined,
): string[] {
  if (statement === undefined || !("Resource" in statement)) return [];
  const { Resource: resource } = statement;
  return resource === undefined ? [] : [resource].flat();
}

/** The authorizer's result for the failing user, compiled once per rule set, and its size. */
async function policySize(
  issuer: DevIssuer,
  tokens: Tokens,
  label: string,
  rules: readonly RouteRule[],
): Promise<PolicySize> {
  const config = authorizerConfig(issuer, rules);
  const decider = createDecider(
    config,
    createAuthenticator(config, { logger: silentLogger }),
    authorizerOptions(config),
  );
  const decision = await decider.decide({ method: METHOD, path: PATH, headers: tokens.fails });
  const identity = decision.identity ?? fail("no identity for the failing user");
  const context = identityContext(identity);
  const result: APIGatewayAuthorizerResult = stagePolicy(
    STAGE,
    identity.subject,
    decider.failedRules(identity, decision.at),
    MODE,
    context,
  );
  const resources = result.policyDocument.Statement.flatMap(resourcesOf);
  const denied = resources.length - 1;
  if (denied !== distinctResources(rules)) fail(`${label}: not every rule is denied`);
  return {
    label,
    rules: rules.length,
    denied,
    bytes: Buffer.byteLength(JSON.stringify(result)),
    contextFields: Object.keys(context).length,
    longestResource: Math.max(...resources.map((resource) => resource.length)),
  };
}

/**
 * The longest Resource any rule can compile to on `STAGE`: a subtree whose path is `MAX_RULE_PATH_LENGTH` characters,
 * under OPTIONS.
 */
function longestPossibleResource(): number {
  const path = `/${"a".repeat(MAX_RULE_PATH_LENGTH - 3)}/*`;
  if (path.length !== MAX_RULE_PATH_LENGTH) fail("bad longest path");
  return Math.max(...ruleResources(STAGE, { path }, MODE).map((resource) => resource.length));
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

interface RunInfo {
  readonly started: Date;
  readonly totalSeconds: number;
  readonly load: { readonly before: string; readonly after: string };
  /** The authorizer decider's `validForSeconds`. */
  readonly lifetime: number;
  readonly floor: Sample;
}

function report(
  rows: readonly Row[],
  sizes: readonly PolicySize[],
  { started, totalSeconds, load, lifetime, floor }: RunInfo,
): string {
  const authentication = rows.find((row) => row.scenario.key === AUTHENTICATION) ?? fail("no authentication row");
  const cpu = cpus();
  const byKey = (key: string): Row => rows.find((row) => row.scenario.key === key) ?? fail(`no ${key} row`);
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const longest = Math.max(...sizes.map((size) => size.longestResource));
  const possible = longestPossibleResource();
  const worst100 = byKey("compile-fails-100");
  const decide100 = byKey("decide-100");
  const failed100 = byKey("failed-rules-100");
  const policy100 = byKey("stage-policy-100");
  const lines = [
    "# Route rules: decision and policy compilation benchmark",
    "",
    `- Machine: ${cpu[0]?.model ?? "unknown CPU"} (${cpu.length} logical CPUs), ${mib(totalmem())} MiB RAM, ${platform()} ${arch()}`,
    `- Node ${process.version}; ${["jose", "valibot", "tinybench"].map((name) => `${name} ${packageVersion(name)}`).join(", ")}`,
    `- Date: ${started.toISOString()}; whole run ${fixed(totalSeconds)} s; load average (1, 5, 15 min) ${load.before} before, ${load.after} after`,
    "- Authentication: a real authenticator (`createAuthenticator(parseConfig(...))`, silent logger) against the dev issuer on 127.0.0.1, its key set fetched over loopback by an untimed first call (a fetch inside a timed loop fails the run). **Every row sends the same valid RS256 token on every iteration: the verified-token cache hit, the hot path.** A first-seen token is a full RS256 verification, ~200× the cost of this row (bench/results/lambda.md, the new-token rows), which the rules would then add to.",
    `- Request: \`${METHOD} ${PATH}\`, one \`Headers\` object with \`Authorization: Bearer <token>\`. Rule sets generated deterministically (see the header of bench/decision.bench.ts): every fifth rule is on a path that matches the request (\`${MATCHING_PATHS.join("`, `")}\`, no methods or GET+POST), the others on \`/svc{i}/*\` or \`/svc{i}/items\` with no methods, GET, or POST+PUT+DELETE; requirements cycle through roles, scopes, clientIds and maxAuthAge (≥ ${MIN_MAX_AUTH_AGE} s) + verified, with anonymous: false on every seventh rule`,
    `- Worker rows: \`decide\` with ambiguousPaths "refuse", preflightsArePublic true, validForSeconds 0, a user who meets every rule. Authorizer rows: AUTHORIZER_CACHE_SECONDS=300 (validForSeconds = \`answerLifetime\` = ${lifetime}), HTTP_API_RESPONSE=iam, ambiguousPaths "protect", preflightsArePublic false; the step src/aws/authorizer.ts runs for an authenticated caller with caching on: decide, the identity context, \`failedRules(identity, at)\`, \`stagePolicy\` on \`${STAGE}\``,
    `- tinybench: ${ROUNDS} rounds × ${TIME_MS} ms per row after ${WARMUP_MS} ms warmup, rows rotated each round, a fresh authenticator and decider per row and round; one operation at a time. Figures are medians over the rounds; "time ÷ authentication" is, per round, the row's mean time over the authentication row's mean time in the same round, median over the rounds. Every figure includes tinybench's own cost per iteration: an async no-op, measured once for ${FLOOR_TIME_MS} ms, runs at ${integer(floor.opsPerSecond)} ops/s, ${fixed(floor.mean, 2)} µs mean (${fixed((floor.mean / authentication.mean) * 100, 0)}% of the authentication row's mean)`,
    "",
    "## Time",
    "",
    "| operation | rules | ops/s | ops/s per round | mean (µs) | p99 (µs) | time ÷ authentication | mean − authentication (µs) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((row) =>
      [
        "",
        ` ${row.scenario.name} `,
        ` ${row.scenario.rules} `,
        ` ${integer(row.opsPerSecond)} `,
        ` ${row.rounds.map((sample) => integer(sample.opsPerSecond)).join(" / ")} `,
        ` ${fixed(row.mean, 2)} `,
        ` ${fixed(row.p99, 2)} `,
        ` ${fixed(costRatio(row, authentication), 2)}× `,
        ` ${row === authentication ? "–" : `${row.mean >= authentication.mean ? "+" : ""}${fixed(row.mean - authentication.mean, 2)}`} `,
        "",
      ].join("|"),
    ),
    "",
    "## Policy size",
    "",
    `The authorizer's whole result (\`JSON.stringify\`, UTF-8 bytes: principalId, policyDocument, context) for a user who fails every rule, on \`${STAGE}\`. "Subtrees, no methods" is the largest a rule set of that many rules can compile to: each rule \`/svc{i}/*\` with no \`methods\` denies 7 methods × 2 resources.`,
    "",
    "| rule set | rules | Deny resources | context fields | result size | longest Resource (chars) |",
    "|---|---:|---:|---:|---:|---:|",
    ...sizes.map(
      (size) =>
        `| ${size.label} | ${size.rules} | ${integer(size.denied)} | ${size.contextFields} | ${integer(size.bytes)} bytes (${kib(size.bytes)}) | ${size.longestResource} |`,
    ),
    "",
    "Documented limits:",
    "",
    `- a Resource ARN in the authorizer's policy: ${MAX_RESOURCE_CHARS} characters ("Output from an API Gateway Lambda authorizer"); an authorization-enabled method ARN: ${integer(MAX_METHOD_ARN_BYTES)} bytes (same page, and "API Gateway quotas and important notes")`,
    `- the whole authorizer result: ${integer(WEBSOCKET_AUTHORIZER_RESULT_BYTES)} bytes (8 KB) for WebSocket APIs ("Quotas for configuring and running a WebSocket API", "AWS Lambda authorizer result size", not adjustable); none documented for REST or HTTP APIs — their quota tables list none, so the cap there is Lambda's synchronous response payload, ${integer(LAMBDA_SYNC_RESPONSE_BYTES)} bytes (6 MB). Checked against the AWS documentation pages named above (quota tables as stored, not live); that REST/HTTP APIs accept results above 8 KB is, beyond the absence of a documented limit, unverified here`,
    "",
    "## Limits",
    "",
    targetLine(
      longest <= MAX_RESOURCE_CHARS,
      `longest Resource compiled here ≤ ${MAX_RESOURCE_CHARS} characters: ${longest}; the longest any rule can compile to on this stage ARN (a ${MAX_RULE_PATH_LENGTH}-character subtree path under OPTIONS): ${possible}`,
    ),
    targetLine(
      largest.bytes <= LAMBDA_SYNC_RESPONSE_BYTES,
      `largest result (${largest.label}, ${largest.rules} rules) within Lambda's 6 MB synchronous response: ${integer(largest.bytes)} bytes, ${fixed((largest.bytes / LAMBDA_SYNC_RESPONSE_BYTES) * 100, 2)}% of it`,
    ),
    targetLine(
      largest.bytes <= WEBSOCKET_AUTHORIZER_RESULT_BYTES,
      `largest result within the 8 KB a WebSocket API accepts: ${integer(largest.bytes)} bytes, ${fixed(largest.bytes / WEBSOCKET_AUTHORIZER_RESULT_BYTES, 1)}× the limit; ` +
        `rules that fit in 8 KB: ${
          sizes
            .filter((size) => size.label === largest.label && size.bytes <= WEBSOCKET_AUTHORIZER_RESULT_BYTES)
            .map((size) => size.rules)
            .join(", ") || "none measured"
        } (matters only where the authorizer guards a WebSocket API's $connect; REST and HTTP APIs document no such limit)`,
    ),
    "",
    `With 100 rules, the authorizer's worst-case compile costs ${fixed(costRatio(worst100, authentication), 1)}× authentication alone (+${fixed(worst100.mean - authentication.mean, 1)} µs), and the Worker's decide ${fixed(costRatio(decide100, authentication), 1)}× (+${fixed(decide100.mean - authentication.mean, 2)} µs). ` +
      `Of the worst-case compile's ${fixed(worst100.mean, 1)} µs, \`failedRules\` alone takes ${fixed(failed100.mean, 1)} µs (${fixed((failed100.mean / worst100.mean) * 100, 0)}%) and \`stagePolicy\` alone ${fixed(policy100.mean, 1)} µs (${fixed((policy100.mean / worst100.mean) * 100, 0)}%) (medians of separate rows, so the shares need not add up to 100%).`,
    "",
  ];
  return lines.join("\n");
}

async function mintHeaders(issuer: DevIssuer, sub: string, claims: Record<string, unknown>): Promise<Headers> {
  const token = await issuer.mintAccessToken({ sub, claims });
  return new Headers({ authorization: `Bearer ${token}` });
}

async function main(): Promise<void> {
  const started = new Date();
  const clock = performance.now();
  const loadBefore = loadAverages();
  const issuer = await startDevIssuer();
  try {
    const now = Math.floor(Date.now() / 1000);
    issuer.upsertUser(MEETS, { roles: [ROLE, "editor"], verified: true, anonymous: false });
    // Fails every kind of requirement: roles, scopes, client, verification, anonymity, login age.
    issuer.upsertUser(FAILS, { roles: ["viewer"], verified: false, anonymous: true });
    const tokens: Tokens = {
      meets: await mintHeaders(issuer, MEETS, {
        scope: `openid offline_access ${SCOPE}`,
        client_id: CLIENT,
        auth_time: now,
      }),
      fails: await mintHeaders(issuer, FAILS, {
        scope: "openid offline_access",
        client_id: "other-client",
        auth_time: now - 86_400,
      }),
    };
    const floor = await measureFloor();
    const samples = new Map<Scenario, Sample[]>(SCENARIOS.map((scenario) => [scenario, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = [...SCENARIOS.slice(round % SCENARIOS.length), ...SCENARIOS.slice(0, round % SCENARIOS.length)];
      for (const scenario of order) {
        console.error(`bench: round ${round + 1}/${ROUNDS}: ${scenario.name}, ${scenario.rules} rules`);
        samples.get(scenario)?.push(await measure(scenario, issuer, tokens));
      }
    }
    const rows = SCENARIOS.map((scenario) => summarize(scenario, samples.get(scenario) ?? []));
    const sizes: PolicySize[] = [];
    for (const count of RULE_COUNTS)
      sizes.push(await policySize(issuer, tokens, "subtrees, no methods (largest)", subtreeRuleSet(count)));
    for (const count of RULE_COUNTS)
      sizes.push(await policySize(issuer, tokens, "the timed rule set (mixed)", ruleSet(count)));
    const markdown = report(rows, sizes, {
      started,
      totalSeconds: (performance.now() - clock) / 1000,
      load: { before: loadBefore, after: loadAverages() },
      lifetime: answerLifetime(authorizerConfig(issuer, [])),
      floor,
    });
    console.log(markdown);
    writeFileSync(RESULTS, markdown);
    console.error(`bench: written to ${RESULTS}`);
  } finally {
    await issuer.close();
  }
}

await main();
