/** serverless-offline with serverless.yml's example API, for the end-to-end authorizer tests. */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ALL_SETTING_NAMES } from "../../src/doctor/settings.ts";
import { freePort } from "../helpers.ts";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SERVERLESS = join(PROJECT_ROOT, "node_modules", "serverless", "bin", "serverless.js");
export const STARTUP_MS = 45_000;
const QUIET = { SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off" };
/**
 * The settings, removed from the inherited environment so serverless.yml's defaults apply: the
 * authorizer's, and the Worker's too (serverless.yml reads CORS_ALLOWED_ORIGINS for API Gateway).
 */
const SETTINGS: ReadonlySet<string> = new Set(ALL_SETTING_NAMES);

export function serverlessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !SETTINGS.has(name));
  return { ...Object.fromEntries(inherited), ...QUIET, ...extra };
}

export interface Offline {
  /** `http://127.0.0.1:<port>`: the REST routes (no stage prefix) and the HTTP API routes. */
  readonly url: string;
  /** serverless-offline's Lambda invoke API, as the AWS SDK calls it. */
  readonly lambdaUrl: string;
  /** `ws://127.0.0.1:<port>`: the WebSocket API (every offline run serves it: serverless.yml has one). */
  readonly webSocketUrl: string;
  /** Everything serverless-offline printed so far (its log and the functions' console). */
  output(): string;
  stop(): Promise<void>;
}

/** `serverless offline` in its own process group, on free loopback ports, ready to serve. */
export async function startOffline(env: Record<string, string>): Promise<Offline> {
  const [httpPort, lambdaPort, webSocketPort] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [SERVERLESS, "offline", "start"], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: serverlessEnv({
      ...env,
      OFFLINE_HTTP_PORT: String(httpPort),
      OFFLINE_LAMBDA_PORT: String(lambdaPort),
      OFFLINE_WEBSOCKET_PORT: String(webSocketPort),
    }),
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      resolve();
    }),
  );
  const offline: Offline = {
    url: `http://127.0.0.1:${httpPort}`,
    lambdaUrl: `http://127.0.0.1:${lambdaPort}`,
    webSocketUrl: `ws://127.0.0.1:${webSocketPort}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      process.kill(-child.pid, "SIGKILL");
      await exited;
    },
  };
  const deadline = Date.now() + STARTUP_MS;
  while (!output.includes("Server ready:")) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited early:\n${output}`);
    if (Date.now() > deadline) {
      await offline.stop();
      throw new Error(`serverless offline not ready after ${STARTUP_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return offline;
}

/** Invokes a function of the running service as the AWS SDK would: `{ result }` or `{ error }` (the thrown message). */
export async function invoke(
  offline: Offline,
  fn: string,
  event: unknown,
): Promise<{ result?: unknown; error?: string }> {
  const response = await fetch(`${offline.lambdaUrl}/2015-03-31/functions/authgear-edge-dev-${fn}/invocations`, {
    method: "POST",
    body: JSON.stringify(event),
  });
  const body: unknown = await response.json();
  if (response.headers.has("x-amz-function-error")) return { error: (body as { errorMessage: string }).errorMessage };
  return { result: body };
}
