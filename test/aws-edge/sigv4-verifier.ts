/**
 * An independent verifier of AWS Signature Version 4 (header form, AWS4-HMAC-SHA256), written from AWS's
 * documentation with node:crypto and importing nothing from src, so a test can check what AWS would say of
 * the edge function's signed requests (test/vectors/aws-sigv4 checks this verifier against AWS's suite).
 *
 * - IAM User Guide, "Create a signed AWS API request"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): the canonical request is
 *   `method \n canonical URI \n canonical query \n canonical headers \n signed headers \n hex(SHA-256(body))`;
 *   the URI's segments are URI-encoded (again: twice in all, except for S3); the query's names and values are
 *   URI-encoded and sorted by name, then value; each canonical header is `lower-case name:value\n`, the values
 *   of a repeated header joined with `,`, each trimmed and its runs of spaces made one; the signed headers are
 *   the lower-case names, sorted, joined with `;`, and must include `host` (and `x-amz-date`, and
 *   `x-amz-security-token` with temporary credentials). UriEncode leaves only `A-Za-z0-9-._~` as they are.
 * - The string to sign is `AWS4-HMAC-SHA256 \n YYYYMMDDTHHMMSSZ \n date/region/service/aws4_request \n
 *   hex(SHA-256(canonical request))`; the signing key is HMAC-SHA256 chained over `"AWS4" + secret key`,
 *   the date, the region, the service and `aws4_request`; the signature is hex(HMAC(signing key, string)).
 * - IAM User Guide, "Elements of an AWS API request signature"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html): `Authorization:
 *   AWS4-HMAC-SHA256 Credential=<key>/<scope>, SignedHeaders=<names>, Signature=<hex>`; a request more than
 *   15 minutes from the service's clock is refused.
 * - Secrets Manager, "Common Errors"
 *   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html): the error names and
 *   statuses below (`MissingAuthenticationToken` 403, `IncompleteSignature` 400, `InvalidClientTokenId` 403,
 *   `RequestExpired` 400). A signature that does not match is `SignatureDoesNotMatch`, 403, as AWS's query
 *   APIs name it.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** A request as it reached the service. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent on the request line. */
  readonly target: string;
  /** Every header line in order, names in any case; a repeated header appears once per line. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string | Buffer;
}

export interface KnownKey {
  readonly secretAccessKey: string;
  /** A role's temporary key comes with a session token, which must be sent (and signed). */
  readonly sessionToken?: string;
}

export interface VerifierOptions {
  readonly region: string;
  readonly service: string;
  readonly keys: (accessKeyId: string) => KnownKey | undefined;
  /** The service's clock, ms. */
  readonly now: number;
}

export type Verdict =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly status: number; readonly type: string; readonly message: string };

const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^,\s/]+)\/(\d{8})\/([^,\s/]+)\/([^,\s/]+)\/([^,\s/]+), ?SignedHeaders=([a-z0-9;._-]+), ?Signature=([0-9a-f]{64})$/;

function refuse(status: number, type: string, message: string): Verdict {
  return { ok: false, status, type, message };
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** UriEncode: every byte but `A-Za-z0-9-._~` as `%XY`, upper-case hex. */
export function uriEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function canonicalUri(path: string): string {
  if (path === "") return "/";
  return path.split("/").map(uriEncode).join("/");
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query.split("&").map((pair) => {
    const at = pair.indexOf("=");
    const name = at === -1 ? pair : pair.slice(0, at);
    const value = at === -1 ? "" : pair.slice(at + 1);
    return [uriEncode(decodeURIComponent(name)), uriEncode(decodeURIComponent(value))] as const;
  });
  pairs.sort(([a, x], [b, y]) => (a === b ? compare(x, y) : compare(a, b)));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Every value of the header `name` (lower case), in the order received. */
function valuesOf(request: ReceivedRequest, name: string): string[] {
  return request.headers.filter(([header]) => header.toLowerCase() === name).map(([, value]) => value);
}

/** The canonical request for `signedHeaders` (lower-case names, in the order given). */
export function canonicalRequest(request: ReceivedRequest, signedHeaders: readonly string[]): string {
  const at = request.target.indexOf("?");
  const path = at === -1 ? request.target : request.target.slice(0, at);
  const query = at === -1 ? "" : request.target.slice(at + 1);
  const headerLines = signedHeaders.map((name) => {
    const values = valuesOf(request, name).map((value) => value.trim().replace(/ +/g, " "));
    return `${name}:${values.join(",")}\n`;
  });
  return [
    request.method,
    canonicalUri(path),
    canonicalQuery(query),
    headerLines.join(""),
    signedHeaders.join(";"),
    sha256Hex(request.body),
  ].join("\n");
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
}

export function signature(
  secretAccessKey: string,
  date: string,
  region: string,
  service: string,
  toSign: string,
): string {
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), "aws4_request");
  return hmac(signingKey, toSign).toString("hex");
}

