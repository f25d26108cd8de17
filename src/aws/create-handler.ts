/**
 * `createHandler`: the API Gateway Lambda authorizer for REST TOKEN, REST REQUEST, HTTP API
 * payload 2.0 and WebSocket API `$connect` events, built once per container from its settings (the
 * Worker's names) and injected side effects; src/aws/authorizer.ts is `createHandler()` over the
 * Lambda environment.
 *
 * API Gateway's contract, which the answers below follow:
 * - `throw new Error("Unauthorized")` is the only way to get a 401 (no or invalid credentials);
 * - an Allow policy (or `isAuthorized: true`) lets the request through, with `context` handed to
 *   the backend as `requestContext.authorizer` — flat string, number or boolean values only;
 * - a Deny policy (or `isAuthorized: false`) is a 403;
 * - any other error is an authorizer failure (500, which serverless.yml's gateway responses turn
 *   into 503 on the REST API; a WebSocket API has no gateway responses): used for every 5xx code
 *   (the key set or resolver unreachable, an invalid configuration, an unforeseen failure, an
 *   unknown event), never an Allow.
 */
import type { APIGatewayAuthorizerResult, APIGatewaySimpleAuthorizerWithContextResult } from "aws-lambda";
import {
  createAssertionKeys,
  createAssertionSigner,
  createGate,
  describeError,
  fromEnv,
  overlaySettings,
  identityHeaders,
  jsonLogger,
  type AssertionSigner,
  logOmittedClaimHeaders,
  type ClaimHeaders,
  type AuthenticatorDeps,
  type AuthErrorCode,
  type AuthorizeCallback,
  type DecisionRequest,
  type HeaderList,
  type Identity,
  type Logger,
  type Meter,
  type OnInvalidConfig,
  CountingMeter,
  withFields,
} from "../core/index.ts";
import { emfLine } from "./emf.ts";
import { answerLifetime, cacheSafetyProblems } from "./cache-safety.ts";
import { prefetchKeys } from "./prefetch-keys.ts";
import { LAMBDA_FOREIGN_SETTINGS, LAMBDA_SETTINGS, type LambdaConfig, type LambdaSettings } from "./config.ts";
import { readEvent, UnsupportedEvent, type RequestView } from "./events.ts";
import { nodeDigest } from "./node-digest.ts";
import { nodeFetcher } from "./node-fetcher.ts";
import { anonymousPolicy, buildPolicy, parseMethodArn, stagePolicy } from "./policy.ts";

/**
 * With `REPORT_ONLY=true`: the code a let-through request would have been refused with
 * (`x-authgear-edge-report` in the Worker).
 */
export const REPORT_CONTEXT_KEY = "authgearEdgeReport";

/** The signed identity assertion's key in the context (docs/assertion.md). */
export const ASSERTION_CONTEXT_KEY = "edgeAssertion";

/**
 * What the backend finds in `requestContext.authorizer`: the x-authgear-* headers, camel-cased, and
 * `edgeAssertion`.
 */
export type AuthorizerContext = Readonly<Record<string, string>>;

export type AuthorizerResult =
  APIGatewayAuthorizerResult | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

