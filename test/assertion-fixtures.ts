/**
 * Assertions signed here with jose's SignJWT, to the format of docs/assertion.md (independent of the
 * gate's signer), a JWKS served by a real HTTP server on 127.0.0.1 whose keys a test changes, and
 * the Express example started as its users start it.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";

export const ISSUER = "https://gate.example";
const EXPRESS_ORIGIN = resolve(import.meta.dirname, "../examples/express-origin/server.ts");
export const AUDIENCE = "https://origin.example";

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  /** What the gate publishes: the public part, `use`, `alg`, `kid`. */
  readonly jwk: JWK;
}

export async function signingKey(kid: string, alg = "ES256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** What every assertion carries: issuer, audience, a lifetime of 60 s from `iat`, a fresh `jti`, the token's issuer. */
function commonClaims(iat: number): JWTPayload {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    iat,
    exp: iat + 60,
    jti: base64url.encode(crypto.getRandomValues(new Uint8Array(16))),
    token_iss: "https://myapp.authgear.cloud",
  };
}

/** A user's assertion as the gate signs one (lifetime 60 s); `claims` override or, as `undefined`, remove. */
export function userClaims(claims: Record<string, unknown> = {}): JWTPayload {
  const iat = nowSeconds();
  const user = {
    sub: "alice",
    kind: "user",
    scope: "openid offline_access",
    client_id: "spa",
    roles: ["admin"],
    amr: ["pwd", "otp"],
    auth_time: iat - 300,
    is_anonymous: false,
    is_verified: true,
  };
  return withOverrides({ ...commonClaims(iat), ...user }, claims);
}

/** A machine client's: no user claims. */
export function clientClaims(claims: Record<string, unknown> = {}): JWTPayload {
  const client = { sub: "client_id_reporting", kind: "client", scope: "reports.read", client_id: "reporting" };
  return withOverrides({ ...commonClaims(nowSeconds()), ...client }, claims);
}

/** What a verifier of the assertion `userClaims()` gave (`claims`) returns: the same, its scope split. */
export function verifiedUserClaims(claims: JWTPayload): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "alice",
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    kind: "user",
    token_iss: "https://myapp.authgear.cloud",
    scope: ["openid", "offline_access"],
    client_id: "spa",
    roles: ["admin"],
    amr: ["pwd", "otp"],
    auth_time: claims.iat! - 300,
    is_anonymous: false,
    is_verified: true,
  };
}

type Header = Record<string, unknown>;

/** `base` with `overrides`, a member whose override is `undefined` left out. */
function withOverrides<T extends object>(base: T, overrides: Record<string, unknown>): T {
  const merged = Object.entries({ ...base, ...overrides }).filter(([, value]) => value !== undefined);
  return Object.fromEntries(merged) as T;
}

/** Signs `payload` with the gate's header `{ alg, kid, typ }`; `header` overrides or removes its members. */
export async function sign(key: SigningKey, payload: JWTPayload, header: Header = {}): Promise<string> {
  const protectedHeader = withOverrides({ alg: key.alg, kid: key.kid, typ: "authgear-edge+jwt" }, header);
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

/** A compact JWS with any header and signature, signed by no one: for `alg: none` and the like. */
export function unsigned(header: Record<string, unknown>, payload: JWTPayload, signature = ""): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${signature}`;
}

export interface JwksServer {
  /** The URL of the key set. */
  readonly url: string;
  /** How many times the key set was fetched. */
  readonly fetches: () => number;
  /** What the server answers from now on: these keys, or a failure status. */
  serve(keys: readonly JWK[] | number): void;
  close(): Promise<void>;
}

const JWKS_PATH = "/.well-known/authgear-edge/jwks.json";

export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let answer: readonly JWK[] | number = keys;
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    fetches += 1;
    if (request.url !== JWKS_PATH) response.writeHead(404).end();
    else if (typeof answer === "number") response.writeHead(answer).end();
    else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: answer }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${JWKS_PATH}`,
    fetches: () => fetches,
    serve(next) {
      answer = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export interface ExampleOrigin {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): void;
}

/** examples/express-origin/server.ts in its own process, its settings in its environment, on a free port. */
export async function startExpressOrigin(settings: Record<string, string>): Promise<ExampleOrigin> {
  const child = spawn(process.execPath, ["--import", "tsx", EXPRESS_ORIGIN], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", ...settings },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((done, fail) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const port = /listening on port (\d+)/.exec(output)?.[1];
      if (port !== undefined) done(`http://127.0.0.1:${port}`);
    });
    child.once("exit", (code) => {
      fail(new Error(`the example exited with ${String(code)}:\n${output}`));
    });
  });
  return { url, stop: () => child.kill() };
}
