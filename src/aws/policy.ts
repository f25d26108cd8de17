/**
 * IAM policies for API Gateway Lambda authorizers, compiled here and nowhere else.
 *
 * API Gateway caches an authorizer's result per identity source (the `Authorization` header, for
 * instance) for `resultTtlInSeconds`, and applies the cached policy to every later request with the
 * same identity source — to whatever method and path it calls — without calling the authorizer
 * again. A policy is therefore an answer for every route of the stage and every moment of the TTL:
 * Allow on the whole stage (`arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/*`), plus an
 * explicit Deny (which IAM puts above any Allow) on the routes of each `ROUTES` rule the caller
 * fails at some moment of the TTL.
 *
 * IAM matches resources with `*` (any run of characters) and `?` (one character), case-sensitively.
 * Whether a `*` that is not the last character may run across a `/` is not something a policy
 * should depend on: `{stage}/*\/admin` would also deny `GET/users/admin` where `*` spans segments.
 * So methods are always spelled out, and the only `*` in a resource is the last character, where
 * every reading agrees: `{stage}/*`, a rule subtree's `{stage}/{METHOD}/{base}/*` and a suffix
 * twin's `{stage}/{METHOD}/{base}.*`. A rule path never holds `*` or `?` of its own (`isPathPattern`).
 */
import type { APIGatewayAuthorizerResult, APIGatewayAuthorizerResultContext, Statement } from "aws-lambda";
import {
  METHODS,
  methodsCovered,
  wireMethodsAdmitted,
  wireMethodsGoverned,
  type MethodOverrideMode,
  type RouteRule,
} from "../core/index.ts";

export interface MethodArn {
  /** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}` */
  readonly stage: string;
  readonly method: string;
  /** The request path, with its leading `/`. */
  readonly path: string;
}

/** Splits `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`; `undefined` for any other shape. */
export function parseMethodArn(arn: string): MethodArn | undefined {
  const match = /^(arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[^:/]+:[^:/]+\/[^/]+)\/([^/]+)\/(.*)$/.exec(arn);
  if (match === null) return undefined;
  const [, stage = "", method = "", path = ""] = match;
  return { stage, method, path: `/${path}` };
}

/**
 * The ARNs a rule denies within a stage: each method it covers (all of them when it names none;
 * under `METHOD_OVERRIDE=any`, every method but GET too, as any of them could be served as one it
 * covers: core/overrides.ts),
 * on the spellings of its path IAM can name — as written and in lower case, each with its trailing
 * slash and its `.suffix` twin, as the rule matches them: `/a` is `{M}/a`, `{M}/a/`, `{M}/a.*`;
 * the subtree `/a/*` is `{M}/a`, `{M}/a/*`, `{M}/a.*`; `/*` is `{M}/*`. Other spellings the rule
 * matches (other case mixes, percent-encodings) cannot be listed; the authorizer denies such a
 * request's own ARN when it is the one decided.
 */
export function ruleResources(stage: string, rule: RouteRule, mode: MethodOverrideMode): string[] {
  return routesOf(rule, mode).map((route) => `${stage}/${route}`);
}

/**
 * `{METHOD}/{path}` for each spelling a rule covers: the ARN's part after the stage. `governed`:
 * the methods the rule restricts (a Deny); `admitted`: those it admits a machine client to (an
 * Allow, core/overrides.ts `wireMethodsAdmitted`).
 */
function routesOf(rule: RouteRule, mode: MethodOverrideMode, methods: "governed" | "admitted" = "governed"): string[] {
  const { path } = rule;
  const spellings = path === "/*" ? ["*"] : [...new Set([path, path.toLowerCase()])].flatMap(forms);
  const routes: string[] = [];
  const wire =
    methods === "governed"
      ? wireMethodsGoverned(methodsCovered(rule.methods), mode)
      : wireMethodsAdmitted(rule.methods && methodsCovered(rule.methods), mode);
  for (const method of wire) {
    for (const spelling of spellings) routes.push(`${method}/${spelling}`);
  }
  return routes;
}

/** The IAM resource paths (no leading `/`) of one spelling of a rule path. */
function forms(path: string): string[] {
  if (path === "/") return [""];
  const subtree = path.endsWith("/*");
  const base = (subtree ? path.slice(1, -2) : path.slice(1)).replace(/\/$/, "");
  return [base, subtree ? `${base}/*` : `${base}/`, `${base}.*`];
}

/**
 * What a policy allows before its Denies: a user, the whole stage; a machine client, which reaches
 * only what a rule admits it to, the routes of the rules that admit it
 * (`Decider.admittingRules`), the public paths (open to anyone) and `alsoAllow` (its request's own
 * ARN, once decided).
 */
