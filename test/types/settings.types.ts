/**
 * Compile-time checks of the typed settings (`npm run typecheck` compiles this file; nothing runs
 * it): what a library user writes in code type-checks exactly when the gate would accept it. Each
 * `@ts-expect-error` fails the typecheck if the line below it compiles.
 */
import { createHandler, type AuthorizerEvent, type AuthorizerResult } from "../../src/aws/index.ts";
import { createGate, fromEnv, parseConfig, type CoreSettings } from "../../src/core/index.ts";
import { authgear } from "../../src/hono/index.ts";
import { WORKER_DECIDER } from "../fixtures/gate.ts";

const decide = WORKER_DECIDER;
const ENDPOINT = "https://myapp.authgear.cloud";

// Valid settings: text as an environment holds it, literal unions, ROUTES as an array of rules,
// flags as booleans and seconds as numbers.
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, AUTH_MODE: "hybrid", LOG_LEVEL: "warn" }, {}, { decide });
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: '[{"path":"/admin/*","roles":["admin"]}]' }, {}, { decide });
createGate(
  {
    AUTHGEAR_ENDPOINT: ENDPOINT,
    ROUTES: [
      { path: "/admin/*", roles: ["admin"], methods: ["GET", "POST"] },
      { path: "/jobs/*", subject: "client", scopes: ["jobs:run"] },
    ],
    ISSUERS: undefined,
    REPORT_ONLY: true,
    LOG_DECISIONS: "false",
    CLOCK_TOLERANCE_SECONDS: 30,
    RESOLVER_TIMEOUT_MS: "2000",
  },
  {},
  { decide, onInvalidConfig: "throw" },
);
const typed: CoreSettings = { AUTHGEAR_ENDPOINT: ENDPOINT, METHOD_OVERRIDE: "none" };
createGate(typed, {}, { decide });
// An environment of strings (an index signature), checked at run time.
createGate(process.env, {}, { decide });
declare const anyEnv: Readonly<Record<string, unknown>>;
createGate(anyEnv, {}, { decide });
// An environment typed by name with wider types (wrangler's generated Env): through fromEnv.
interface WorkerEnv {
  readonly AUTHGEAR_ENDPOINT: string;
  readonly AUTH_MODE: string;
  readonly SESSIONS: { get(key: string): Promise<string | null> };
}
declare const workerEnv: WorkerEnv;
createGate(fromEnv(workerEnv), {}, { decide });
// @ts-expect-error AUTH_MODE typed string, which could hold any text
createGate(workerEnv, {}, { decide });

// @ts-expect-error an unknown key
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, NOT_A_SETTING: "x" }, {}, { decide });
// @ts-expect-error a misspelled key
createGate({ AUTHGEAR_ENDPOIN: ENDPOINT }, {}, { decide });
// @ts-expect-error a wrong type
createGate({ AUTHGEAR_ENDPOINT: 1 }, {}, { decide });
// @ts-expect-error an AUTH_MODE that is none of jwt, resolver, hybrid
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, AUTH_MODE: "oauth" }, {}, { decide });
// @ts-expect-error a LOG_LEVEL that is none of error, warn, info, debug
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, LOG_LEVEL: "verbose" }, {}, { decide });
// @ts-expect-error a flag that is neither true nor false
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, REPORT_ONLY: "yes" }, {}, { decide });
// @ts-expect-error a rule's roles as a string
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: [{ path: "/admin/*", roles: "admin" }] }, {}, { decide });
// @ts-expect-error a rule member that does not exist
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: [{ path: "/admin/*", role: ["admin"] }] }, {}, { decide });
// @ts-expect-error a method that is none
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: [{ path: "/x", methods: ["FETCH"] }] }, {}, { decide });
// @ts-expect-error an unknown onInvalidConfig
createGate({ AUTHGEAR_ENDPOINT: ENDPOINT }, {}, { decide, onInvalidConfig: "crash" });

// ISSUERS as an array of issuers.
createGate(
  {
    ISSUERS: [
      { issuer: ENDPOINT, audiences: ["api"] },
      { issuer: "https://other.example", clientIds: ["svc"] },
    ],
  },
  {},
  { decide },
);
// @ts-expect-error an issuer's audiences as a string
createGate({ ISSUERS: [{ issuer: ENDPOINT, audiences: "api" }] }, {}, { decide });

// parseConfig takes the same settings.
parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: [{ path: "/admin/*", roles: ["admin"] }] });
parseConfig(fromEnv(workerEnv));
// @ts-expect-error a misspelled key
parseConfig({ AUTHGEAR_ENDPOINT: ENDPOINT, AUDIENCES: "api" });

// The authorizer: its own settings beside the core's, the environment beside them.
createHandler({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, HTTP_API_RESPONSE: "iam", AUTHORIZER_CACHE_SECONDS: 0 } });
createHandler({ env: process.env, settings: { ROUTES: [{ path: "/admin/*", roles: ["admin"] }] } });
createHandler({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT }, onInvalidConfig: "throw" });
// @ts-expect-error a misspelled key
createHandler({ settings: { AUTHGEAR_ENDPOIN: ENDPOINT } });
// @ts-expect-error a Worker's setting, which the authorizer cannot carry out
createHandler({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, ORIGIN_URL: "https://origin.example" } });
// @ts-expect-error HTTP_API_RESPONSE is simple or iam
createHandler({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, HTTP_API_RESPONSE: "full" } });
// @ts-expect-error a number of seconds as a boolean
createHandler({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, AUTHORIZER_CACHE_SECONDS: false } });

// A wrapper types its event and result without a cast, whichever kind API Gateway sends.
export async function wrapper(event: AuthorizerEvent): Promise<AuthorizerResult> {
  const authorizer = createHandler();
  const result = await authorizer(event);
  const tenant = "headers" in event ? event.headers?.["x-tenant"] : undefined;
  return tenant === undefined ? result : { ...result, context: { ...result.context, tenant } };
}

// Hono: settings in code, or an environment.
authgear({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, ROUTES: [{ path: "/admin/*", roles: ["admin"] }] } });
authgear({ env: process.env, onInvalidConfig: "throw" });
// @ts-expect-error an AUTH_MODE that is none of jwt, resolver, hybrid
authgear({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, AUTH_MODE: "jwks" } });
// @ts-expect-error a misspelled key
authgear({ settings: { AUTHGEAR_ENDPOINT: ENDPOINT, PUBLIC_PATH: "/healthz" } });
