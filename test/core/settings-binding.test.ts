/**
 * Every setting binds in every mode, or the combination is refused at start-up (issue 18; README
 * "Every setting in every mode"). Walks every setting name of the three schemas (the core's, the
 * Worker's, the authorizer's, enumerated from the schema objects: a new setting without a case
 * here fails) and every AUTH_MODE, through both packagings: the Worker in workerd (one Miniflare,
 * a `createWorker` per case: test/cloudflare/workers/settings-walk-worker.ts) and the authorizer
 * through `createHandler`. Each case either shows that a request the setting should change is
 * changed (against the same request without the setting), or that the gate refuses to start with
 * `ERR_CONFIG_INVALID`, its log naming the setting. The README table has a row for each setting.
 */
import { readFileSync } from "node:fs";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { EDGE_SETTINGS } from "../../src/aws-edge/config.ts";
import { SECRET_SOURCE_SETTINGS } from "../../src/aws-edge/secret-settings.ts";
import { LAMBDA_FOREIGN_SETTINGS, LAMBDA_SETTINGS } from "../../src/aws/config.ts";
import { createHandler } from "../../src/aws/create-handler.ts";
import { WORKER_FOREIGN_SETTINGS, WORKER_SETTINGS } from "../../src/cloudflare/config.ts";
import { AUTH_MODES, CORE_SETTINGS, type AuthMode } from "../../src/core/config.ts";
import { bundleWorker, startWorker } from "../cloudflare/miniflare.ts";
import { httpApiEvent, requestEvent, websocketEvent } from "../aws/fixtures.ts";
import { useDevIssuer } from "../helpers.ts";

type Packaging = "worker" | "authorizer";

interface Request {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** The authorizer's event kind; default a REST REQUEST event. `websocket`: a `$connect` (`path`: only its query). */
  readonly event?: "rest" | "http" | "websocket";
}

/** What a client and the origin see of one request, in either packaging. */
interface Seen {
  /** 200 forwarded or allowed; the gate's status otherwise (authorizer: 401 Unauthorized, 403 Deny, 503 a failure). */
  readonly status: number;
  readonly user: string | undefined;
  /** Worker: the origin's URL and headers; undefined when nothing was forwarded. */
  readonly origin: { readonly url: string; readonly headers: Record<string, string> } | undefined;
  /** Worker: the response's headers; authorizer: the answer, as JSON. */
  readonly answer: Record<string, string>;
  /** Worker: the gate's own response body, when nothing was forwarded. */
  readonly body?: string;
  readonly logs: ReadonlyArray<Record<string, unknown>>;
}

interface Gate {
  send(request?: Request, offsetSeconds?: number): Promise<Seen>;
  /** Whether it refused to start: its `config_invalid` keys, else undefined. */
  refusedKeys(): Promise<string[] | undefined>;
}

const issuer = useDevIssuer();
/** A second issuer, with its own origin and keys, for `ISSUERS`. */
let second: DevIssuer;
let mf: Miniflare;
let instances = 0;

beforeAll(async () => {
  second = await startDevIssuer();
  const script = await bundleWorker(resolve(import.meta.dirname, "../cloudflare/workers/settings-walk-worker.ts"));
  mf = startWorker({}, 1, [], script);
  await mf.ready;
}, 60_000);
afterAll(async () => {
  await mf.dispose();
  await second.close();
});

/** What the walk's origin answers: the URL and headers it received. */
interface OriginEcho {
  readonly url: string;
  readonly headers: Array<[string, string]>;
}

function workerGate(settings: Record<string, string>): Gate {
  const id = String((instances += 1));
  const env = JSON.stringify({ AUTHGEAR_ENDPOINT: issuer.origin, ...settings });
  const gate: Gate = {
    async send(request = {}, offsetSeconds = 0) {
      const response = await mf.dispatchFetch(`https://gate.example${request.path ?? "/x"}`, {
        method: request.method ?? "GET",
        headers: {
          ...request.headers,
          "x-walk-instance": id,
          "x-walk-settings": env,
          "x-walk-offset": String(offsetSeconds * 1000),
        },
        redirect: "manual",
      });
      const text = await response.text();
      const logs = JSON.parse(response.headers.get("x-walk-logs") ?? "[]") as string[];
      const forwarded = response.headers.get("x-walk-origin") === "1" ? (JSON.parse(text) as OriginEcho) : undefined;
      const origin = forwarded && { url: forwarded.url, headers: Object.fromEntries(forwarded.headers) };
      return {
        status: response.status,
        user: origin?.headers["x-authgear-user-id"],
        origin,
        answer: Object.fromEntries(response.headers),
        ...(forwarded === undefined && { body: text }),
        logs: logs.map((line) => JSON.parse(line) as Record<string, unknown>),
      };
    },
    async refusedKeys() {
      const seen = await gate.send();
      const invalid = seen.logs.find((line) => line.event === "config_invalid");
      return seen.status === 500 && invalid !== undefined ? String(invalid.keys).split(",") : undefined;
    },
  };
  return gate;
}

const STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test";
const ADMIN_ONLY_X = JSON.stringify([{ path: "/x", roles: ["admin"] }]);

