/**
 * `npm start`: the whole gateway on 127.0.0.1, nothing leaving the machine. It runs
 * - the dev issuer (port `DEV_ISSUER_PORT`, default 4010), with a machine client
 *   ({@link MACHINE_CLIENT}) allowed the Worker's URL as resource,
 * - a second dev issuer (port `DEV_ISSUER2_PORT`, default 4011), which the Worker trusts too
 *   (`ISSUERS`), except in resolver mode,
 * - the demo origin, which echoes what reaches it (port `DEMO_ORIGIN_PORT`, default 4020),
 * - the SPA demo, a page of its own origin calling the API through the Worker with a bearer token
 *   (port `DEMO_SPA_PORT`, default 4030; spa.ts),
 * - the Worker of wrangler.toml under `wrangler dev --local` (port `WORKER_PORT`, default 8787),
 *   configured with `--var` from this process's environment: every setting of the Worker's
 *   schema, except that it trusts the dev issuers and forwards to the demo origin whatever
 *   `ISSUERS`, `AUTHGEAR_ENDPOINT` and `ORIGIN_URL` say (worker-settings.ts),
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
import type { MachineClient } from "./client-credentials.ts";
import {
  DEV_MACHINE_PATH,
  DEV_MACHINE_SCOPE,
  DEV_ROUTES,
  describeSettings,
  type DevStack,
  settingsRecord,
  trustsSecondIssuer,
  workerSettings,
} from "./worker-settings.ts";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEV_USER = "dev-user";
/** npm start's machine client, at the first dev issuer; its allowed resource (the Worker's URL) is added at start. */
const MACHINE_CLIENT = { id: "dev-machine", secret: "dev-machine-secret", scopes: [DEV_MACHINE_SCOPE, "orders:write"] };
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
    if (isAddressInUse(error))
      throw new StartError(`${what}: 127.0.0.1:${port} is in use; set ${envName} to another port`);
    throw error;
  }
}