export type AllowScope =
  | { readonly allowStage: true }
  | {
      readonly allowStage: false;
      readonly admitting: readonly RouteRule[];
      readonly publicPaths: readonly string[];
      readonly alsoAllow: readonly string[];
    };

/**
 * The policy of an authenticated caller for every route of `stage`: Allow as `scope` says, Deny on
 * every route of the rules it fails (`Decider.failedRules`, which already looks ahead over the TTL),
 * plus `alsoDeny` (the request's own ARN, when a rule refused it under a spelling IAM cannot name).
 * IAM puts a Deny above any Allow, so a client is allowed where some rule admits it and no rule it
 * fails applies: the decision's own rule. A route several rules cover is listed once. An ARN of
 * `alsoDeny` holding `*` or `?` (IAM wildcards: it would deny other routes too) is left out where
 * no Allow names it, which denies it already: a client refused on `/*` is not denied every route.
 */
export function stagePolicy(
  stage: string,
  principalId: string,
  failedRules: readonly RouteRule[],
  mode: MethodOverrideMode,
  context: APIGatewayAuthorizerResultContext,
  alsoDeny: readonly string[] = [],
  scope: AllowScope = { allowStage: true },
): APIGatewayAuthorizerResult {
  const admitted = (rule: RouteRule) => routesOf(rule, mode, "admitted");
  const allow = scope.allowStage
    ? [`${stage}/*`]
    : resourcesOf(stage, scope.admitting, admitted, [...publicResources(stage, scope.publicPaths), ...scope.alsoAllow]);
  const needed = alsoDeny.filter((arn) => !/[*?]/.test(arn) || allow.some((resource) => names(resource, arn)));
  const deny = resourcesOf(stage, failedRules, (rule) => routesOf(rule, mode), needed);
  return buildPolicy({ principalId, allow, deny, context });
}

/** Whether a resource of these policies (no wildcard, or one final `*`) matches `arn`. */
function names(resource: string, arn: string): boolean {
  return resource.endsWith("*") ? arn.startsWith(resource.slice(0, -1)) : resource === arn;
}

/**
 * The ARNs of `PUBLIC_PATHS` patterns, for every method: public paths match narrowly (exactly, case-
 * sensitively), as IAM does, so `/a` is `{M}/a` and `/a/*` is `{M}/a` and `{M}/a/*`. (With the
 * cache on no rule overlaps a public path: cache-safety.ts.)
 */
function publicResources(stage: string, patterns: readonly string[]): string[] {
  const paths = patterns.flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [pattern.slice(1)];
    const root = pattern.slice(1, -2);
    return root === "" ? ["*"] : [root, `${root}/*`];
  });
  return METHODS.flatMap((method) => paths.map((path) => `${stage}/${method}/${path}`));
}

/** The resources of `rules` within `stage`, each once, then `extra`'s ARNs not among them. */
function resourcesOf(
  stage: string,
  rules: readonly RouteRule[],
  routesOfRule: (rule: RouteRule) => string[],
  extra: readonly string[],
): string[] {
  const routes = new Set<string>();
  for (const rule of rules) for (const route of routesOfRule(rule)) routes.add(route);
  const resources: string[] = [];
  for (const route of routes) resources.push(`${stage}/${route}`);
  for (const arn of extra) if (!resources.includes(arn)) resources.push(arn);
  return resources;
}

/**
 * The Allow of a request on a public path without credentials: exactly its ARN, so that no cached
 * anonymous answer opens another route. IAM reads `*` and `?` in a resource as wildcards, with no
 * escape API Gateway is documented to honour, so an ARN holding one (a request to `/pub/*`) cannot
 * be named exactly: with the answer cached (`lifetime` > 0) such a request gets no policy
 * (`undefined`: the authorizer refuses it) rather than one that matches paths it never decided on.
 */
export function anonymousPolicy(arn: string, lifetime: number): APIGatewayAuthorizerResult | undefined {
  if (lifetime > 0 && /[*?]/.test(arn)) return undefined;
  return buildPolicy({ principalId: "anonymous", allow: [arn], context: {} });
}

export interface PolicyOptions {
  readonly principalId: string;
  readonly allow: readonly string[];
  readonly deny?: readonly string[];
  readonly context?: APIGatewayAuthorizerResultContext;
}

export function buildPolicy(options: PolicyOptions): APIGatewayAuthorizerResult {
  const statements: Statement[] = [];
  if (options.allow.length > 0)
    statements.push({ Action: "execute-api:Invoke", Effect: "Allow", Resource: [...options.allow] });
  if (options.deny !== undefined && options.deny.length > 0) {
    statements.push({ Action: "execute-api:Invoke", Effect: "Deny", Resource: [...options.deny] });
  }
  return {
    principalId: options.principalId,
    policyDocument: { Version: "2012-10-17", Statement: statements },
    ...(options.context && { context: options.context }),
  };
}
