/**
 * One HTTP/1.1 request with exactly the method, request target, headers and body given (fetch would refuse a body
 * on GET or HEAD and normalise the target), for the frameworks' smoke tests and the differential property.
 */
import { request, type IncomingHttpHeaders } from "node:http";

export interface RawRequest {
  readonly method: string;
  /** The request target as sent: path and query, not normalised. */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

const TIMEOUT_MS = 10_000;

/**
 * Resolves with the status and headers as soon as they arrive: an app may answer a HEAD with a body (Flask does
 * once an override turned it into another method), which the client then refuses as a parse error.
 * Every request on its own connection, so bytes left over from one answer never reach another.
 */
export function sendRaw(origin: string, raw: RawRequest): Promise<RawResponse> {
  const url = new URL(origin);
  const length = raw.body === undefined ? {} : { "content-length": String(Buffer.byteLength(raw.body)) };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: raw.method,
        path: raw.target,
        headers: { ...raw.headers, ...length },
        agent: false,
        timeout: TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      },
    );
    req.once("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(raw.body);
  });
}
