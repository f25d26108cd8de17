/** The dev issuer's resolver endpoint (docs/authgear-contract.md §3), over real loopback HTTP. */
import { request as httpRequest } from "node:http";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import type { DevIssuer, DevSession, ResolverFailureMode } from "../../dev/issuer.ts";
import { useDevIssuer } from "../helpers.ts";
import { userIdentityHeaders } from "../fixtures/identities.ts";

const USER = "https://authgear.com/claims/user/";
const CLEAR_SESSION = "session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";
const INVALID = { "x-authgear-session-valid": "false" };

function resolve(issuer: DevIssuer, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(issuer.resolverUrl, { redirect: "manual", ...init, headers });
}

/** The `x-authgear-*` headers of an answer (fetch lowercases names and joins duplicates). */
function verdictOf(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith("x-authgear-")) found[name] = value;
  });
  return found;
}

async function verdict(issuer: DevIssuer, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const response = await resolve(issuer, headers);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe("");
  return verdictOf(response);
}

/** The user id of a valid verdict, "invalid", or "none". */
async function who(issuer: DevIssuer, headers: Record<string, string>): Promise<string> {
  const answer = await verdict(issuer, headers);
  const valid = answer["x-authgear-session-valid"];
  if (valid === undefined) return "none";
  return valid === "true" ? (answer["x-authgear-user-id"] ?? "missing") : "invalid";
}

interface RawAnswer {
  status: number;
  /** Header lines as sent: name in its wire case, value. */
  lines: Array<[string, string]>;
  body: string;
}

