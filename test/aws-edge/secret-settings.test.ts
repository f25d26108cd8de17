/**
 * The edge function's secrets, fetched from a local stand-in of AWS Secrets Manager that checks each
 * request's SigV4 signature itself: what a container loads, how often it asks, and what it answers
 * (and logs) when Secrets Manager is unreachable, slow, refusing, or holds the wrong content.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createSecretSettings,
  parseSecretArn,
  SECRETS_RETRY_AFTER_MS,
  type AwsCredentials,
  type SecretSettingName,
  type SecretSettingsDeps,
} from "../../src/aws-edge/secret-settings.ts";
import { AuthError } from "../../src/core/errors.ts";
import { ConfigError } from "../../src/core/settings.ts";
import type { LogFields } from "../../src/core/ports.ts";
import {
  startSecretsManagerStandIn,
  type SecretsManagerStandIn,
  type StandInFailure,
  type StandInOptions,
  type StandInSecret,
} from "./secrets-manager-stand-in.ts";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge/prod-AbC123";
const ROLE = {
  accessKeyId: "ASIAEDGEEXAMPLE00001",
  secretAccessKey: "edgeSecretAccessKeyEXAMPLE/0123456789abcd",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENforTheEdgeRole0123456789",
} as const satisfies AwsCredentials;
const ORIGIN_SECRET = "k7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e-origin-secret";
const ASSERTION_KEY = JSON.stringify({
  kty: "OKP",
  crv: "Ed25519",
  kid: "edge-1",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
});
const NAMES: readonly SecretSettingName[] = ["ORIGIN_SECRET", "ASSERTION_KEY"];
/** What must never appear in a log line or an error message. */
const NEVER_SHOWN = [
  ORIGIN_SECRET,
  "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
  ROLE.secretAccessKey,
  ROLE.sessionToken,
];

const servers: SecretsManagerStandIn[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  vi.unstubAllEnvs();
});

async function standIn(options: Partial<StandInOptions> = {}, content?: Partial<StandInSecret>) {
  const secret: StandInSecret = {
    arn: ARN,
    secretString: JSON.stringify({ ORIGIN_SECRET, ASSERTION_KEY }),
    ...content,
  };
  const server = await startSecretsManagerStandIn({ region: "us-east-1", keys: [ROLE], secrets: [secret], ...options });
  servers.push(server);
  return server;
}

interface Logged {
  readonly lines: Array<readonly [string, LogFields]>;
  readonly text: () => string;
}

function logged(): Logged & { logger: { log: (event: string, fields: LogFields) => void } } {
  const lines: Array<readonly [string, LogFields]> = [];
  return { lines, logger: { log: (event, fields) => lines.push([event, fields]) }, text: () => JSON.stringify(lines) };
}

function secrets(server: SecretsManagerStandIn, deps: Partial<SecretSettingsDeps> = {}, arn = ARN) {
  const log = logged();
  const settings = createSecretSettings(arn, NAMES, {
    endpoint: server.endpoint,
    credentials: () => ROLE,
    logger: log.logger,
    ...deps,
  });
  return { settings, log };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error("it did not fail");
}

