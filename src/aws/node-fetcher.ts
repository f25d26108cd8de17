/**
 * The core's `Fetcher` on node:http and node:https, for the Lambda. Node's global `fetch` loads
 * undici on first use, about 60 ms of a cold start spent before the first key-set request leaves
 * (bench/results/lambda.md); node:https is what aws-jwt-verify fetches with. GET only; redirects
 * are not followed (node:http never does); the deadline is the caller's `signal`.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { BodyReader, BodyStream, Fetcher, FetchResponse } from "../core/index.ts";

/**
 * The answer's body as the core reads it, straight from node:http's stream: its chunks in order, an
 * abort (the caller's deadline) as a rejected read, and `cancel` closing the connection.
 */
function bodyOf(res: IncomingMessage): BodyStream {
  const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const cancel = (): Promise<void> => {
    res.destroy();
    return Promise.resolve();
  };
  const reader: BodyReader = {
    async read() {
      const next = await chunks.next();
      return next.done === true ? { done: true } : { done: false, value: next.value };
    },
    cancel,
  };
  return { getReader: () => reader, cancel };
}

function answer(res: IncomingMessage): FetchResponse {
  return {
    status: res.statusCode ?? 0,
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()];
        if (Array.isArray(value)) return value.join(", ");
        return value ?? null;
      },
    },
    body: bodyOf(res),
    bodyUsed: false,
  };
}

export const nodeFetcher: Fetcher = (input, init) =>
  new Promise((resolve, reject) => {
    const url = new URL(input);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const request = send(url, { method: init.method, headers: init.headers, signal: init.signal }, (res) => {
      resolve(answer(res));
    });
    request.on("error", reject);
    request.end();
  });
