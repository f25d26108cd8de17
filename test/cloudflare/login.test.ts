/**
 * The cookie journey `npm start` offers in resolver mode, in real workerd without a browser: a
 * navigation without a session goes to the dev issuer's login page (LOGIN_URL), the form sets
 * Authgear's `session` cookie and sends the person back, the gate lets the cookie through with its
 * identity, and signing out sends the next navigation to the login page again.
 */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { originRequestsThisTest, startWorker, loginGateSettings } from "./harness.ts";
import { useDevIssuer, useDemoOrigin } from "../helpers.ts";

/** The gate's own URL as `npm start` serves it: on loopback, where the login page may send people back. */
const GATE = "http://127.0.0.1:8787";
const issuer = useDevIssuer();
const origin = useDemoOrigin();
let gate: Miniflare;

beforeAll(() => {
  gate = startWorker(loginGateSettings(issuer.origin, origin.url), 1, []);
});
afterAll(async () => {
  await gate.dispose();
});

const seen = originRequestsThisTest(() => origin);
const navigate = (path: string, cookie?: string): Promise<Response> =>
  gate.dispatchFetch(`${GATE}${path}`, {
    redirect: "manual",
    headers: { accept: "text/html", ...(cookie !== undefined && { cookie }) },
  }) as unknown as Promise<Response>;

describe("the login journey of npm start", () => {
  it("login page → session cookie → identity at the origin → sign out → login page again", async () => {
    const first = await navigate("/app/page?x=1");
    expect(first.status).toBe(302);
    const login = new URL(first.headers.get("location") ?? "");
    expect(`${login.origin}${login.pathname}`).toBe(`${issuer.origin}/_dev/login`);
    expect(login.searchParams.get("return_to")).toBe(`${GATE}/app/page?x=1`);

    const page = await fetch(login);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/_dev/login">');
    expect(html).toContain(`value="${GATE}/app/page?x=1"`);

    const form = new URLSearchParams([
      ["sub", "carol"],
      ["roles", "admin, editor"],
      ["verified", "true"],
      ["return_to", `${GATE}/app/page?x=1`],
    ]);
    const signedIn = await fetch(`${issuer.origin}/_dev/login`, { method: "POST", body: form, redirect: "manual" });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe(`${GATE}/app/page?x=1`);
    const setCookie = signedIn.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = setCookie.split(";")[0]!;

    const back = await navigate("/app/page?x=1", cookie);
    expect(back.status).toBe(200);
    const [received] = seen();
    expect({
      user: received?.headers["x-authgear-user-id"],
      roles: received?.headers["x-authgear-user-roles"],
      verified: received?.headers["x-authgear-user-verified"],
    }).toEqual({
      user: "carol",
      roles: "admin,editor",
      verified: "true",
    });

    const signedOut = await fetch(`${issuer.origin}/_dev/signout?return_to=${encodeURIComponent(`${GATE}/app/page`)}`, {
      headers: { cookie },
      redirect: "manual",
    });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get("set-cookie")).toBe("session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
    const again = await navigate("/app/page", cookie);
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toContain("/_dev/login?return_to=");
    // API calls are not navigations: a 401 with its challenge, never a redirect.
    const api = (await gate.dispatchFetch(`${GATE}/api/items`, { redirect: "manual" })) as unknown as Response;
    expect(api.status).toBe(401);
    expect(seen()).toHaveLength(1);
  });

  it("never redirects anywhere but loopback (no open redirect), and wants a user id", async () => {
    for (const target of ["https://evil.example.com/", "javascript:alert(1)", "//evil.example.com/", "not a url"]) {
      expect((await fetch(`${issuer.origin}/_dev/login?return_to=${encodeURIComponent(target)}`)).status).toBe(400);
      const post = await fetch(`${issuer.origin}/_dev/login`, {
        method: "POST",
        body: new URLSearchParams([
          ["sub", "x"],
          ["return_to", target],
        ]),
        redirect: "manual",
      });
      expect(post.status).toBe(400);
      expect(
        (await fetch(`${issuer.origin}/_dev/signout?return_to=${encodeURIComponent(target)}`, { redirect: "manual" }))
          .status,
      ).toBe(400);
    }
    const noUser = await fetch(`${issuer.origin}/_dev/login`, {
      method: "POST",
      body: new URLSearchParams([
        ["sub", "two words"],
        ["return_to", `${GATE}/`],
      ]),
      redirect: "manual",
    });
    expect(noUser.status).toBe(400);
  });
});
