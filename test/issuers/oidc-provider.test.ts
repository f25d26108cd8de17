/**
 * A real third-party OpenID provider beside the dev issuer: panva's oidc-provider issues RFC 9068
 * access tokens (its own code, not fixtures), and the gate trusts it as a second issuer with the
 * `rfc9068` client marks. The same cases run through the Worker in workerd (what the origin
 * received), the Lambda authorizer (its policy as IAM evaluates it, and its context) and the Hono
 * middleware (the identity the app's handler gets).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Hono } from "hono";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { startDemoOrigin, type DemoOrigin } from "../../dev/origin.ts";
import { createHandler } from "../../src/aws/create-handler.ts";
import { identityHeaders } from "../../src/core/index.ts";
import { authgear, type AuthgearVariables } from "../../src/hono/index.ts";
import { requestEvent } from "../aws/fixtures.ts";
import { evaluatePolicy, type PolicyDocument } from "../aws/iam-evaluator.ts";
import { startWorker } from "../cloudflare/harness.ts";
import { OP_M2M_CLIENT, OP_OTHER_RESOURCE, OP_RESOURCE, OP_WEB_CLIENT, startOidcProvider } from "./oidc-provider.ts";
import type { OidcProvider } from "./oidc-provider.ts";

let dev: DevIssuer;
let op: OidcProvider;
let origin: DemoOrigin;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  [dev, op, origin] = await Promise.all([startDevIssuer(), startOidcProvider(), startDemoOrigin()]);
  tokens.devUser = await dev.mintAccessToken({ sub: "dev-alice" });
  tokens.opClient = await op.clientToken({ scope: "read" });
  tokens.opClientWrite = await op.clientToken({ scope: "write" });
  tokens.opClientOtherApi = await op.clientToken({ scope: "read", resource: OP_OTHER_RESOURCE });
  tokens.opUser = await op.userToken("op-alice", { scope: "read" });
  // oidc-provider's development login takes any name: this user is named as the web client is.
  tokens.opUserNamedAsClient = await op.userToken(OP_WEB_CLIENT, { scope: "read" });
}, 30_000);
afterAll(async () => {
  await Promise.all([dev.close(), op.close(), origin.close()]);
});

/**
 * What the gate is told to trust: the dev issuer first, then `provider` with the `rfc9068` marks,
 * its users' tokens for `OP_RESOURCE` and its clients' for `resources` (none: left out).
 */
function settings(provider: OidcProvider, resources: string[] = [OP_RESOURCE]): Record<string, string> {
  const entry = {
    issuer: provider.issuer,
    audiences: [OP_RESOURCE],
    clientMarks: "rfc9068",
    ...(resources.length > 0 && { resources }),
  };
  return {
    ISSUERS: JSON.stringify([{ issuer: dev.origin }, entry]),
    ROUTES: JSON.stringify([
      { path: "/machine/*", subject: "client", scopes: ["read"], issuers: [provider.issuer] },
      { path: "/dev-only/*", subject: "any", issuers: [dev.origin] },
    ]),
  };
}

/** What a caller sees: the status, and for a request let through, the identity the application learns. */
interface Outcome {
  readonly status: number;
  readonly identity?: Record<string, string>;
}

interface Gate {
  send(path: string, token: string): Promise<Outcome>;
  close(): Promise<void>;
}

function receivedIdentity(headers: Record<string, string | string[]>): Record<string, string> {
  const entries = Object.entries(headers).filter(([name]) => name.startsWith("x-authgear-"));
  return Object.fromEntries(entries.map(([name, value]) => [name, String(value)]));
}

async function workerGate(env: Record<string, string>): Promise<Gate> {
  const mf: Miniflare = startWorker({ ...env, ORIGIN_URL: origin.url });
  const worker = await mf.getWorker("gate-0");
  return {
    async send(path, token) {
      const before = origin.requests.length;
      const headers = { authorization: `Bearer ${token}` };
      const response = await worker.fetch(`https://gate.example.com${path}`, { headers });
      await response.arrayBuffer();
      const received = origin.requests.slice(before);
      if (response.status !== 200) {
        expect(received).toEqual([]);
        return { status: response.status };
      }
      expect(received).toHaveLength(1);
      return { status: 200, identity: receivedIdentity(received[0]!.headers) };
    },
    close: () => mf.dispose(),
  };
}

