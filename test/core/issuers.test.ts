/**
 * Several trusted issuers (`ISSUERS`) at the core, each a real loopback issuer (discovery + JWKS)
 * whose requests are counted where they arrive: every issuer's tokens verified with its own keys
 * and only those, an unknown `iss` refused before any request, one issuer's outage or rotation
 * leaving the others alone, and the `issuers` rule member.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import { authgearProject, decodeToken, signAuthgearToken, type AuthgearProject } from "../fixtures/authgear-tokens.ts";
import { answer, recordingGate } from "../fixtures/gate.ts";
import { KID_MISS_COOLDOWN_SECONDS, createMemoryKeySetStore } from "../../src/core/key-set.ts";
import { createAuthenticatorFromEnv } from "../../src/core/authenticator.ts";

const RESOURCE = "https://api.example.com";
const INVALID = "401 ERR_JWT_CLAIM_INVALID invalid_token";
const FORBIDDEN = "403 ERR_INSUFFICIENT_SCOPE insufficient_scope";

let devs: DevIssuer[];
let a: AuthgearProject;
let b: AuthgearProject;
/** Never trusted: counts whether a token naming it makes the gate call it. */
let stranger: AuthgearProject;

beforeAll(async () => {
  devs = await Promise.all([startDevIssuer(), startDevIssuer(), startDevIssuer()]);
  const projects = await Promise.all(devs.map((dev) => authgearProject(dev)));
  [a, b, stranger] = projects as [AuthgearProject, AuthgearProject, AuthgearProject];
});
afterAll(() => Promise.all(devs.map((dev) => dev.close())));

/** Requests each issuer has answered on its discovery and key-set paths. */
function hits(project: AuthgearProject): number {
  return project.dev.hits.discovery + project.dev.hits.jwks;
}

function issuers(extra: Record<string, unknown> = {}, ...projects: AuthgearProject[]): string {
  const list = projects.length > 0 ? projects : [a, b];
  return JSON.stringify(list.map((project) => ({ issuer: project.issuer, resources: [RESOURCE], ...extra })));
}

const CLIENT_RULE = { path: "/machine/*", subject: "client" };

