/**
 * `npm run assertion-key`: a new ES256 signing key for the signed identity assertion
 * (docs/assertion.md). Prints two JSON lines on standard output: the private JWK (the secret
 * ASSERTION_KEY: `wrangler secret put ASSERTION_KEY`, or the authorizer's environment), then the
 * public JWKS to publish for origins. `--kid <kid>` names the key (default: today's date and a
 * random suffix, so the next key's kid differs).
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { parseAssertionJwk, publicJwk, type PrivateAssertionJwk } from "../src/core/index.ts";

/** A private ES256 JWK with `kid`, `alg` and `use`, checked by the rules ASSERTION_KEY is read with. */
export async function newAssertionKey(kid = defaultKid()): Promise<PrivateAssertionJwk> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const text = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" });
  const parsed = parseAssertionJwk(text, true);
  if ("problem" in parsed) throw new Error(`the new key ${parsed.problem}`);
  return parsed.jwk as PrivateAssertionJwk;
}

function defaultKid(): string {
  return `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  const { values } = parseArgs({ options: { kid: { type: "string" } } });
  const key = await newAssertionKey(values.kid);
  process.stderr.write("ASSERTION_KEY (a secret), then the public JWKS:\n");
  process.stdout.write(`${JSON.stringify(key)}\n${JSON.stringify({ keys: [publicJwk(key)] })}\n`);
}
