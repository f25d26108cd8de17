/**
 * The edge function's secrets (`ORIGIN_SECRET`, `ASSERTION_KEY`, `ASSERTION_SECOND_KEY`), never baked into
 * the bundle: Lambda@Edge has no environment variables, so the build names one AWS Secrets Manager secret
 * (`SECRET_ARN`) and the settings it holds (`SECRET_SETTINGS`), and each container fetches it once.
 *
 * The secret's `SecretString` is a JSON object whose keys are exactly `SECRET_SETTINGS` and whose values
 * are strings, each the text the setting takes elsewhere (`ASSERTION_KEY`: the JWK as JSON text). The
 * values are checked by the settings' own schemas once merged (`withLoadedSecrets`), not here.
 *
 * The call is GetSecretValue over HTTPS, signed with Signature Version 4 by aws4 with the Lambda's role
 * credentials (its environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The
 * secret's region is the ARN's: a replica running far from it pays the round trip once per container.
 * aws4 rather than aws4fetch: aws4fetch's signer builds a global `Headers`, which loads undici (Node's fetch,
 * 35–40 ms on first use here); aws4 uses node:crypto. It is CommonJS, so an ESM bundle must define `require`
 * (test/aws-edge/secret-settings-bundle.test.ts).
 * - API: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 * - Errors: https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
 */
import aws4 from "aws4";
import * as v from "valibot";
import {
  AuthError,
  ConfigError,
  defineSettings,
  listSetting,
  silentLogger,
  type Clock,
  type Logger,
} from "../core/index.ts";
import { BodyTooLarge, nodePost, type Poster } from "./node-post.ts";

/** The settings a secret may hold, in the order problems name them. */
export const SECRET_SETTING_NAMES = ["ORIGIN_SECRET", "ASSERTION_KEY", "ASSERTION_SECOND_KEY"] as const;
export type SecretSettingName = (typeof SECRET_SETTING_NAMES)[number];

/** Default deadline of the whole GetSecretValue exchange, ms: a viewer-request function has 5 s in all. */
export const DEFAULT_SECRETS_DEADLINE_MS = 2000;
/** After a failed fetch, requests fail at once for this long (ms) before Secrets Manager is asked again. */
export const SECRETS_RETRY_AFTER_MS = 5000;
/** Largest answer read, bytes: a `SecretString` holds at most 65,536 bytes, JSON escaping aside. */
const MAX_ANSWER_BYTES = 512 * 1024;

/** The DNS suffix of each partition's regional endpoints. */
const PARTITION_DOMAINS: Readonly<Record<string, string>> = {
  aws: "amazonaws.com",
  "aws-cn": "amazonaws.com.cn",
  "aws-us-gov": "amazonaws.com",
};

/**
 * `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`: a secret's full ARN, the
 * random suffix Secrets Manager adds included (a partial ARN may name another secret). Names hold ASCII
 * letters, digits and `/_+=.@-`, up to 512 characters.
 */
const ARN_PATTERN =
  /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):(\d{12}):secret:[\w/+=.@-]{1,512}-[A-Za-z0-9]{6}$/;

export interface SecretArn {
  readonly arn: string;
  /** The region the ARN names: the one GetSecretValue is sent to. */
  readonly region: string;
  /** `https://secretsmanager.<region>.<partition's domain>` */
  readonly endpoint: string;
}

/** The parts of a full secret ARN, or `undefined` when `arn` is not one. */
export function parseSecretArn(arn: string): SecretArn | undefined {
  const match = ARN_PATTERN.exec(arn);
  const partition = match?.[1];
  const region = match?.[2];
  if (partition === undefined || region === undefined) return undefined;
  return { arn, region, endpoint: `https://secretsmanager.${region}.${PARTITION_DOMAINS[partition] ?? ""}` };
}

function isSecretSettingName(name: string): name is SecretSettingName {
  return (SECRET_SETTING_NAMES as readonly string[]).includes(name);
}

const ARN_RULE =
  "must be a secret's full ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters> " +
  "(partition aws, aws-cn or aws-us-gov)";