describe("several issuers", () => {
  it("verifies each issuer's tokens, users' and clients', with its own keys, and says which issuer", async () => {
    const gate = recordingGate({ ISSUERS: issuers(), ROUTES: JSON.stringify([CLIENT_RULE]) });
    for (const project of [a, b]) {
      const user = await gate.decide("/users/1", await project.mintUser({ userId: "same-id" }));
      expect(user.identity).toMatchObject({ kind: "user", issuer: project.issuer, subject: "same-id" });
      const clientToken = await project.mintClient({ clientId: "inventory", resourceUri: RESOURCE });
      const client = await gate.decide("/machine/1", clientToken);
      expect(answer(client)).toBe("200 client");
      expect(client.identity).toMatchObject({ kind: "client", issuer: project.issuer, clientId: "inventory" });
    }
    // One discovery and one key-set fetch per issuer.
    expect([...gate.fetched].sort()).toEqual(
      [
        `${a.issuer}/.well-known/openid-configuration`,
        a.dev.jwksUri,
        `${b.issuer}/.well-known/openid-configuration`,
        b.dev.jwksUri,
      ].sort(),
    );
  });

  it("refuses a token signed with issuer A's key that names issuer B, with A's kid or with B's", async () => {
    const gate = recordingGate({ ISSUERS: issuers() });
    expect(answer(await gate.decide("/x", await b.mintUser()))).toBe("200 user");
    const { payload } = decodeToken(await a.mintUser());
    const claims = { ...payload, iss: b.issuer, aud: [b.issuer] };
    expect(answer(await gate.decide("/x", await a.sign(claims)))).toBe("401 ERR_JWT_KEY_NOT_FOUND invalid_token");
    const borrowedKid = await signAuthgearToken({ ...a.signingKey, kid: b.signingKey.kid }, claims);
    expect(answer(await gate.decide("/x", borrowedKid))).toBe("401 ERR_JWT_SIGNATURE invalid_token");
    // And the other way: B's token is not A's because it says so.
    const { payload: fromB } = decodeToken(await b.mintUser());
    const posingAsA = await b.sign({ ...fromB, iss: a.issuer, aud: [a.issuer] });
    expect(answer(await gate.decide("/x", posingAsA))).toBe("401 ERR_JWT_KEY_NOT_FOUND invalid_token");
  });

  it("refuses a token of an untrusted issuer with no request to any issuer, itself included", async () => {
    const gate = recordingGate({ ISSUERS: issuers() });
    const before = [a, b, stranger].map(hits);
    const tokens = [
      await stranger.mintUser(),
      await stranger.mintClient({ clientId: "inventory", resourceUri: RESOURCE }),
      // An issuer that differs from a trusted one only in spelling is another issuer.
      await a.sign({ ...decodeToken(await a.mintUser()).payload, iss: `${a.issuer}/` }),
      await a.sign({ ...decodeToken(await a.mintUser()).payload, iss: a.issuer.replace("127.0.0.1", "localhost") }),
      await a.sign({ ...decodeToken(await a.mintUser()).payload, iss: undefined }),
    ];
    for (const token of tokens) expect(answer(await gate.decide("/x", token))).toBe(INVALID);
    expect(gate.fetched).toEqual([]);
    expect([a, b, stranger].map(hits)).toEqual(before);
  });

  it("keeps verifying one issuer's tokens while another issuer's server is down", async () => {
    const down = await authgearProject(await startDevIssuer());
    await down.dev.close();
    const gate = recordingGate({ ISSUERS: issuers({}, down, a) });
    expect(answer(await gate.decide("/x", await down.mintUser()))).toBe("503 ERR_KEYSET_UNAVAILABLE -");
    expect(answer(await gate.decide("/x", await a.mintUser()))).toBe("200 user");
    expect(answer(await gate.decide("/x", await down.mintUser()))).toBe("503 ERR_KEYSET_UNAVAILABLE -");
    const client = await a.mintClient({ clientId: "c", resourceUri: RESOURCE });
    expect(answer(await gate.decide("/x", client))).toBe(FORBIDDEN);
  });

  it("keeps verifying one issuer's tokens while another's key set fails, cold or past its stale window", async () => {
    const failing = await authgearProject(await startDevIssuer());
    try {
      const settings = { ISSUERS: issuers({}, a, failing), JWKS_MAX_AGE_SECONDS: "60", JWKS_STALE_SECONDS: "0" };
      const gate = recordingGate(settings);
      expect(answer(await gate.decide("/x", await failing.mintUser()))).toBe("200 user");
      failing.dev.setFailure("http500");
      gate.advance(61);
      expect(answer(await gate.decide("/x", await failing.mintUser({ issuedAt: nowPlus(61) })))).toBe(
        "503 ERR_KEYSET_UNAVAILABLE -",
      );
      expect(answer(await gate.decide("/x", await a.mintUser({ issuedAt: nowPlus(61) })))).toBe("200 user");
    } finally {
      await failing.dev.close();
    }
  });

  it("refetches only the rotating issuer's key set when a new kid appears there", async () => {
    const gate = recordingGate({ ISSUERS: issuers() });
    expect(answer(await gate.decide("/x", await a.mintUser()))).toBe("200 user");
    expect(answer(await gate.decide("/x", await b.mintUser()))).toBe("200 user");
    const [aBefore, bBefore] = [a.dev.hits.jwks, b.dev.hits.jwks];
    const fetchedBefore = gate.fetched.length;
    await a.rotate();
    gate.advance(KID_MISS_COOLDOWN_SECONDS + 1);
    const later = nowPlus(KID_MISS_COOLDOWN_SECONDS + 1);
    expect(answer(await gate.decide("/x", await a.mintUser({ issuedAt: later })))).toBe("200 user");
    expect(answer(await gate.decide("/x", await b.mintUser({ issuedAt: later })))).toBe("200 user");
    expect(answer(await gate.decide("/x", await a.mintUser({ issuedAt: later })))).toBe("200 user");
    expect([a.dev.hits.jwks - aBefore, b.dev.hits.jwks - bBefore]).toEqual([1, 0]);
    // A refetch reads the discovery document again (its jwks_uri may have moved), at A only.
    expect(gate.fetched.slice(fetchedBefore)).toEqual([`${a.issuer}/.well-known/openid-configuration`, a.dev.jwksUri]);
  });

  it("holds each issuer to its own resources and client ids", async () => {
    const other = "https://other.example.com";
    const list = [
      { issuer: a.issuer, resources: [RESOURCE], clientIds: ["inventory"] },
      { issuer: b.issuer, resources: [other] },
    ];
    const gate = recordingGate({ ISSUERS: JSON.stringify(list), ROUTES: JSON.stringify([CLIENT_RULE]) });
    const client = async (project: AuthgearProject, clientId: string, resourceUri: string): Promise<string> =>
      answer(await gate.decide("/machine/1", await project.mintClient({ clientId, resourceUri })));
    expect(await client(a, "inventory", RESOURCE)).toBe("200 client");
    expect(await client(a, "inventory", other)).toBe(INVALID);
    expect(await client(a, "billing", RESOURCE)).toBe(INVALID);
    expect(await client(b, "billing", other)).toBe("200 client");
    expect(await client(b, "billing", RESOURCE)).toBe(INVALID);
  });
});