function authorizerGate(settings: Record<string, string>): Gate {
  let offsetMs = 0;
  const logs: Array<Record<string, unknown>> = [];
  const metrics: string[] = [];
  const handler = createHandler({
    env: { AUTHGEAR_ENDPOINT: issuer.origin, AUTHORIZER_CACHE_SECONDS: "0", ...settings },
    clock: () => Date.now() + offsetMs,
    logger: { log: (event, fields) => logs.push({ event, ...fields }) },
    writeMetrics: (line) => metrics.push(line),
  });
  const gate: Gate = {
    async send(request = {}, offsetSeconds = 0) {
      offsetMs = offsetSeconds * 1000;
      const before = logs.length;
      const method = request.method ?? "GET";
      const path = request.path ?? "/x";
      const headers = request.headers ?? {};
      const arn = `${STAGE}/${method}${path}`;
      const event = eventOf(request.event, method, path, headers, arn);
      let status = 200;
      let answer: Record<string, string> = {};
      let user: string | undefined;
      try {
        const result = await handler(event);
        answer = { json: JSON.stringify(result), metrics: String(metrics.length) };
        if ("policyDocument" in result) {
          const effects = result.policyDocument.Statement.map((entry) => ("Effect" in entry ? entry.Effect : ""));
          status = effects.includes("Allow") && !effects.includes("Deny") ? 200 : 403;
        } else status = result.isAuthorized ? 200 : 403;
        user = typeof result.context?.userId === "string" ? result.context.userId : undefined;
      } catch (error) {
        status = error instanceof Error && error.message === "Unauthorized" ? 401 : 503;
      }
      return { status, user, origin: undefined, answer, logs: logs.slice(before) };
    },
    async refusedKeys() {
      await gate.send();
      const invalid = logs.find((line) => line.event === "config_invalid");
      return invalid === undefined ? undefined : String(invalid.keys).split(",");
    },
  };
  return gate;
}

/** The authorizer event of a request, of its kind. */
function eventOf(kind: Request["event"], method: string, path: string, headers: Record<string, string>, arn: string) {
  if (kind === "http") return { ...httpApiEvent({ rawPath: path, headers }), routeArn: arn };
  if (kind === "websocket") {
    const query: Record<string, string[]> = {};
    for (const [name, value] of new URL(path, "https://gate.example").searchParams) (query[name] ??= []).push(value);
    return websocketEvent({ headers, query });
  }
  return { ...requestEvent({ path, headers }), httpMethod: method, methodArn: arn };
}

const gateOf = (packaging: Packaging, settings: Record<string, string>): Gate =>
  packaging === "worker" ? workerGate(settings) : authorizerGate(settings);

/** The mode's own settings: hybrid and resolver need the resolver cache off to see each call. */
const modeEnv = (mode: AuthMode, extra: Record<string, string> = {}): Record<string, string> => ({
  AUTH_MODE: mode,
  ...extra,
});

/** A JWT bound to a fresh session of `sub`, and that session (valid in every mode). */
async function userToken(sub = `u${(instances += 1)}`, extra: Parameters<DevIssuer["mintAccessToken"]>[0] = {}) {
  const session = issuer.createSession(sub);
  const token = await issuer.mintAccessToken({ sessionId: session.id, ...extra });
  const cookie = { cookie: `session=${session.cookie}` };
  return { sub, session, token, bearer: { authorization: `Bearer ${token}` }, cookie };
}

/** The API's resource URI (RFC 8707), the `aud` of the machine clients' tokens below. */
const RESOURCE = "https://api.example.com";
const USER_CLAIM = "https://authgear.com/claims/user/";
/** A rule admitting machine clients to the walk's path. */
const CLIENTS_ON_X = JSON.stringify([{ path: "/x", subject: "client" }]);

/**
 * A client-credentials token as authgear-server's `EncodeClientAccessToken` shapes it: `sub`
 * `client_id_<client id>`, `client_id`, `aud` the resource, and no user claim.
 */
async function clientBearer(): Promise<Record<string, string>> {
  const userClaims = ["is_anonymous", "is_verified", "can_reauthenticate", "roles"].map((name): [string, undefined] => [
    `${USER_CLAIM}${name}`,
    undefined,
  ]);
  const token = await issuer.mintAccessToken({
    sub: "client_id_svc",
    claims: {
      client_id: "svc",
      aud: [RESOURCE],
      auth_time: undefined,
      amr: undefined,
      ...Object.fromEntries(userClaims),
    },
  });
  return { authorization: `Bearer ${token}` };
}

/** A request with a fresh user's bearer JWT, or its session cookie. */
const withBearer = async (): Promise<Request> => ({ headers: (await userToken()).bearer });
const withCookie = async (): Promise<Request> => ({ headers: (await userToken()).cookie });

type Case =
  | { readonly refused: Record<string, string> }
  | { readonly binds: (packaging: Packaging, mode: AuthMode) => Promise<void> }
  | { readonly notApplicable: string; readonly value?: string };

/** A setting that changes the outcome of `request`: without it → `without`, with it → `withIt`. */
function changes(
  setting: Record<string, string>,
  request: (mode: AuthMode) => Promise<Request>,
  without: (seen: Seen) => void,
  withIt: (seen: Seen) => void,
  base: (mode: AuthMode) => Record<string, string> = (mode) => modeEnv(mode),
): Case {
  return {
    async binds(packaging, mode) {
      const sent = await request(mode);
      without(await gateOf(packaging, base(mode)).send(sent));
      withIt(await gateOf(packaging, { ...base(mode), ...setting }).send(sent));
    },
  };
}

