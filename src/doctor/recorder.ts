/**
 * Fetches as the core's `fetchJson` makes them, recorded for the explanation: the status, headers
 * and body size of the last answer to each URL.
 */
import type { BodyStream, Fetcher, FetchResponse } from "../core/ports.ts";

export interface Exchange {
  readonly url: string;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  bytes: number;
}

export interface Recorder {
  readonly fetcher: Fetcher;
  /** The answer to the last request sent to `url`, if one came. */
  last(url: string): Exchange | undefined;
}

/** Wraps a fetcher so the status, headers and body size of each answer can be reported. */
export function recorder(inner: Fetcher): Recorder {
  const seen = new Map<string, Exchange>();
  const fetcher: Fetcher = async (url, init) => {
    seen.delete(url);
    const response = await inner(url, init);
    const exchange: Exchange = { url, status: response.status, headers: response.headers, bytes: 0 };
    seen.set(url, exchange);
    const body = response.body === null ? null : counting(response.body, (bytes) => (exchange.bytes += bytes));
    const counted: FetchResponse = {
      status: response.status,
      headers: response.headers,
      body,
      get bodyUsed() {
        return response.bodyUsed;
      },
    };
    return counted;
  };
  return { fetcher, last: (url) => seen.get(url) };
}

/** `stream`, with `count` told the size of each chunk read. */
function counting(stream: BodyStream, count: (bytes: number) => void): BodyStream {
  return {
    getReader() {
      const reader = stream.getReader();
      return {
        async read() {
          const chunk = await reader.read();
          if (!chunk.done) count(chunk.value.byteLength);
          return chunk;
        },
        cancel: () => reader.cancel(),
      };
    },
    cancel: () => stream.cancel(),
  };
}
