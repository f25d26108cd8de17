/**
 * The side effects the core performs, each behind a small interface with a simple default, so a
 * packaging (or a test) can swap any of them.
 */

/** What the core sends: a GET with a deadline, never following a redirect. */
export interface FetchInit {
  readonly method: "GET";
  readonly headers: Readonly<Record<string, string>>;
  readonly redirect: "manual";
  readonly signal: AbortSignal;
}

/**
 * What the core reads of a body, chunk by chunk: a `ReadableStream` is one. A runtime without web
 * streams on hand offers this much (Node's `Readable.toWeb` loads them: 3–4 ms of a cold start).
 */
export interface BodyStream {
  getReader(): BodyReader;
  cancel(): Promise<void>;
}

/** One read: a chunk, or the end. */
export type BodyChunk =
  | { readonly done: true; readonly value?: Uint8Array | undefined }
  | { readonly done: false; readonly value: Uint8Array };

export interface BodyReader {
  read(): Promise<BodyChunk>;
  cancel(): Promise<void>;
}

/** What the core reads of an answer; a `Response` is one. */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: BodyStream | null;
  readonly bodyUsed: boolean;
}

/** The subset of `fetch` the core uses. */
export type Fetcher = (input: string, init: FetchInit) => Promise<FetchResponse>;

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

/** A structured event: a name and flat fields. Fields never hold a token or a cookie value. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(event: string, fields: LogFields): void;
}

/** Keeps a background promise alive (a Worker's `ctx.waitUntil`); the default lets it run. */
export type Defer = (promise: Promise<unknown>) => void;

/** What the core counts for operators: key-set fetches and failures, resolver calls and verdict-cache hits. */
export type CoreMetric = "keyset_fetch" | "keyset_fetch_failed" | "resolver_call" | "resolver_cache_hit";

/** Where counts go (a Worker's Analytics Engine, the Lambda's EMF line); the default counts nothing. */
export interface Meter {
  count(metric: CoreMetric): void;
}

export const noMeter: Meter = {
  count() {
    /* counts nothing */
  },
};

/** A meter for one request or invocation: its counts, read once it is answered. */
export class CountingMeter implements Meter {
  readonly counts: Record<CoreMetric, number> = {
    keyset_fetch: 0,
    keyset_fetch_failed: 0,
    resolver_call: 0,
    resolver_cache_hit: 0,
  };

  count(metric: CoreMetric): void {
    this.counts[metric] += 1;
  }
}

/**
 * What one request lends the work it starts: how to keep background work alive, its logger (which names the
 * request), its meter.
 */
export interface Call {
  readonly defer: Defer;
  readonly logger: Logger;
  readonly meter: Meter;
}

/** A logger that adds `bound` (a request id, say) to the end of every line. */
export function withFields(logger: Logger, bound: LogFields): Logger {
  return {
    log(event, fields) {
      logger.log(event, { ...fields, ...bound });
    },
  };
}

/**
 * Calls the global `fetch` unbound: on Workers, `fetch` invoked as a method of another object
 * throws "Illegal invocation".
 */
export const defaultFetcher: Fetcher = (input, init) => fetch(input, init);

export const systemClock: Clock = () => Date.now();

/**
 * SHA-256 of a string's UTF-8 bytes, in lower-case hex: what the resolver keys its verdicts by
 * (never the credentials themselves). A runtime with a synchronous digest (Node's `node:crypto`)
 * returns a string: WebCrypto's promise costs a trip through Node's thread pool per request.
 */
export type Digest = (text: string) => string | Promise<string>;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** `Digest` by WebCrypto, the one every runtime has. */
export const webCryptoDigest: Digest = async (text) => {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let hex = "";
  for (const byte of bytes) hex += HEX[byte] ?? "";
  return hex;
};

/** `LOG_LEVEL`'s values, most severe first: each writes its own lines and those of the levels before it. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Default `LOG_LEVEL`: every line the gate writes (`debug` adds none today). */
export const DEFAULT_LOG_LEVEL = "info" satisfies LogLevel;

/**
 * `error`: what refuses traffic because something is broken (the configuration, the key set with
 * no usable copy, the resolver, the origin, an unforeseen exception, a 5xx answer); `warn`: a
 * refusal let through by `REPORT_ONLY`, serving a stale key set, ignored keys and settings, cache
 * failures, claim headers left out; `info`: the rest, a request refused with a 4xx among them
 * (a bad or missing token is the client's problem, not the gate's).
 */
const LEVELS: Readonly<Record<string, LogLevel>> = {
  config_invalid: "error",
  authenticate_failed: "error",
  authorizer_failed: "error",
  assertion_failed: "error",
  resolver_failed: "error",
  secrets_load_failed: "error",
  origin_unreachable: "error",
  would_refuse: "warn",
  config_unknown_setting: "warn",
  keyset_key_ignored: "warn",
  keyset_store_failed: "warn",
  verdict_store_failed: "warn",
  claim_header_omitted: "warn",
};

export function logLevel(event: string, fields: LogFields): LogLevel {
  if (event === "keyset_refresh_failed") return fields.serving_stale === true ? "warn" : "error";
  if (event === "request_refused" && typeof fields.status === "number" && fields.status >= 500) return "error";
  return LEVELS[event] ?? "info";
}

/** Whether `level` (`LOG_LEVEL`) writes a line of level `line`. */
export function writes(level: LogLevel, line: LogLevel): boolean {
  return LOG_LEVELS.indexOf(line) <= LOG_LEVELS.indexOf(level);
}

/** `logger`, passing on only the lines `level` writes (`LOG_LEVEL`); `logger` itself at `debug`. */
export function atLevel(logger: Logger, level: LogLevel): Logger {
  if (level === "debug") return logger;
  return {
    log(event, fields) {
      if (writes(level, logLevel(event, fields))) logger.log(event, fields);
    },
  };
}

/** One JSON line per event on standard output (CloudWatch and Workers Logs both parse it). */
export const jsonLogger: Logger = {
  log(event, fields) {
    // eslint-disable-next-line no-console
    console.log(JSON.stringify({ level: logLevel(event, fields), event, ...fields }));
  },
};

export const silentLogger: Logger = {
  log() {
    /* discards */
  },
};

export const floatingDefer: Defer = (promise) => {
  promise.catch(() => {
    /* the promise reports its own failures */
  });
};
