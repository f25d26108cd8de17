/**
 * `npm start`: the whole gateway on 127.0.0.1, nothing leaving the machine. It runs
 * - the dev issuer (port `DEV_ISSUER_PORT`, default 4010),
 * - the demo origin, which echoes what reaches it (port `DEMO_ORIGIN_PORT`, default 4020),
 * - the SPA demo, a page of its own origin calling the API through the Worker with a bearer token
 *   (port `DEMO_SPA_PORT`, default 4030; spa.ts),
 * - the Worker of wrangler.toml under `wrangler dev --local` (port `WORKER_PORT`, default 8787),
 *   configured with `--var` from this process's environment: every setting of the Worker's
 *   schema, except that it trusts the dev issuer and forwards to the demo origin whatever
 *   `AUTHGEAR_ENDPOINT` and `ORIGIN_URL` say (worker-settings.ts),
 * after printing the Worker's effective configuration and checking it with the Worker's own parser
 * (a bad one stops here, with the error naming every bad key). Then it checks the stack once and
 * prints ready-to-paste commands (in resolver and hybrid mode for a dev session's cookie), and
 * shows the Worker's log events (refusals, key-set events; worker-log.ts) as they happen, until
 * SIGINT, SIGTERM or SIGHUP stops them all (exit 0).
 * If one of them dies, the others are stopped and the exit code is 1.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { connect, createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WORKER_SETTINGS, type WorkerConfig } from "../src/cloudflare/config.ts";
import { ConfigError } from "../src/core/settings.ts";
import { startDevIssuer } from "./issuer.ts";
import type { DevIssuer, DevSession } from "./issuer.ts";
import { startDemoOrigin } from "./origin.ts";
import type { DemoOrigin } from "./origin.ts";
import type { LoopbackServer } from "./loopback-server.ts";
import { startDemoSpa } from "./spa.ts";
import { formatWorkerEvent } from "./worker-log.ts";
import { describeSettings, settingsRecord, workerSettings } from "./worker-settings.ts";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEV_USER = "dev-user";
const READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 250;
const POLL_TIMEOUT_MS = 1_000;
/** How long wrangler gets to stop workerd after SIGTERM before its whole process group is killed. */
const STOP_GRACE_MS = 5_000;
const KEPT_OUTPUT_LINES = 40;
/** Before its log goes live, wrangler's output must have been quiet this long (at most {@link SETTLE_MAX_MS}). */
const SETTLE_QUIET_MS = 300;
const SETTLE_MAX_MS = 2_000;
/**
 * The three are probed with a bare TCP connection this often; one that refuses for
 * {@link DEAD_AFTER_MS} counts as dead (wrangler itself does not notice when workerd dies; the
 * patience covers a reload after a source change).
 */
const PROBE_INTERVAL_MS = 2_000;
const DEAD_AFTER_MS = 10_000;
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ANSI_SGR = /\x1b\[[0-9;]*m/g;

/**
 * wrangler must stay on this machine: no prompt (no stdin), no login (`--local`, no remote
 * bindings), no telemetry or error reports, no `request.cf` download, no banner. Its update check
 * (which runs on some warnings, banner or not) reads the npm registry through `registry-url`, which
 * honours `npm_registry` before any .npmrc: pointed at the discard port of loopback, it fails at once.
 */
const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
  npm_registry: "http://127.0.0.1:9/",
};

class StartError extends Error {}

function portFromEnv(name: string, fallback: number, { allowZero }: { allowZero: boolean }): number {
  const raw = process.env[name] ?? String(fallback);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535 || (port === 0 && !allowZero)) {
    throw new StartError(`${name} must be a port number (${allowZero ? "0" : "1"}-65535), got ${JSON.stringify(raw)}`);
  }
  return port;
}

function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "EADDRINUSE";
}

async function listening<T>(what: string, envName: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (isAddressInUse(error)) throw new StartError(`${what}: 127.0.0.1:${port} is in use; set ${envName} to another port`);
    throw error;
  }
}