/** `YYYYMMDDTHHMMSSZ` as ms since the epoch, or NaN. */
function parseAmzDate(text: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return Number.NaN;
  const [year = 0, month = 0, day, hour, minute, second] = match.slice(1).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** What AWS would answer about the request's signature, before looking at what it asks. */
export function verifySigV4(request: ReceivedRequest, options: VerifierOptions): Verdict {
  const authorizations = valuesOf(request, "authorization");
  if (authorizations.length === 0) {
    return refuse(403, "MissingAuthenticationToken", "Missing Authentication Token");
  }
  const match = authorizations.length === 1 ? AUTHORIZATION.exec(authorizations[0] ?? "") : null;
  if (match === null) {
    return refuse(400, "IncompleteSignature", "Authorization header requires Credential, SignedHeaders, Signature");
  }
  const [, accessKeyId = "", date = "", region, service, terminator, signedList = "", sent = ""] = match;
  if (terminator !== "aws4_request" || service !== options.service || region !== options.region) {
    return refuse(400, "IncompleteSignature", "Credential should be scoped to a valid region, service and terminator");
  }
  const signedHeaders = signedList.split(";");
  const sorted = [...signedHeaders].sort(compare);
  if (signedHeaders.some((name, index) => name !== sorted[index] || name === sorted[index - 1])) {
    return refuse(400, "IncompleteSignature", "SignedHeaders must be sorted lower-case names, each once");
  }
  const dates = valuesOf(request, "x-amz-date");
  const amzDate = dates.length === 1 ? (dates[0] ?? "") : "";
  const sentAt = parseAmzDate(amzDate);
  if (Number.isNaN(sentAt) || amzDate.slice(0, 8) !== date) {
    return refuse(400, "IncompleteSignature", "X-Amz-Date must be one YYYYMMDDTHHMMSSZ date, the credential's day");
  }
  const present = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const mustSign = ["host", "x-amz-date", ...[...present].filter((name) => name.startsWith("x-amz-"))];
  const unsigned = mustSign.filter((name) => !signedHeaders.includes(name));
  const absent = signedHeaders.filter((name) => !present.has(name));
  if (unsigned.length > 0 || absent.length > 0) {
    return refuse(400, "IncompleteSignature", "host, X-Amz-Date and every X-Amz-* header must be signed, and sent");
  }
  if (Math.abs(options.now - sentAt) > MAX_SKEW_MS) {
    return refuse(400, "RequestExpired", "Signature expired: the request's date is more than 15 minutes off");
  }
  const key = options.keys(accessKeyId);
  if (key === undefined) {
    return refuse(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const tokens = valuesOf(request, "x-amz-security-token");
  if (key.sessionToken !== undefined && (tokens.length !== 1 || tokens[0] !== key.sessionToken)) {
    return refuse(403, "InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const scope = `${date}/${options.region}/${options.service}/aws4_request`;
  const toSign = stringToSign(amzDate, scope, canonicalRequest(request, signedHeaders));
  const expected = signature(key.secretAccessKey, date, options.region, options.service, toSign);
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(sent))) {
    return refuse(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided.",
    );
  }
  return { ok: true, accessKeyId };
}