const NAMES_RULE = `must be a comma-separated list of ${SECRET_SETTING_NAMES.join(", ")}, each at most once`;
const NAMES_WITHOUT_ARN =
  "names the settings the secret SECRET_ARN holds, and SECRET_ARN is not set: set it too, or unset this";

/**
 * `SECRET_ARN` and `SECRET_SETTINGS`, set together or not at all. A setting the secret holds must not also
 * be baked in (checked on the raw input, so the packaging's settings must read those names too).
 */
export const SECRET_SOURCE_SETTINGS = /* @__PURE__ */ defineSettings(
  {
    SECRET_ARN: v.optional(
      v.pipe(
        v.string(),
        v.rawTransform(({ dataset, addIssue, NEVER }) => {
          const arn = parseSecretArn(dataset.value);
          if (arn !== undefined) return arn;
          addIssue({ message: ARN_RULE });
          return NEVER;
        }),
      ),
    ),
    SECRET_SETTINGS: v.optional(
      v.pipe(
        listSetting(),
        v.check((names) => names.length > 0, NAMES_RULE),
        v.check((names) => names.every(isSecretSettingName) && new Set(names).size === names.length, NAMES_RULE),
        v.transform((names) => names as readonly SecretSettingName[]),
      ),
    ),
  },
  (values) => ({
    /** Where the secrets come from; `undefined` when nothing is fetched. */
    secretSource:
      values.SECRET_ARN === undefined || values.SECRET_SETTINGS === undefined
        ? undefined
        : { arn: values.SECRET_ARN, names: values.SECRET_SETTINGS },
  }),
  (values) => {
    const problems = new Map<string, string>();
    if (values.SECRET_ARN !== undefined && values.SECRET_SETTINGS === undefined) {
      problems.set("SECRET_SETTINGS", `is required with SECRET_ARN: ${NAMES_RULE}`);
    }
    if (values.SECRET_ARN === undefined && values.SECRET_SETTINGS !== undefined) {
      problems.set("SECRET_SETTINGS", NAMES_WITHOUT_ARN);
    }
    return problems;
  },
  (input) => {
    const problems = new Map<string, string>();
    const raw = input.SECRET_SETTINGS;
    if (typeof raw !== "string") return problems;
    for (const name of raw.split(",").map((item) => item.trim())) {
      if (isSecretSettingName(name) && input[name] !== undefined) {
        const problem = "is fetched from the secret SECRET_ARN (SECRET_SETTINGS names it): do not also bake it in";
        problems.set(name, problem);
      }
    }
    return problems;
  },
);

/**
 * The settings to parse once the secrets are loaded: the baked ones without `SECRET_ARN` and
 * `SECRET_SETTINGS`, and the secret's.
 */
export function withLoadedSecrets(
  baked: Readonly<Record<string, unknown>>,
  loaded: Readonly<Record<string, string>>,
): Readonly<Record<string, unknown>> {
  const kept = Object.entries(baked).filter(([name]) => name !== "SECRET_ARN" && name !== "SECRET_SETTINGS");
  return { ...Object.fromEntries(kept), ...loaded };
}

/** An AWS access key, and the session token that comes with a role's temporary one. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** The Lambda's role credentials, from its environment; `undefined` when the keys are not there. */
export function environmentCredentials(): AwsCredentials | undefined {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN } = process.env;
  if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) return undefined;
  return { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY, sessionToken: AWS_SESSION_TOKEN };
}

export interface SecretSettingsDeps {
  /** Where GetSecretValue goes instead of the ARN's regional endpoint (a test's stand-in). */
  readonly endpoint?: string;
  /** Read at each fetch; default `environmentCredentials`. */
  readonly credentials?: () => AwsCredentials | undefined;
  /** Default: node:https (node:http for an http endpoint). */
  readonly post?: Poster;
  /** Also the signature's date. */
  readonly clock?: Clock;
  /** Names each fetch's outcome (`secrets_loaded`, `secrets_load_failed`), never a secret value. */
  readonly logger?: Logger;
  /** Deadline of the whole exchange, ms; default `DEFAULT_SECRETS_DEADLINE_MS` (2000). */
  readonly deadlineMs?: number;
}