const allowedAs = (user: string | undefined) => (seen: Seen) => {
  expect(seen.status).toBe(200);
  if (user !== undefined) expect(seen.user).toBe(user);
};
const refusedWith = (status: number) => (seen: Seen) => {
  expect(seen.status).toBe(status);
  expect(seen.origin).toBeUndefined();
};
/** What the origin (Worker) or the authorizer's context learnt: the identity's kind and issuer. */
const identifiedAs = (packaging: Packaging, kind: "user" | "client", from: string) => (seen: Seen) => {
  expect(seen.status).toBe(200);
  if (packaging === "worker") {
    expect(seen.origin?.headers["x-authgear-edge-kind"]).toBe(kind);
    expect(seen.origin?.headers["x-authgear-edge-issuer"]).toBe(from);
  } else {
    expect(seen.answer.json).toContain(`"edgeKind":"${kind}"`);
    expect(seen.answer.json).toContain(`"edgeIssuer":"${from}"`);
  }
  if (kind === "client") expect(seen.user).toBeUndefined();
};

const ASSERTION_KEY = JSON.stringify(await newAssertionKey("walk-1"));
const SECOND_KEY = JSON.stringify(await newAssertionKey("walk-2"));
/** The signed assertion on: the settings it needs. */
const ASSERTING = {
  ASSERTION_KEY,
  ASSERTION_ISSUER: "https://gate.example",
  ASSERTION_AUDIENCE: "https://origin.example",
};

/** The assertion the origin (Worker, in `header`) or the context (authorizer) received, if any. */
function assertionIn(seen: Seen, header = "x-authgear-edge-assertion"): string | undefined {
  expect(seen.status).toBe(200);
  if (seen.origin !== undefined) return seen.origin.headers[header];
  const context = (JSON.parse(seen.answer.json ?? "{}") as { context?: Record<string, unknown> }).context;
  const value = context?.edgeAssertion;
  return typeof value === "string" ? value : undefined;
}

/** An assertion setting: the claim it sets, read from what the gate sent, with `base` and with `setting` added. */
function assertionClaim(
  setting: Record<string, string>,
  read: (jwt: string) => unknown,
  without: unknown,
  withIt: unknown,
): Case {
  return changes(
    setting,
    withBearer,
    (seen) => {
      expect(read(assertionIn(seen) ?? "")).toEqual(without);
    },
    (seen) => {
      expect(read(assertionIn(seen) ?? "")).toEqual(withIt);
    },
    (mode) => modeEnv(mode, ASSERTING),
  );
}

