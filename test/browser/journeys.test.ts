/**
 * The two browser journeys of Authgear users, in real Chromium against the Worker in workerd:
 * - an SPA on its own origin (the SPA demo of `npm start`) calling the API through the gate with
 *   `Authorization: Bearer`: its preflight answered by the gate, the identity the origin received,
 *   and an expired token's 401 readable by the page with its challenge; a page of an origin the
 *   gate does not list gets no CORS grant, so the browser hides every answer from it;
 * - a web app on Authgear's session cookie (resolver mode): navigate → login page → back with an
 *   identity → sign out → sent to the login page again.
 */
import type { Miniflare } from "miniflare";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import type { LoopbackServer } from "../../dev/loopback-server.ts";
import { startDemoOrigin, type DemoOrigin } from "../../dev/origin.ts";
import { SPA_USER, SPA_WEBSOCKET_PROTOCOL, startDemoSpa } from "../../dev/spa.ts";
import { originRequestsThisTest, startWorker, loginGateSettings } from "../cloudflare/harness.ts";
import { freePort } from "../helpers.ts";
import { launchChromium, recordResponses, type SeenResponse } from "./chromium.ts";

const JOURNEY_MS = 30_000;
let browser: Browser;
let issuer: DevIssuer;
let origin: DemoOrigin;
/** JWT mode, CORS for `spa` only. */
let apiGate: Miniflare;
let apiUrl: string;
/** Resolver mode with the dev issuer's login page, as `AUTH_MODE=resolver npm start`. */
let webGate: Miniflare;
let webUrl: string;
/** The SPA demo on the origin the API gate lists, and the same page on one it does not. */
let spa: LoopbackServer;
let stranger: LoopbackServer;

/** How to stop what beforeAll started, in the order it started. */
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const [apiPort, webPort, spaPort, strangerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  apiUrl = `http://127.0.0.1:${apiPort}`;
  webUrl = `http://127.0.0.1:${webPort}`;
  const spaOrigin = `http://127.0.0.1:${spaPort}`;
  // The dev issuer lets both pages mint tokens: only the gate's list differs.
  [issuer, origin, browser] = await Promise.all([
    startDevIssuer({ corsOrigins: [spaOrigin, `http://127.0.0.1:${strangerPort}`] }),
    startDemoOrigin(),
    launchChromium(),
  ]);
  stops.push(
    () => issuer.close(),
    () => origin.close(),
    () => browser.close(),
  );
  [spa, stranger] = await Promise.all([
    startDemoSpa({ port: spaPort, issuer: issuer.origin, gate: apiUrl }),
    startDemoSpa({ port: strangerPort, issuer: issuer.origin, gate: apiUrl }),
  ]);
  stops.push(
    () => spa.close(),
    () => stranger.close(),
  );
  apiGate = startWorker(
    { AUTHGEAR_ENDPOINT: issuer.origin, ORIGIN_URL: origin.url, CORS_ALLOWED_ORIGINS: spaOrigin },
    1,
    [],
    undefined,
    apiPort,
  );
  webGate = startWorker(loginGateSettings(issuer.origin, origin.url), 1, [], undefined, webPort);
  stops.push(
    () => apiGate.dispose(),
    () => webGate.dispose(),
  );
  await Promise.all([apiGate.ready, webGate.ready]);
}, JOURNEY_MS);

