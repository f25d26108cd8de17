/**
 * `npm start` end to end: the dev issuer, the demo origin and the real Worker under
 * `wrangler dev --local`, on free ports, in JWT mode, in resolver mode (`AUTH_MODE`) and with
 * route rules (`ROUTES`); the effective configuration is printed, the printed commands work, the
 * Worker's refusals are logged in the console, a bad setting stops it at start, and SIGINT leaves
 * no process.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ReceivedRequest } from "../../dev/origin.ts";
import { ALL_SETTING_NAMES } from "../../src/doctor/settings.ts";
import { freePort } from "../helpers.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STARTUP_MS = 60_000;

interface ProcessInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly cmdline: string;
}

/** Live (not zombie) processes, from /proc; empty where there is no /proc. */
function liveProcesses(): ProcessInfo[] {
  if (!existsSync("/proc/self/stat")) return [];
  const found: ProcessInfo[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = /\) (\S) \d+ (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, "utf8"));
      if (!stat || stat[1] === "Z") continue;
      found.push({
        pid: Number(pid),
        pgid: Number(stat[2]),
        cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "),
      });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** A running `npm start` (dev/start.ts), its output so far and its exit. */
interface Started {
  readonly child: ChildProcess;
  readonly workerPort: number;
  readonly exited: Promise<number | null>;
  readonly output: () => string;
}

/** Every setting of either packaging, empty (unset): the settings of the environment the tests run in stay out. */
const NO_SETTINGS = Object.fromEntries(ALL_SETTING_NAMES.map((name) => [name, ""]));

/** The Worker passed the request: the demo origin echoes `/hello` with dev-user's identity headers (and `more`). */
async function expectDevUserEchoed(response: Response, more: Record<string, string> = {}): Promise<void> {
  expect(response.status).toBe(200);
  const echoed = (await response.json()) as ReceivedRequest;
  expect(echoed.path).toBe("/hello");
  expect(echoed.headers).toMatchObject({
    "x-authgear-session-valid": "true",
    "x-authgear-user-id": "dev-user",
    "x-authgear-user-anonymous": "false",
    "x-authgear-user-verified": "true",
    ...more,
  });
}

/**
 * Sends what the printed `curl -s -X POST <issuer><path> -H 'content-type: application/json' -d '<body>'`
 * sends; fails the test when no such command was printed.
 */
function postAsPrinted(output: string, path: string): Promise<Response> {
  const printed = new RegExp(
    `^curl -s -X POST (http://127\\.0\\.0\\.1:\\d+${path}) -H 'content-type: application/json' -d '(.*)'$`,
    "m",
  ).exec(output);
  expect(printed).not.toBeNull();
  return fetch(printed![1]!, { method: "POST", headers: { "content-type": "application/json" }, body: printed![2]! });
}

/** Starts dev/start.ts on free ports with the settings of `env` and no others. */
async function spawnNpmStart(env: Record<string, string>): Promise<Started> {
  const [workerPort, spaPort] = await Promise.all([freePort(), freePort()]);
  const child = spawn(process.execPath, ["--import", "tsx", "dev/start.ts"], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ...NO_SETTINGS,
      ...env,
      WORKER_PORT: String(workerPort),
      DEV_ISSUER_PORT: "0",
      DEV_ISSUER2_PORT: "0",
      DEMO_ORIGIN_PORT: "0",
      DEMO_SPA_PORT: String(spaPort),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, workerPort, exited, output: () => output };
}