/** The README's rule for the authorizer's context: each x-authgear-* header, camel-cased without the prefix. */
function asHeaders(context: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(context).map(([key, value]): [string, string] => {
    const name = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    return [`x-authgear-${name}`, String(value)];
  });
  return Object.fromEntries(entries);
}

function authorizerGate(env: Record<string, string>): Gate {
  // ROUTES with the authorizer cache on needs policies for HTTP APIs too (README: HTTP_API_RESPONSE).
  const handler = createHandler({ env: { ...env, HTTP_API_RESPONSE: "iam" } });
  return {
    async send(path, token) {
      const event = requestEvent({ path, headers: { Authorization: `Bearer ${token}` } });
      let result;
      try {
        result = (await handler(event)) as { policyDocument: PolicyDocument; context?: Record<string, unknown> };
      } catch (error) {
        expect(String(error)).toMatch(/Unauthorized/);
        return { status: 401 };
      }
      if (!evaluatePolicy(result.policyDocument, event.methodArn, "segment")) return { status: 403 };
      return { status: 200, identity: asHeaders(result.context ?? {}) };
    },
    close: () => Promise.resolve(),
  };
}

/** The identity the app's handler gets, told as the headers the Worker would send the origin (`identityHeaders`). */
function honoGate(env: Record<string, string>): Gate {
  const app = new Hono<{ Variables: AuthgearVariables }>();
  app.use("*", authgear({ settings: env }));
  app.all("*", (c) => {
    const identity = c.get("authgear");
    return c.json(identity === undefined ? null : Object.fromEntries(identityHeaders(identity)));
  });
  return {
    async send(path, token) {
      const response = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 200) return { status: response.status };
      return { status: 200, identity: (await response.json()) as Record<string, string> };
    },
    close: () => Promise.resolve(),
  };
}

const clientIdentity = () => ({
  "x-authgear-edge-kind": "client",
  "x-authgear-edge-issuer": op.issuer,
  "x-authgear-edge-client-id": OP_M2M_CLIENT,
  "x-authgear-edge-scope": "read",
});

const gates: Array<[string, (env: Record<string, string>) => Promise<Gate>]> = [
  ["the Worker in workerd", workerGate],
  ["the Lambda authorizer (REST REQUEST, cached policy)", (env) => Promise.resolve(authorizerGate(env))],
  ["the Hono middleware on Node", (env) => Promise.resolve(honoGate(env))],
];

describe.each(gates)("oidc-provider beside the dev issuer, through %s", (_name, start) => {
  let gate: Gate;
  beforeAll(async () => {
    gate = await start(settings(op));
  });
  afterAll(() => gate.close());

  it("lets oidc-provider's client token through where a rule admits its clients, as that issuer's client", async () => {
    expect(await gate.send("/machine/jobs", tokens.opClient!)).toEqual({ status: 200, identity: clientIdentity() });
  });

  it("refuses oidc-provider's client token where no rule admits clients", async () => {
    expect(await gate.send("/reports", tokens.opClient!)).toEqual({ status: 403 });
  });

  it("refuses oidc-provider's client token without the rule's scope", async () => {
    expect(await gate.send("/machine/jobs", tokens.opClientWrite!)).toEqual({ status: 403 });
  });

  it("refuses oidc-provider's client token whose aud is another API's resource", async () => {
    expect(await gate.send("/machine/jobs", tokens.opClientOtherApi!)).toEqual({ status: 401 });
  });

  it("refuses oidc-provider's tokens, client or user, on a rule for the dev issuer's tokens only", async () => {
    expect(await gate.send("/dev-only/x", tokens.opClient!)).toEqual({ status: 403 });
    expect(await gate.send("/dev-only/x", tokens.opUser!)).toEqual({ status: 403 });
    expect((await gate.send("/dev-only/x", tokens.devUser!)).status).toBe(200);
  });

  it("lets oidc-provider's user token through as that issuer's user, on the clients' rule too", async () => {
    const asUser = {
      status: 200,
      identity: {
        "x-authgear-session-valid": "true",
        "x-authgear-user-id": "op-alice",
        "x-authgear-user-anonymous": "false",
        "x-authgear-user-verified": "false",
        "x-authgear-user-can-reauthenticate": "false",
        "x-authgear-session-amr": "",
        "x-authgear-edge-kind": "user",
        "x-authgear-edge-issuer": op.issuer,
      },
    };
    expect(await gate.send("/reports", tokens.opUser!)).toEqual(asUser);
    // A rule for clients says nothing about users (docs/machine-tokens.md): a user, not a client.
    expect(await gate.send("/machine/jobs", tokens.opUser!)).toEqual(asUser);
  });

  it("takes a user whose sub equals the token's client_id for that client (the rfc9068 marks' limit)", async () => {
    // Nothing else in the token tells them apart: keeping user subjects and client ids apart is
    // the provider's job, and oidc-provider's development login (any name) does not.
    expect(await gate.send("/machine/jobs", tokens.opUserNamedAsClient!)).toEqual({
      status: 200,
      identity: { ...clientIdentity(), "x-authgear-edge-client-id": OP_WEB_CLIENT },
    });
    expect(await gate.send("/reports", tokens.opUserNamedAsClient!)).toEqual({ status: 403 });
  });

  it("still lets the dev issuer's user token through beside it, as that issuer's user", async () => {
    const outcome = await gate.send("/reports", tokens.devUser!);
    expect(outcome.status).toBe(200);
    expect(outcome.identity).toMatchObject({
      "x-authgear-user-id": "dev-alice",
      "x-authgear-edge-kind": "user",
      "x-authgear-edge-issuer": dev.origin,
    });
    expect(await gate.send("/machine/jobs", tokens.devUser!)).toEqual(outcome);
  });
});

