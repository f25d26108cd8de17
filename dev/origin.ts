/**
 * A demo origin for the Worker to forward to: it answers every request with what reached it
 * (method, raw request-target, headers, body size and SHA-256), so `npm start` shows exactly what
 * the application behind the gateway would see, and tests can check what was forwarded. It
 * listens on 127.0.0.1 only. Bodies are streamed and hashed, never held in memory.
 *
 * Paths under `/_origin/` exist for tests (they are recorded like any other request):
 * - `/_origin/status/<code>` (200-599): that status, body `status <code>`, `x-origin-custom: yes`
 *   and two `set-cookie` headers (`a=1`, `b=2`);
 * - `/_origin/redirect`: 302 to `/elsewhere`;
 * - `/_origin/big?bytes=N`: N bytes of {@link patternByte}, streamed, with `x-body-sha256`.
 *
 * A WebSocket opening handshake, on any path, is recorded too (no body) and answered by the echo
 * endpoint of websocket-echo.ts.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenOnLoopback } from "./loopback-server.ts";
import { createWebSocketEcho } from "./websocket-echo.ts";

export interface ReceivedRequest {
  readonly method: string;
  /** The raw request-target, query included, as the client sent it. */
  readonly path: string;
  /**
   * Header names in lower case, in the order first seen; a header that arrived once is a string,
   * one that arrived several times is the array of its values in order (nothing is joined or dropped).
   */
  readonly headers: Record<string, string | string[]>;
  /** Bytes of body received (after any transfer coding was removed by Node). */
  readonly bodyBytes: number;
  /** Lower-case hex SHA-256 of those bytes. */
  readonly bodySha256: string;
}

export interface DemoOrigin {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /**
   * Every request, in the order its body was read to the end (or the client went away before),
   * which is before its response is sent.
   */
  readonly requests: ReadonlyArray<ReceivedRequest>;
  /** Removes and returns every request recorded so far (a long run checks them as it goes). */
  takeRequests(): ReceivedRequest[];
  /** Stops listening and destroys every open socket, idle keep-alive and mid-request ones included. */
  close(): Promise<void>;
}

const STATUS_PREFIX = "/_origin/status/";
const REDIRECT_PATH = "/_origin/redirect";
const BIG_PATH = "/_origin/big";
/** Upper bound for `/_origin/big` (1 GiB). */
const MAX_BIG_BYTES = 1024 ** 3;
/** The pattern repeats every 251 bytes (a prime, so a chunk dropped or repeated shows in the hash). */
const PATTERN_PERIOD = 251;
/** One chunk of the pattern: a whole number of periods, so consecutive chunks continue it. */
const PATTERN_CHUNK = Buffer.from(Array.from({ length: PATTERN_PERIOD * 256 }, (_, index) => patternByte(index)));

/** The byte at `offset` of a `/_origin/big` body. */
export function patternByte(offset: number): number {
  return offset % PATTERN_PERIOD;
}

function* patternChunks(bytes: number): Generator<Buffer> {
  for (let sent = 0; sent < bytes; sent += PATTERN_CHUNK.length) {
    yield bytes - sent >= PATTERN_CHUNK.length ? PATTERN_CHUNK : PATTERN_CHUNK.subarray(0, bytes - sent);
  }
}

function patternSha256(bytes: number): string {
  const hash = createHash("sha256");
  for (const chunk of patternChunks(bytes)) hash.update(chunk);
  return hash.digest("hex");
}

function receivedHeaders(rawHeaders: string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (typeof previous === "string") headers[name] = [previous, value];
    else previous.push(value);
  }
  return headers;
}

/** Reads the body to the end, hashing it chunk by chunk; stops early (no throw) if the client goes away. */
async function drain(req: IncomingMessage): Promise<{ bodyBytes: number; bodySha256: string; complete: boolean }> {
  const hash = createHash("sha256");
  let bodyBytes = 0;
  let complete = true;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bodyBytes += chunk.length;
      hash.update(chunk);
    }
  } catch {
    complete = false;
  }
  return { bodyBytes, bodySha256: hash.digest("hex"), complete };
}

function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string): void {
  res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { "content-type": "application/json" }, `${JSON.stringify(value, null, 2)}\n`);
}

async function sendPattern(res: ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": bytes,
    "x-body-sha256": patternSha256(bytes),
  });
  for (const chunk of patternChunks(bytes)) {
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  res.end();
}

function respond(res: ServerResponse, record: ReceivedRequest): Promise<void> | undefined {
  const url = new URL(record.path, "http://origin.invalid");
  if (url.pathname.startsWith(STATUS_PREFIX)) {
    const code = url.pathname.slice(STATUS_PREFIX.length);
    const status = Number(code);
    if (!/^[2-5]\d\d$/.test(code)) {
      sendJson(res, 400, { error: "expected /_origin/status/<200-599>" });
    } else if (status === 204 || status === 304) {
      res.writeHead(status, { "x-origin-custom": "yes", "set-cookie": ["a=1", "b=2"] });
      res.end();
    } else {
      send(
        res,
        status,
        { "content-type": "text/plain", "x-origin-custom": "yes", "set-cookie": ["a=1", "b=2"] },
        `status ${status}`,
      );
    }
    return undefined;
  }
  if (url.pathname === REDIRECT_PATH) {
    send(res, 302, { location: "/elsewhere" }, "");
    return undefined;
  }
  if (url.pathname === BIG_PATH) {
    const raw = url.searchParams.get("bytes") ?? "";
    const bytes = Number(raw);
    if (!/^\d+$/.test(raw) || bytes > MAX_BIG_BYTES) {
      sendJson(res, 400, { error: `expected /_origin/big?bytes=<0-${MAX_BIG_BYTES}>` });
      return undefined;
    }
    return sendPattern(res, bytes);
  }
  sendJson(res, 200, record);
  return undefined;
}

/** Starts the origin on 127.0.0.1; `port` defaults to 0 (a free port). */
export async function startDemoOrigin(options: { port?: number } = {}): Promise<DemoOrigin> {
  const requests: ReceivedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "";
    const path = req.url ?? "";
    const headers = receivedHeaders(req.rawHeaders);
    const { bodyBytes, bodySha256, complete } = await drain(req);
    const record: ReceivedRequest = { method, path, headers, bodyBytes, bodySha256 };
    requests.push(record);
    if (!complete) {
      res.destroy();
      return;
    }
    await respond(res, record);
  };

  const echo = createWebSocketEcho();
  const server = await listenOnLoopback("demo origin", options.port ?? 0, handle, (req, socket, head) => {
    const record = { method: req.method ?? "", path: req.url ?? "", headers: receivedHeaders(req.rawHeaders) };
    requests.push({ ...record, bodyBytes: 0, bodySha256: createHash("sha256").digest("hex") });
    echo.handleUpgrade(req, socket, head);
  });
  return {
    url: server.url,
    requests,
    takeRequests: () => requests.splice(0),
    close: () => {
      echo.close();
      return server.close();
    },
  };
}