/** wrangler would fail later, less clearly, and the readiness poll could reach whatever holds the port. */
async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  await listening("Worker", "WORKER_PORT", port, () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    }),
  );
  await new Promise((resolve) => server.close(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Stream = "stdout" | "stderr";

/**
 * The last lines wrangler wrote, for the message when it fails. Once `live` is set, its standard
 * error (warnings and errors: wrangler's, esbuild's after a source change, the Worker's
 * `console.error`) is forwarded as is, and of its standard output (wrangler's own chatter at log
 * level, and the Worker's `console.log`) the Worker's log events, one line each.
 */
class OutputTail {
  readonly #lines: string[] = [];
  readonly #partial: Record<Stream, string> = { stdout: "", stderr: "" };
  #lastOutputAt = Date.now();
  live = false;

  push(stream: Stream, chunk: Buffer): void {
    this.#lastOutputAt = Date.now();
    let text = this.#partial[stream] + chunk.toString("utf8");
    // wrangler colours esbuild's messages whatever FORCE_COLOR says.
    if (!process.stderr.isTTY) text = text.replace(ANSI_SGR, "");
    const lines = text.split(/\r?\n/);
    this.#partial[stream] = lines.pop() ?? "";
    for (const line of lines) this.#add(stream, line);
  }

  text(): string {
    const partial = [this.#partial.stdout, this.#partial.stderr].filter((line) => line !== "");
    const lines = [...this.#lines, ...partial];
    return lines.length === 0 ? "(no output)" : lines.map((line) => `  | ${line}`).join("\n");
  }

  /** Resolves once nothing has arrived for {@link SETTLE_QUIET_MS}, or after {@link SETTLE_MAX_MS}. */
  async settled(): Promise<void> {
    const deadline = Date.now() + SETTLE_MAX_MS;
    while (Date.now() < deadline && Date.now() - this.#lastOutputAt < SETTLE_QUIET_MS) await sleep(50);
  }

  #add(stream: Stream, line: string): void {
    if (this.live) {
      if (stream === "stderr") console.error(`wrangler: ${line}`);
      else {
        const event = formatWorkerEvent(line);
        if (event !== undefined) console.log(event);
      }
    }
    this.#lines.push(line);
    if (this.#lines.length > KEPT_OUTPUT_LINES) this.#lines.shift();
  }
}

interface Wrangler {
  readonly child: ChildProcess;
  readonly output: OutputTail;
  /** Resolves with a description of how the process ended. */
  readonly exited: Promise<string>;
  /** SIGTERM to the whole process group (wrangler, workerd, esbuild), then SIGKILL after the grace period. */
  stop(): Promise<void>;
  /** Last resort when this process is exiting: SIGKILL to the group, synchronously. */
  kill(): void;
}

/**
 * The Worker's settings (worker-settings.ts), printed, then checked with the Worker's own parser,
 * so a bad value stops `npm start` at once, with the one message naming every bad key, instead of
 * turning every request into a 500.
 */
function workerVars(issuer: DevIssuer, origin: DemoOrigin, spa: string): { vars: Record<string, string>; config: WorkerConfig } {
  const settings = workerSettings(process.env, { issuer: issuer.origin, origin: origin.url, spa });
  console.log(describeSettings(settings));
  const vars = settingsRecord(settings);
  try {
    return { vars, config: WORKER_SETTINGS.parse(vars) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new StartError(error.message);
  }
}

function spawnWrangler(port: number, vars: Readonly<Record<string, string>>): Wrangler {
  const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
  const args = [
    wranglerBin,
    "dev",
    "--config",
    join(PROJECT_ROOT, "wrangler.toml"),
    "--local",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    // At warn level wrangler would drop the Worker's console.log, and with it the log events.
    "--log-level",
    "log",
    "--show-interactive-dev-session=false",
  ];
  // Its own process group (detached), so it can be stopped as a whole and a Ctrl-C reaches it
  // only through this process, in order.
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...WRANGLER_ENV, FORCE_COLOR: process.stderr.isTTY ? "1" : "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output = new OutputTail();
  child.stdout.on("data", (chunk: Buffer) => {
    output.push("stdout", chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output.push("stderr", chunk);
  });
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => {
      running = false;
      resolve(`could not be started: ${error.message}`);
    });
    child.once("exit", (code, signal) => {
      running = false;
      resolve(signal === null ? `exited with code ${code ?? "?"}` : `was killed by ${signal}`);
    });
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: nothing left in the group.
    }
  };
  let stopping: Promise<void> | undefined;
  let stopped = false;
  return {
    child,
    output,
    exited,
    kill() {
      if (!stopped) signalGroup("SIGKILL");
    },
    stop() {
      stopping ??= (async () => {
        if (running) {
          signalGroup("SIGTERM");
          const timer = sleep(STOP_GRACE_MS).then(() => "timeout");
          await Promise.race([exited, timer]);
        }
        // Whatever is left of the group (workerd outliving a wrangler that crashed or hung).
        signalGroup("SIGKILL");
        await exited;
        stopped = true;
      })();
      return stopping;
    },
  };
}

/** Polls until the Worker answers anything over HTTP; fails if wrangler exits or after the timeout. */
async function waitForWorker(url: string, wrangler: Wrangler): Promise<void> {
  let exitedHow: string | undefined;
  void wrangler.exited.then((how) => (exitedHow = how));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
      await response.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    if (exitedHow !== undefined) {
      throw new StartError(`wrangler dev ${exitedHow} before the Worker answered; its last output:\n${wrangler.output.text()}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new StartError(
    `the Worker did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s; wrangler's last output:\n${wrangler.output.text()}`,
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", timeout: POLL_TIMEOUT_MS });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

/** Calls `onDead` once, when one of `ports` has refused connections for {@link DEAD_AFTER_MS}. */
function watchPorts(ports: ReadonlyArray<{ readonly name: string; readonly port: number }>, onDead: (name: string) => void): void {
  const lastSeen = new Map(ports.map(({ name }) => [name, Date.now()]));
  const timer = setInterval(() => {
    void Promise.all(
      ports.map(async ({ name, port }) => {
        if (await accepts(port)) lastSeen.set(name, Date.now());
        else if (Date.now() - (lastSeen.get(name) ?? 0) >= DEAD_AFTER_MS) {
          clearInterval(timer);
          onDead(name);
        }
      }),
    );
  }, PROBE_INTERVAL_MS);
  timer.unref();
}

/** A printed request with credentials, which must reach the origin as {@link DEV_USER}. */
interface CheckedCredential {
  /** As the check's line names it: "the token", "the session cookie", "the JWT". */
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Verified by the Worker itself (hybrid mode's JWT): the resolver must not be asked. */
  readonly local?: boolean;
}

/** Sends the printed requests once (with each credential, then without), so a broken setup says so right away. */
async function selfCheck(workerUrl: string, issuer: DevIssuer, credentials: readonly CheckedCredential[]): Promise<string> {
  try {
    return await checkRequests(workerUrl, issuer, credentials);
  } catch (error) {
    return `WARNING: the self-check failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function sendHello(workerUrl: string, headers: Readonly<Record<string, string>>): Promise<{ status: number; userId: unknown }> {
  const response = await fetch(`${workerUrl}/hello`, { headers });
  const echoed = (await response.json().catch(() => undefined)) as { headers?: Record<string, unknown> } | undefined;
  return { status: response.status, userId: echoed?.headers?.["x-authgear-user-id"] };
}

async function checkRequests(workerUrl: string, issuer: DevIssuer, credentials: readonly CheckedCredential[]): Promise<string> {
  let passed = true;
  const summary: string[] = [];
  const seen: string[] = [];
  for (const { name, headers, local = false } of credentials) {
    const resolverHits = issuer.resolverHits;
    const { status, userId } = await sendHello(workerUrl, headers);
    const resolverCalls = issuer.resolverHits - resolverHits;
    passed &&= status === 200 && userId === DEV_USER && (!local || resolverCalls === 0);
    summary.push(`with ${name} 200 (${local ? `${DEV_USER}, no resolver call` : `the origin received x-authgear-user-id: ${DEV_USER}`})`);
    seen.push(`with ${name} ${status} (x-authgear-user-id at the origin: ${JSON.stringify(userId ?? null)}${local ? `, resolver calls: ${resolverCalls}` : ""})`);
  }
  const without = await sendHello(workerUrl, {});
  passed &&= without.status === 401;
  if (passed) return `checked: ${summary.join(", ")}, without 401`;
  const local = credentials.filter((credential) => credential.local === true).map(({ name }) => `; no resolver call with ${name}`);
  return `WARNING: the self-check failed: ${seen.join(", ")}, without ${without.status}; expected 200 (${DEV_USER}${local.join("")}) and 401`;
}

/** What `npm start` prints and checks in JWT mode: a bearer JWT, and a request without. */
async function jwtModeCommands(workerUrl: string, issuer: DevIssuer): Promise<{ check: string; commands: string }> {
  const token = await issuer.mintAccessToken({ sub: DEV_USER });
  const check = await selfCheck(workerUrl, issuer, [{ name: "the token", headers: { authorization: `Bearer ${token}` } }]);
  return {
    check,
    commands: `# passes: the origin echoes what it received, the x-authgear-* identity headers included
curl -i ${workerUrl}/hello -H "Authorization: Bearer ${token}"
# refused with 401: no token
curl -i ${workerUrl}/hello
# mint another access token (valid 30 minutes)
curl -s -X POST ${issuer.origin}/_dev/token -H 'content-type: application/json' -d '{"sub":"${DEV_USER}","roles":["admin"]}'`,
  };
}

/**
 * What `npm start` prints and checks in resolver and hybrid mode: the session cookie of a dev
 * session, (hybrid) a JWT of that session, a request without, and how to log the session out.
 */
async function sessionModeCommands(workerUrl: string, issuer: DevIssuer, config: WorkerConfig): Promise<{ check: string; commands: string }> {
  const session: DevSession = issuer.createSession(DEV_USER);
  const hybrid = config.authMode === "hybrid";
  const token = hybrid ? await issuer.mintAccessToken({ sessionId: session.id }) : undefined;
  const cookie = `${config.resolverCookiePrefix}session=${session.cookie}`;
  const check = await selfCheck(workerUrl, issuer, [
    { name: "the session cookie", headers: { cookie } },
    ...(token === undefined ? [] : [{ name: "the JWT", headers: { authorization: `Bearer ${token}` }, local: true }]),
  ]);
  const refusedWhen =
    config.resolverCacheSeconds === 0
      ? "at once (RESOLVER_CACHE_SECONDS=0: no verdict cache)"
      : `within RESOLVER_CACHE_SECONDS (${config.resolverCacheSeconds} s), once the Worker's cached verdict expires`;
  const jwtCommand =
    token === undefined
      ? ""
      : `# passes too: a JWT of the same session, verified by the Worker itself without the resolver (a logout goes unseen until it expires)
curl -i ${workerUrl}/hello -H "Authorization: Bearer ${token}"
`;
  return {
    check,
    commands: `# passes: the Worker asks the dev issuer's resolver about the session cookie; the origin echoes what it received, the x-authgear-* identity headers included
curl -i ${workerUrl}/hello -H "Cookie: ${cookie}"
${jwtCommand}# refused with 401: no credentials
curl -i ${workerUrl}/hello
# log the session out (204); the cookie is then refused with 401 ${refusedWhen}
curl -s -X POST ${issuer.origin}/_dev/logout -H 'content-type: application/json' -d '{"session_id":"${session.id}"}' -w '%{http_code}\\n'
# create another session: its "session" is the ${config.resolverCookiePrefix}session cookie's value${hybrid ? ', "jwt_access_token" a JWT of it' : ""}
curl -s -X POST ${issuer.origin}/_dev/session -H 'content-type: application/json' -d '{"sub":"${DEV_USER}"}'
# or open ${workerUrl}/hello in a browser: it is sent to the dev issuer's login page (LOGIN_URL), then back with a session cookie; sign out at ${issuer.origin}/_dev/signout?return_to=${encodeURIComponent(`${workerUrl}/hello`)}`,
  };
}

let issuer: DevIssuer | undefined;
let origin: DemoOrigin | undefined;
let spa: LoopbackServer | undefined;
let wrangler: Wrangler | undefined;
let stopping: Promise<never> | undefined;
/** A function, not the variable, so TypeScript does not narrow it across awaits. */
const isStopping = (): boolean => stopping !== undefined;

/** Stops them all and exits; a second call joins the first (its code and message are dropped). */
function stopAll(exitCode: number, message?: string): Promise<never> {
  stopping ??= (async () => {
    if (message !== undefined) console.error(message);
    await Promise.allSettled([wrangler?.stop(), issuer?.close(), origin?.close(), spa?.close()]);
    process.exit(exitCode);
  })();
  return stopping;
}

function failureMessage(error: unknown): string {
  if (error instanceof StartError) return `npm start: ${error.message}`;
  return `npm start: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (isStopping()) return;
    console.error(`\n${signal}: stopping the Worker, the demo origin, the SPA demo and the dev issuer`);
    void stopAll(0);
  });
}
process.on("uncaughtException", (error) => void stopAll(1, failureMessage(error)));
process.on("unhandledRejection", (error) => void stopAll(1, failureMessage(error)));
process.on("exit", () => wrangler?.kill());

async function main(): Promise<void> {
  const issuerPort = portFromEnv("DEV_ISSUER_PORT", 4010, { allowZero: true });
  const originPort = portFromEnv("DEMO_ORIGIN_PORT", 4020, { allowZero: true });
  const workerPort = portFromEnv("WORKER_PORT", 8787, { allowZero: false });
  // Fixed before the dev issuer starts, which answers CORS for it.
  const spaPort = portFromEnv("DEMO_SPA_PORT", 4030, { allowZero: false });
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const spaUrl = `http://127.0.0.1:${spaPort}`;

  // The dev resolver names its cookies as the Worker reads them (a bad prefix stops npm start below, with the Worker's own error).
  const cookiePrefix = process.env.RESOLVER_COOKIE_PREFIX?.trim() ?? "";
  issuer = await listening("dev issuer", "DEV_ISSUER_PORT", issuerPort, () => startDevIssuer({ port: issuerPort, cookiePrefix, corsOrigins: [spaUrl] }));
  origin = await listening("demo origin", "DEMO_ORIGIN_PORT", originPort, () => startDemoOrigin({ port: originPort }));
  const issuerOrigin = issuer.origin;
  spa = await listening("SPA demo", "DEMO_SPA_PORT", spaPort, () => startDemoSpa({ port: spaPort, issuer: issuerOrigin, gate: workerUrl }));
  const { vars, config } = workerVars(issuer, origin, spaUrl);
  await assertPortFree(workerPort);
  if (isStopping()) return;
  const started = spawnWrangler(workerPort, vars);
  wrangler = started;
  await waitForWorker(`${workerUrl}/healthz`, started);
  if (isStopping()) return;
  void started.exited.then((how) => {
    void stopAll(1, `npm start: wrangler dev stopped unexpectedly (it ${how}); its last output:\n${started.output.text()}\nstopping the others`);
  });

  const { check, commands } =
    config.authMode === "jwt" ? await jwtModeCommands(workerUrl, issuer) : await sessionModeCommands(workerUrl, issuer, config);
  const mode = config.authMode === "jwt" ? "" : `, AUTH_MODE=${config.authMode}`;
  const spaLine = config.corsAllowedOrigins.has(spaUrl)
    ? `SPA demo: open ${spaUrl}/ in a browser (a page of its own origin calling the API through the Worker with a bearer token)`
    : `SPA demo at ${spaUrl}/: CORS_ALLOWED_ORIGINS does not name it, so the browser hides the Worker's answers from it`;
  const publicPaths = config.publicPaths.length === 0 ? "none" : config.publicPaths.join(",");
  // The self-check's own refusal is not news: its log line is left out.
  await started.output.settled();
  console.log(`authgear-edge: Worker ${workerUrl} (wrangler dev --local, wrangler.toml${mode}) -> demo origin ${origin.url}; dev issuer ${issuer.origin}; public paths ${publicPaths}
${check.startsWith("WARNING") ? `${check} (the settings above may explain it)` : check}

${commands}

${spaLine}

The Worker's log events (refusals, key-set events) appear below, one line each.
Ctrl-C stops them all.`);
  started.output.live = true;
  watchPorts(
    [
      { name: "the Worker (workerd)", port: workerPort },
      { name: "the demo origin", port: Number(new URL(origin.url).port) },
      { name: "the dev issuer", port: Number(new URL(issuer.origin).port) },
      { name: "the SPA demo", port: spaPort },
    ],
    (name) => {
      void stopAll(1, `npm start: ${name} stopped accepting connections ${DEAD_AFTER_MS / 1000} s ago; stopping the others`);
    },
  );
}

main().catch((error: unknown) => stopAll(1, failureMessage(error)));