/** What each setting does in `mode` through `packaging`; one entry per setting name of the three schemas. */
function caseOf(name: string, mode: AuthMode, packaging: Packaging): Case {
  const resolving = mode !== "jwt";
  switch (name) {
    case "AUTHGEAR_ENDPOINT":
      return {
        // The same server under another origin is another issuer: a token naming the dev issuer's
        // origin is refused before anything is fetched (its iss picks no issuer); one naming the
        // other origin is verified with the keys that origin's discovery document names; and the
        // resolver asked is the other origin's, which the dev issuer does not answer for (it answers
        // its own Host only, as Authgear answers per project): 503.
        async binds(p, m) {
          const other = issuer.origin.replace("127.0.0.1", "localhost");
          const user = await userToken();
          allowedAs(user.sub)(await gateOf(p, modeEnv(m)).send({ headers: user.bearer }));
          const gate = gateOf(p, modeEnv(m, { AUTHGEAR_ENDPOINT: other }));
          const before = { ...issuer.hits };
          refusedWith(401)(await gate.send({ headers: user.bearer }));
          expect(issuer.hits).toEqual(before);
          issuer.setDiscoveryIssuer(other);
          try {
            // In resolver mode the other origin's resolver would judge it too: below.
            if (m !== "resolver") {
              const sub = `o${(instances += 1)}`;
              const token = await issuer.mintAccessToken({ sub, claims: { iss: other, aud: [other] } });
              const seen = await gate.send({ headers: { authorization: `Bearer ${token}` } });
              allowedAs(sub)(seen);
              identifiedAs(p, "user", other)(seen);
            }
            if (m !== "jwt") {
              allowedAs(user.sub)(await gateOf(p, modeEnv(m)).send({ headers: user.cookie }));
              const hits = issuer.resolverHits;
              refusedWith(503)(await gate.send({ headers: user.cookie }));
              expect(issuer.resolverHits).toBe(hits + 1);
            }
          } finally {
            issuer.setDiscoveryIssuer(undefined);
          }
        },
      };
    case "ISSUERS": {
      const one = JSON.stringify([{ issuer: second.origin }]);
      const both = JSON.stringify([{ issuer: issuer.origin }, { issuer: second.origin }]);
      if (mode === "resolver") {
        return {
          // One issuer, as AUTHGEAR_ENDPOINT (its resolver judges): another's tokens refused.
          // Several: refused at start-up.
          async binds(p, m) {
            const sub = `s${(instances += 1)}`;
            const theirs = { authorization: `Bearer ${await second.mintAccessToken({ sub })}` };
            const onlySecond = gateOf(p, modeEnv(m, { AUTHGEAR_ENDPOINT: "", ISSUERS: one }));
            const hits = second.resolverHits;
            allowedAs(sub)(await onlySecond.send({ headers: theirs }));
            expect(second.resolverHits).toBe(hits + 1);
            refusedWith(401)(await onlySecond.send(await withBearer()));
            const several = gateOf(p, modeEnv(m, { AUTHGEAR_ENDPOINT: "", ISSUERS: both }));
            expect(await several.refusedKeys()).toEqual(["ISSUERS"]);
          },
        };
      }
      return {
        // A second listed issuer's token is accepted beside the first's; without ISSUERS it is not trusted.
        async binds(p, m) {
          const sub = `s${(instances += 1)}`;
          const theirs = { authorization: `Bearer ${await second.mintAccessToken({ sub })}` };
          refusedWith(401)(await gateOf(p, modeEnv(m)).send({ headers: theirs }));
          const trusting = gateOf(p, modeEnv(m, { AUTHGEAR_ENDPOINT: "", ISSUERS: both }));
          const seen = await trusting.send({ headers: theirs });
          allowedAs(sub)(seen);
          identifiedAs(p, "user", second.origin)(seen);
          const mine = await userToken();
          identifiedAs(p, "user", issuer.origin)(await trusting.send({ headers: mine.bearer }));
          // What only a resolver judges goes to the first issuer's.
          if (m === "hybrid") identifiedAs(p, "user", issuer.origin)(await trusting.send({ headers: mine.cookie }));
        },
      };
    }
    case "RESOURCES":
      return {
        // A machine client's token for the API's resource, on a path a rule admits clients to: refused
        // until RESOURCES names the resource, then let through on its local check in every mode.
        // RESOURCES is no audience for a user's token.
        async binds(p, m) {
          const headers = await clientBearer();
          const base = modeEnv(m, { ROUTES: CLIENTS_ON_X });
          refusedWith(401)(await gateOf(p, base).send({ headers }));
          const gate = gateOf(p, { ...base, RESOURCES: RESOURCE });
          const hits = issuer.resolverHits;
          identifiedAs(p, "client", issuer.origin)(await gate.send({ headers }));
          expect(issuer.resolverHits).toBe(hits);
          const userForResource = await issuer.mintAccessToken({ claims: { aud: [RESOURCE] } });
          refusedWith(401)(await gate.send({ headers: { authorization: `Bearer ${userForResource}` } }));
        },
      };
    case "AUTH_MODE": {
      // A session cookie: no credential in jwt mode, the session's user through the resolver.
      const other: AuthMode = mode === "jwt" ? "hybrid" : "jwt";
      return {
        async binds(p, m) {
          const { sub, cookie } = await userToken();
          const seen = await gateOf(p, modeEnv(m)).send({ headers: cookie });
          const otherSeen = await gateOf(p, modeEnv(other)).send({ headers: cookie });
          for (const [each, result] of [
            [m, seen],
            [other, otherSeen],
          ] as const) {
            if (each === "jwt") refusedWith(401)(result);
            else allowedAs(sub)(result);
          }
        },
      };
    }
    case "AUDIENCE":
      return {
        async binds(p, m) {
          const user = await userToken();
          allowedAs(user.sub)(await gateOf(p, modeEnv(m)).send({ headers: user.bearer }));
          const narrowed = gateOf(p, modeEnv(m, { AUDIENCE: "https://api.other.example" }));
          refusedWith(401)(await narrowed.send({ headers: user.bearer }));
          // What only the resolver judges is for the endpoint's project: refused when AUDIENCE excludes it.
          if (m !== "jwt") refusedWith(401)(await narrowed.send({ headers: user.cookie }));
        },
      };
    case "ALLOWED_CLIENT_IDS":
      return {
        async binds(p, m) {
          const user = await userToken();
          const allowed = gateOf(p, modeEnv(m, { ALLOWED_CLIENT_IDS: "dev-client" }));
          allowedAs(user.sub)(await allowed.send({ headers: user.bearer }));
          const other = gateOf(p, modeEnv(m, { ALLOWED_CLIENT_IDS: "another-client" }));
          refusedWith(401)(await other.send({ headers: user.bearer }));
          if (m !== "jwt") {
            // An opaque token or a cookie shows no client: refused, whatever the resolver would say.
            refusedWith(401)(await other.send({ headers: user.cookie }));
            const opaque = { authorization: `Bearer ${user.session.opaqueAccessToken}` };
            refusedWith(401)(await other.send({ headers: opaque }));
          }
        },
      };
    case "ALGORITHMS":
      return changes({ ALGORITHMS: "ES256" }, withBearer, allowedAs(undefined), refusedWith(401));
    case "CLOCK_TOLERANCE_SECONDS":
      // A token issued 30 s in the future.
      return changes(
        { CLOCK_TOLERANCE_SECONDS: "60" },
        async () => {
          const future = Math.floor(Date.now() / 1000) + 30;
          return { headers: (await userToken(undefined, { issuedAt: future })).bearer };
        },
        refusedWith(401),
        allowedAs(undefined),
      );
    case "JWT_COOKIE_NAME":
      if (mode === "resolver") return { refused: { JWT_COOKIE_NAME: "at" } };
      return changes(
        { JWT_COOKIE_NAME: "at" },
        async () => ({ headers: { cookie: `at=${(await userToken()).token}` } }),
        refusedWith(401),
        allowedAs(undefined),
      );
    case "PUBLIC_PATHS":
      return changes({ PUBLIC_PATHS: "/x" }, () => Promise.resolve({}), refusedWith(401), allowedAs(undefined));
    case "ROUTES":
      return changes({ ROUTES: ADMIN_ONLY_X }, withBearer, allowedAs(undefined), refusedWith(403));
    case "METHOD_OVERRIDE": {
      // A DELETE-only rule: a POST is refused as the DELETE it could be served as, unless the origin honours none.
      const deleteOnly = JSON.stringify([{ path: "/x", methods: ["DELETE"], roles: ["admin"] }]);
      return changes(
        { METHOD_OVERRIDE: "none" },
        async () => ({ method: "POST", headers: (await userToken()).bearer }),
        refusedWith(403),
        allowedAs(undefined),
        (m) => modeEnv(m, { ROUTES: deleteOnly }),
      );
    }
    case "REPORT_ONLY":
      return changes(
        { REPORT_ONLY: "true" },
        () => Promise.resolve({}),
        refusedWith(401),
        (seen) => {
          expect(seen.status).toBe(200);
          expect(seen.user).toBeUndefined();
          const report = seen.origin?.headers["x-authgear-edge-report"];
          if (packaging === "worker") expect(report).toBe("ERR_CREDENTIALS_MISSING");
          else expect(seen.answer.json).toContain('"authgearEdgeReport":"ERR_CREDENTIALS_MISSING"');
        },
      );
    case "LOG_DECISIONS":
      return changes(
        { LOG_DECISIONS: "true" },
        async () => ({ headers: (await userToken("logged")).bearer }),
        (seen) => {
          expect(seen.logs.map((line) => line.event)).not.toContain("request_allowed");
        },
        (seen) => {
          expect(seen.logs.find((line) => line.event === "request_allowed")?.user_id).toBe("logged");
        },
      );
    case "LOG_LEVEL":
      // A request without credentials writes an info line (request_refused), which warn leaves out.
      return changes(
        { LOG_LEVEL: "warn" },
        () => Promise.resolve({}),
        (seen) => {
          expect(seen.logs.map((line) => line.event)).toContain("request_refused");
        },
        (seen) => {
          expect(seen.status).toBe(401);
          expect(seen.logs.map((line) => line.event)).not.toContain("request_refused");
        },
      );
    case "JWKS_MAX_AGE_SECONDS":
    case "JWKS_STALE_SECONDS":
      return {
        // A key set past its max age is refreshed; past max age + stale window it is not served when the refresh fails.
        async binds(p, m) {
          const user = await userToken();
          const maxAge = name === "JWKS_MAX_AGE_SECONDS";
          const base = maxAge ? {} : { JWKS_MAX_AGE_SECONDS: "10" };
          const setting = maxAge ? { JWKS_MAX_AGE_SECONDS: "10" } : { ...base, JWKS_STALE_SECONDS: "0" };
          const outcomes: number[] = [];
          for (const env of [base, setting]) {
            const gate = gateOf(p, modeEnv(m, env));
            allowedAs(user.sub)(await gate.send({ headers: user.bearer }));
            issuer.setFailure("http500");
            try {
              const later = await userToken();
              outcomes.push((await gate.send({ headers: later.bearer }, 60)).status);
            } finally {
              issuer.setFailure("none");
            }
          }
          // Max age 300 (default): served as fresh at +60 s; 10: stale, still served (stale window 3600).
          // Stale 3600 (default) vs 0: at +60 s a 10 s set is served stale vs refused (503).
          if (name === "JWKS_MAX_AGE_SECONDS") expect(outcomes).toEqual([200, 200]);
          else expect(outcomes).toEqual([200, 503]);
          if (name === "JWKS_MAX_AGE_SECONDS") {
            // The binding: with a 10 s max age the set is refetched at +60 s (one more JWKS fetch); with 300, never.
            const fetches: number[] = [];
            for (const env of [{}, setting]) {
              const gate = gateOf(p, modeEnv(m, env));
              await gate.send({ headers: user.bearer });
              const before = issuer.hits.jwks;
              await gate.send({ headers: user.bearer }, 60);
              const deadline = Date.now() + 5000;
              while (issuer.hits.jwks === before && Date.now() < deadline && env === setting) {
                await new Promise((done) => setTimeout(done, 10));
              }
              fetches.push(issuer.hits.jwks - before);
            }
            expect(fetches).toEqual([0, 1]);
          }
        },
      };
    case "CLAIM_HEADERS": {
      const setting = { CLAIM_HEADERS: '{"x-user-email": "email"}' };
      // The resolver states no claims: refused where every user's identity is the resolver's.
      if (mode === "resolver") return { refused: setting };
      // A JWT's claim reaches the origin (the authorizer's context); a client's copy never does.
      return changes(
        setting,
        async () => {
          const { token } = await userToken(undefined, { claims: { email: "walk@example.com" } });
          return { headers: { authorization: `Bearer ${token}`, x_user_email: "forged" } };
        },
        (seen) => {
          if (packaging === "worker") expect(seen.origin?.headers.x_user_email).toBe("forged");
          else expect(seen.answer.json).not.toContain("claimXUserEmail");
        },
        (seen) => {
          if (packaging === "worker") {
            expect(seen.origin?.headers["x-user-email"]).toBe("walk@example.com");
            expect(seen.origin?.headers.x_user_email).toBeUndefined();
          } else expect(seen.answer.json).toContain('"claimXUserEmail":"walk@example.com"');
        },
      );
    }
    case "RESOLVER_URL":
      if (!resolving) return { refused: { RESOLVER_URL: `${issuer.origin}/elsewhere` } };
      return changes(
        { RESOLVER_URL: `${issuer.origin}/elsewhere` },
        withCookie,
        allowedAs(undefined),
        refusedWith(503),
      );
    case "RESOLVER_CACHE_SECONDS":
      if (!resolving) return { refused: { RESOLVER_CACHE_SECONDS: "0" } };
      return {
        async binds(p, m) {
          const calls: number[] = [];
          for (const seconds of ["60", "0"]) {
            const { cookie } = await userToken();
            const gate = gateOf(p, modeEnv(m, { RESOLVER_CACHE_SECONDS: seconds }));
            const before = issuer.resolverHits;
            for (let i = 0; i < 3; i += 1) allowedAs(undefined)(await gate.send({ headers: cookie }));
            calls.push(issuer.resolverHits - before);
          }
          expect(calls).toEqual([1, 3]);
        },
      };
    case "RESOLVER_TIMEOUT_MS":
      if (!resolving) return { refused: { RESOLVER_TIMEOUT_MS: "100" } };
      return {
        async binds(p, m) {
          const { cookie } = await userToken();
          issuer.setResolverDelay(400);
          try {
            allowedAs(undefined)(await gateOf(p, modeEnv(m)).send({ headers: cookie }));
            refusedWith(503)(await gateOf(p, modeEnv(m, { RESOLVER_TIMEOUT_MS: "100" })).send({ headers: cookie }));
          } finally {
            issuer.setResolverDelay(0);
          }
        },
      };
    case "WEBSOCKET_QUERY_TOKEN":
      if (packaging === "authorizer") {
        // A WebSocket API's $connect (a REST or HTTP API event is no upgrade: its query is never
        // read): refused (Unauthorized) without the setting, the token's user with it.
        return changes(
          { WEBSOCKET_QUERY_TOKEN: "access_token" },
          async () => {
            const { token } = await userToken("wsq");
            return { event: "websocket", path: `/?access_token=${token}&a=1` };
          },
          refusedWith(401),
          allowedAs("wsq"),
        );
      }
      // An upgrade with its token in the query: refused (400) without the setting; with it, let
      // through as the token's user, the parameter gone from the URL the origin gets.
      return changes(
        { WEBSOCKET_QUERY_TOKEN: "access_token" },
        async () => {
          const { token } = await userToken("wsq");
          return { path: `/x?access_token=${token}&a=1`, headers: { upgrade: "websocket" } };
        },
        refusedWith(400),
        (seen) => {
          allowedAs("wsq")(seen);
          expect(seen.origin?.url).toBe("https://gate.example/x?a=1");
        },
      );
    case "RESOLVER_COOKIE_PREFIX":
      if (!resolving) return { refused: { RESOLVER_COOKIE_PREFIX: "myapp_" } };
      return changes({ RESOLVER_COOKIE_PREFIX: "myapp_" }, withCookie, allowedAs(undefined), refusedWith(401));
    case "ASSERTION_KEY":
      // With the issuer and audience it needs: an assertion for every authenticated request, in every mode.
      return changes(
        ASSERTING,
        withBearer,
        (seen) => {
          expect(assertionIn(seen)).toBeUndefined();
        },
        (seen) => {
          expect(decodeProtectedHeader(assertionIn(seen) ?? "").kid).toBe("walk-1");
        },
      );
    case "ASSERTION_ISSUER":
      return assertionClaim(
        { ASSERTION_ISSUER: "https://edge.example/v2" },
        (jwt) => decodeJwt(jwt).iss,
        "https://gate.example",
        "https://edge.example/v2",
      );
    case "ASSERTION_AUDIENCE":
      return assertionClaim(
        { ASSERTION_AUDIENCE: "api-2" },
        (jwt) => decodeJwt(jwt).aud,
        "https://origin.example",
        "api-2",
      );
    case "ASSERTION_LIFETIME_SECONDS": {
      const life = (jwt: string) => {
        const { exp = 0, iat = 0 } = decodeJwt(jwt);
        return exp - iat;
      };
      return assertionClaim({ ASSERTION_LIFETIME_SECONDS: "10" }, life, 60, 10);
    }
    default:
      return packaging === "worker" ? workerCase(name) : authorizerCase(name, mode);
  }
}