/** Starts dev/start.ts (see {@link spawnNpmStart}) and waits until it has printed its commands. */
async function startNpmStart(env: Record<string, string>): Promise<Started> {
  const started = await spawnNpmStart(env);
  const { child, output } = started;
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output()}`);
      expect(output()).toContain("Ctrl-C stops them all.");
    },
    { timeout: STARTUP_MS, interval: 100 },
  );
  return started;
}

/** Waits until `npm start` has printed `line`, as a whole line, after `from` (an earlier length of its output). */
async function expectLineAfter(started: Started, from: number, line: string): Promise<void> {
  await vi.waitFor(
    () => {
      expect(started.output().slice(from).split("\n")).toContain(line);
    },
    { timeout: 5_000, interval: 50 },
  );
}

/** The printed machine-client commands (the token request and the call), as one script. */
function machineScript(output: string): string {
  const tokenLine = String.raw`^(TOKEN=\$\(curl -s \S+/oauth2/token .*\))`;
  const callLine = String.raw`(curl -i \S+/m2m/orders -H "Authorization: Bearer \$TOKEN")$`;
  const match = new RegExp(`${tokenLine}\n${callLine}`, "m").exec(output);
  expect(match).not.toBeNull();
  return `${match![1]!}\n${match![2]!}`;
}

/** Runs a script with bash, as a user pasting it into a shell would; its standard output. */
async function bash(script: string): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", ["-c", script], { timeout: 20_000 });
  return stdout;
}

/** Runs the printed machine-client commands with bash, as pasted into a shell; the origin's echo of the call. */
async function runMachineScript(output: string): Promise<{ status: string; echoed: ReceivedRequest }> {
  const stdout = await bash(machineScript(output));
  const [head = "", body = ""] = stdout.split(/\r?\n\r?\n/, 2);
  return { status: head.split("\n")[0]!.trim(), echoed: JSON.parse(body) as ReceivedRequest };
}

async function killIfRunning(started: Started | undefined): Promise<void> {
  if (started?.child.exitCode === null) {
    started.child.kill("SIGKILL");
    await started.exited;
  }
}

/** SIGINT stops them all: exit 0, no process left in wrangler's group, the Worker's port closed. */
async function expectCleanStopOnSigint({ child, workerPort, exited, output }: Started): Promise<void> {
  const wranglerGroups = new Set(
    liveProcesses()
      .filter(
        ({ cmdline }) =>
          cmdline.includes("wrangler") && cmdline.includes(` dev `) && cmdline.includes(`--port ${workerPort} `),
      )
      .map(({ pgid }) => pgid),
  );
  const inGroups = (): ProcessInfo[] => liveProcesses().filter(({ pgid }) => wranglerGroups.has(pgid));
  if (existsSync("/proc/self/stat")) {
    expect(wranglerGroups.size).toBe(1);
    expect(inGroups().some(({ cmdline }) => cmdline.includes("workerd serve"))).toBe(true);
  }
  child.kill("SIGINT");
  expect(await exited).toBe(0);
  expect(output()).toContain("SIGINT: stopping the Worker, the demo origin, the SPA demo and the dev issuer");
  expect(inGroups()).toEqual([]);
  await expect(fetch(`http://127.0.0.1:${workerPort}/healthz`)).rejects.toThrow();
}

