/**
 * Real frameworks as the oracle of what an origin serves: each app (test/origins/apps/<name>/) runs on real
 * framework code, routes `/orders/{id}`, `/orders` and `/reports/{id}` on one handler per method (GET HEAD POST
 * PUT PATCH DELETE OPTIONS) with a fallback for everything else, and records on every answer, in headers, the
 * route and method of the handler the framework ran, the path it routed and the `x-authgear-user-id` it received.
 *
 * What each app honours, found by trying (frameworks.test.ts asserts every cell; y = the framework ran the
 * handler of the override's method; wire method POST unless the row says otherwise):
 *
 *   channel                                             laravel symfony rack    sinatra flask   express hono
 *   form body `_method` (urlencoded)                    y       y       y       y       -       y       y
 *   multipart body `_method`                            y       y       y       y       -       -       y
 *   JSON body `_method`                                 y1      -       -       -       -       y2      -
 *   query `_method` (and `%5Fmethod`)                   y       y       -       -       -       y       y
 *   PHP-mangled keys, query or form (3)                 y       y       -       -       -       -       -
 *   header `X-HTTP-Method-Override`                     y4      y4      y       y       y       y       y
 *   header spelled `x_http_method_override` (11)        y       y       y       y       y8      -       -
 *   form under loose media types (5)                    y       y       y       y       -       y6      y7
 *   form body without any Content-Type                  -       -       y       y       -       -       -
 *   override on PUT PATCH DELETE OPTIONS HEAD           -       -       -       -       y8      -       y9
 *   override on GET                                     -       -       -       -       y8      -       -
 *   override on an unknown method (PURGE)               -10     -10     -       -       y       -       y
 *   override during a CORS preflight                    -       -       -       -       y8      -       y9
 *   any `_method` value (FOO) becomes the method        y       y       -       -       -       -       y
 *   headers `X-HTTP-Method`, `X-Method-Override`        -       -       -       -       -       -       -
 *   a HEAD runs the GET handler                         -       y       -       y       y       y       y
 *   `x_authgear_user_id` arrives as the identity (11)   y       y       y       y       y       -       -
 *
 *   1 Content-Type application/json, any `+json`, text/json, anything containing "/json"; not APPLICATION/JSON.
 *   2 express.json(): application/json in any case, with parameters.
 *   3 `.method`, `%20_method`, `+_method`, `_method%00x` become `_method`; `[method`, `_method[`, `_method.`,
 *     `_method[]`, `_METHOD` do not.
 *   4 the header is read on POST even without enableHttpMethodParameterOverride(), which governs `_method` only.
 *   5 `;charset=x`, upper case, `, text/plain` after the type; not `...urlencodedx`, not text/plain.
 *   6 any case, with parameters, but an unknown charset is refused (415); not `, text/plain`.
 *   7 only a Content-Type starting with the lower-case type (`;charset=x` yes; upper case, `, text/plain` no).
 *   8 Flask's documented middleware reads the header on every wire method, GET and preflights included.
 *   9 every method but GET, every channel (form, header, query), preflights included; a form on HEAD only in
 *     principle: @hono/node-server hands a HEAD no body.
 *   10 PHP's built-in server answers 501 to a method it does not know, before the app.
 *   11 PHP's server, WEBrick and Werkzeug map `_` in a header name to the variable of `-`; Node keeps them apart.
 *
 * With its own setting off (startFramework(name, { methodOverride: "setting-off" })), no framework honours a
 * channel above, except Symfony, which still reads the X-HTTP-Method-Override header (any spelling, note 11) on
 * POST, and Laravel 8, which has no setting. Switched off as docs/method-override.md says ("off"), none does.
 *
 * Paths routed to `/orders/{id}` (y), to the fallback (-), or answered otherwise (rack's column is the app's own
 * router on the raw PATH_INFO: Rack routes nothing itself):
 *
 *   path                      laravel symfony rack    sinatra flask   express hono
 *   /orders/%31               y       y       y       y       y       y       y
 *   /ORDERS/1                 -       -       -       -       -       y       -
 *   /orders/1/                y       -       -       -       -       y       -
 *   /orders//1                -       -       -       y       308     -       -
 *   /%6Frders/1               y       y       -       y       y       -       y
 *   /orders%2F1               y       y       -       y       y       -       -
 *   /reports/../orders/1      -       -       -       y       -       -       y
 *   /orders/1;x               y       y       y       y       y       y       y
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

export type FrameworkName = "laravel" | "symfony" | "rack" | "sinatra" | "flask" | "express" | "hono";

export const FRAMEWORKS: readonly FrameworkName[] = [
  "laravel",
  "symfony",
  "rack",
  "sinatra",
  "flask",
  "express",
  "hono",
];

export interface Served {
  readonly route: "orders" | "reports" | "other";
  /** The method of the handler the framework ran, upper case (a HEAD runs the GET handler in Hono). */
  readonly method: string;
  /** The path as the framework routed it (decoded or not, as that framework matches routes). */
  readonly path: string;
  /** The `x-authgear-user-id` the app received; undefined when it received none. */
  readonly user: string | undefined;
}