export interface SecretSettings {
  /**
   * The secret's settings by name. Fetched on the first call; concurrent calls share that fetch, and a
   * success is kept for the container's life. A failure is not kept, but for `SECRETS_RETRY_AFTER_MS`
   * after it each call fails at once with the same error. Throws `AuthError` `ERR_SECRETS_UNAVAILABLE`
   * when Secrets Manager cannot be reached, is too slow or refuses, and a `ConfigError` naming the keys
   * when the secret's content is not a JSON object of exactly `names`, each a string.
   */
  load(): Promise<Readonly<Record<string, string>>>;
}

type Outcome =
  | { readonly ok: true; readonly values: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: Error; readonly at: number };

/** `arn`: the secret's full ARN, or what `SECRET_SOURCE_SETTINGS` read of it (`secretSource.arn`). */
export function createSecretSettings(
  arn: string | SecretArn,
  names: readonly SecretSettingName[],
  deps: SecretSettingsDeps = {},
): SecretSettings {
  const secret = typeof arn === "string" ? parseSecretArn(arn) : arn;
  if (secret === undefined) throw new ConfigError(new Map([["SECRET_ARN", ARN_RULE]]));
  if (names.length === 0) throw new ConfigError(new Map([["SECRET_SETTINGS", NAMES_RULE]]));
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger ?? silentLogger;
  const fetchSecret = createGetSecretValue(secret, names, {
    url: deps.endpoint ?? secret.endpoint,
    credentials: deps.credentials ?? environmentCredentials,
    post: deps.post ?? nodePost,
    clock,
    logger,
    deadlineMs: deps.deadlineMs ?? DEFAULT_SECRETS_DEADLINE_MS,
  });
  let outcome: Outcome | undefined;
  // A shared promise, not src/core/single-flight.ts: that one polls, for workerd's per-request I/O, which a
  // Lambda container does not have; its polling would add up to 50 ms to each joining request.
  let flight: Promise<Readonly<Record<string, string>>> | undefined;

  return {
    load() {
      if (outcome?.ok === true) return Promise.resolve(outcome.values);
      if (flight !== undefined) return flight;
      if (outcome?.ok === false && clock() - outcome.at < SECRETS_RETRY_AFTER_MS) return Promise.reject(outcome.error);
      flight = fetchSecret().then(
        (values) => {
          outcome = { ok: true, values };
          flight = undefined;
          return values;
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          outcome = { ok: false, error: failure, at: clock() };
          flight = undefined;
          throw failure;
        },
      );
      return flight;
    },
  };
}

interface Exchange {
  readonly url: string;
  readonly credentials: () => AwsCredentials | undefined;
  readonly post: Poster;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly deadlineMs: number;
}

/** What clients are told (the log says why). */
const UNAVAILABLE_MESSAGE = "The gate's secrets cannot be fetched right now.";

/** `YYYYMMDDTHHMMSSZ`, the form of `X-Amz-Date`. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, "");
}

/**
 * The error's name from a JSON-protocol error answer, as the AWS SDKs read it: the `x-amzn-ErrorType` header,
 * else the body's `__type`, either possibly `namespace#Name` and `Name:url`
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html); only the name, so nothing else is logged.
 */
function awsErrorType(body: string, header: string | undefined): string | undefined {
  let type: unknown = header;
  if (type === undefined) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === "object" && parsed !== null && "__type" in parsed) type = parsed.__type;
    } catch {
      /* not JSON: no name */
    }
  }
  if (typeof type !== "string") return undefined;
  return /^(?:[\w.]*#)?(\w{1,100})/.exec(type)?.[1];
}

