/**
 * Debian's Chromium (package `chromium`; `.ci/run` installs it when missing), driven by
 * playwright-core, for the browser journeys. Its background networking is off: this machine's
 * network is closed, and a test's traffic stays on loopback. Every answer the page's network saw,
 * CORS preflights included (which Playwright's own events leave out), is recorded through the
 * DevTools protocol, answers the browser withheld from the page for want of a CORS grant too.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface SeenResponse {
  /** `Preflight`, `Fetch`, `Document`, ... as DevTools names the resource type. */
  readonly type: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** Names in lower case. */
  readonly headers: Record<string, string>;
  /** Why the browser withheld the answer from the page, when it did (DevTools' `corsErrorStatus.corsError`). */
  readonly corsError?: string;
}

const lowerCased = (headers: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));

/**
 * Records the responses `page` receives from now on, preflights included; read the array at any
 * time. A response blocked by CORS never reaches DevTools' `responseReceived`: it is recorded from
 * the raw answer (`responseReceivedExtraInfo`) when the load fails with a CORS error.
 */
export async function recordResponses(page: Page): Promise<SeenResponse[]> {
  const seen: SeenResponse[] = [];
  const requests = new Map<string, { method: string; url: string; type: string }>();
  const raw = new Map<string, { status: number; headers: Record<string, string> }>();
  const cdp = await page.context().newCDPSession(page);
  cdp.on("Network.requestWillBeSent", (event) =>
    requests.set(event.requestId, {
      method: event.request.method,
      url: event.request.url,
      type: event.type ?? "Other",
    }),
  );
  cdp.on("Network.responseReceivedExtraInfo", (event) =>
    raw.set(event.requestId, { status: event.statusCode, headers: lowerCased(event.headers) }),
  );
  cdp.on("Network.responseReceived", (event) => {
    const method = requests.get(event.requestId)?.method ?? "?";
    seen.push({
      type: event.type,
      method,
      url: event.response.url,
      status: event.response.status,
      headers: lowerCased(event.response.headers),
    });
  });
  cdp.on("Network.loadingFailed", (event) => {
    const request = requests.get(event.requestId);
    const answer = raw.get(event.requestId);
    if (event.corsErrorStatus === undefined || request === undefined || answer === undefined) return;
    seen.push({
      type: event.type,
      method: request.method,
      url: request.url,
      ...answer,
      corsError: event.corsErrorStatus.corsError,
    });
  });
  await cdp.send("Network.enable");
  return seen;
}