/** The `AuthError` `promise` rejects with, checked to be one. */
async function refusal(promise: Promise<unknown>): Promise<AuthError> {
  const error = await failure(promise);
  if (!(error instanceof AuthError)) throw new Error(`not an AuthError: ${error.name}`);
  return error;
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await failure(promise);
  if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError: ${error.name}`);
  return error;
}

/** No 8 characters in a row of a secret (a JSON parser's message quotes the first 10 of the text it fails on). */
function expectNothingShown(...texts: string[]): void {
  for (const text of texts) {
    for (const secret of NEVER_SHOWN) {
      for (let at = 0; at + 8 <= secret.length; at++) expect(text).not.toContain(secret.slice(at, at + 8));
    }
  }
}

describe("loading the secret", () => {
  it("returns the settings the secret holds, signed with the role's key and session token", async () => {
    const server = await standIn();
    const { settings, log } = secrets(server);
    expect(await settings.load()).toEqual({ ORIGIN_SECRET, ASSERTION_KEY });
    expect(server.calls).toEqual([
      { target: "secretsmanager.GetSecretValue", securityToken: ROLE.sessionToken, status: 200, type: undefined },
    ]);
    expect(log.lines).toEqual([
      [
        "secrets_loaded",
        { region: "us-east-1", settings: "ORIGIN_SECRET,ASSERTION_KEY", ms: expect.any(Number) as unknown },
      ],
    ]);
    expectNothingShown(log.text());
  });

  it("signs for the ARN's region", async () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authgear-edge-XyZ789";
    const server = await standIn({ region: "eu-west-1" }, { arn });
    expect(await secrets(server, {}, arn).settings.load()).toEqual({ ORIGIN_SECRET, ASSERTION_KEY });
    // The same secret asked of a stand-in in another region: the signature's scope is refused.
    const elsewhere = await standIn({ region: "us-west-2" }, { arn });
    const error = await refusal(secrets(elsewhere, {}, arn).settings.load());
    expect(error.code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(elsewhere.calls[0]?.type).toBe("IncompleteSignature");
  });

  it("fetches once for many concurrent loads, and keeps a success for the container's life", async () => {
    const server = await standIn();
    let time = Date.now();
    const { settings } = secrets(server, { clock: () => time });
    const all = await Promise.all(Array.from({ length: 20 }, () => settings.load()));
    expect(new Set(all).size).toBe(1);
    time += 24 * 3600 * 1000;
    expect(await settings.load()).toBe(all[0]);
    expect(server.calls).toHaveLength(1);
  });

  it("reads the Lambda's credentials from its environment by default", async () => {
    const server = await standIn();
    vi.stubEnv("AWS_ACCESS_KEY_ID", ROLE.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", ROLE.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", ROLE.sessionToken);
    const settings = createSecretSettings(ARN, NAMES, { endpoint: server.endpoint });
    expect(await settings.load()).toEqual({ ORIGIN_SECRET, ASSERTION_KEY });
    expect(server.calls[0]?.securityToken).toBe(ROLE.sessionToken);
  });

  it("answers ERR_SECRETS_UNAVAILABLE without asking when the environment has no credentials", async () => {
    const server = await standIn();
    vi.stubEnv("AWS_ACCESS_KEY_ID", "");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "");
    const log = logged();
    const settings = createSecretSettings(ARN, NAMES, { endpoint: server.endpoint, logger: log.logger });
    expect((await refusal(settings.load())).code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(server.calls).toHaveLength(0);
    expect(log.lines[0]).toEqual(["secrets_load_failed", expect.objectContaining({ reason: "no_credentials" })]);
  });
});

describe("a request AWS would refuse", () => {
  it.each([
    [
      "a wrong secret key",
      { ...ROLE, secretAccessKey: "notTheRightKeyEXAMPLE/0123456789abcdefgh" },
      "SignatureDoesNotMatch",
    ],
    ["an unknown access key", { ...ROLE, accessKeyId: "ASIAUNKNOWNEXAMPLE01" }, "InvalidClientTokenId"],
    ["the session token left out", { ...ROLE, sessionToken: undefined }, "InvalidClientTokenId"],
    ["another session token", { ...ROLE, sessionToken: "IQoJb3JpZ2luX2VjOTHERtoken" }, "InvalidClientTokenId"],
  ])("fails with ERR_SECRETS_UNAVAILABLE for %s", async (_, credentials, type) => {
    const server = await standIn();
    const { settings, log } = secrets(server, { credentials: () => credentials });
    const error = await refusal(settings.load());
    expect(error.code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(server.calls.map((call) => call.type)).toEqual([type]);
    expect(log.lines).toEqual([
      [
        "secrets_load_failed",
        {
          reason: "refused",
          status: server.calls[0]?.status,
          aws_error: type,
          region: "us-east-1",
          ms: expect.any(Number) as unknown,
        },
      ],
    ]);
    expectNothingShown(log.text(), error.message);
  });

  it("fails when the signature's date is more than 15 minutes off the service's clock", async () => {
    const server = await standIn();
    const { settings } = secrets(server, { clock: () => Date.now() - 20 * 60 * 1000 });
    expect((await refusal(settings.load())).code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(server.calls[0]?.type).toBe("RequestExpired");
  });
});

describe("Secrets Manager failing", () => {
  const cases: ReadonlyArray<readonly [string, StandInFailure | "missing" | "denied", Partial<LogFields>]> = [
    ["a secret that does not exist", "missing", { status: 400, aws_error: "ResourceNotFoundException" }],
    ["a role without the permission", "denied", { status: 400, aws_error: "AccessDeniedException" }],
    ["throttling", "throttling", { status: 400, aws_error: "ThrottlingException" }],
    ["throttling named in a header only", "header-throttling", { status: 400, aws_error: "ThrottlingException" }],
    ["an internal error (its __type qualified)", "internal", { status: 500, aws_error: "InternalServiceError" }],
    ["a 503", "unavailable", { status: 503, aws_error: "ServiceUnavailable" }],
    ["a KMS key it cannot use", "decryption", { status: 400, aws_error: "DecryptionFailure" }],
    ["a reset connection", "reset", { reason: "network" }],
    ["a connection cut in the middle of the answer", "cut", { reason: "network" }],
    ["an answer that is not JSON", "not-json", { reason: "unreadable" }],
    ["an oversize answer", "oversize", { reason: "oversize" }],
  ];

  it.each(cases)("answers ERR_SECRETS_UNAVAILABLE for %s, and logs why", async (_, mode, fields) => {
    const server = mode === "denied" ? await standIn({}, { readers: ["ASIASOMEONEELSE00001"] }) : await standIn();
    if (mode !== "missing" && mode !== "denied") server.fail(mode);
    const arn = mode === "missing" ? "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-QwE456" : ARN;
    const { settings, log } = secrets(server, {}, arn);
    const error = await refusal(settings.load());
    expect(error.code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(error.message).toBe("The gate's secrets cannot be fetched right now.");
    expect(log.lines).toEqual([["secrets_load_failed", expect.objectContaining(fields)]]);
    expectNothingShown(log.text(), error.message);
  });

  it("fails at once for 5 s after a failure, then asks again", async () => {
    const server = await standIn();
    let time = Date.now();
    const { settings } = secrets(server, { clock: () => time });
    server.fail("throttling");
    const first = await failure(settings.load());
    expect(server.calls).toHaveLength(1);
    server.fail(undefined);
    time += SECRETS_RETRY_AFTER_MS - 1;
    expect(await failure(settings.load())).toBe(first);
    expect(await failure(settings.load())).toBe(first);
    expect(server.calls).toHaveLength(1);
    time += 1;
    expect(await settings.load()).toEqual({ ORIGIN_SECRET, ASSERTION_KEY });
    expect(server.calls).toHaveLength(2);
  });

  it("shares one failing fetch among concurrent loads", async () => {
    const server = await standIn();
    server.fail("internal");
    const { settings } = secrets(server);
    const errors = await Promise.all(Array.from({ length: 10 }, () => failure(settings.load())));
    expect(new Set(errors).size).toBe(1);
    expect(server.calls).toHaveLength(1);
  });

  it("gives up at the deadline when Secrets Manager does not answer", async () => {
    const server = await standIn();
    server.fail("hang");
    const { settings, log } = secrets(server, { deadlineMs: 300 });
    const started = Date.now();
    const error = await refusal(settings.load());
    expect(error.code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(log.lines).toEqual([["secrets_load_failed", expect.objectContaining({ reason: "timeout" })]]);
  });

  it("gives up at the deadline when the answer stalls after its headers", async () => {
    const server = await standIn();
    server.fail("stall");
    const { settings, log } = secrets(server, { deadlineMs: 300 });
    const started = Date.now();
    expect((await refusal(settings.load())).code).toBe("ERR_SECRETS_UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(1500);
    expect(log.lines).toEqual([["secrets_load_failed", expect.objectContaining({ reason: "timeout" })]]);
  });

  it("gives up after 2 s by default", async () => {
    const server = await standIn();
    server.fail("hang");
    const started = Date.now();
    await failure(secrets(server).settings.load());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1990);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("answers ERR_SECRETS_UNAVAILABLE when nothing listens", async () => {
    const settings = createSecretSettings(ARN, NAMES, { endpoint: "http://127.0.0.1:9", credentials: () => ROLE });
    expect((await refusal(settings.load())).code).toBe("ERR_SECRETS_UNAVAILABLE");
  });
});

describe("a secret whose content is wrong", () => {
  const cases: ReadonlyArray<readonly [string, Partial<StandInSecret>, readonly string[]]> = [
    ["a key missing", { secretString: JSON.stringify({ ORIGIN_SECRET }) }, ["ASSERTION_KEY"]],
    [
      "a key it should not hold",
      { secretString: JSON.stringify({ ORIGIN_SECRET, ASSERTION_KEY, ASSERTION_SECOND_KEY: ASSERTION_KEY }) },
      ["ASSERTION_SECOND_KEY"],
    ],
    [
      "a key that is no setting's name",
      { secretString: JSON.stringify({ ORIGIN_SECRET, ASSERTION_KEY, [ORIGIN_SECRET]: "x" }) },
      ["SECRET_ARN"],
    ],
    [
      "a value that is no string",
      { secretString: JSON.stringify({ ORIGIN_SECRET, ASSERTION_KEY: JSON.parse(ASSERTION_KEY) as unknown }) },
      ["ASSERTION_KEY"],
    ],
    ["a blank value", { secretString: JSON.stringify({ ORIGIN_SECRET: "  ", ASSERTION_KEY }) }, ["ORIGIN_SECRET"]],
    ["text that is not JSON", { secretString: `ORIGIN_SECRET=${ORIGIN_SECRET}` }, ["SECRET_ARN"]],
    ["the bare value, not JSON", { secretString: ORIGIN_SECRET }, ["SECRET_ARN"]],
    ["a JSON array", { secretString: JSON.stringify([ORIGIN_SECRET, ASSERTION_KEY]) }, ["SECRET_ARN"]],
    ["JSON null", { secretString: "null" }, ["SECRET_ARN"]],
    [
      "a binary secret",
      { secretString: undefined, secretBinary: Buffer.from(ORIGIN_SECRET).toString("base64") },
      ["SECRET_ARN"],
    ],
  ];

  it.each(cases)("throws a ConfigError naming the keys for %s, and never a value", async (_, content, keys) => {
    const server = await standIn({}, content);
    const { settings, log } = secrets(server);
    const error = await configError(settings.load());
    expect(error.keys).toEqual(keys);
    expect(log.lines).toEqual([
      ["secrets_load_failed", { reason: "content", keys: keys.join(","), region: "us-east-1" }],
    ]);
    expectNothingShown(log.text(), error.message, String((error as { cause?: unknown }).cause));
    if (content.secretBinary !== undefined) expect(error.message).toContain("no SecretString");
    expect(error.message).not.toContain(Buffer.from(ORIGIN_SECRET).toString("base64"));
  });

  it("names a missing key and a non-string value together", async () => {
    const server = await standIn({}, { secretString: JSON.stringify({ ASSERTION_KEY: 42, EXTRA_SETTING: "v" }) });
    const error = await configError(secrets(server).settings.load());
    expect(error.keys).toEqual(["ORIGIN_SECRET", "ASSERTION_KEY", "EXTRA_SETTING"]);
  });
});

describe("parseSecretArn", () => {
  it.each([
    [ARN, "us-east-1", "https://secretsmanager.us-east-1.amazonaws.com"],
    [
      "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a.b@c+d=e_f-123456",
      "cn-north-1",
      "https://secretsmanager.cn-north-1.amazonaws.com.cn",
    ],
    [
      "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:edge-abcdef",
      "us-gov-west-1",
      "https://secretsmanager.us-gov-west-1.amazonaws.com",
    ],
  ])("reads %s", (arn, region, endpoint) => {
    expect(parseSecretArn(arn)).toEqual({ arn, region, endpoint });
  });

  it.each([
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge-AbC12",
    "arn:aws:ssm:us-east-1:123456789012:parameter/authgear-edge-AbC123",
    "arn:aws:secretsmanager:us-east-1:12345678901:secret:authgear-edge-AbC123",
    "arn:aws:secretsmanager:US-EAST-1:123456789012:secret:authgear-edge-AbC123",
    "arn:aws-iso:secretsmanager:us-iso-east-1:123456789012:secret:authgear-edge-AbC123",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear edge-AbC123",
    `${ARN}\n`,
    "authgear-edge/prod",
  ])("refuses %j", (arn) => {
    expect(parseSecretArn(arn)).toBeUndefined();
    expect(() => createSecretSettings(arn, NAMES)).toThrow(ConfigError);
  });
});
