/**
 * The Signature Version 4 verifier behind the Secrets Manager stand-in, checked against AWS's own test suite
 * (test/vectors/aws-sigv4): each step's text, the signature accepted, and any change to what was signed refused.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  canonicalRequest,
  stringToSign,
  uriEncode,
  verifySigV4,
  type ReceivedRequest,
  type VerifierOptions,
} from "./sigv4-verifier.ts";

const DIR = new URL("../vectors/aws-sigv4/", import.meta.url).pathname;
const CASES = readdirSync(DIR).filter((name) => statSync(join(DIR, name)).isDirectory());

interface Context {
  readonly credentials: { access_key_id: string; secret_access_key: string; token?: string };
  readonly region: string;
  readonly service: string;
  readonly timestamp: string;
}

function load(name: string) {
  const read = (file: string): string => readFileSync(join(DIR, name, file), "utf8");
  const context = JSON.parse(read("context.json")) as Context;
  const [head = "", ...rest] = read("header-signed-request.txt").split("\n\n");
  const [requestLine = "", ...lines] = head.split("\n");
  const [method = "", target = ""] = requestLine.split(" ");
  const headers = lines.map((line): [string, string] => {
    const at = line.indexOf(":");
    return [line.slice(0, at), line.slice(at + 1)];
  });
  const request: ReceivedRequest = { method, target, headers, body: rest.join("\n\n").replace(/\n$/, "") };
  const options: VerifierOptions = {
    region: context.region,
    service: context.service,
    now: Date.parse(context.timestamp),
    keys: (id) =>
      id === context.credentials.access_key_id
        ? {
            secretAccessKey: context.credentials.secret_access_key,
            ...(context.credentials.token === undefined ? {} : { sessionToken: context.credentials.token }),
          }
        : undefined,
  };
  return {
    request,
    options,
    canonical: read("header-canonical-request.txt"),
    toSign: read("header-string-to-sign.txt"),
  };
}

describe("the SigV4 verifier against AWS's test suite", () => {
  it("has the cases it is said to have", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(7);
  });

  it.each(CASES)("%s: the canonical request and the string to sign are AWS's", (name) => {
    const { request, canonical, toSign } = load(name);
    const [, signed = ""] = /SignedHeaders=([^,]+)/.exec(request.headers.find(([n]) => n === "Authorization")![1])!;
    const computed = canonicalRequest(request, signed.split(";"));
    expect(computed).toBe(canonical);
    const [, amzDate = "", scope = ""] = toSign.split("\n");
    expect(stringToSign(amzDate, scope, computed)).toBe(toSign);
  });

  it.each(CASES)("%s: the signed request is accepted", (name) => {
    const { request, options } = load(name);
    expect(verifySigV4(request, options)).toEqual({ ok: true, accessKeyId: "AKIDEXAMPLE" });
  });

  it.each(CASES)("%s: a changed signature, date, header value or body is refused", (name) => {
    const { request, options } = load(name);
    const verdict = (changed: ReceivedRequest, at = options.now) => verifySigV4(changed, { ...options, now: at });
    const withHeader = (header: string, change: (value: string) => string): ReceivedRequest => ({
      ...request,
      headers: request.headers.map(([n, value]) => [n, n.toLowerCase() === header ? change(value) : value] as const),
    });
    const flipped = withHeader("authorization", (value) => value.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
    expect(verdict(flipped)).toMatchObject({ ok: false, type: "SignatureDoesNotMatch" });
    expect(verdict({ ...request, body: `${request.body.toString()}x` })).toMatchObject({ ok: false });
    expect(verdict({ ...request, method: request.method === "GET" ? "POST" : "GET" })).toMatchObject({ ok: false });
    expect(verdict(withHeader("host", () => "example.amazonaws.com.evil"))).toMatchObject({ ok: false });
    expect(verdict(request, options.now + 16 * 60 * 1000)).toMatchObject({ ok: false, type: "RequestExpired" });
    const wrongRegion = verifySigV4(request, { ...options, region: "eu-west-1" });
    expect(wrongRegion).toMatchObject({ ok: false, type: "IncompleteSignature" });
    expect(verifySigV4(request, { ...options, keys: () => undefined })).toMatchObject({ type: "InvalidClientTokenId" });
  });

  it("refuses a request whose date is left unsigned", () => {
    const { request, options } = load("post-vanilla");
    const dateUnsigned = {
      ...request,
      headers: request.headers.map(
        ([n, value]) => [n, n === "Authorization" ? value.replace(";x-amz-date", "") : value] as const,
      ),
    };
    expect(verifySigV4(dateUnsigned, options)).toMatchObject({ ok: false, type: "IncompleteSignature" });
  });

  it("refuses a request without a signature, or with a token left unsigned", () => {
    const { request, options } = load("get-vanilla-with-session-token");
    const unsigned = { ...request, headers: request.headers.filter(([n]) => n !== "Authorization") };
    expect(verifySigV4(unsigned, options)).toMatchObject({
      ok: false,
      status: 403,
      type: "MissingAuthenticationToken",
    });
    const authorization = request.headers.find(([n]) => n === "Authorization")![1];
    const tokenUnsigned = {
      ...request,
      headers: request.headers.map(([n, value]) =>
        n === "Authorization"
          ? ([n, authorization.replace(";x-amz-security-token", "")] as const)
          : ([n, value] as const),
      ),
    };
    expect(verifySigV4(tokenUnsigned, options)).toMatchObject({ ok: false, type: "IncompleteSignature" });
    const otherToken = {
      ...request,
      headers: request.headers.map(([n, value]) => [n, n === "X-Amz-Security-Token" ? "other" : value] as const),
    };
    expect(verifySigV4(otherToken, options)).toMatchObject({ ok: false, type: "InvalidClientTokenId" });
  });

  it("URI-encodes every byte but the unreserved characters, in upper-case hex", () => {
    expect(uriEncode("AZaz09-._~ /+=é")).toBe("AZaz09-._~%20%2F%2B%3D%C3%A9");
  });
});
