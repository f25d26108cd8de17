/**
 * The child of bench/lambda.bench.ts that measures CPU per call, run pinned to one CPU
 * (`taskset -c 0`) as a Lambda function up to 1,769 MB has one vCPU. Bundled by the benchmark
 * (jose and the events included; the authorizers are imported at run time from their bundles).
 * Reads a job (JSON, the file named by its one argument), writes the result (JSON) to stdout.
 * Per cell and round, a new module instance of the authorizer (a new container), measured as
 * bench/cpu-per-call.ts says.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { countLogLines, measureCells, writeSamples, type Call, type CpuSample } from "./cpu-per-call.ts";
import { KINDS, checkAllowed } from "./lambda-events.ts";

export type { CpuSample };

export interface CpuCell {
  readonly name: string;
  readonly who: "ours" | "aws" | "raw" | "jose";
  /** An event kind's name (KINDS); none for the raw verify and jose. */
  readonly kind?: string;
  readonly distinct: boolean;
}

export interface CpuJob {
  readonly urls: { readonly ours: string; readonly aws: string };
  readonly pool: readonly string[];
  /** The repeated token, for subject `bench-repeated`; the pool's i-th is for `bench-user-<i>`. */
  readonly token: string;
  readonly jwks: string;
  readonly issuer: string;
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly cells: readonly CpuCell[];
}

const job = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as CpuJob;
const pool = job.pool;
countLogLines();
let containers = 0;
const keySet = JSON.parse(job.jwks) as JSONWebKeySet;
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const key = await crypto.subtle.importKey("jwk", keySet.keys[0] as JsonWebKey, RSA, false, ["verify"]);
const encoder = new TextEncoder();
const joseKeys = createLocalJWKSet(keySet);
const joseOptions = {
  issuer: job.issuer,
  audience: job.issuer,
  typ: "at+jwt",
  algorithms: ["RS256"],
  requiredClaims: ["exp", "iat", "sub"],
};
const pick = (index: number): string => pool[index % pool.length] ?? "";

async function start(cell: CpuCell): Promise<Call> {
  if (cell.who === "jose") {
    return async (index) => {
      const { payload } = await jwtVerify(pick(index), joseKeys, joseOptions);
      if (payload.sub !== `bench-user-${index % pool.length}`) throw new Error("bench: jose verified the wrong token");
    };
  }
  if (cell.who === "raw") {
    return async (index) => {
      const jwt = pick(index);
      const dot = jwt.lastIndexOf(".");
      const signature = Buffer.from(jwt.slice(dot + 1), "base64url");
      const valid = await crypto.subtle.verify(RSA.name, key, signature, encoder.encode(jwt.slice(0, dot)));
      if (!valid) throw new Error("bench: the raw verify refused a token");
    };
  }
  const kind = KINDS.find((candidate) => candidate.name === cell.kind);
  if (kind === undefined) throw new Error(`bench: no event kind ${String(cell.kind)}`);
  process.env.HTTP_API_RESPONSE = kind.response;
  containers += 1;
  type Module = { handler: (event: unknown) => Promise<unknown> };
  const { handler } = (await import(`${job.urls[cell.who]}?container=${containers}`)) as Module;
  const repeated = kind.event(job.token);
  const distinct = pool.map((token) => kind.event(token));
  return async (index) => {
    const at = index % pool.length;
    const [event, sub] = cell.distinct ? [distinct[at], `bench-user-${at}`] : [repeated, "bench-repeated"];
    checkAllowed(await handler(event), sub, kind, cell.name);
  };
}

writeSamples(await measureCells({ ...job, start }));