describe("npm start", () => {
  let started: Started;
  let output = "";
  let workerPort: number;

  beforeAll(async () => {
    started = await startNpmStart({});
    ({ workerPort } = started);
    output = started.output();
  }, STARTUP_MS + 5_000);

  afterAll(() => killIfRunning(started));

  it("says what runs where and that its own check passed", () => {
    expect(output).toMatch(
      new RegExp(
        `^authgear-edge: Worker http://127\\.0\\.0\\.1:${workerPort} \\(wrangler dev --local, wrangler\\.toml\\) -> demo origin http://127\\.0\\.0\\.1:\\d+; dev issuer http://127\\.0\\.0\\.1:\\d+`,
        "m",
      ),
    );
    expect(output).toMatch(
      new RegExp(
        "^checked: with the token 200 \\(the origin received x-authgear-user-id: dev-user\\), " +
          "with the second issuer's token 200 \\(dev-user, no resolver call\\), " +
          "with the machine token 200 \\(the origin received x-authgear-edge-kind: client, no user id\\), without 401$",
        "m",
      ),
    );
  });

  it("prints the effective configuration: the dev stack's settings, every other at its default", () => {
    const issuers = `\\[\\{"issuer":"(http://127\\.0\\.0\\.1:\\d+)","resources":\\["http://127\\.0\\.0\\.1:${workerPort}"\\]\\},\\{"issuer":"(http://127\\.0\\.0\\.1:\\d+)"\\}\\]`;
    const settings =
      /^authgear-edge: the Worker's settings, from this environment \(every other setting has its default; docs\/configuration\.md\):\n((?: {2}.*\n)+)/m.exec(
        output,
      );
    expect(settings).not.toBeNull();
    const lines = settings![1]!.trimEnd().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^ {2}ISSUERS=${issuers} \\(npm start: the two dev issuers\\)$`)),
      "  PUBLIC_PATHS=/healthz,/public/* (npm start's default)",
      '  ROUTES=[{"path":"/m2m/*","subject":"client","scopes":["orders:read"]}] (npm start\'s default: machine clients on /m2m/*)',
      expect.stringMatching(/^ {2}ORIGIN_URL=http:\/\/127\.0\.0\.1:\d+ \(npm start: the demo origin\)$/),
      expect.stringMatching(/^ {2}CORS_ALLOWED_ORIGINS=http:\/\/127\.0\.0\.1:\d+ \(npm start: the SPA demo\)$/),
    ]);
    const [, first, second] = new RegExp(issuers).exec(lines[0]!)!;
    expect(output).toContain(`; dev issuer ${first!}; second dev issuer ${second!}; public paths`);
  });

  it("prints a curl with a user token of the second dev issuer that passes; the origin learns its issuer", async () => {
    const second = /; second dev issuer (http:\/\/127\.0\.0\.1:\d+);/.exec(output)![1]!;
    const match = new RegExp(
      `^# passes too: a user token of the second dev issuer \\(ISSUERS trusts both\\); the origin also receives x-authgear-edge-issuer: ${second}\\n` +
        `curl -i (http://127\\.0\\.0\\.1:${workerPort}/hello) -H "Authorization: Bearer ([\\w.-]+)"$`,
      "m",
    ).exec(output);
    expect(match).not.toBeNull();
    const response = await fetch(match![1]!, { headers: { authorization: `Bearer ${match![2]!}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as ReceivedRequest).headers).toMatchObject({
      "x-authgear-user-id": "dev-user",
      "x-authgear-edge-kind": "user",
      "x-authgear-edge-issuer": second,
    });
  });

  it("prints a machine client's token request and call, which, run by bash, reach the origin as that client", async () => {
    expect(output).toContain("then a call to /m2m/* (ROUTES admits clients with scope orders:read there);");
    const { status, echoed } = await runMachineScript(output);
    expect(status).toBe("HTTP/1.1 200 OK");
    expect(echoed.path).toBe("/m2m/orders");
    expect(echoed.headers).toMatchObject({
      "x-authgear-edge-kind": "client",
      "x-authgear-edge-client-id": "dev-machine",
      "x-authgear-edge-scope": "orders:read",
    });
    expect(echoed.headers).not.toHaveProperty("x-authgear-user-id");
    expect(echoed.headers).not.toHaveProperty("x-authgear-session-valid");
  });

  it("refuses the machine client where no rule admits it (/hello) with 403, and logs it", async () => {
    const script = machineScript(output).split("\n")[0]!;
    const token = await bash(`${script}\nprintf %s "$TOKEN"`);
    const from = started.output().length;
    const headers = { authorization: `Bearer ${token}` };
    const response = await fetch(`http://127.0.0.1:${workerPort}/hello`, { headers });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: "insufficient_scope", code: "ERR_INSUFFICIENT_SCOPE" });
    const line = "worker: request_refused code=ERR_INSUFFICIENT_SCOPE status=403 method=GET path=/hello";
    await expectLineAfter(started, from, line);
  });

  it("prints a curl with a token that passes, the origin receiving the identity headers", async () => {
    const match = new RegExp(
      `^curl -i (http://127\\.0\\.0\\.1:${workerPort}/hello) -H "Authorization: Bearer ([\\w.-]+)"$`,
      "m",
    ).exec(output);
    expect(match).not.toBeNull();
    const [, url, token] = match!;
    const response = await fetch(url!, {
      headers: { authorization: `Bearer ${token!}`, "x-authgear-user-id": "spoofed" },
    });
    await expectDevUserEchoed(response);
  });

  it("prints a curl without a token that is refused with 401, and the refusal's log line", async () => {
    expect(output).toMatch(new RegExp(`^curl -i http://127\\.0\\.0\\.1:${workerPort}/hello$`, "m"));
    const from = started.output().length;
    const response = await fetch(`http://127.0.0.1:${workerPort}/hello`);
    expect(response.status).toBe(401);
    await response.arrayBuffer();
    await expectLineAfter(
      started,
      from,
      "worker: request_refused code=ERR_CREDENTIALS_MISSING status=401 method=GET path=/hello",
    );
  });

  it("serves the SPA demo on its own origin, whose preflights the Worker answers and whose tokens the dev issuer mints", async () => {
    const match = /^SPA demo: open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser /m.exec(output);
    expect(match).not.toBeNull();
    const spa = match![1]!;
    const page = await fetch(`${spa}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(
      new RegExp(
        `connect-src http://127\\.0\\.0\\.1:\\d+ http://127\\.0\\.0\\.1:${workerPort} ws://127\\.0\\.0\\.1:${workerPort};`,
      ),
    );
    expect(await page.text()).toContain(`"gate":"http://127.0.0.1:${workerPort}"`);
    const preflight = await fetch(`http://127.0.0.1:${workerPort}/hello`, {
      method: "OPTIONS",
      headers: {
        origin: spa,
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(spa);
    const issuer = /dev issuer (http:\/\/127\.0\.0\.1:\d+);/.exec(output)![1]!;
    const token = await fetch(`${issuer}/_dev/token`, {
      method: "OPTIONS",
      headers: { origin: spa, "access-control-request-method": "POST" },
    });
    expect(token.status).toBe(204);
    expect(token.headers.get("access-control-allow-origin")).toBe(spa);
  });

  it("shows the Worker's log events and not wrangler's own chatter", () => {
    expect(output).toContain("The Worker's log events (refusals, key-set events) appear below, one line each.");
    expect(started.output()).not.toContain("[wrangler:info]");
    expect(started.output()).not.toContain('{"level":"info"');
  });

  it("prints how to mint another token, and that command works", async () => {
    const response = await postAsPrinted(output, "/_dev/token");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token_type: "Bearer", access_token: expect.any(String) as unknown });
  });

  it("stops them all on SIGINT, exits 0 and leaves no wrangler or workerd behind", async () => {
    await expectCleanStopOnSigint(started);
  });
});

describe("npm start with AUTH_MODE=resolver", () => {
  let started: Started;
  let output = "";
  let workerPort: number;

  beforeAll(async () => {
    // No verdict cache, so the logout shows at once.
    started = await startNpmStart({ AUTH_MODE: "resolver", RESOLVER_CACHE_SECONDS: "0" });
    ({ workerPort } = started);
    output = started.output();
  }, STARTUP_MS + 5_000);

  afterAll(() => killIfRunning(started));

  const hello = (): string => `http://127.0.0.1:${workerPort}/hello`;

  /** The printed cookie curl's URL and Cookie header. */
  const cookieCurl = (): { url: string; cookie: string } => {
    const match = new RegExp(
      `^curl -i (http://127\\.0\\.0\\.1:${workerPort}/hello) -H "Cookie: (session=[\\w-]+)"$`,
      "m",
    ).exec(output);
    expect(match).not.toBeNull();
    return { url: match![1]!, cookie: match![2]! };
  };

  it("says it runs the Worker in resolver mode and that its own check with the cookie passed", () => {
    expect(output).toMatch(
      new RegExp(
        `^authgear-edge: Worker http://127\\.0\\.0\\.1:${workerPort} \\(wrangler dev --local, wrangler\\.toml, AUTH_MODE=resolver\\) -> demo origin `,
        "m",
      ),
    );
    expect(output).toMatch(
      /^checked: with the session cookie 200 \(the origin received x-authgear-user-id: dev-user\), with the machine token 200 \(the origin received x-authgear-edge-kind: client, no user id\), without 401$/m,
    );
    // The bearer JWT curls are hybrid mode's; resolver mode trusts one issuer.
    expect(output).not.toContain("Authorization: Bearer ey");
    expect(output).not.toContain("second dev issuer");
    expect(output).toMatch(
      /^ {2}ISSUERS=\[\{"issuer":"http:\/\/127\.0\.0\.1:\d+","resources":\["http:\/\/127\.0\.0\.1:\d+"\]\}\] \(npm start: the dev issuer \(AUTH_MODE=resolver trusts one\)\)$/m,
    );
  });

  it("prints a machine client's commands that work in resolver mode too (verified by the Worker itself)", async () => {
    const { status, echoed } = await runMachineScript(output);
    expect(status).toBe("HTTP/1.1 200 OK");
    expect(echoed.headers).toMatchObject({
      "x-authgear-edge-kind": "client",
      "x-authgear-edge-client-id": "dev-machine",
    });
    expect(echoed.headers).not.toHaveProperty("x-authgear-user-id");
  });

  it("prints a curl with the session cookie that passes, the origin receiving the identity", async () => {
    const { url, cookie } = cookieCurl();
    const response = await fetch(url, { headers: { cookie, "x-authgear-user-id": "spoofed" } });
    await expectDevUserEchoed(response, { "x-authgear-session-amr": "pwd" });
  });

  it("prints a curl without credentials that is refused with 401", async () => {
    expect(output).toMatch(
      new RegExp(`^# refused with 401: no credentials\\ncurl -i http://127\\.0\\.0\\.1:${workerPort}/hello$`, "m"),
    );
    const response = await fetch(hello());
    expect(response.status).toBe(401);
    await response.arrayBuffer();
  });

  it("prints how to log the session out; after that command the cookie is refused with 401", async () => {
    const { url, cookie } = cookieCurl();
    const match =
      /^# log the session out \(204\); the cookie is then refused with 401 at once \(RESOLVER_CACHE_SECONDS=0[^\n]*\ncurl -s -X POST (http:\/\/127\.0\.0\.1:\d+\/_dev\/logout) -H 'content-type: application\/json' -d '(\{"session_id":"[\w-]+"\})' -w '%\{http_code\}\\n'$/m.exec(
        output,
      );
    expect(match).not.toBeNull();
    const logout = await fetch(match![1]!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: match![2]!,
    });
    expect(logout.status).toBe(204);
    const response = await fetch(url, { headers: { cookie } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_token", code: "ERR_SESSION_INVALID" });
  });

  it("prints how to create another session, and its cookie passes", async () => {
    const created = await postAsPrinted(output, "/_dev/session");
    expect(created.status).toBe(200);
    const { session } = (await created.json()) as { session: string };
    const response = await fetch(hello(), { headers: { cookie: `session=${session}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as ReceivedRequest).headers["x-authgear-user-id"]).toBe("dev-user");
  });

  it("stops them all on SIGINT, exits 0 and leaves no wrangler or workerd behind", async () => {
    await expectCleanStopOnSigint(started);
  });
});

describe("npm start with settings from the environment (ROUTES, and AUTHGEAR_ENDPOINT overridden)", () => {
  const ROUTES = '[{"path":"/admin/*","roles":["admin"]}]';
  let started: Started;
  let output = "";
  let workerPort: number;
  let token: string;

  beforeAll(async () => {
    started = await startNpmStart({
      ROUTES,
      AUTHGEAR_ENDPOINT: "https://myapp.authgear.cloud",
      ALGORITHMS: " RS256 ",
      HTTP_API_RESPONSE: "iam",
    });
    ({ workerPort } = started);
    output = started.output();
    const match = /^curl -i \S+ -H "Authorization: Bearer ([\w.-]+)"$/m.exec(output);
    expect(match).not.toBeNull();
    token = match![1]!;
  }, STARTUP_MS + 5_000);

  afterAll(() => killIfRunning(started));

  it("prints the effective configuration: each setting that differs from its default, and what npm start overrides", () => {
    const settings = /^authgear-edge: the Worker's settings, .*:\n((?: {2}.*\n)+)/m.exec(output);
    expect(settings).not.toBeNull();
    expect(settings![1]!.trimEnd().split("\n")).toEqual([
      expect.stringMatching(
        /^ {2}ISSUERS=\[.*\] \(npm start: the two dev issuers; AUTHGEAR_ENDPOINT=https:\/\/myapp\.authgear\.cloud of the environment is overridden\)$/,
      ),
      "  PUBLIC_PATHS=/healthz,/public/* (npm start's default)",
      `  ROUTES=${ROUTES}`,
      expect.stringMatching(/^ {2}ORIGIN_URL=http:\/\/127\.0\.0\.1:\d+ \(npm start: the demo origin\)$/),
      expect.stringMatching(/^ {2}CORS_ALLOWED_ORIGINS=http:\/\/127\.0\.0\.1:\d+ \(npm start: the SPA demo\)$/),
    ]);
    // HTTP_API_RESPONSE is the Lambda authorizer's, not a setting of the Worker: neither passed nor printed.
    expect(output).not.toContain("HTTP_API_RESPONSE");
    // ALGORITHMS is its default, RS256; the dev issuer's token passes as before.
    expect(output).toMatch(/^checked: with the token 200 .*, without 401$/m);
    // ROUTES is the environment's: the machine client's call is printed, but not checked, with a warning.
    const yours = "then a call to /m2m/* (passes only if your ROUTES admits clients there (subject client or any));";
    expect(output).toContain(yours);
    expect(output).not.toMatch(/^checked: .*the machine token/m);
  });

  it("applies ROUTES: the printed token (no roles) is refused on /admin/* with 403, and the refusal is logged", async () => {
    const from = started.output().length;
    const response = await fetch(`http://127.0.0.1:${workerPort}/admin/users`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: "insufficient_scope", code: "ERR_INSUFFICIENT_SCOPE" });
    await expectLineAfter(
      started,
      from,
      "worker: request_refused code=ERR_INSUFFICIENT_SCOPE status=403 method=GET path=/admin/users",
    );
  });

  it("applies ROUTES: a token with the admin role passes on /admin/*", async () => {
    const match = /^curl -s -X POST (http:\/\/127\.0\.0\.1:\d+\/_dev\/token) /m.exec(output);
    expect(match).not.toBeNull();
    const minted = await fetch(match![1]!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"sub":"dev-user","roles":["admin"]}',
    });
    const { access_token: admin } = (await minted.json()) as { access_token: string };
    const response = await fetch(`http://127.0.0.1:${workerPort}/admin/users`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as ReceivedRequest).path).toBe("/admin/users");
  });

  it("stops them all on SIGINT, exits 0 and leaves no wrangler or workerd behind", async () => {
    await expectCleanStopOnSigint(started);
  });
});

describe("npm start with bad settings", () => {
  it("reports them at start, in one message naming every bad key, and starts no Worker (exit 1)", async () => {
    const started = await spawnNpmStart({
      AUTH_MODE: "bogus",
      ROUTES: "not json",
      AUDIENCE: "https://api.example.com",
    });
    try {
      expect(await started.exited).toBe(1);
      const output = started.output();
      expect(output).toMatch(/^ {2}AUTH_MODE=bogus$/m);
      expect(output).toMatch(/^ {2}ROUTES=not json$/m);
      expect(output).toMatch(
        /^npm start: Invalid configuration \(AUTH_MODE, ROUTES\)\. AUTH_MODE: must be one of jwt, resolver, hybrid; ROUTES: is not JSON$/m,
      );
      expect(output).not.toContain("Ctrl-C stops them all.");
      await expect(fetch(`http://127.0.0.1:${started.workerPort}/healthz`)).rejects.toThrow();
    } finally {
      await killIfRunning(started);
    }
  }, 30_000);
});
