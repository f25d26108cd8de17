/**
 * A local stand-in of AWS Secrets Manager's HTTP API on 127.0.0.1, for the edge function's secrets: it
 * answers GetSecretValue as AWS documents it and checks each request's Signature Version 4 itself
 * (./sigv4-verifier.ts, written from AWS's documentation), importing nothing from src.
 *
 * - GetSecretValue (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html):
 *   `POST /` with `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: secretsmanager.GetSecretValue`
 *   and the body `{"SecretId": "<ARN or name>"}`; a 200 answer holds `ARN`, `Name`, `VersionId`,
 *   `SecretString` (or `SecretBinary`, base64), `VersionStages` and `CreatedDate` (epoch seconds). Its own
 *   errors: `DecryptionFailure`, `InternalServiceError` (500), `InvalidParameterException`,
 *   `InvalidRequestException`, `ResourceNotFoundException` (each 400 unless said).
 * - Common Errors (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html):
 *   `AccessDeniedException` 400, `ThrottlingException` 400, `ServiceUnavailable` 503, the signature's.
 * - An error answer of the JSON protocol is `{"__type": "<name>", "message": "..."}` with the status; the name
 *   may come qualified, `namespace#Name` in `__type` (the `internal` failure), or only in an `x-amzn-ErrorType`
 *   header as `Name:url` (the `header-throttling` failure): AWS JSON 1.1 protocol,
 *   https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifySigV4, type KnownKey } from "./sigv4-verifier.ts";

export interface StandInKey extends KnownKey {
  readonly accessKeyId: string;
}

export interface StandInSecret {
  readonly arn: string;
  readonly secretString?: string | undefined;
  /** base64, as the API sends it */
  readonly secretBinary?: string | undefined;
  /** Access keys allowed `secretsmanager:GetSecretValue` on it; default: every known key. */
  readonly readers?: readonly string[];
}

/** A way the service fails for every request until cleared: an AWS error answer, or a network failure. */
export type StandInFailure =
  | "throttling"
  | "header-throttling"
  | "internal"
  | "unavailable"
  | "decryption"
  | "hang"
  | "stall"
  | "cut"
  | "reset"
  | "oversize"
  | "not-json";

export interface StandInCall {
  readonly target: string | undefined;
  readonly securityToken: string | undefined;
  readonly status: number;
  /** The error's `__type`; `undefined` for a 200. */
  readonly type: string | undefined;
}

export interface SecretsManagerStandIn {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly calls: readonly StandInCall[];
  fail(failure: StandInFailure | undefined): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  readonly region: string;
  readonly keys: readonly StandInKey[];
  readonly secrets: readonly StandInSecret[];
  /** The service's clock, ms; default `Date.now`. */
  readonly now?: () => number;
}

const AWS_FAILURES: Readonly<Record<string, readonly [number, string, string]>> = {
  throttling: [400, "ThrottlingException", "Rate exceeded"],
  internal: [500, "com.amazonaws.secretsmanager#InternalServiceError", "An error occurred on the server side."],
  unavailable: [503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."],
  decryption: [400, "DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the KMS key."],
};

export async function startSecretsManagerStandIn(options: StandInOptions): Promise<SecretsManagerStandIn> {
  const calls: StandInCall[] = [];
  let failure: StandInFailure | undefined;
  const now = options.now ?? Date.now;

  function answer(res: ServerResponse, call: Omit<StandInCall, "status" | "type">, status: number, json: object): void {
    const type = status === 200 ? undefined : (json as { __type?: string }).__type;
    calls.push({ ...call, status, type });
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() });
    res.end(JSON.stringify(json));
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
    const header = (name: string): string | undefined => headers.find(([key]) => key.toLowerCase() === name)?.[1];
    const call = { target: header("x-amz-target"), securityToken: header("x-amz-security-token") };
    const error = (status: number, type: string, message: string): void => {
      answer(res, call, status, { __type: type, message });
    };

    if (failure === "hang") return;
    if (failure === "cut") {
      calls.push({ ...call, status: 200, type: "cut" });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": "1000" });
      res.write('{"ARN":"', () => req.socket.destroy());
      return;
    }
    if (failure === "stall") {
      calls.push({ ...call, status: 200, type: "stall" });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.write('{"ARN":"');
      return;
    }
    if (failure === "reset") {
      calls.push({ ...call, status: 0, type: "reset" });
      req.socket.destroy();
      return;
    }
    if (failure === "header-throttling") {
      calls.push({ ...call, status: 400, type: "ThrottlingException" });
      res.writeHead(400, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/",
      });
      res.end(JSON.stringify({ message: "Rate exceeded" }));
      return;
    }
    const aws = failure === undefined ? undefined : AWS_FAILURES[failure];
    if (aws !== undefined) {
      error(...aws);
      return;
    }

    const verdict = verifySigV4(
      { method: req.method ?? "", target: req.url ?? "", headers, body },
      {
        region: options.region,
        service: "secretsmanager",
        keys: (id) => options.keys.find((key) => key.accessKeyId === id),
        now: now(),
      },
    );
    if (!verdict.ok) {
      error(verdict.status, verdict.type, verdict.message);
      return;
    }
    if (req.method !== "POST" || req.url !== "/") {
      error(404, "UnknownOperationException", "");
      return;
    }
    if (call.target !== "secretsmanager.GetSecretValue") {
      error(400, "UnknownOperationException", "");
      return;
    }
    if (header("content-type") !== "application/x-amz-json-1.1") {
      error(400, "SerializationException", "Start of structure or map found where not expected.");
      return;
    }
    let secretId: unknown;
    try {
      secretId = (JSON.parse(body.toString("utf8")) as { SecretId?: unknown }).SecretId;
    } catch {
      error(400, "SerializationException", "The request body is not JSON.");
      return;
    }
    if (typeof secretId !== "string" || secretId === "") {
      error(400, "InvalidParameterException", "You must provide a SecretId.");
      return;
    }
    const secret = options.secrets.find((candidate) => candidate.arn === secretId);
    if (secret === undefined) {
      error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
      return;
    }
    if (secret.readers !== undefined && !secret.readers.includes(verdict.accessKeyId)) {
      const message =
        `User: arn:aws:sts::123456789012:assumed-role/edge/${verdict.accessKeyId} is not authorized to perform: ` +
        `secretsmanager:GetSecretValue on resource: ${secret.arn} because no identity-based policy allows the ` +
        "secretsmanager:GetSecretValue action";
      error(400, "AccessDeniedException", message);
      return;
    }
    if (failure === "not-json") {
      calls.push({ ...call, status: 200, type: undefined });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end("<html>a proxy's page</html>");
      return;
    }
    const name = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(secret.arn)?.[1] ?? secret.arn;
    answer(res, call, 200, {
      ARN: secret.arn,
      Name: name,
      VersionId: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
      ...(secret.secretString === undefined ? {} : { SecretString: secret.secretString }),
      ...(secret.secretBinary === undefined ? {} : { SecretBinary: secret.secretBinary }),
      VersionStages: ["AWSCURRENT"],
      CreatedDate: 1523477145.713,
      ...(failure === "oversize" ? { Padding: "x".repeat(600 * 1024) } : {}),
    });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    fail(next) {
      failure = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