describe("a custom-domain switch (docs/issuers.md)", () => {
  it("accepts the old issuer's tokens with keys from the new host, never calling the old one", async () => {
    const old = await authgearProject(await startDevIssuer());
    await old.dev.close();
    const list = [{ issuer: a.issuer }, { issuer: old.issuer, jwksUri: a.dev.jwksUri }];
    const gate = recordingGate({ ISSUERS: JSON.stringify(list) });
    // Minted before the switch: the same project (A's keys), its old origin as iss and aud.
    const { payload } = decodeToken(await a.mintUser({ userId: "carol" }));
    const before = await a.sign({ ...payload, iss: old.issuer, aud: [old.issuer] });
    const decision = await gate.decide("/x", before);
    expect(answer(decision)).toBe("200 user");
    expect(decision.identity).toMatchObject({ issuer: old.issuer, subject: "carol" });
    expect(answer(await gate.decide("/x", await a.mintUser()))).toBe("200 user");
    expect(gate.fetched.filter((url) => url.startsWith(old.issuer))).toEqual([]);
    // A key the new host does not publish does not verify an old-issuer token.
    expect(answer(await gate.decide("/x", await old.mintUser()))).toBe("401 ERR_JWT_KEY_NOT_FOUND invalid_token");
  });
});

describe("the issuers rule member", () => {
  it("admits only the named issuers' callers of the kinds its rule concerns", async () => {
    const routes = [
      { path: "/a-only/*", issuers: [a.issuer] },
      { path: "/b-machines/*", subject: "client", issuers: [b.issuer] },
      { path: "/any-machines/*", subject: "any", issuers: [a.issuer, b.issuer] },
    ];
    const gate = recordingGate({ ISSUERS: issuers(), ROUTES: JSON.stringify(routes) });
    const table: Record<string, string[]> = {};
    for (const project of [a, b]) {
      const user = await project.mintUser();
      const client = await project.mintClient({ clientId: "inventory", resourceUri: RESOURCE });
      for (const path of ["/a-only/1", "/b-machines/1", "/any-machines/1", "/elsewhere"]) {
        const key = `${project === a ? "A" : "B"} ${path}`;
        table[key] = [answer(await gate.decide(path, user)), answer(await gate.decide(path, client))];
      }
    }
    expect(table).toEqual({
      "A /a-only/1": ["200 user", FORBIDDEN],
      // A rule for clients says nothing about users.
      "A /b-machines/1": ["200 user", FORBIDDEN],
      "A /any-machines/1": ["200 user", "200 client"],
      "A /elsewhere": ["200 user", FORBIDDEN],
      "B /a-only/1": [FORBIDDEN, FORBIDDEN],
      "B /b-machines/1": ["200 user", "200 client"],
      "B /any-machines/1": ["200 user", "200 client"],
      "B /elsewhere": ["200 user", FORBIDDEN],
    });
  });

  it("may name only trusted issuers", () => {
    const routes = JSON.stringify([{ path: "/x", issuers: [stranger.issuer] }]);
    expect(() => recordingGate({ ISSUERS: issuers(), ROUTES: routes })).toThrow(/ROUTES.*not a trusted issuer/);
  });
});

/** Unix seconds, `seconds` from now (a token minted for a gate whose clock was moved on). */
function nowPlus(seconds: number): number {
  return Math.floor(Date.now() / 1000) + seconds;
}

describe("a key-set store given in code", () => {
  const issuers = JSON.stringify([{ issuer: "https://a.example.com" }, { issuer: "https://b.example.com" }]);
  const logger = { log: () => undefined };

  it("is a configuration error with several issuers (one store would mix their keys), not a throw", () => {
    const built = createAuthenticatorFromEnv({ ISSUERS: issuers }, { keySetStore: createMemoryKeySetStore(), logger });
    expect(built.ok).toBe(false);
    const expected = /ISSUERS: the keySetStore given in code keeps one issuer's keys/;
    if (!built.ok) expect(built.error.message).toMatch(expected);
  });

  it("is accepted as a function of the issuer, or as one store for one issuer", () => {
    const keySetStore = createMemoryKeySetStore();
    const perIssuer = createAuthenticatorFromEnv({ ISSUERS: issuers }, { keySetStore: () => keySetStore, logger });
    const one = createAuthenticatorFromEnv({ AUTHGEAR_ENDPOINT: "https://a.example.com" }, { keySetStore, logger });
    expect([perIssuer.ok, one.ok]).toEqual([true, true]);
  });
});
