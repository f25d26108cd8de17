import { createHash } from "node:crypto";
import { request } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { patternByte, startDemoOrigin } from "../../dev/origin.ts";
import type { DemoOrigin, ReceivedRequest } from "../../dev/origin.ts";

const MB = 1024 * 1024;

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function useOrigin(): () => DemoOrigin {
  let origin: DemoOrigin | undefined;
  beforeAll(async () => {
    origin = await startDemoOrigin();
  });
  afterAll(async () => {
    await origin?.close();
  });
  return () => origin!;
}

function portOf(origin: DemoOrigin): number {
  return Number(new URL(origin.url).port);
}

/** Opens a raw TCP connection to the origin and writes `bytes` as is. */
async function rawConnection(origin: DemoOrigin, bytes: string): Promise<Socket> {
  const socket = connect(portOf(origin), "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(bytes);
  return socket;
}

/** Sends exactly `bytes` and returns everything the origin answered until it closed the connection. */
async function rawExchange(origin: DemoOrigin, bytes: string): Promise<string> {
  const socket = await rawConnection(origin, bytes);
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => socket.once("close", resolve));
  return Buffer.concat(chunks).toString("latin1");
}

function last(origin: DemoOrigin): ReceivedRequest {
  return origin.requests.at(-1)!;
}