/** `x-authgear-user-can-reauthenticate` -> `userCanReauthenticate`. */
function contextKey(header: string): string {
  return header.slice("x-authgear-".length).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

const contextKeys = new Map<string, string>();
/** Built once per identity object (a repeated token's identity comes from the verified-token cache). */
const contexts = new WeakMap<Identity, AuthorizerContext>();

export function identityContext(identity: Identity): AuthorizerContext {
  let context = contexts.get(identity);
  if (context === undefined) {
    const entries: Array<[string, string]> = [];
    for (const [name, value] of identityHeaders(identity)) {
      let key = contextKeys.get(name);
      if (key === undefined) {
        key = contextKey(name);
        contextKeys.set(name, key);
      }
      entries.push([key, value]);
    }
    context = Object.freeze(Object.fromEntries(entries));
    contexts.set(identity, context);
  }
  return context;
}

/**
 * `identityContext` and the identity's `CLAIM_HEADERS` values under their `claim*` keys (which no
 * identity key starts with), built once per identity object and `claimHeaders`.
 */
function createContextOf(claimHeaders: ClaimHeaders): (identity: Identity) => AuthorizerContext {
  if (claimHeaders.entries.length === 0) return identityContext;
  const withClaims = new WeakMap<Identity, AuthorizerContext>();
  return (identity) => {
    let context = withClaims.get(identity);
    if (context === undefined) {
      context = Object.freeze({ ...identityContext(identity), ...claimHeaders.valuesOf(identity).context });
      withClaims.set(identity, context);
    }
    return context;
  };
}

/**
 * What is decided: the method and path of the ARN (or the event's), the event's headers and, for a
 * WebSocket `$connect`, its query (where `WEBSOCKET_QUERY_TOKEN` lets a token travel).
 */
class EventRequest implements DecisionRequest {
  readonly headers: HeaderList;
  readonly hasBody: boolean;
  readonly webSocket?: { readonly query: { getAll(name: string): string[] } };

  constructor(
    readonly method: string,
    readonly path: string | undefined,
    view: RequestView,
  ) {
    this.headers = view.headers;
    if (view.kind === "websocket") {
      const { query } = view;
      this.webSocket = { query: { getAll: (name) => [...(query.get(name) ?? [])] } };
    }
    // HTTP/1.1 (RFC 9112 §6.3): a request with neither `Content-Length` nor `Transfer-Encoding` has no body.
    const length = view.headers.get("content-length");
    this.hasBody = view.headers.get("transfer-encoding") !== null || (length !== null && length.trim() !== "0");
  }
}

/** What API Gateway is told by a throw: its message ("Unauthorized" is the 401), and the code behind it. */
class Refusal extends Error {
  constructor(
    message: "Unauthorized" | "Service Unavailable",
    readonly code: AuthErrorCode,
  ) {
    super(message);
  }
}

function refuse(code: AuthErrorCode, view: RequestView | undefined, log: Logger, userId?: string): never {
  log.log("request_refused", { code, kind: view?.kind, path: view?.path, user_id: userId });
  throw new Refusal("Unauthorized", code);
}

function defaultWriteMetrics(line: string): void {
  // eslint-disable-next-line no-console
  console.log(line);
}

function fail(code: AuthErrorCode, view: RequestView | undefined, log: Logger): never {
  log.log("authorizer_failed", { code, kind: view?.kind, path: view?.path });
  throw new Refusal("Service Unavailable", code);
}

/** With `ASSERTION_KEY`: the signer, whose reused assertions outlive API Gateway's reuse of the context. */
function assertionSigner(
  config: LambdaConfig,
  lifetime: number,
  clock: AuthenticatorDeps["clock"],
): AssertionSigner | undefined {
  const { assertion } = config;
  if (assertion === undefined) return undefined;
  // The authorizer publishes no key set (docs/assertion.md): only its signing key matters here.
  const keys = createAssertionKeys(assertion.key, undefined);
  const options = { keys, ...assertion, minRemainingSeconds: lifetime };
  return createAssertionSigner(clock === undefined ? options : { ...options, clock });
}

/** Per identity: the context with the assertion last signed for it, handed out again while it is reused. */
const assertedContexts = new WeakMap<Identity, AuthorizerContext>();

/** `context` with the signed assertion; a failure to sign fails the request (503), never an Allow without it. */
async function withAssertion(
  context: AuthorizerContext,
  signer: AssertionSigner,
  identity: Identity,
  view: RequestView,
  log: Logger,
): Promise<AuthorizerContext> {
  const reused = assertedContexts.get(identity);
  const current = signer.reusable(identity);
  if (reused !== undefined && current !== undefined && reused[ASSERTION_CONTEXT_KEY] === current) return reused;
  try {
    const asserted = Object.freeze({ ...context, [ASSERTION_CONTEXT_KEY]: await signer.assertion(identity) });
    assertedContexts.set(identity, asserted);
    return asserted;
  } catch (error) {
    log.log("assertion_failed", { reason: error instanceof Error ? `${error.name}: ${error.message}` : "unknown" });
    return fail("ERR_INTERNAL", view, log);
  }
}

/** An `authorize` callback decides one request: API Gateway's cache would reuse its answer on every route. */
function callbackProblems(config: LambdaConfig, authorize: AuthorizeCallback | undefined): ReadonlyMap<string, string> {
  if (authorize === undefined || config.authorizerCacheSeconds === 0) return new Map();
  const message =
    "an authorize callback decides one request, and API Gateway would reuse its answer for every route " +
    `of the token for ${config.authorizerCacheSeconds} s: set AUTHORIZER_CACHE_SECONDS=0 (and resultTtlInSeconds: 0)`;
  return new Map([["AUTHORIZER_CACHE_SECONDS", message]]);
}

/**
 * An allowed machine client's own ARN, allowed beside its rules' resources: a spelling of a ruled
 * path (another case mix, an escape) that no resource names. Left out when it holds `*` or `?`,
 * which IAM reads as wildcards (policy.ts, `anonymousPolicy`).
 */
function allowedArn(decision: { readonly allowed: boolean }, view: RequestView): { alsoAllow: readonly string[] } {
  return { alsoAllow: decision.allowed && !/[*?]/.test(view.arn) ? [view.arn] : [] };
}

export interface HandlerOptions extends Pick<
  AuthenticatorDeps,
  "clock" | "logger" | "keySetTiming" | "tokenCache" | "resolverCacheEntries"
> {
  /**
   * The environment the settings are read from, by the names of docs/configuration.md
   * (checked at start-up only); default `process.env`.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Settings given in code, typed; a variable of `env` of the same name wins over one unless blank. */
  readonly settings?: LambdaSettings;
  /**
   * `throw`: a bad configuration makes `createHandler` throw its `ConfigError` (naming every bad
   * key); default `respond`: every event then fails (503 through the gateway responses).
   */
  readonly onInvalidConfig?: OnInvalidConfig;
  /**
   * How keys and verdicts are fetched; default `node:http`/`node:https` (Node's `fetch` costs ~45 ms of a
   * cold start).
   */
  readonly fetcher?: AuthenticatorDeps["fetcher"];
  /** Where `METRICS=emf` writes its line per invocation; default the console (CloudWatch Logs). */
  readonly writeMetrics?: (line: string) => void;
  /**
   * The application's own check after the route rules (core `AuthorizeCallback`); default none.
   * Its answer is for one request, which no policy can carry to other routes: with it,
   * `AUTHORIZER_CACHE_SECONDS` must be 0 (refused at start-up otherwise).
   */
  readonly authorize?: AuthorizeCallback;
}

/** `lambda`: the Lambda context, whose request id names every log line of the invocation. */
export type AuthorizerHandler = (
  event: unknown,
  lambda?: { readonly awsRequestId?: string },
) => Promise<AuthorizerResult>;

/**
 * How long the init phase waits for the key sets, in milliseconds. Init is limited to 10 s (past it
 * Lambda starts over at the first event), and a key-set fetch may take up to two 5 s deadlines
 * (discovery, then a JWKS at another URI than predicted). Past the budget the fetch goes on and the
 * first event joins it. Shorter than one fetch deadline: when the issuer does not answer, the first
 * event gets the outcome of the fetch under way when a fetch of its own would have ended, instead of
 * starting a second 5 s wait after init.
 */
export const INIT_PREFETCH_BUDGET_MS = 3000;

/** The handler `createHandler` builds, which can also load its key sets before the first event. */
export type Authorizer = AuthorizerHandler & {
  /**
   * Starts fetching each issuer's key set (jwt and hybrid modes; nothing in resolver mode or with
   * a bad configuration) and waits for it at most `budgetMs` milliseconds; past that the fetch goes
   * on, and the first event joins it. Never rejects; whether every key set is loaded. A failure is
   * logged (`keyset_refresh_failed`) and does not start the 5 s back-off: the first event tries again.
   */
  readonly prefetchKeys: (budgetMs: number) => Promise<boolean>;
};

/**
 * The authorizer for one container: the configuration is parsed, and the key set and the
 * verified-token cache built, once, here; the returned handler answers each event. A bad
 * configuration is not thrown (unless `onInvalidConfig: "throw"`): every event then fails (503
 * through the gateway responses) and the log names every bad key once.
 */
export function createHandler(options: HandlerOptions = {}): Authorizer {
  const { env = process.env, settings, onInvalidConfig, writeMetrics = defaultWriteMetrics, ...rest } = options;
  const { authorize: check, ...deps } = rest;
  // An ambiguous path (encoded separators, dot segments, ...) is never public. It is not refused
  // outright as in the Worker: API Gateway may hand over a decoded path ("/my file"), and an
  // authenticated caller must not be turned away for it.
  const gate = createGate(
    fromEnv(settings === undefined ? env : overlaySettings(settings, env)),
    { ...deps, fetcher: deps.fetcher ?? nodeFetcher, digest: nodeDigest, logger: deps.logger ?? jsonLogger },
    {
      settings: LAMBDA_SETTINGS,
      ...(onInvalidConfig !== undefined && { onInvalidConfig }),
      validate: (config) => new Map([...cacheSafetyProblems(config), ...callbackProblems(config, check)]),
      foreignSettings: LAMBDA_FOREIGN_SETTINGS,
      decide: (config) => ({
        ambiguousPaths: "protect",
        preflightsArePublic: false,
        overrideHeaders: "reach-origin",
        validForSeconds: answerLifetime(config),
        ...(check !== undefined && { authorize: check }),
      }),
    },
  );
  /** Seconds API Gateway reuses an answer (0: caching off, each answer is for its own request). */
  const lifetime = gate.ok ? answerLifetime(gate.config) : 0;
  const signer = gate.ok ? assertionSigner(gate.config, lifetime, deps.clock) : undefined;
  const contextOf = gate.ok ? createContextOf(gate.config.claimHeaders) : identityContext;
  const { logger } = gate;

  const handler: AuthorizerHandler = async (event, lambda) => {
    const log = withFields(logger, { request_id: lambda?.awsRequestId });
    if (!gate.ok || gate.config.metrics !== "emf") return (await authorize(event, log, undefined))[0];
    const meter = new CountingMeter();
    let outcome = "ERR_INTERNAL";
    try {
      const [result, decided] = await authorize(event, log, meter);
      outcome = decided;
      return result;
    } catch (error) {
      if (error instanceof Refusal) outcome = error.code;
      throw error;
    } finally {
      writeMetrics(emfLine(outcome, meter, Date.now()));
    }
  };
  return Object.assign(handler, { prefetchKeys: (budgetMs: number) => prefetchKeys(gate, budgetMs) });

  /** The answer, and its outcome for metrics: `allowed`, `public`, a Deny's code, `report-only <code>`. */
  async function authorize(event: unknown, log: Logger, meter: Meter | undefined): Promise<[AuthorizerResult, string]> {
    let view: RequestView;
    try {
      view = readEvent(event);
    } catch (error) {
      if (error instanceof UnsupportedEvent) fail("ERR_UNSUPPORTED_EVENT", undefined, log);
      throw error;
    }
    if (!gate.ok) return fail(gate.error.code, view, log);
    const { config, decider } = gate;
    // Decided on the method and path of the ARN, which is what API Gateway matches the policy
    // against (a REST API's path there has no stage and no custom-domain base path). A WebSocket
    // `$connect` ARN names no method nor path: it is decided as events.ts says, and its policy names
    // that ARN alone (below): `$connect` is the one route an authorizer answers for, per connection.
    const arn = view.kind === "websocket" ? undefined : parseMethodArn(view.arn);
    const decision = await decider.decide(
      new EventRequest(arn?.method ?? view.method ?? "", arn?.path ?? view.path, view),
      { logger: log, ...(meter !== undefined && { meter }) },
    );
    const userId = config.logDecisions ? decision.identity?.subject : undefined;
    if (!decision.allowed && config.reportOnly) {
      // Report-only (always with the cache off, cache-safety.ts): this request proceeds, with the
      // code it would have been refused with and without any identity.
      const { code } = decision.error;
      log.log("would_refuse", { code, kind: view.kind, path: view.path, user_id: userId });
      const context = { [REPORT_CONTEXT_KEY]: code };
      const answer =
        view.kind === "http-v2" && config.httpApiResponse === "simple"
          ? { isAuthorized: true, context }
          : buildPolicy({ principalId: "report-only", allow: [view.arn], context });
      return [answer, `report-only ${code}`];
    }
    if (!decision.allowed) {
      const { code } = decision.error;
      // 5xx outcomes (key set or resolver unavailable, ERR_INTERNAL) are authorizer failures, which the gateway
      // responses turn into 503; a 403 from a route rule is a Deny below; everything else is a 401.
      if (describeError(code).status >= 500) fail(code, view, log);
      if (decision.identity === undefined || code !== "ERR_INSUFFICIENT_SCOPE") refuse(code, view, log, userId);
      log.log("request_forbidden", { code, kind: view.kind, path: view.path, user_id: userId });
    } else if (config.logDecisions) {
      log.log("request_allowed", { kind: view.kind, path: view.path, user_id: userId, public: decision.isPublic });
    }
    const simple = view.kind === "http-v2" && config.httpApiResponse === "simple";
    const { identity } = decision;
    if (identity === undefined) {
      // A public path without credentials: exactly this method and path, so that no cached anonymous
      // answer can open another route, nor another spelling of this one.
      if (simple) return [{ isAuthorized: true, context: {} }, "public"];
      const policy = anonymousPolicy(view.arn, lifetime);
      if (policy === undefined) refuse("ERR_REQUEST_MALFORMED", view, log);
      return [policy, "public"];
    }
    const outcome = decision.allowed ? "allowed" : decision.error.code;
    const signed = signer !== undefined && decision.allowed;
    const base = contextOf(identity);
    const context = signed ? await withAssertion(base, signer, identity, view, log) : base;
    logOmittedClaimHeaders(config.claimHeaders.valuesOf(identity), log);
    // With simple responses and caching on, the configuration has neither rules nor public paths
    // (cache-safety.ts), so this verdict is the same on every route.
    if (simple) return [{ isAuthorized: decision.allowed, context }, outcome];
    if (lifetime === 0 || arn === undefined) {
      // Not reused (or an ARN of another shape, with no stage to widen to: a WebSocket `$connect`):
      // this request alone.
      const allow = decision.allowed ? [view.arn] : [];
      const deny = decision.allowed ? [] : [view.arn];
      return [buildPolicy({ principalId: identity.subject, allow, deny, context }), outcome];
    }
    // A request a rule refused is denied by its own ARN too: it may be a spelling of the ruled path
    // (another case mix, an escape) that no resource of the rule names.
    const failed = decider.failedRules(identity, decision.at);
    const deny = decision.allowed ? [] : [view.arn];
    const scope =
      identity.kind === "user"
        ? { allowStage: true as const }
        : {
            allowStage: false as const,
            admitting: decider.admittingRules(identity, decision.at),
            publicPaths: config.publicPaths,
            ...allowedArn(decision, view),
          };
    return [stagePolicy(arn.stage, identity.subject, failed, config.methodOverride, context, deny, scope), outcome];
  }
}