export interface RunningOrigin {
  readonly name: FrameworkName;
  /** How it was started (StartOptions). */
  readonly methodOverride: OverrideMode;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/** The runtime each framework needs; the suite is skipped (outside CI) when one is missing. */
export const RUNTIMES: Readonly<Record<FrameworkName, string>> = {
  laravel: "php",
  symfony: "php",
  rack: "ruby",
  sinatra: "ruby",
  flask: debianPython(),
  express: process.execPath,
  hono: process.execPath,
};

/** The runtimes (php, ruby, python3) this machine lacks, by the command that was not found. */
export function missingRuntimes(): string[] {
  const commands = new Set(Object.values(RUNTIMES));
  return [...commands].filter((command) => spawnSync(command, ["--version"], { stdio: "ignore" }).error !== undefined);
}

export const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3_000;
const APPS = join(dirname(fileURLToPath(import.meta.url)), "apps");
const live = new Set<ChildProcess>();
/**
 * Runs the app in its own process group beside a watchdog that ends the group when its stdin (a pipe from this
 * process) closes: the app never outlives the tests, even when they are killed without running exit handlers.
 * The shell exits with the app's status, so a failing start is seen at once.
 */
// (fd 3: sh gives a background list /dev/null for its stdin.)
const WATCHDOG = 'exec 3<&0; "$@" </dev/null 3<&- & app=$!; { cat <&3 >/dev/null; kill -TERM 0; } & wait "$app"';

process.once("exit", () => {
  for (const child of live) killGroup(child, "SIGKILL");
});

/** Debian's python3 (whose Flask is the `python3-flask` package), not another one earlier on PATH. */
function debianPython(): string {
  return process.platform === "linux" ? "/usr/bin/python3" : "python3";
}

interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The app prints `LISTENING <port>`; otherwise the harness chose the port and polls it. */
  readonly port?: number;
}

async function launchOf(name: FrameworkName): Promise<Launch> {
  switch (name) {
    case "laravel":
    case "symfony": {
      // PHP's built-in server needs a port on its command line: take a free one, then poll it.
      const port = await freePort();
      return {
        command: "php",
        args: ["-S", `127.0.0.1:${port}`, "router.php"],
        env: { PHP_CLI_SERVER_WORKERS: "4" },
        port,
      };
    }
    case "rack":
    case "sinatra":
      return { command: "ruby", args: ["server.rb"] };
    case "flask":
      return { command: debianPython(), args: ["server.py"] };
    case "express":
    case "hono":
      return { command: process.execPath, args: ["--import", "tsx", "server.ts"] };
  }
}

/**
 * How an app runs. on: overriding as the table above says. setting-off: the framework's own setting off and
 * nothing else (Symfony: framework.http_method_override false; Sinatra: method_override false; Rack, Flask,
 * Express, Hono: the middleware left out; Laravel has no setting, so it runs as on). off: as
 * docs/method-override.md says to switch overriding off: setting-off, and for Laravel and Symfony the refusal
 * (405) of a request whose getMethod() differs from getRealMethod().
 */
export type OverrideMode = "on" | "setting-off" | "off";

export interface StartOptions {
  /** Default "on". */
  readonly methodOverride?: OverrideMode;
}

export async function startFramework(name: FrameworkName, options: StartOptions = {}): Promise<RunningOrigin> {
  const methodOverride = options.methodOverride ?? "on";
  const launch = await launchOf(name);
  const child = spawn("sh", ["-c", WATCHDOG, "sh", launch.command, ...launch.args], {
    cwd: join(APPS, name),
    env: { ...process.env, ...launch.env, ORIGIN_METHOD_OVERRIDE: methodOverride },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  live.add(child);
  if (launch.port !== undefined) child.stdout.resume();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const close = () => stop(child);
  try {
    const port = await Promise.race([
      launch.port === undefined ? announcedPort(child.stdout) : polled(launch.port, child),
      exited(child).then((code) => Promise.reject(new Error(`exited with ${String(code)}`))),
      new Promise<never>((_, reject) => child.once("error", reject)),
      delay(START_TIMEOUT_MS).then(() => Promise.reject(new Error(`no answer within ${START_TIMEOUT_MS} ms`))),
    ]);
    return { name, methodOverride, url: `http://127.0.0.1:${port}`, close };
  } catch (error) {
    await close();
    throw new Error(`${name} did not start: ${(error as Error).message}\n${stderr}`);
  }
}

function announcedPort(output: Readable): Promise<number> {
  return new Promise((resolve) => {
    let stdout = "";
    output.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
  });
}

async function polled(port: number, child: ChildProcess): Promise<number> {
  while (child.exitCode === null && child.signalCode === null) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return port;
    } catch {
      await delay(50);
    }
  }
  return new Promise(() => undefined);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else
      child.once("exit", (code) => {
        resolve(code);
      });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  // No pid: the process never started (spawn failed), so there is nothing to end.
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    killGroup(child, "SIGTERM");
    const done = await Promise.race([exited(child).then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
    if (!done) killGroup(child, "SIGKILL");
  }
  live.delete(child);
}

/** The child leads its own process group (PHP's server workers, Werkzeug's threads): end the whole group. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

const ROUTES = new Set(["orders", "reports", "other"]);

/** The record the framework app put on its answer; undefined when the answer is not the app's (a gate's 401). */
export function readServed(headers: Headers | Record<string, string | string[] | undefined>): Served | undefined {
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const value = headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  const route = get("x-served-route");
  const method = get("x-served-method");
  const path = get("x-served-path");
  const user = get("x-served-user");
  if (route === undefined || !ROUTES.has(route) || method === undefined || path === undefined || user === undefined) {
    return undefined;
  }
  return {
    route: route as Served["route"],
    method,
    path: decodePath(path),
    user: user === "-" ? undefined : user,
  };
}

/** Percent-decodes the recorded path; bytes that are not UTF-8 come back one character per byte (latin1). */
function decodePath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}
