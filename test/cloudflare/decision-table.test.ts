/**
 * The decision table (test/fixtures/decision-table.ts) through the built Worker (dist/worker.js) in workerd:
 * one Worker per configuration, in front of the demo origin. Each row's request is sent through raw
 * node:http (its request-target and header lines exactly as written), and checked on what the client gets
 * and on what the origin received, byte for byte: nothing for a refusal, for a forwarded request exactly
 * the request sent, minus what the row says must not reach the origin, plus the identity headers of the
 * row's credential and what workerd adds to every subrequest.
 */
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReceivedRequest } from "../../dev/origin.ts";
import { useDemoOrigin } from "../helpers.ts";
import {
  CONFIGURATIONS,
  DECISION_TABLE,
  DOCUMENTED_ERRORS,
  outcomeFor,
  type ConfigurationName,
  type ExpectedHeaders,
  type Forwarded,
  type Outcome,
  type Packaging,
  type Row,
} from "../fixtures/decision-table.ts";
import { headerItems, headerLines, headersAtOrigin, useTableIssuers } from "../fixtures/decision-credentials.ts";
import { originRequestsThisTest, startWorker } from "./harness.ts";

const { up, down, minted } = useTableIssuers();
const origin = useDemoOrigin();
const seen = originRequestsThisTest(() => origin);

const gates = new Map<ConfigurationName, Miniflare>();

beforeAll(async () => {
  const used = [...new Set(DECISION_TABLE.map((row) => row.config))];
  await Promise.all(
    used.map(async (name) => {
      const { issuer, settings } = CONFIGURATIONS[name];
      const endpoint = issuer === "up" ? up.origin : down.origin;
      const mf = startWorker({ AUTHGEAR_ENDPOINT: endpoint, ORIGIN_URL: origin.url, ...settings }, 1, []);
      gates.set(name, mf);
      await mf.ready;
    }),
  );
}, 30_000);

afterAll(async () => {
  await Promise.all([...gates.values()].map((mf) => mf.dispose()));
});

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Sends exactly this request-target and these header lines, plus Host, and Content-Length for any method
 * but GET and HEAD (as browsers do; node:http would otherwise send a bodiless POST chunked).
 */