describe.each(gates)("oidc-provider's client tokens without resources for it, through %s", (_name, start) => {
  it("are refused (no resource is the API's), while its user tokens still pass", async () => {
    const gate = await start(settings(op, []));
    try {
      expect(await gate.send("/machine/jobs", tokens.opClient!)).toEqual({ status: 401 });
      expect((await gate.send("/reports", tokens.opUser!)).status).toBe(200);
    } finally {
      await gate.close();
    }
  });
});

describe.each(gates)("oidc-provider's key rotation, through %s", (_name, start) => {
  it("is picked up from its JWKS after the kid-miss cooldown, with no fetch of the dev issuer's keys", async () => {
    const fresh = await startOidcProvider();
    const gate = await start({ ...settings(fresh), JWKS_MAX_AGE_SECONDS: "2" });
    try {
      expect((await gate.send("/reports", tokens.devUser!)).status).toBe(200);
      const devJwks = dev.hits.jwks;
      const oldToken = await fresh.clientToken();
      // Signed with the old key and shown to the gate only once the old key is gone (a token
      // verified once is remembered until its exp): each is a probe usable once.
      const unseenOldTokens = await Promise.all(Array.from({ length: 10 }, () => fresh.clientToken()));
      expect((await gate.send("/machine/jobs", oldToken)).status).toBe(200);
      const jwks = fresh.hits.jwks;
      await fresh.rotateKey();
      const newToken = await fresh.clientToken();
      // Within the cooldown (min(30 s, JWKS_MAX_AGE_SECONDS)) an unseen kid is refused without a fetch.
      expect((await gate.send("/machine/jobs", newToken)).status).toBe(401);
      expect(fresh.hits.jwks).toBe(jwks);
      await sleep(2100);
      expect((await gate.send("/machine/jobs", newToken)).status).toBe(200);
      expect(fresh.hits.jwks).toBe(jwks + 1);
      // One issuer's refetch is its own: the dev issuer's key set was not fetched again.
      expect(dev.hits.jwks).toBe(devJwks);
      expect((await gate.send("/machine/jobs", oldToken)).status).toBe(200);
      expect((await gate.send("/reports", tokens.devUser!)).status).toBe(200);
      await fresh.retireOldKeys();
      await sleep(2100);
      // Past its max age, the key set is refetched in the background of the next verification.
      expect((await gate.send("/machine/jobs", await fresh.clientToken())).status).toBe(200);
      const statuses: number[] = [];
      for (const probe of unseenOldTokens) {
        statuses.push((await gate.send("/machine/jobs", probe)).status);
        if (statuses.length >= 2 && statuses.at(-2) === 401) break;
        if (statuses.at(-1) !== 401) await sleep(200);
      }
      // Refused once the refetch has landed, and from then on.
      expect(statuses.slice(-2)).toEqual([401, 401]);
      expect(fresh.hits.jwks).toBe(jwks + 2);
    } finally {
      await gate.close();
      await fresh.close();
    }
  }, 30_000);
});
