/**
 * A vitest setup file: every log line the suite causes — the authorizer's and the core's on this
 * process's console, the Worker's from workerd — is scanned after each test file. A line of ours
 * (JSON with an `event`) must hold no credential the dev issuer handed out (a token's signature, a
 * session cookie, an opaque token; dev/remember.ts), no secret a test registered the same way
 * (`ORIGIN_SECRET`), and no query string in its `path`. A violation fails the file.
 */
import { afterAll } from "vitest";
import { logProblems } from "./log-rules.ts";

const credentials = new Set<string>();
const lines: string[] = [];
const global = globalThis as { authgearEdgeCredentials?: Set<string>; authgearEdgeLogLines?: string[] };
global.authgearEdgeCredentials = credentials;
global.authgearEdgeLogLines = lines;

const text = (chunk: unknown): string => {
  if (typeof chunk === "string") return chunk;
  return chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : "";
};
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    lines.push(text(chunk));
    return write(chunk, ...rest);
  };
}
for (const method of ["log", "info", "warn", "error"] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
    original(...args);
  };
}

afterAll(() => {
  const problems = logProblems(lines, credentials);
  if (problems.length > 0) throw new Error(`log lines that leak: ${problems.join("; ")}`);
});