async function send(mf: Miniflare, method: string, target: string, lines: string[], body?: string): Promise<Reply> {
  const base = await mf.ready;
  const headers = ["host", base.host, ...lines];
  if (body !== undefined || (method !== "GET" && method !== "HEAD")) {
    headers.push("content-length", String(Buffer.byteLength(body ?? "")));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: base.hostname, port: base.port, method, path: target, headers, agent: false },
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
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

function checkHeaders(reply: Reply, expected: ExpectedHeaders | undefined): void {
  for (const [name, value] of Object.entries(expected ?? {})) {
    if (value === null) {
      expect(reply.headers[name], name).toBeUndefined();
    } else {
      expect(headerItems(reply.headers[name]), name).toEqual(expect.arrayContaining(headerItems(value)));
    }
  }
}

/** What workerd adds to every subrequest here, and what the Worker's `cache: "no-store"` adds with an identity. */
function subrequestHeaders(authenticated: boolean): Record<string, string> {
  return {
    host: new URL(origin.url).host,
    "accept-encoding": "br, gzip",
    "cf-worker": "gate-0.example.com",
    ...(authenticated && { "cache-control": "no-cache", pragma: "no-cache" }),
  };
}

/** The request the origin must have received for a forwarded row. */
function expectedAtOrigin(row: Row, outcome: Forwarded, sent: ReadonlyArray<readonly [string, string]>) {
  const { issuer } = CONFIGURATIONS[row.config];
  const headers = {
    ...subrequestHeaders(outcome.as !== undefined),
    ...headersAtOrigin(outcome, sent, minted(row), issuer === "up" ? up.origin : down.origin),
  };
  const body = row.request.body ?? "";
  // send() gives every method but GET and HEAD its Content-Length.
  if (row.request.method !== "GET" && row.request.method !== "HEAD") {
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  const received: ReceivedRequest = {
    method: row.request.method,
    path: outcome.target ?? row.request.target,
    headers,
    bodyBytes: Buffer.byteLength(body),
    bodySha256: createHash("sha256").update(body).digest("hex"),
  };
  return received;
}

async function check(row: Row, outcome: Outcome): Promise<void> {
  const mf = gates.get(row.config);
  if (mf === undefined) throw new Error(`no Worker for ${row.config}`);
  const sent = headerLines(row, minted(row));
  const reply = await send(mf, row.request.method, row.request.target, sent.flat(), row.request.body);
  switch (outcome.kind) {
    case "forwarded":
      expect(reply.status, reply.body).toBe(200);
      checkHeaders(reply, outcome.headers);
      expect(seen()).toEqual([expectedAtOrigin(row, outcome, sent)]);
      return;
    case "refused": {
      const head = row.request.method === "HEAD";
      const { code } = head ? { code: outcome.code } : (JSON.parse(reply.body) as { code?: string });
      expect({ status: reply.status, code, empty: reply.body === "" }).toEqual({
        status: outcome.status,
        code: outcome.code,
        empty: head,
      });
      const { challenge } = DOCUMENTED_ERRORS[outcome.code];
      const header = reply.headers["www-authenticate"];
      if (challenge === undefined) expect(header).toBeUndefined();
      else expect(/error="([^"]+)"/.exec(header ?? "")?.[1] ?? null).toBe(challenge);
      checkHeaders(reply, outcome.headers);
      break;
    }
    case "redirected": {
      expect(reply.status).toBe(outcome.status);
      const location = new URL(reply.headers.location ?? "");
      expect(`${location.origin}${location.pathname}`).toBe(outcome.location);
      const base = await mf.ready;
      expect(location.searchParams.get("return_to")).toBe(`${base.origin}${row.request.target}`);
      break;
    }
    case "answered":
      expect(reply.status).toBe(outcome.status);
      checkHeaders(reply, outcome.headers);
      break;
  }
  expect(seen()).toEqual([]);
}

describe("the decision table", () => {
  it("applies every row to the Worker, and names each row once", () => {
    for (const row of DECISION_TABLE) expect(outcomeFor(row, "worker").kind, row.name).not.toBe("not-applicable");
    expect(new Set(DECISION_TABLE.map((row) => row.name)).size).toBe(DECISION_TABLE.length);
  });

  it("records, for each known gap, an outcome other than the documented one", () => {
    for (const row of DECISION_TABLE) {
      for (const [packaging, gap] of Object.entries(row.knownGap ?? {})) {
        expect(gap.observed, `${row.name} (${packaging})`).not.toEqual(outcomeFor(row, packaging as Packaging));
        expect(gap.reason.length, `${row.name} (${packaging})`).toBeGreaterThan(40);
      }
    }
  });

  it("gives each refusal the status of docs/operations.md's errors table, in every packaging", () => {
    for (const row of DECISION_TABLE) {
      for (const packaging of ["worker", "authorizer", "edge"] as const) {
        const outcome = outcomeFor(row, packaging);
        if (outcome.kind === "refused") expect(outcome.status, row.name).toBe(DOCUMENTED_ERRORS[outcome.code].status);
      }
    }
  });
});

describe("the decision table through the Worker", () => {
  for (const row of DECISION_TABLE) {
    const outcome = outcomeFor(row, "worker");
    if (outcome.kind === "not-applicable") continue;
    const gap = row.knownGap?.worker;
    const name = `${row.group}: ${row.name} (${row.config})`;
    if (gap === undefined) it(name, () => check(row, outcome));
    else it(`${name}: a known gap, what the Worker does instead`, () => check(row, gap.observed));
  }
});