/** A request through node:http, which (unlike fetch) lets the test set Host and see duplicate header lines. */
function raw(issuer: DevIssuer, headers: Record<string, string>, method = "GET"): Promise<RawAnswer> {
  const { hostname, port } = new URL(issuer.origin);
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ hostname, port, path: "/_resolver/resolve", method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolvePromise({ status: res.statusCode ?? 0, lines, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const authgearLines = (answer: RawAnswer): Array<[string, string]> =>
  answer.lines.filter(([name]) => name.toLowerCase().startsWith("x-authgear-"));

const cookie = (pairs: Record<string, string>): Record<string, string> => ({
  cookie: Object.entries(pairs)
    .map(([name, value]) => `${name}=${value}`)
    .join("; "),
});

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Every way a session's credentials reach the resolver. */
const places = (session: DevSession): Array<[string, Record<string, string>]> => [
  ["bearer", bearer(session.opaqueAccessToken)],
  ["app_session", cookie({ app_session: session.appSession })],
  ["app_access_token", cookie({ app_access_token: session.appAccessToken })],
  ["session", cookie({ session: session.cookie })],
];

describe("verdicts", () => {
  const issuer = useDevIssuer();

  it("exposes the resolver URL on the issuer's origin", () => {
    expect(issuer.resolverUrl).toBe(`${issuer.origin}/_resolver/resolve`);
  });

  it("answers 200 with no X-Authgear-* header at all without credentials", async () => {
    for (const headers of [
      {},
      { cookie: "theme=dark; other=1" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer " },
    ]) {
      const response = await resolve(issuer, headers);
      expect(response.status).toBe(200);
      expect(verdictOf(response)).toEqual({});
      expect(response.headers.get("set-cookie")).toBeNull();
      expect(await response.text()).toBe("");
    }
    expect(await who(issuer, cookie({ session: "", app_session: '""' }))).toBe("none");
  });

  it("answers the full header set of docs/authgear-contract.md §4 for a valid session, in every place, with Go's header names", async () => {
    issuer.upsertUser("alice", { roles: ["admin", "staff"] });
    const session = issuer.createSession("alice", { amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    const expected = userIdentityHeaders("alice", {
      "x-authgear-user-roles": "admin,staff",
      "x-authgear-session-amr": "pwd otp",
      "x-authgear-session-authenticated-at": "1700000000",
    });
    for (const [, headers] of places(session)) {
      expect(await verdict(issuer, headers)).toEqual(expected);
    }
    const answer = await raw(issuer, cookie({ session: session.cookie }));
    expect(authgearLines(answer)).toEqual([
      ["X-Authgear-Session-Valid", "true"],
      ["X-Authgear-User-Id", "alice"],
      ["X-Authgear-User-Anonymous", "false"],
      ["X-Authgear-User-Verified", "true"],
      ["X-Authgear-User-Can-Reauthenticate", "true"],
      ["X-Authgear-User-Roles", "admin,staff"],
      ["X-Authgear-Session-Amr", "pwd otp"],
      ["X-Authgear-Session-Authenticated-At", "1700000000"],
    ]);
    expect(answer.lines.some(([name]) => name.toLowerCase() === "set-cookie")).toBe(false);
  });

  it("omits roles when there are none, keeps an empty amr, and defaults amr and auth time", async () => {
    const before = Math.floor(Date.now() / 1000);
    const session = issuer.createSession("bob", { amr: [] });
    const answer = await verdict(issuer, cookie({ session: session.cookie }));
    expect(answer).not.toHaveProperty("x-authgear-user-roles");
    expect(answer["x-authgear-session-amr"]).toBe("");
    expect(authgearLines(await raw(issuer, cookie({ session: session.cookie })))).toContainEqual([
      "X-Authgear-Session-Amr",
      "",
    ]);
    const defaults = await verdict(issuer, cookie({ session: issuer.createSession("bob").cookie }));
    expect(defaults["x-authgear-session-amr"]).toBe("pwd");
    expect(Number(defaults["x-authgear-session-authenticated-at"])).toBeGreaterThanOrEqual(before);
  });

  it("reports anonymous, unverified users, and whether they can reauthenticate", async () => {
    issuer.upsertUser("anon", { anonymous: true, verified: false });
    const session = issuer.createSession("anon");
    expect(await verdict(issuer, cookie({ session: session.cookie }))).toMatchObject({
      "x-authgear-user-anonymous": "true",
      "x-authgear-user-verified": "false",
      "x-authgear-user-can-reauthenticate": "false",
    });
    issuer.upsertUser("anon", { canReauthenticate: true });
    expect(await verdict(issuer, cookie({ session: session.cookie }))).toMatchObject({
      "x-authgear-user-can-reauthenticate": "true",
    });
  });

  it("answers only Session-Valid: false for unknown credentials, clearing the session cookie when one was sent", async () => {
    const session = issuer.createSession("carol");
    for (const headers of [
      bearer("not-a-token"),
      cookie({ app_session: "nope" }),
      cookie({ app_access_token: "nope" }),
      // A credential is valid in its own place only.
      cookie({ app_session: session.cookie }),
      bearer(session.appAccessToken),
      cookie({ app_access_token: session.opaqueAccessToken }),
    ]) {
      const response = await resolve(issuer, headers);
      expect(response.status).toBe(200);
      expect(verdictOf(response)).toEqual(INVALID);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    for (const headers of [
      { ...cookie({ session: "nope", theme: "dark" }), ...bearer("nope") },
      cookie({ session: session.appSession }),
    ]) {
      const response = await resolve(issuer, headers);
      expect(verdictOf(response)).toEqual(INVALID);
      expect(response.headers.getSetCookie()).toEqual([CLEAR_SESSION]);
    }
  });

  it("reads cookies as Authgear does: first of a name wins, quotes removed, names exact; the bearer scheme in any case", async () => {
    const session = issuer.createSession("dave");
    expect(await who(issuer, { cookie: `session=${session.cookie}; session=other` })).toBe("dave");
    expect(await who(issuer, { cookie: `session=other; session=${session.cookie}` })).toBe("invalid");
    expect(await who(issuer, { cookie: `session="${session.cookie}"` })).toBe("dave");
    expect(await who(issuer, { cookie: `Session=${session.cookie}; my_session=${session.cookie}` })).toBe("none");
    expect(await who(issuer, { authorization: `bearer ${session.opaqueAccessToken}` })).toBe("dave");
    expect(await who(issuer, { authorization: `BEARER ${session.opaqueAccessToken}` })).toBe("dave");
    expect(await who(issuer, { authorization: `Token ${session.opaqueAccessToken}` })).toBe("none");
  });
});

describe("precedence: bearer, then app_session, then app_access_token, then session", () => {
  const issuer = useDevIssuer();

  it("takes the first valid credential in that order", async () => {
    const [a, b, c, d] = ["p-alice", "p-bob", "p-carol", "p-dave"].map((sub) => issuer.createSession(sub)) as [
      DevSession,
      DevSession,
      DevSession,
      DevSession,
    ];
    const all = { app_session: b.appSession, app_access_token: c.appAccessToken, session: d.cookie };
    expect(await who(issuer, { ...bearer(a.opaqueAccessToken), ...cookie(all) })).toBe("p-alice");
    expect(await who(issuer, cookie(all))).toBe("p-bob");
    expect(await who(issuer, cookie({ session: d.cookie, app_access_token: c.appAccessToken }))).toBe("p-carol");
    expect(await who(issuer, cookie({ session: d.cookie }))).toBe("p-dave");
    // A JWT bearer beats cookies too.
    const jwt = await issuer.mintAccessToken({ sub: "p-erin" });
    expect(await who(issuer, { ...bearer(jwt), ...cookie(all) })).toBe("p-erin");
  });

  it("skips invalid credentials for a later valid one, sending no Set-Cookie with a valid verdict", async () => {
    const session = issuer.createSession("p-frank");
    const response = await resolve(issuer, {
      ...bearer("bad"),
      ...cookie({ app_session: "bad", app_access_token: "bad", session: session.cookie }),
    });
    expect(verdictOf(response)["x-authgear-user-id"]).toBe("p-frank");
    const skipped = await resolve(issuer, { ...bearer(session.opaqueAccessToken), ...cookie({ session: "bad" }) });
    expect(verdictOf(skipped)["x-authgear-user-id"]).toBe("p-frank");
    expect(skipped.headers.get("set-cookie")).toBeNull();
  });
});

describe("state read at every request", () => {
  const issuer = useDevIssuer();

  it("reflects a role change and verification at once", async () => {
    issuer.upsertUser("s-alice", { roles: ["staff"] });
    const session = issuer.createSession("s-alice");
    const headers = cookie({ app_session: session.appSession });
    expect((await verdict(issuer, headers))["x-authgear-user-roles"]).toBe("staff");
    issuer.setRoles("s-alice", ["staff", "admin"]);
    expect((await verdict(issuer, headers))["x-authgear-user-roles"]).toBe("staff,admin");
    issuer.setRoles("s-alice", []);
    expect(await verdict(issuer, headers)).not.toHaveProperty("x-authgear-user-roles");
    issuer.upsertUser("s-alice", { verified: false });
    expect((await verdict(issuer, headers))["x-authgear-user-verified"]).toBe("false");
  });

  it("refuses every credential of a logged-out session, and only that session", async () => {
    const session = issuer.createSession("s-bob");
    const other = issuer.createSession("s-bob");
    for (const [, headers] of places(session)) expect(await who(issuer, headers)).toBe("s-bob");
    expect(issuer.logout(session.id)).toBe(true);
    expect(issuer.logout(session.id)).toBe(false);
    for (const [, headers] of places(session)) expect(await who(issuer, headers)).toBe("invalid");
    expect(await who(issuer, cookie({ session: other.cookie }))).toBe("s-bob");
  });

  it("refuses a disabled user until re-enabled, and a deleted user for good", async () => {
    const session = issuer.createSession("s-carol");
    issuer.disableUser("s-carol");
    for (const [, headers] of places(session)) expect(await who(issuer, headers)).toBe("invalid");
    issuer.upsertUser("s-carol", { disabled: false });
    expect(await who(issuer, cookie({ session: session.cookie }))).toBe("s-carol");
    expect(issuer.deleteUser("s-carol")).toBe(true);
    expect(issuer.deleteUser("s-carol")).toBe(false);
    expect(await who(issuer, cookie({ session: session.cookie }))).toBe("invalid");
    // The same sub created again is another user: the old session stays refused.
    issuer.upsertUser("s-carol");
    expect(await who(issuer, cookie({ session: session.cookie }))).toBe("invalid");
    expect(await who(issuer, cookie({ session: issuer.createSession("s-carol").cookie }))).toBe("s-carol");
  });

  it("refuses an expired session", async () => {
    const expired = issuer.createSession("s-dave", { expiresIn: -1 });
    for (const [, headers] of places(expired)) expect(await who(issuer, headers)).toBe("invalid");
    const lasting = issuer.createSession("s-dave", { expiresIn: 60 });
    expect(await who(issuer, cookie({ session: lasting.cookie }))).toBe("s-dave");
  });
});

describe("JWT access tokens as bearer", () => {
  const issuer = useDevIssuer();

  function verifyLocally(token: string) {
    return jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      typ: "at+jwt",
      issuer: issuer.origin,
      audience: issuer.origin,
    });
  }

  it("accepts one minted by the issuer, answering the user's current record and the token's amr and auth_time", async () => {
    issuer.upsertUser("j-alice", { roles: ["staff"] });
    const token = await issuer.mintAccessToken({ sub: "j-alice", issuedAt: 1_700_000_000, expiresIn: 10 ** 9 });
    expect(decodeJwt(token)[`${USER}roles`]).toEqual(["staff"]);
    issuer.setRoles("j-alice", ["admin"]);
    expect(await verdict(issuer, bearer(token))).toEqual(
      userIdentityHeaders("j-alice", {
        "x-authgear-user-roles": "admin",
        "x-authgear-session-amr": "pwd",
        "x-authgear-session-authenticated-at": "1700000000",
      }),
    );
    // The claims stay frozen in the token.
    expect((await verifyLocally(token)).payload[`${USER}roles`]).toEqual(["staff"]);
    const bare = await issuer.mintAccessToken({ sub: "j-alice", claims: { amr: undefined, auth_time: undefined } });
    const answer = await verdict(issuer, bearer(bare));
    expect(answer["x-authgear-session-amr"]).toBe("");
    expect(answer).not.toHaveProperty("x-authgear-session-authenticated-at");
  });

  it("takes the user claims of new tokens from the record, creating unknown users with the defaults", async () => {
    issuer.upsertUser("j-bob", { verified: false, anonymous: true, roles: ["a"] });
    expect(decodeJwt(await issuer.mintAccessToken({ sub: "j-bob" }))).toMatchObject({
      [`${USER}is_anonymous`]: true,
      [`${USER}is_verified`]: false,
      [`${USER}can_reauthenticate`]: false,
      [`${USER}roles`]: ["a"],
    });
    const token = await issuer.mintAccessToken({ sub: "j-new" });
    expect(await who(issuer, bearer(token))).toBe("j-new");
    issuer.disableUser("j-new");
    expect(await who(issuer, bearer(token))).toBe("invalid");
  });

  it("ties a token to a session with sessionId: the resolver refuses it after logout, a local verifier does not", async () => {
    const session = issuer.createSession("j-carol", { amr: ["pwd", "mfa"], authTime: 1_700_000_100 });
    const token = await issuer.mintAccessToken({ sessionId: session.id });
    expect(decodeJwt(token)).toMatchObject({
      sub: "j-carol",
      sid: session.id,
      amr: ["pwd", "mfa"],
      auth_time: 1_700_000_100,
    });
    expect(await verdict(issuer, bearer(token))).toMatchObject({
      "x-authgear-user-id": "j-carol",
      "x-authgear-session-amr": "pwd mfa",
      "x-authgear-session-authenticated-at": "1700000100",
    });
    issuer.logout(session.id);
    expect(await who(issuer, bearer(token))).toBe("invalid");
    await expect(verifyLocally(token)).resolves.toBeDefined();

    const emptyAmr = issuer.createSession("j-carol", { amr: [] });
    expect(decodeJwt(await issuer.mintAccessToken({ sub: "j-carol", sessionId: emptyAmr.id }))).not.toHaveProperty(
      "amr",
    );
    await expect(issuer.mintAccessToken({ sessionId: session.id })).rejects.toThrow(/no session/);
    await expect(issuer.mintAccessToken({ sub: "j-dave", sessionId: emptyAmr.id })).rejects.toThrow(
      /belongs to j-carol/,
    );
  });

  it("refuses what Authgear's resolver refuses", async () => {
    const session = issuer.createSession("j-erin");
    const sub = "j-erin";
    const removedKid = await issuer.addKey();
    const signedByRemoved = await issuer.mintAccessToken({ sub, kid: removedKid });
    issuer.removeKey(removedKid);
    const refused: Record<string, string> = {
      expired: await issuer.mintAccessToken({ sub, expiresIn: -5 }),
      "an ID token": await issuer.mintIdToken({ sub }),
      "typ JWT": await issuer.mintAccessToken({ sub, header: { typ: "JWT" } }),
      "no typ": await issuer.mintAccessToken({ sub, header: { typ: undefined } }),
      PS256: await issuer.mintAccessToken({ sub, header: { alg: "PS256" } }),
      "another audience": await issuer.mintAccessToken({ sub, claims: { aud: ["https://other.example"] } }),
      "another issuer": await issuer.mintAccessToken({ sub, claims: { iss: "https://other.example" } }),
      "an unpublished key": signedByRemoved,
      "a tampered payload": (await issuer.mintAccessToken({ sub })).replace(
        /\.[^.]+\./,
        `.${Buffer.from(JSON.stringify({ sub })).toString("base64url")}.`,
      ),
      "an unknown sid": await issuer.mintAccessToken({ sub, claims: { sid: "no-such-session" } }),
      "another user's sid": await issuer.mintAccessToken({ sub: "j-other", claims: { sid: session.id } }),
      "a deleted user": await issuer.mintAccessToken({ sub: "j-deleted" }),
      "no sub": await issuer.mintAccessToken({ sub, claims: { sub: undefined } }),
    };
    issuer.deleteUser("j-deleted");
    for (const [name, token] of Object.entries(refused)) {
      expect([name, await who(issuer, bearer(token))]).toEqual([name, "invalid"]);
    }
    expect(await who(issuer, bearer(await issuer.mintAccessToken({ sub })))).toBe("j-erin");
  });

  it("accepts tokens of a newly published signing key and refuses those of a rotated-out one", async () => {
    const old = await issuer.mintAccessToken({ sub: "j-frank" });
    await issuer.rotateKey();
    expect(await who(issuer, bearer(old))).toBe("invalid");
    expect(await who(issuer, bearer(await issuer.mintAccessToken({ sub: "j-frank" })))).toBe("j-frank");
  });
});

describe("HTTP", () => {
  const issuer = useDevIssuer();

  it("answers HEAD like GET, without a body", async () => {
    const session = issuer.createSession("h-alice");
    const head = await resolve(issuer, cookie({ session: session.cookie }), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(verdictOf(head)).toEqual(await verdict(issuer, cookie({ session: session.cookie })));
    expect(await head.text()).toBe("");
    const invalid = await resolve(issuer, cookie({ session: "bad" }), { method: "HEAD" });
    expect(verdictOf(invalid)).toEqual(INVALID);
    expect(invalid.headers.getSetCookie()).toEqual([CLEAR_SESSION]);
  });

  it("answers 405 to other methods", async () => {
    const session = issuer.createSession("h-bob");
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const response = await resolve(issuer, cookie({ session: session.cookie }), { method });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
      expect(verdictOf(response)).toEqual({});
    }
  });

  it("answers 404, not a verdict, to another Host or a forwarded host", async () => {
    const session = issuer.createSession("h-carol");
    const { host, port } = new URL(issuer.origin);
    const credentials = cookie({ session: session.cookie });
    const ok = await raw(issuer, { ...credentials, host });
    expect(ok.status).toBe(200);
    expect(authgearLines(ok)).toContainEqual(["X-Authgear-User-Id", "h-carol"]);
    for (const headers of [
      { host: `localhost:${port}` },
      { host: "127.0.0.1" },
      { host: "app.example.com" },
      { host, "x-forwarded-host": "app.example.com" },
      { host, "x-forwarded-host": host },
      { host, "x-original-host": "app.example.com" },
    ]) {
      const answer = await raw(issuer, { ...credentials, ...headers });
      expect([headers, answer.status]).toEqual([headers, 404]);
      expect(authgearLines(answer)).toEqual([]);
      expect(JSON.parse(answer.body)).toMatchObject({ error: "not_found" });
    }
  });

  it("counts every request to the resolver path, and only those", async () => {
    const before = issuer.resolverHits;
    await resolve(issuer);
    await resolve(issuer, {}, { method: "HEAD" });
    await resolve(issuer, {}, { method: "POST" });
    await raw(issuer, { host: "elsewhere.example" });
    await fetch(`${issuer.origin}/.well-known/openid-configuration`);
    await fetch(`${issuer.origin}/_resolver/resolve/extra`);
    expect(issuer.resolverHits - before).toBe(4);
  });
});

describe("failure modes", () => {
  const issuer = useDevIssuer();
  let session: DevSession;
  beforeAll(() => {
    session = issuer.createSession("f-alice");
  });
  beforeEach(() => {
    issuer.setResolverFailure("none");
  });

  it("http500 answers 500 without a verdict", async () => {
    issuer.setResolverFailure("http500");
    const response = await resolve(issuer, cookie({ session: session.cookie }));
    expect(response.status).toBe(500);
    expect(verdictOf(response)).toEqual({});
  });

  it("hang never answers", async () => {
    issuer.setResolverFailure("hang");
    const before = issuer.resolverHits;
    await expect(
      fetch(issuer.resolverUrl, { headers: cookie({ session: session.cookie }), signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({ name: "TimeoutError" });
    expect(issuer.resolverHits).toBe(before + 1);
  });

  it("redirect answers 302 to a copy that gives the real verdict when followed", async () => {
    issuer.setResolverFailure("redirect");
    const response = await resolve(issuer, cookie({ session: session.cookie }));
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${issuer.origin}/redirected/_resolver/resolve`);
    expect(verdictOf(response)).toEqual({});
    const before = { ...issuer.hits, resolver: issuer.resolverHits };
    const followed = await fetch(issuer.resolverUrl, { headers: cookie({ session: session.cookie }) });
    expect(followed.status).toBe(200);
    expect(verdictOf(followed)["x-authgear-user-id"]).toBe("f-alice");
    expect(issuer.hits.redirected).toBe(before.redirected + 1);
    expect(issuer.resolverHits).toBe(before.resolver + 1);
  });

  it("no-headers answers 200 without a verdict, whatever the credentials", async () => {
    issuer.setResolverFailure("no-headers");
    for (const headers of [cookie({ session: session.cookie }), cookie({ session: "bad" })]) {
      const response = await resolve(issuer, headers);
      expect(response.status).toBe(200);
      expect(verdictOf(response)).toEqual({});
      expect(response.headers.get("set-cookie")).toBeNull();
    }
  });

  const distorted: Array<[ResolverFailureMode, Array<[string, string]>]> = [
    [
      "malformed",
      [
        ["X-Authgear-Session-Valid", "yes"],
        ["X-Authgear-User-Id", "f-alice"],
      ],
    ],
    [
      "malformed-user-id",
      [
        ["X-Authgear-Session-Valid", "true"],
        ["X-Authgear-User-Id", "dev user, id"],
      ],
    ],
    [
      "duplicated",
      [
        ["X-Authgear-Session-Valid", "true"],
        ["X-Authgear-Session-Valid", "true"],
        ["X-Authgear-User-Id", "f-alice"],
      ],
    ],
    [
      "duplicated-user-id",
      [
        ["X-Authgear-Session-Valid", "true"],
        ["X-Authgear-User-Id", "f-alice"],
        ["X-Authgear-User-Id", "admin"],
      ],
    ],
    ["missing-user-id", [["X-Authgear-Session-Valid", "true"]]],
  ];

  it.each(distorted)("%s answers 200 with a distorted valid verdict", async (mode, expected) => {
    issuer.setResolverFailure(mode);
    const answer = await raw(issuer, cookie({ session: session.cookie }));
    expect(answer.status).toBe(200);
    const lines = authgearLines(answer);
    expect(lines.filter(([name]) => name === "X-Authgear-Session-Valid" || name === "X-Authgear-User-Id")).toEqual(
      expected,
    );
    expect(lines).toContainEqual(["X-Authgear-Session-Amr", "pwd"]);
    // With credentials that are not valid, the answer names a placeholder user.
    const placeholder = await verdict(issuer, cookie({ session: "bad" }));
    if (mode === "missing-user-id") expect(placeholder).not.toHaveProperty("x-authgear-user-id");
    else
      expect(placeholder["x-authgear-user-id"]).toMatch(
        mode === "malformed-user-id" ? /^dev user, id$/ : /^dev-resolver-failure/,
      );
  });

  it("fetch joins duplicated header lines, which a client must refuse", async () => {
    issuer.setResolverFailure("duplicated");
    expect((await verdict(issuer, cookie({ session: session.cookie })))["x-authgear-session-valid"]).toBe("true, true");
    issuer.setResolverFailure("duplicated-user-id");
    expect((await verdict(issuer, cookie({ session: session.cookie })))["x-authgear-user-id"]).toBe("f-alice, admin");
  });

  it("none restores the real verdicts", async () => {
    issuer.setResolverFailure("http500");
    issuer.setResolverFailure("none");
    expect(await who(issuer, cookie({ session: session.cookie }))).toBe("f-alice");
  });
});

describe("options and bounds", () => {
  describe("cookiePrefix", () => {
    const issuer = useDevIssuer({ cookiePrefix: "ag_" });

    it("reads and clears the prefixed cookies only", async () => {
      const session = issuer.createSession("o-alice");
      expect(await who(issuer, cookie({ ag_session: session.cookie }))).toBe("o-alice");
      expect(await who(issuer, cookie({ ag_app_session: session.appSession }))).toBe("o-alice");
      expect(await who(issuer, cookie({ session: session.cookie }))).toBe("none");
      const response = await resolve(issuer, cookie({ ag_session: "bad" }));
      expect(response.headers.getSetCookie()).toEqual([`ag_${CLEAR_SESSION}`]);
    });
  });

  describe("maxSessions", () => {
    const issuer = useDevIssuer({ maxSessions: 3 });

    it("drops the oldest session past the cap", async () => {
      const sessions = Array.from({ length: 5 }, (_, i) => issuer.createSession(`o-user-${i}`));
      const results = await Promise.all(sessions.map((session) => who(issuer, cookie({ session: session.cookie }))));
      expect(results).toEqual(["invalid", "invalid", "o-user-2", "o-user-3", "o-user-4"]);
      expect(issuer.logout(sessions[0]!.id)).toBe(false);
    });
  });

  describe("default cap", () => {
    const issuer = useDevIssuer();

    it("survives a flood of sessions with bounded state", async () => {
      const first = issuer.createSession("flood-first");
      let last: DevSession = first;
      for (let i = 0; i < 100_050; i += 1) last = issuer.createSession("flood");
      expect(await who(issuer, cookie({ session: first.cookie }))).toBe("invalid");
      expect(await who(issuer, cookie({ session: last.cookie }))).toBe("flood");
    });
  });
});

describe("dev endpoints", () => {
  const issuer = useDevIssuer();
  const post = (path: string, body?: unknown): Promise<Response> =>
    fetch(`${issuer.origin}${path}`, { method: "POST", ...(body !== undefined && { body: JSON.stringify(body) }) });

  it("POST /_dev/session creates a session with its credentials and a JWT tied to it", async () => {
    const response = await post("/_dev/session", { sub: "d-alice", roles: ["admin"], amr: ["pwd", "otp"] });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(
      ["access_token", "app_access_token", "app_session", "jwt_access_token", "session", "session_id", "sub"].sort(),
    );
    expect(body.sub).toBe("d-alice");
    expect(decodeJwt(body.jwt_access_token!)).toMatchObject({
      sub: "d-alice",
      sid: body.session_id,
      [`${USER}roles`]: ["admin"],
    });
    expect(await verdict(issuer, cookie({ session: body.session! }))).toMatchObject({
      "x-authgear-user-id": "d-alice",
      "x-authgear-user-roles": "admin",
      "x-authgear-session-amr": "pwd otp",
    });
    for (const headers of [
      bearer(body.access_token!),
      bearer(body.jwt_access_token!),
      cookie({ app_session: body.app_session! }),
      cookie({ app_access_token: body.app_access_token! }),
    ]) {
      expect(await who(issuer, headers)).toBe("d-alice");
    }

    expect((await post("/_dev/logout", { session_id: body.session_id })).status).toBe(204);
    expect(await who(issuer, bearer(body.jwt_access_token!))).toBe("invalid");
    expect((await post("/_dev/logout", { session_id: body.session_id })).status).toBe(404);

    const bare = (await (await post("/_dev/session")).json()) as Record<string, string>;
    expect(await who(issuer, cookie({ session: bare.session! }))).toBe(bare.sub);
  });

  it("POST /_dev/user changes a user; POST /_dev/token sets the roles it is given", async () => {
    const session = issuer.createSession("d-bob");
    expect((await post("/_dev/user", { sub: "d-bob", roles: ["x"], verified: false })).status).toBe(204);
    expect(await verdict(issuer, cookie({ session: session.cookie }))).toMatchObject({
      "x-authgear-user-roles": "x",
      "x-authgear-user-verified": "false",
    });
    expect((await post("/_dev/token", { sub: "d-bob", roles: ["y"] })).status).toBe(200);
    expect((await verdict(issuer, cookie({ session: session.cookie })))["x-authgear-user-roles"]).toBe("y");
    expect((await post("/_dev/user", { sub: "d-bob", disabled: true })).status).toBe(204);
    expect(await who(issuer, cookie({ session: session.cookie }))).toBe("invalid");
  });

  it("refuses malformed requests with 400 and other methods with 405", async () => {
    for (const [path, body] of [
      ["/_dev/session", { sub: 1 }],
      ["/_dev/session", { amr: "pwd" }],
      ["/_dev/session", [1]],
      ["/_dev/logout", {}],
      ["/_dev/logout", { session_id: 1 }],
      ["/_dev/user", {}],
      ["/_dev/user", { sub: "x", disabled: "yes" }],
      ["/_dev/user", { sub: "x", roles: [1] }],
    ] as const) {
      expect([path, body, (await post(path, body)).status]).toEqual([path, body, 400]);
    }
    for (const path of ["/_dev/session", "/_dev/logout", "/_dev/user"]) {
      const response = await fetch(`${issuer.origin}${path}`);
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
    }
  });
});
