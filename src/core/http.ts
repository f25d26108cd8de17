/** Fetches a small JSON document from the issuer, with every limit a gate in front of traffic needs. */
import type { Fetcher, FetchResponse } from "./ports.ts";

export interface FetchLimits {
  /** Whole-exchange deadline in milliseconds, body included. */
  readonly timeoutMs: number;
  /** Largest accepted body in bytes; a larger one is refused without being read to the end. */
  readonly maxBytes: number;
}

export class FetchFailure extends Error {
  override readonly name = "FetchFailure";
  /** The URL that failed (a public one: discovery, JWKS), when the failure was a fetch. */
  url: string | undefined;
}

/**
 * GETs `url` and parses its JSON body. Redirects are not followed (a 3xx is a failure); any
 * status but 200, an oversize body, a timeout, a network error or invalid JSON throws a
 * `FetchFailure` whose message says which.
 */
export async function fetchJson(fetcher: Fetcher, url: string, limits: FetchLimits): Promise<unknown> {
  try {
    return await fetchJsonFrom(fetcher, url, limits);
  } catch (error) {
    if (error instanceof FetchFailure) error.url = url;
    throw error;
  }
}

async function fetchJsonFrom(fetcher: Fetcher, url: string, limits: FetchLimits): Promise<unknown> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: FetchResponse;
  try {
    response = await fetcher(url, {
      method: "GET",
      redirect: "manual",
      signal,
      headers: { accept: "application/json" },
    });
  } catch (cause) {
    throw new FetchFailure(signal.aborted ? `timed out after ${limits.timeoutMs} ms` : "network error", { cause });
  }
  try {
    if (response.status !== 200) throw new FetchFailure(`answered HTTP ${response.status}`);
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > limits.maxBytes) throw new FetchFailure(`body larger than ${limits.maxBytes} bytes`);
    const text = await readLimited(response, limits.maxBytes);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FetchFailure("body is not JSON");
    }
  } catch (error) {
    if (!response.bodyUsed) await response.body?.cancel().catch(() => undefined);
    if (error instanceof FetchFailure) throw error;
    throw new FetchFailure(signal.aborted ? `timed out after ${limits.timeoutMs} ms` : "body could not be read", {
      cause: error,
    });
  }
}

async function readLimited(response: FetchResponse, maxBytes: number): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new FetchFailure(`body larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
}