describe("echo", () => {
  const origin = useOrigin();

  it("binds to 127.0.0.1", () => {
    expect(origin().url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers with what it received, and records it", async () => {
    const before = origin().requests.length;
    const response = await fetch(`${origin().url}/some/path?q=1&r=%20x`, {
      method: "POST",
      headers: { "X-Custom": "Value", "content-type": "text/plain" },
      body: "hello",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const echoed = (await response.json()) as ReceivedRequest;
    expect(echoed).toEqual({
      method: "POST",
      path: "/some/path?q=1&r=%20x",
      headers: expect.objectContaining({
        "x-custom": "Value",
        "content-type": "text/plain",
        "content-length": "5",
      }) as unknown,
      bodyBytes: 5,
      bodySha256: sha256("hello"),
    });
    expect(Object.keys(echoed)).toEqual(["method", "path", "headers", "bodyBytes", "bodySha256"]);
    expect(origin().requests).toHaveLength(before + 1);
    expect(last(origin())).toEqual(echoed);
  });

  it("keeps the raw request-target, including what URL parsing would normalize", async () => {
    const answer = await rawExchange(
      origin(),
      "GET /a/../b/%2e%2E/c?x=%zz&&y HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(last(origin())).toMatchObject({
      method: "GET",
      path: "/a/../b/%2e%2E/c?x=%zz&&y",
      headers: { host: "example.test" },
    });
  });

  it("answers a request without a body with the empty body's hash", async () => {
    await (await fetch(`${origin().url}/`)).arrayBuffer();
    expect(last(origin())).toMatchObject({ method: "GET", path: "/", bodyBytes: 0, bodySha256: sha256("") });
  });

  it("keeps every value of a repeated header, in order, as an array; names in lower case", async () => {
    const answer = await rawExchange(
      origin(),
      [
        "GET /multi HTTP/1.1",
        "Host: 127.0.0.1",
        "X-Authgear-User-Id: spoofed-1",
        "Authorization: Bearer one",
        "x-authgear-user-id: spoofed-2",
        "Cookie: a=1",
        "Authorization: Bearer two",
        "X-AUTHGEAR-USER-ID: spoofed-3",
        "Cookie: b=2",
        "Connection: close",
        "",
        "",
      ].join("\r\n"),
    );
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as ReceivedRequest;
    expect(body.headers).toEqual({
      host: "127.0.0.1",
      "x-authgear-user-id": ["spoofed-1", "spoofed-2", "spoofed-3"],
      authorization: ["Bearer one", "Bearer two"],
      cookie: ["a=1", "b=2"],
      connection: "close",
    });
    expect(Object.keys(body.headers)).toEqual(["host", "x-authgear-user-id", "authorization", "cookie", "connection"]);
    expect(last(origin()).headers).toEqual(body.headers);
  });

  it("streams and hashes a 50 MB chunked upload", async () => {
    const block = Buffer.alloc(MB);
    const expected = createHash("sha256");
    const { status, headers, body } = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = request(
          `${origin().url}/upload`,
          { method: "PUT", headers: { "content-type": "application/octet-stream" } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
            });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        let sent = 0;
        const writeMore = (): void => {
          while (sent < 50) {
            for (let index = 0; index < block.length; index += 4096)
              block.writeUInt32BE(sent * 1_000_003 + index, index);
            expected.update(block);
            sent += 1;
            if (!req.write(block)) {
              req.once("drain", writeMore);
              return;
            }
          }
          req.end();
        };
        writeMore();
      },
    );
    expect(status).toBe(200);
    expect(headers["content-type"]).toBe("application/json");
    const echoed = JSON.parse(body) as ReceivedRequest;
    expect(echoed).toMatchObject({
      method: "PUT",
      path: "/upload",
      bodyBytes: 50 * MB,
      bodySha256: expected.digest("hex"),
    });
    expect(echoed.headers["transfer-encoding"]).toBe("chunked");
    expect(last(origin())).toEqual(echoed);
  });

  it("records a request whose client went away mid-body, with the bytes that arrived", async () => {
    const before = origin().requests.length;
    const socket = await rawConnection(
      origin(),
      "POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789",
    );
    await vi.waitFor(() => {
      expect(socket.bytesWritten).toBeGreaterThan(0);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await vi.waitFor(() => {
      expect(origin().requests).toHaveLength(before + 1);
    });
    expect(last(origin())).toMatchObject({
      method: "POST",
      path: "/gone",
      bodyBytes: 10,
      bodySha256: sha256("0123456789"),
    });
  });
});

describe("special paths", () => {
  const origin = useOrigin();

  it("/_origin/status/<code>: that status, a custom header and two set-cookie headers", async () => {
    for (const status of [200, 403, 418, 500, 503]) {
      const response = await fetch(`${origin().url}/_origin/status/${status}?x=1`, { method: "POST", body: "abc" });
      expect(response.status).toBe(status);
      expect(await response.text()).toBe(`status ${status}`);
      expect(response.headers.get("x-origin-custom")).toBe("yes");
      expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
      expect(last(origin())).toMatchObject({
        method: "POST",
        path: `/_origin/status/${status}?x=1`,
        bodyBytes: 3,
        bodySha256: sha256("abc"),
      });
    }
  });

  it("/_origin/status/<code>: sends the two set-cookie headers as two header lines", async () => {
    const answer = await rawExchange(
      origin(),
      "GET /_origin/status/401 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(answer).toMatch(/\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n/i);
  });

  it("/_origin/status/<code>: no body for 204 and 304", async () => {
    for (const status of [204, 304]) {
      const response = await fetch(`${origin().url}/_origin/status/${status}`);
      expect(response.status).toBe(status);
      expect(await response.text()).toBe("");
      expect(response.headers.get("x-origin-custom")).toBe("yes");
    }
  });

  it("/_origin/status/<code>: refuses a code outside 200-599", async () => {
    for (const code of ["100", "199", "600", "abc", "2000", ""]) {
      const response = await fetch(`${origin().url}/_origin/status/${code}`);
      expect(response.status).toBe(400);
      await response.arrayBuffer();
    }
  });

  it("/_origin/redirect: 302 to /elsewhere", async () => {
    const response = await fetch(`${origin().url}/_origin/redirect`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/elsewhere");
    expect(await response.text()).toBe("");
    expect(last(origin())).toMatchObject({ method: "GET", path: "/_origin/redirect" });
  });

  it("/_origin/big?bytes=N: streams N bytes of the pattern, with their SHA-256", async () => {
    for (const bytes of [0, 1, 250, 251, 252, 64_256, 64_257, 10 * MB + 3]) {
      const response = await fetch(`${origin().url}/_origin/big?bytes=${bytes}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-length")).toBe(String(bytes));
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.length).toBe(bytes);
      expect(response.headers.get("x-body-sha256")).toBe(sha256(body));
      const expected = Buffer.from(Array.from({ length: Math.min(bytes, 70_000) }, (_, offset) => patternByte(offset)));
      expect(body.subarray(0, 70_000).equals(expected)).toBe(true);
      expect(last(origin())).toMatchObject({ method: "GET", path: `/_origin/big?bytes=${bytes}`, bodyBytes: 0 });
    }
  });

  it("/_origin/big: refuses a missing or bad size", async () => {
    for (const query of ["", "?bytes=", "?bytes=-1", "?bytes=1e3", `?bytes=${1024 ** 3 + 1}`]) {
      const response = await fetch(`${origin().url}/_origin/big${query}`);
      expect(response.status).toBe(400);
      await response.arrayBuffer();
    }
  });

  it("records every special request", () => {
    const paths = origin().requests.map((received) => new URL(received.path, "http://x").pathname);
    expect(paths.filter((path) => path.startsWith("/_origin/status/"))).toHaveLength(5 + 1 + 2 + 6);
    expect(paths.filter((path) => path === "/_origin/redirect")).toHaveLength(1);
    expect(paths.filter((path) => path === "/_origin/big")).toHaveLength(8 + 5);
  });
});

describe("close", () => {
  it("resolves with idle and mid-request sockets open, and closes them", async () => {
    const origin = await startDemoOrigin();
    const idle = await rawConnection(origin, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => idle.once("data", resolve));
    const midRequest = await rawConnection(origin, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
    const closed = [idle, midRequest].map((socket) => new Promise((resolve) => socket.once("close", resolve)));
    for (const socket of [idle, midRequest]) socket.on("error", () => undefined);

    const started = Date.now();
    await origin.close();
    await Promise.all(closed);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(origin.url)).rejects.toThrow();
    await expect(origin.close()).resolves.toBeUndefined();
  });

  it("listens on the port asked for", async () => {
    const first = await startDemoOrigin();
    const port = portOf(first);
    await first.close();
    const second = await startDemoOrigin({ port });
    try {
      expect(second.url).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${second.url}/x`)).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