const PREFLIGHT = { origin: "https://app.example", "access-control-request-method": "PUT" };
/** A browser navigation without credentials. */
const htmlPage = (): Promise<Request> => Promise.resolve({ headers: { accept: "text/html" } });

/** A valid value of each setting only the other packaging reads. */
const FOREIGN_VALUES: Readonly<Record<string, string>> = {
  HTTP_API_RESPONSE: "iam",
  AUTHORIZER_CACHE_SECONDS: "0",
  METRICS: "emf",
  ORIGIN_URL: "https://elsewhere.example",
  LOGIN_URL: "https://elsewhere.example/login",
  FORWARD_AUTHORIZATION: "true",
  SERVER_TIMING: "true",
  ORIGIN_SECRET: "s".repeat(32),
  ORIGIN_SECRET_HEADER: "x-edge-key",
  ASSERTION_SECOND_KEY: SECOND_KEY,
  ASSERTION_HEADER: "x-edge-assertion",
  SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge-AbC123",
  SECRET_SETTINGS: "ORIGIN_SECRET",
};

/** `seen`'s origin header `name` is `value` (undefined: absent). */
const originHeader = (name: string, value: string | undefined) => (seen: Seen) => {
  expect(seen.origin?.headers[name]).toBe(value);
};

/** The Worker's own settings, and the authorizer's (refused by the Worker). */
function workerCase(name: string): Case {
  if (WORKER_FOREIGN_SETTINGS.has(name)) return { refused: { [name]: FOREIGN_VALUES[name] ?? "" } };
  switch (name) {
    case "ORIGIN_URL":
      return changes(
        { ORIGIN_URL: "https://origin.example/base" },
        withBearer,
        (seen) => {
          expect(seen.origin?.url).toBe("https://gate.example/x");
        },
        (seen) => {
          expect(seen.origin?.url).toBe("https://origin.example/base/x");
        },
      );
    case "LOGIN_URL":
      return changes({ LOGIN_URL: "https://login.example/" }, htmlPage, refusedWith(401), (seen) => {
        expect(seen.status).toBe(302);
        expect(seen.answer.location).toBe("https://login.example/?return_to=https%3A%2F%2Fgate.example%2Fx");
      });
    case "CORS_ALLOWED_ORIGINS":
      return changes(
        { CORS_ALLOWED_ORIGINS: "https://app.example" },
        () => Promise.resolve({ method: "OPTIONS", headers: PREFLIGHT }),
        (seen) => {
          expect(seen.origin).toBeDefined();
        },
        (seen) => {
          expect(seen.status).toBe(204);
          expect(seen.origin).toBeUndefined();
        },
      );
    case "FORWARD_AUTHORIZATION":
      return changes(
        { FORWARD_AUTHORIZATION: "false" },
        withBearer,
        (seen) => {
          expect(seen.origin?.headers.authorization).toMatch(/^Bearer /);
        },
        originHeader("authorization", undefined),
      );
    case "SERVER_TIMING":
      return changes(
        { SERVER_TIMING: "true" },
        withBearer,
        (seen) => {
          expect(seen.answer["server-timing"]).toBeUndefined();
        },
        (seen) => {
          expect(seen.answer["server-timing"]).toMatch(/^authgear-edge;desc="authenticated";dur=/);
        },
      );
    case "ORIGIN_SECRET":
      return changes(
        { ORIGIN_SECRET: "s".repeat(32) },
        withBearer,
        originHeader("x-authgear-edge-secret", undefined),
        originHeader("x-authgear-edge-secret", "s".repeat(32)),
      );
    case "ORIGIN_SECRET_HEADER":
      return {
        async binds(p, m) {
          const renamed = { ORIGIN_SECRET: "s".repeat(32), ORIGIN_SECRET_HEADER: "x-edge-key" };
          const seen = await gateOf(p, modeEnv(m, renamed)).send(await withBearer());
          originHeader("x-edge-key", "s".repeat(32))(seen);
          originHeader("x-authgear-edge-secret", undefined)(seen);
          // Without the secret it would do nothing: refused at start-up.
          const alone = gateOf(p, modeEnv(m, { ORIGIN_SECRET_HEADER: "x-edge-key" }));
          expect(await alone.refusedKeys()).toEqual(["ORIGIN_SECRET_HEADER"]);
        },
      };
    case "ASSERTION_SECOND_KEY":
      return {
        // Published beside the signing key, which alone signs; without ASSERTION_KEY: refused.
        async binds(p, m) {
          const kids = async (settings: Record<string, string>) => {
            const seen = await gateOf(p, modeEnv(m, settings)).send({ path: "/.well-known/authgear-edge/jwks.json" });
            return (JSON.parse(seen.body ?? "{}") as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
          };
          expect(await kids(ASSERTING)).toEqual(["walk-1"]);
          expect(await kids({ ...ASSERTING, ASSERTION_SECOND_KEY: SECOND_KEY })).toEqual(["walk-1", "walk-2"]);
          const signing = await gateOf(p, modeEnv(m, { ...ASSERTING, ASSERTION_SECOND_KEY: SECOND_KEY })).send(
            await withBearer(),
          );
          expect(decodeProtectedHeader(assertionIn(signing) ?? "").kid).toBe("walk-1");
          expect(await gateOf(p, modeEnv(m, { ASSERTION_SECOND_KEY: SECOND_KEY })).refusedKeys()).toEqual([
            "ASSERTION_SECOND_KEY",
          ]);
        },
      };
    case "ASSERTION_HEADER":
      return {
        async binds(p, m) {
          const seen = await gateOf(p, modeEnv(m, { ...ASSERTING, ASSERTION_HEADER: "x-edge-assertion" })).send(
            await withBearer(),
          );
          expect(assertionIn(seen, "x-authgear-edge-assertion")).toBeUndefined();
          expect(decodeProtectedHeader(assertionIn(seen, "x-edge-assertion") ?? "").kid).toBe("walk-1");
          expect(await gateOf(p, modeEnv(m, { ASSERTION_HEADER: "x-edge-assertion" })).refusedKeys()).toEqual([
            "ASSERTION_HEADER",
          ]);
        },
      };
    default:
      throw new Error(`no Worker case for ${name}`);
  }
}

/** An authorizer answer's JSON holds `text`. */
const answerHolds = (text: string) => (seen: Seen) => {
  expect(seen.answer.json).toContain(text);
};

/** The authorizer's own settings, and the Worker's (refused by the authorizer, but CORS_ALLOWED_ORIGINS). */
function authorizerCase(name: string, mode: AuthMode): Case {
  if (LAMBDA_FOREIGN_SETTINGS.has(name)) return { refused: { [name]: FOREIGN_VALUES[name] ?? "" } };
  switch (name) {
    case "CORS_ALLOWED_ORIGINS":
      return { notApplicable: "API Gateway's CORS, configured by serverless.yml from this setting (README Browsers)" };
    case "HTTP_API_RESPONSE":
      return changes(
        { HTTP_API_RESPONSE: "iam" },
        async () => ({ ...(await withBearer()), event: "http" }),
        answerHolds('"isAuthorized":true'),
        answerHolds('"policyDocument"'),
      );
    case "AUTHORIZER_CACHE_SECONDS":
      if (mode !== "jwt") return { refused: { AUTHORIZER_CACHE_SECONDS: "300" } };
      // 0 (the walk's base): this ARN alone; 300: a policy for the stage, to hold on every route.
      return changes(
        { AUTHORIZER_CACHE_SECONDS: "300", HTTP_API_RESPONSE: "iam" },
        withBearer,
        answerHolds(`"${STAGE}/GET/x"`),
        answerHolds(`"${STAGE}/*"`),
      );
    case "METRICS":
      return changes(
        { METRICS: "emf" },
        withBearer,
        (seen) => {
          expect(seen.answer.metrics).toBe("0");
        },
        (seen) => {
          expect(seen.answer.metrics).toBe("1");
        },
      );
    default:
      throw new Error(`no authorizer case for ${name}`);
  }
}

const WORKER_NAMES = WORKER_SETTINGS.names as readonly string[];
const LAMBDA_NAMES = LAMBDA_SETTINGS.names as readonly string[];
/** Every setting name of the three schemas, and each packaging's: its own, and the other's it refuses. */
/** The Lambda@Edge function's, which a Worker and an authorizer must classify too. */
const EDGE_NAMES = [...EDGE_SETTINGS.names, ...SECRET_SOURCE_SETTINGS.names];
const ALL_NAMES = [...new Set([...CORE_SETTINGS.names, ...WORKER_NAMES, ...LAMBDA_NAMES, ...EDGE_NAMES])];
const NAMES_OF: Record<Packaging, readonly string[]> = {
  worker: [...WORKER_NAMES, ...WORKER_FOREIGN_SETTINGS.keys()],
  authorizer: [...LAMBDA_NAMES, ...LAMBDA_FOREIGN_SETTINGS.keys(), "CORS_ALLOWED_ORIGINS"],
};

describe("every packaging classifies every setting of the schemas", () => {
  const title = "%s: its own settings, and each of the other's refused at start-up (or said not applicable)";
  it.each(["worker", "authorizer"] as const)(title, (packaging) => {
    expect([...new Set(NAMES_OF[packaging])].sort()).toEqual([...ALL_NAMES].sort());
  });
});

describe.each(["worker", "authorizer"] as const)("%s", (packaging) => {
  const cases = NAMES_OF[packaging].flatMap((name) => AUTH_MODES.map((mode) => [name, mode] as const));
  it.each(cases)(
    "%s with AUTH_MODE=%s binds, or is refused at start-up",
    async (name, mode) => {
      const found = caseOf(name, mode, packaging);
      if ("refused" in found) {
        expect(await gateOf(packaging, modeEnv(mode, found.refused)).refusedKeys()).toEqual([name]);
        // The same request is served when the setting is left out.
        expect(await gateOf(packaging, modeEnv(mode)).refusedKeys()).toBeUndefined();
      } else if ("binds" in found) {
        await found.binds(packaging, mode);
      } else {
        expect(found.notApplicable).not.toBe("");
        const value = found.value ?? "https://app.example";
        expect(await gateOf(packaging, modeEnv(mode, { [name]: value })).refusedKeys()).toBeUndefined();
      }
    },
    20_000,
  );
});

describe("docs/configuration.md's table of settings by mode", () => {
  const page = readFileSync(resolve(import.meta.dirname, "../../docs/configuration.md"), "utf8");
  const section = page.slice(page.indexOf("## Every setting in every mode"));

  it("has a row for each setting of the schemas, and for no other", () => {
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]));
    expect([...rows].sort()).toEqual([...ALL_NAMES].sort());
  });
});