function createGetSecretValue(
  secret: SecretArn,
  names: readonly SecretSettingName[],
  exchange: Exchange,
): () => Promise<Readonly<Record<string, string>>> {
  const { url, clock, logger } = exchange;
  const target = new URL(url);
  const body = JSON.stringify({ SecretId: secret.arn });
  const unavailable = (fields: Readonly<Record<string, string | number | undefined>>, started: number): AuthError => {
    logger.log("secrets_load_failed", { ...fields, region: secret.region, ms: clock() - started });
    return new AuthError("ERR_SECRETS_UNAVAILABLE", UNAVAILABLE_MESSAGE);
  };

  return async () => {
    const started = clock();
    const credentials = exchange.credentials();
    if (credentials === undefined) throw unavailable({ reason: "no_credentials" }, started);
    const signed = aws4.sign(
      {
        hostname: target.hostname,
        ...(target.port === "" ? {} : { port: Number(target.port) }),
        path: "/",
        method: "POST",
        service: "secretsmanager",
        region: secret.region,
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": "secretsmanager.GetSecretValue",
          "X-Amz-Date": amzDate(started),
        },
        body,
      },
      {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
      },
    );
    const signal = AbortSignal.timeout(exchange.deadlineMs);
    let answer;
    try {
      answer = await exchange.post(url, { headers: signed.headers, body, signal, maxBytes: MAX_ANSWER_BYTES });
    } catch (error) {
      let reason = "network";
      if (signal.aborted) reason = "timeout";
      else if (error instanceof BodyTooLarge) reason = "oversize";
      throw unavailable({ reason }, started);
    }
    if (answer.status !== 200) {
      const awsError = awsErrorType(answer.body, answer.header("x-amzn-errortype"));
      throw unavailable({ reason: "refused", status: answer.status, aws_error: awsError }, started);
    }
    let document: unknown;
    try {
      document = JSON.parse(answer.body);
    } catch {
      throw unavailable({ reason: "unreadable", status: answer.status }, started);
    }
    try {
      const values = secretValues(document, names);
      logger.log("secrets_loaded", { region: secret.region, settings: names.join(","), ms: clock() - started });
      return values;
    } catch (error) {
      if (error instanceof ConfigError) {
        logger.log("secrets_load_failed", { reason: "content", keys: error.keys.join(","), region: secret.region });
      }
      throw error;
    }
  };
}

/** A key the secret should not hold, named when it looks like a setting's name (never anything else). */
const NAME_LIKE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * The settings in GetSecretValue's answer, or a `ConfigError` naming each bad key. No message quotes the
 * secret: not even the JSON parser's, which echoes the text it failed on.
 */
function secretValues(document: unknown, names: readonly SecretSettingName[]): Readonly<Record<string, string>> {
  const text = typeof document === "object" && document !== null ? (document as { SecretString?: unknown }) : {};
  if (typeof text.SecretString !== "string") {
    const problem = "the secret has no SecretString (a binary secret?): store a JSON object of the settings as text";
    throw new ConfigError(new Map([["SECRET_ARN", problem]]));
  }
  let content: unknown;
  try {
    content = JSON.parse(text.SecretString);
  } catch {
    content = undefined;
  }
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    const problem = `the secret's SecretString is not a JSON object: store {"${names[0] ?? ""}": "...", ...}`;
    throw new ConfigError(new Map([["SECRET_ARN", problem]]));
  }
  const entries = content as Readonly<Record<string, unknown>>;
  const problems = new Map<string, string>();
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = Object.hasOwn(entries, name) ? entries[name] : undefined;
    if (value === undefined) problems.set(name, "is missing from the secret SECRET_ARN (SECRET_SETTINGS names it)");
    else if (typeof value !== "string") problems.set(name, "must be a string in the secret (a JWK as JSON text)");
    // A blank setting reads as unset: the gate would run without it.
    else if (value.trim() === "") problems.set(name, "is empty in the secret SECRET_ARN");
    else values[name] = value;
  }
  for (const key of Object.keys(entries)) {
    if ((names as readonly string[]).includes(key)) continue;
    if (NAME_LIKE.test(key)) {
      problems.set(key, "is in the secret SECRET_ARN but not in SECRET_SETTINGS: add it there, or remove it");
    } else {
      problems.set("SECRET_ARN", "the secret holds a key that is no setting name: remove it");
    }
  }
  if (problems.size > 0) throw new ConfigError(problems);
  return Object.freeze(values);
}
