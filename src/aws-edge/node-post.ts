/**
 * A POST over node:http or node:https for the edge function's calls to AWS, beside the core's GET-only
 * `Fetcher` (src/aws/node-fetcher.ts): Node's global `fetch` loads undici on first use, tens of
 * milliseconds of a cold start. The deadline is the caller's `signal`; the answer's body is read
 * whole, up to `maxBytes`. Redirects are not followed.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export interface PostInit {
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: string;
  readonly signal: AbortSignal;
  /** Largest body read, bytes; a larger one is a failure (`BodyTooLarge`). */
  readonly maxBytes: number;
}

export interface PostAnswer {
  readonly status: number;
  /** A response header by lower-case name; repeated ones joined with ", ". */
  header(name: string): string | undefined;
  /** The body as UTF-8 text. */
  readonly body: string;
}

/** The answer's body was longer than `maxBytes`. */
export class BodyTooLarge extends Error {
  override readonly name = "BodyTooLarge";
}

export type Poster = (url: string, init: PostInit) => Promise<PostAnswer>;

function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    res.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        res.destroy();
        reject(new BodyTooLarge(`body larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    // The deadline's abort, or a reset, after the headers.
    res.on("error", reject);
  });
}

export const nodePost: Poster = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const request = send(target, { method: "POST", headers: init.headers, signal: init.signal }, (res) => {
      readBody(res, init.maxBytes).then((body) => {
        resolve({
          status: res.statusCode ?? 0,
          header(name) {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join(", ") : value;
          },
          body,
        });
      }, reject);
    });
    request.on("error", reject);
    request.end(init.body);
  });