afterAll(async () => {
  // Last started, first stopped: what beforeAll started before it failed, if it did.
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

let context: BrowserContext;
let page: Page;
let responses: SeenResponse[];
beforeEach(async () => {
  context = await browser.newContext();
  page = await context.newPage();
  responses = await recordResponses(page);
});
afterEach(async () => {
  await context.close();
});

const seen = originRequestsThisTest(() => origin);

/** Clicks `button` on the SPA demo and returns what the page shows once it has answered. */
async function click(button: "sign-in" | "call" | "sign-out" | "ws-open"): Promise<string> {
  const before = await page.textContent("#result");
  await page.click(`#${button}`);
  await page.waitForFunction((previous) => document.getElementById("result")?.textContent !== previous, before);
  return (await page.textContent("#result")) ?? "";
}

async function signIn(lifetime: "1800" | "-300"): Promise<void> {
  await page.selectOption("#lifetime", lifetime);
  expect(await click("sign-in")).toMatch(/^signed in: a token for dev-user, /);
}

/** The gate's answers to preflights and fetches, as the browser received them. */
const fromGate = (type: "Preflight" | "Fetch"): SeenResponse[] =>
  responses.filter((response) => response.type === type && response.url.startsWith(apiUrl));

describe("an SPA on an allowed origin, through the gate with a bearer token", () => {
  it(
    "gets its preflight answered by the gate, and the identity the origin received",
    { timeout: JOURNEY_MS },
    async () => {
      await page.goto(spa.url);
      await signIn("1800");
      const shown = await click("call");
      expect(shown.split("\n")).toEqual(
        expect.arrayContaining([
          "GET /hello -> 200",
          "the origin received:",
          `  x-authgear-user-id: ${SPA_USER}`,
          "  x-authgear-user-roles: admin",
        ]),
      );
      const [preflight, ...otherPreflights] = fromGate("Preflight");
      expect(otherPreflights).toEqual([]);
      expect(preflight).toMatchObject({ method: "OPTIONS", url: `${apiUrl}/hello`, status: 204 });
      expect(preflight?.headers).toMatchObject({
        "access-control-allow-origin": spa.url,
        "access-control-allow-headers": "authorization",
        "access-control-max-age": "600",
      });
      // The preflight never reached the origin: the gate answered it. The call did, with its identity.
      expect(
        seen().map(({ method, path, headers }) => ({ method, path, user: headers["x-authgear-user-id"] })),
      ).toEqual([{ method: "GET", path: "/hello", user: SPA_USER }]);
    },
  );

  it("reads an expired token's 401 with its WWW-Authenticate challenge", { timeout: JOURNEY_MS }, async () => {
    await page.goto(spa.url);
    await signIn("-300");
    const [status, challenge, body] = (await click("call")).split("\n");
    expect(status).toBe("GET /hello -> 401 (refused by the gate)");
    expect(challenge).toBe(
      `WWW-Authenticate: Bearer realm="${issuer.origin}", resource_metadata="${apiUrl}/.well-known/oauth-protected-resource", error="invalid_token", error_description="The access token has expired."`,
    );
    expect(JSON.parse(body ?? "")).toMatchObject({ error: "invalid_token", code: "ERR_JWT_EXPIRED" });
    const [refusal, ...more] = fromGate("Fetch");
    expect(more).toEqual([]);
    expect(refusal?.status).toBe(401);
    expect(refusal?.headers).toMatchObject({ "access-control-allow-origin": spa.url, vary: "Origin" });
    expect(seen()).toEqual([]);
  });

  it("reads the 401 of a call without a token (no preflight: a simple request)", { timeout: JOURNEY_MS }, async () => {
    await page.goto(spa.url);
    const [status, challenge] = (await click("call")).split("\n");
    expect(status).toBe("GET /hello -> 401 (refused by the gate)");
    expect(challenge).toBe(
      `WWW-Authenticate: Bearer realm="${issuer.origin}", resource_metadata="${apiUrl}/.well-known/oauth-protected-resource"`,
    );
    expect(fromGate("Preflight")).toEqual([]);
  });
});

describe("an SPA opening a WebSocket through the gate, its token offered as a subprotocol", () => {
  it("is shown the identity the origin received and its messages echoed", { timeout: JOURNEY_MS }, async () => {
    await page.goto(spa.url);
    await signIn("1800");
    await click("ws-open");
    await page.waitForFunction(() => document.getElementById("result")?.textContent.includes("echoed: ") === true);
    const shown = ((await page.textContent("#result")) ?? "").split("\n");
    expect(shown.slice(0, 2)).toEqual([
      `WebSocket /chat -> open, protocol ${SPA_WEBSOCKET_PROTOCOL}`,
      "the origin received:",
    ]);
    expect(shown.slice(-2)).toEqual([
      `  sec-websocket-protocol: ${SPA_WEBSOCKET_PROTOCOL}`,
      "echoed: hello from the page",
    ]);
    expect(shown).toEqual(
      expect.arrayContaining([`  x-authgear-user-id: ${SPA_USER}`, "  x-authgear-user-roles: admin"]),
    );
    // The browser offered the token's entry; the origin saw the upgrade without it.
    const [upgrade, ...more] = seen();
    expect(more).toEqual([]);
    expect(upgrade).toMatchObject({ method: "GET", path: "/chat" });
    expect(upgrade?.headers.upgrade).toBe("websocket");
    expect(upgrade?.headers["sec-websocket-protocol"]).toBe(SPA_WEBSOCKET_PROTOCOL);
    expect(JSON.stringify(upgrade)).not.toContain("base64url.bearer");
  });

  it(
    "without a token: the handshake is refused (401), the page sees the connection close",
    { timeout: JOURNEY_MS },
    async () => {
      // DevTools tells what the page is not told: Chromium's reading of the gate's 401 and its challenge.
      const failures: string[] = [];
      const cdp = await context.newCDPSession(page);
      cdp.on("Network.webSocketFrameError", (event) => failures.push(event.errorMessage));
      await cdp.send("Network.enable");
      await page.goto(spa.url);
      expect(await click("ws-open")).toBe("WebSocket /chat -> refused (closed with code 1006 before opening)");
      expect(failures).toEqual(["HTTP Authentication failed; no valid credentials available"]);
      expect(seen()).toEqual([]);
    },
  );
});

describe("a page on an origin the gate does not list", () => {
  it(
    "gets its preflight refused without any CORS header, and cannot read a thing",
    { timeout: JOURNEY_MS },
    async () => {
      await page.goto(stranger.url);
      await signIn("1800");
      expect(await click("call")).toMatch(/^GET \/hello -> failed: TypeError: Failed to fetch\n/);
      const [preflight, ...more] = fromGate("Preflight");
      expect(more).toEqual([]);
      expect(preflight).toMatchObject({ method: "OPTIONS", url: `${apiUrl}/hello`, status: 403 });
      expect(Object.keys(preflight?.headers ?? {}).filter((name) => name.startsWith("access-control-"))).toEqual([]);
      expect(fromGate("Fetch")).toEqual([]);
      expect(seen()).toEqual([]);
    },
  );

  it(
    "gets the gate's 401 to a simple request without a grant: hidden from its scripts",
    { timeout: JOURNEY_MS },
    async () => {
      await page.goto(stranger.url);
      expect(await click("call")).toMatch(/^GET \/hello -> failed: TypeError: Failed to fetch\n/);
      const [refusal, ...more] = fromGate("Fetch");
      expect(more).toEqual([]);
      expect(refusal).toMatchObject({ status: 401, corsError: "MissingAllowOriginHeader" });
      expect(Object.keys(refusal?.headers ?? {}).filter((name) => name.startsWith("access-control-"))).toEqual([]);
    },
  );
});

describe("a web app on Authgear's session cookie (resolver mode, LOGIN_URL)", () => {
  it(
    "navigate → login page → back with an identity → sign out → login page again",
    { timeout: JOURNEY_MS },
    async () => {
      const target = `${webUrl}/app/page?x=1`;
      await page.goto(target);
      expect(page.url()).toBe(`${issuer.origin}/_dev/login?return_to=${encodeURIComponent(target)}`);
      expect(await page.textContent("h1")).toBe("Dev issuer: sign in");

      await page.fill('input[name="sub"]', "carol");
      await page.fill('input[name="roles"]', "admin, editor");
      await Promise.all([page.waitForURL(target), page.click('button[type="submit"]')]);
      // What the person sees: the demo origin's echo, with the identity the gate added.
      const echoed = JSON.parse((await page.textContent("body")) ?? "") as { headers: Record<string, string> };
      expect(echoed.headers).toMatchObject({
        "x-authgear-user-id": "carol",
        "x-authgear-user-roles": "admin,editor",
        "x-authgear-user-verified": "true",
      });
      const [session] = (await context.cookies(webUrl)).filter((cookie) => cookie.name === "session");
      expect(session).toMatchObject({ domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Lax" });

      // A script's call is not a navigation: a 401 with JSON, never a redirect (here, without the cookie).
      const api = await page.evaluate(async () => {
        const response = await fetch("/api/items", { credentials: "omit", redirect: "manual" });
        return { status: response.status, body: (await response.json()) as unknown };
      });
      expect(api).toMatchObject({ status: 401, body: { error: "unauthorized", code: "ERR_CREDENTIALS_MISSING" } });

      await page.goto(`${issuer.origin}/_dev/signout?return_to=${encodeURIComponent(`${webUrl}/app/page`)}`);
      expect(page.url()).toBe(`${issuer.origin}/_dev/login?return_to=${encodeURIComponent(`${webUrl}/app/page`)}`);
      expect((await context.cookies(webUrl)).filter((cookie) => cookie.name === "session")).toEqual([]);

      // The session itself ended: its old cookie, put back, is sent to the login page too.
      await context.addCookies([{ ...session!, sameSite: "Lax" }]);
      await page.goto(target);
      expect(page.url()).toBe(`${issuer.origin}/_dev/login?return_to=${encodeURIComponent(target)}`);
      // (The browser's own favicon request went through with the session too.)
      const pages = seen().filter(({ path }) => path !== "/favicon.ico");
      expect(pages.map(({ path, headers }) => ({ path, user: headers["x-authgear-user-id"] }))).toEqual([
        { path: "/app/page?x=1", user: "carol" },
      ]);
    },
  );
});