/** wrangler would fail later, less clearly, and the readiness poll could reach whatever holds the port. */
async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  await listening(
    "Worker",
    "WORKER_PORT",
    port,
    () =>
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
function workerVars(stack: DevStack): { vars: Record<string, string>; config: WorkerConfig } {
  const settings = workerSettings(process.env, stack);
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
  const wranglerBin = join(
    dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
    "bin",
    "wrangler.js",
  );
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
      throw new StartError(
        `wrangler dev ${exitedHow} before the Worker answered; its last output:\n${wrangler.output.text()}`,
      );
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
function watchPorts(
  ports: ReadonlyArray<{ readonly name: string; readonly port: number }>,
  onDead: (name: string) => void,
): void {
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

/**
 * A printed request with credentials, which must reach the origin as {@link DEV_USER}, or, for a
 * machine client's token, as a client (never with a user id).
 */
interface CheckedCredential {
  /** As the check's line names it: "the token", "the session cookie", "the JWT". */
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Verified by the Worker itself (hybrid mode's JWT): the resolver must not be asked. */
  readonly local?: boolean;
  /** Default `user`, on `/hello`; a client goes to {@link MACHINE_URL_PATH}. */
  readonly kind?: "user" | "client";
}

const MACHINE_URL_PATH = `${DEV_MACHINE_PATH}/orders`;

/** Sends the printed requests once (with each credential, then without), so a broken setup says so right away. */
async function selfCheck(
  workerUrl: string,
  issuer: DevIssuer,
  credentials: readonly CheckedCredential[],
): Promise<string> {
  try {
    return await checkRequests(workerUrl, issuer, credentials);
  } catch (error) {
    return `WARNING: the self-check failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

interface Seen {
  readonly status: number;
  readonly userId: unknown;
  readonly kind: unknown;
}

async function send(url: string, headers: Readonly<Record<string, string>>): Promise<Seen> {
  const response = await fetch(url, { headers });
  const echoed = (await response.json().catch(() => undefined)) as { headers?: Record<string, unknown> } | undefined;
  const received = echoed?.headers;
  return {
    status: response.status,
    userId: received?.["x-authgear-user-id"],
    kind: received?.["x-authgear-edge-kind"],
  };
}

/** Whether one credential's request passed, and its line in the summary (as expected, and as seen). */
interface CheckedLine {
  readonly passed: boolean;
  /** The line as it reads when it passed. */
  readonly summary: string;
  /** What was seen, for the warning when the check failed. */
  readonly seen: string;
}

async function checkOne(workerUrl: string, issuer: DevIssuer, credential: CheckedCredential): Promise<CheckedLine> {
  const { name, headers, local = false, kind = "user" } = credential;
  const resolverHits = issuer.resolverHits;
  const path = kind === "user" ? "/hello" : MACHINE_URL_PATH;
  const { status, userId, kind: seenKind } = await send(`${workerUrl}${path}`, headers);
  const resolverCalls = issuer.resolverHits - resolverHits;
  const seenUser = JSON.stringify(userId ?? null);
  if (kind === "client") {
    return {
      passed: status === 200 && seenKind === "client" && userId === undefined,
      summary: `with ${name} 200 (the origin received x-authgear-edge-kind: client, no user id)`,
      seen: `with ${name} ${status} (x-authgear-edge-kind at the origin: ${JSON.stringify(seenKind ?? null)}, \
x-authgear-user-id: ${seenUser})`,
    };
  }
  const received = local ? `${DEV_USER}, no resolver call` : `the origin received x-authgear-user-id: ${DEV_USER}`;
  const calls = local ? `, resolver calls: ${resolverCalls}` : "";
  return {
    passed: status === 200 && userId === DEV_USER && (!local || resolverCalls === 0),
    summary: `with ${name} 200 (${received})`,
    seen: `with ${name} ${status} (x-authgear-user-id at the origin: ${seenUser}${calls})`,
  };
}

async function checkRequests(
  workerUrl: string,
  issuer: DevIssuer,
  credentials: readonly CheckedCredential[],
): Promise<string> {
  let passed = true;
  const summary: string[] = [];
  const seen: string[] = [];
  for (const credential of credentials) {
    const result = await checkOne(workerUrl, issuer, credential);
    passed &&= result.passed;
    summary.push(result.summary);
    seen.push(result.seen);
  }
  const without = await send(`${workerUrl}/hello`, {});
  passed &&= without.status === 401;
  if (passed) return `checked: ${summary.join(", ")}, without 401`;
  const local = credentials
    .filter((credential) => credential.local === true)
    .map(({ name }) => `; no resolver call with ${name}`);
  const machine = credentials.some((credential) => credential.kind === "client");
  const client = machine ? "; a client with the machine token" : "";
  const expected = `expected 200 (${DEV_USER}${local.join("")}${client}) and 401`;
  return `WARNING: the self-check failed: ${seen.join(", ")}, without ${without.status}; ${expected}`;
}

/** The dev issuers and the machine client, as the printed commands use them. */
interface DevIssuers {
  readonly primary: DevIssuer;
  /** The second dev issuer, when the Worker trusts it (not in resolver mode). */
  readonly second: DevIssuer | undefined;
  /** The Worker's URL: the resource of the machine client's tokens. */
  readonly resource: string;
  /** ROUTES is npm start's own (which admits the machine client on /m2m/*), not the environment's. */
  readonly devRoutes: boolean;
}

/** A machine token, through the first dev issuer's client-credentials grant as the printed curl gets it. */
async function machineToken(issuers: DevIssuers): Promise<string> {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: MACHINE_CLIENT.id,
    client_secret: MACHINE_CLIENT.secret,
    resource: issuers.resource,
    scope: DEV_MACHINE_SCOPE,
  });
  const response = await fetch(issuers.primary.tokenEndpoint, { method: "POST", body: form });
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== "string") {
    throw new StartError(`the dev issuer's token endpoint answered ${response.status}`);
  }
  return body.access_token;
}

/** The checks and commands every mode shares: a user token of the second issuer, and a machine client. */
interface Printed {
  readonly credentials: CheckedCredential[];
  readonly commands: string;
}

async function multiIssuerPart(workerUrl: string, issuers: DevIssuers): Promise<Printed> {
  const credentials: CheckedCredential[] = [];
  let commands = "";
  const { second } = issuers;
  if (second !== undefined) {
    const token = await second.mintAccessToken({ sub: DEV_USER });
    credentials.push({ name: "the second issuer's token", headers: { authorization: `Bearer ${token}` }, local: true });
    commands += `# passes too: a user token of the second dev issuer (ISSUERS trusts both); \
the origin also receives x-authgear-edge-issuer: ${second.origin}
curl -i ${workerUrl}/hello -H "Authorization: Bearer ${token}"
`;
  }
  if (issuers.devRoutes) {
    const token = await machineToken(issuers);
    credentials.push({ name: "the machine token", headers: { authorization: `Bearer ${token}` }, kind: "client" });
  }
  const admits = issuers.devRoutes
    ? `ROUTES admits clients with scope ${DEV_MACHINE_SCOPE} there`
    : "passes only if your ROUTES admits clients there (subject client or any)";
  const form = [
    "grant_type=client_credentials",
    `client_id=${MACHINE_CLIENT.id}`,
    `client_secret=${MACHINE_CLIENT.secret}`,
    `resource=${issuers.resource}`,
    `scope=${DEV_MACHINE_SCOPE}`,
  ];
  const accessToken = `node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token'`;
  const grant = `curl -s ${issuers.primary.tokenEndpoint} ${form.map((field) => `-d ${field}`).join(" ")}`;
  commands += `# a machine client: a token of the client-credentials grant (resource: this API), \
then a call to ${DEV_MACHINE_PATH}/* (${admits});
# the origin receives x-authgear-edge-kind: client, x-authgear-edge-client-id: ${MACHINE_CLIENT.id}, \
x-authgear-edge-scope, and no x-authgear-user-id
TOKEN=$(${grant} | ${accessToken})
curl -i ${workerUrl}${MACHINE_URL_PATH} -H "Authorization: Bearer $TOKEN"
`;
  return { credentials, commands };
}

/** What `npm start` prints and checks in JWT mode: a JWT of each issuer, a machine token, and a request without. */
async function jwtModeCommands(workerUrl: string, issuers: DevIssuers): Promise<{ check: string; commands: string }> {
  const issuer = issuers.primary;
  const token = await issuer.mintAccessToken({ sub: DEV_USER });
  const more = await multiIssuerPart(workerUrl, issuers);
  const check = await selfCheck(workerUrl, issuer, [
    { name: "the token", headers: { authorization: `Bearer ${token}` } },
    ...more.credentials,
  ]);
  return {
    check,
    commands: `# passes: the origin echoes what it received, the x-authgear-* identity headers included
curl -i ${workerUrl}/hello -H "Authorization: Bearer ${token}"
${more.commands}# refused with 401: no token
curl -i ${workerUrl}/hello
# mint another access token (valid 30 minutes; "amr":["pwd","otp","mfa"] for a second factor;
# "expires_in":-60 for one that expired a minute ago; "kind":"id_token" for an ID token, which the gate refuses)
curl -s -X POST ${issuer.origin}/_dev/token -H 'content-type: application/json' -d '{"sub":"${DEV_USER}","roles":["admin"]}'`,
  };
}

/**
 * What `npm start` prints and checks in resolver and hybrid mode: the session cookie of a dev
 * session, (hybrid) a JWT of that session and one of the second issuer, a machine token, a
 * request without, and how to log the session out.
 */
async function sessionModeCommands(
  workerUrl: string,
  issuers: DevIssuers,
  config: WorkerConfig,
): Promise<{ check: string; commands: string }> {
  const issuer = issuers.primary;
  const session: DevSession = issuer.createSession(DEV_USER);
  const hybrid = config.authMode === "hybrid";
  const token = hybrid ? await issuer.mintAccessToken({ sessionId: session.id }) : undefined;
  const cookie = `${config.resolverCookiePrefix}session=${session.cookie}`;
  const more = await multiIssuerPart(workerUrl, issuers);
  const check = await selfCheck(workerUrl, issuer, [
    { name: "the session cookie", headers: { cookie } },
    ...(token === undefined ? [] : [{ name: "the JWT", headers: { authorization: `Bearer ${token}` }, local: true }]),
    ...more.credentials,
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
${jwtCommand}${more.commands}# refused with 401: no credentials
curl -i ${workerUrl}/hello
# log the session out (204); the cookie is then refused with 401 ${refusedWhen}
curl -s -X POST ${issuer.origin}/_dev/logout -H 'content-type: application/json' -d '{"session_id":"${session.id}"}' -w '%{http_code}\\n'
# create another session: its "session" is the ${config.resolverCookiePrefix}session cookie's value${hybrid ? ', "jwt_access_token" a JWT of it' : ""}
curl -s -X POST ${issuer.origin}/_dev/session -H 'content-type: application/json' -d '{"sub":"${DEV_USER}"}'
# or open ${workerUrl}/hello in a browser: it is sent to the dev issuer's login page (LOGIN_URL), then back with a session cookie; sign out at ${issuer.origin}/_dev/signout?return_to=${encodeURIComponent(`${workerUrl}/hello`)}`,
  };
}

let issuer: DevIssuer | undefined;
let issuer2: DevIssuer | undefined;
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
    await Promise.allSettled([wrangler?.stop(), issuer?.close(), issuer2?.close(), origin?.close(), spa?.close()]);
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
    console.error(`\n${signal}: stopping the Worker, the demo origin, the SPA demo and the dev issuers`);
    void stopAll(0);
  });
}
process.on("uncaughtException", (error) => void stopAll(1, failureMessage(error)));
process.on("unhandledRejection", (error) => void stopAll(1, failureMessage(error)));
process.on("exit", () => wrangler?.kill());

async function main(): Promise<void> {
  const issuerPort = portFromEnv("DEV_ISSUER_PORT", 4010, { allowZero: true });
  const issuer2Port = portFromEnv("DEV_ISSUER2_PORT", 4011, { allowZero: true });
  const originPort = portFromEnv("DEMO_ORIGIN_PORT", 4020, { allowZero: true });
  const workerPort = portFromEnv("WORKER_PORT", 8787, { allowZero: false });
  // Fixed before the dev issuer starts, which answers CORS for it.
  const spaPort = portFromEnv("DEMO_SPA_PORT", 4030, { allowZero: false });
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const spaUrl = `http://127.0.0.1:${spaPort}`;

  // The dev resolver names its cookies as the Worker reads them (a bad prefix stops npm start below, with the
  // Worker's own error).
  const cookiePrefix = process.env.RESOLVER_COOKIE_PREFIX?.trim() ?? "";
  const machineClients: MachineClient[] = [
    { id: MACHINE_CLIENT.id, secret: MACHINE_CLIENT.secret, resources: { [workerUrl]: MACHINE_CLIENT.scopes } },
  ];
  issuer = await listening("dev issuer", "DEV_ISSUER_PORT", issuerPort, () =>
    startDevIssuer({ port: issuerPort, cookiePrefix, corsOrigins: [spaUrl], machineClients }),
  );
  if (trustsSecondIssuer(process.env)) {
    const port = issuer2Port;
    issuer2 = await listening("second dev issuer", "DEV_ISSUER2_PORT", port, () => startDevIssuer({ port }));
  }
  origin = await listening("demo origin", "DEMO_ORIGIN_PORT", originPort, () => startDemoOrigin({ port: originPort }));
  const issuerOrigin = issuer.origin;
  spa = await listening("SPA demo", "DEMO_SPA_PORT", spaPort, () =>
    startDemoSpa({ port: spaPort, issuer: issuerOrigin, gate: workerUrl }),
  );
  const issuerOrigins = [issuerOrigin, ...(issuer2 === undefined ? [] : [issuer2.origin])];
  const { vars, config } = workerVars({ issuers: issuerOrigins, resource: workerUrl, origin: origin.url, spa: spaUrl });
  await assertPortFree(workerPort);
  if (isStopping()) return;
  const started = spawnWrangler(workerPort, vars);
  wrangler = started;
  await waitForWorker(`${workerUrl}/healthz`, started);
  if (isStopping()) return;
  void started.exited.then((how) => {
    void stopAll(
      1,
      `npm start: wrangler dev stopped unexpectedly (it ${how}); its last output:\n${started.output.text()}\nstopping the others`,
    );
  });

  const devRoutes = vars.ROUTES === DEV_ROUTES;
  const issuers: DevIssuers = { primary: issuer, second: issuer2, resource: workerUrl, devRoutes };
  const { check, commands } =
    config.authMode === "jwt"
      ? await jwtModeCommands(workerUrl, issuers)
      : await sessionModeCommands(workerUrl, issuers, config);
  const mode = config.authMode === "jwt" ? "" : `, AUTH_MODE=${config.authMode}`;
  const spaLine = config.corsAllowedOrigins.has(spaUrl)
    ? `SPA demo: open ${spaUrl}/ in a browser (a page of its own origin calling the API through the Worker with a bearer token)`
    : `SPA demo at ${spaUrl}/: CORS_ALLOWED_ORIGINS does not name it, so the browser hides the Worker's answers from it`;
  const publicPaths = config.publicPaths.length === 0 ? "none" : config.publicPaths.join(",");
  // The self-check's own refusal is not news: its log line is left out.
  await started.output.settled();
  const second = issuer2 === undefined ? "" : `; second dev issuer ${issuer2.origin}`;
  console.log(`authgear-edge: Worker ${workerUrl} (wrangler dev --local, wrangler.toml${mode}) \
-> demo origin ${origin.url}; dev issuer ${issuer.origin}${second}; public paths ${publicPaths}
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
      ...(issuer2 === undefined ? [] : [{ name: "the second dev issuer", port: Number(new URL(issuer2.origin).port) }]),
      { name: "the SPA demo", port: spaPort },
    ],
    (name) => {
      void stopAll(
        1,
        `npm start: ${name} stopped accepting connections ${DEAD_AFTER_MS / 1000} s ago; stopping the others`,
      );
    },
  );
}

main().catch((error: unknown) => stopAll(1, failureMessage(error)));
