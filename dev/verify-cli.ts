/**
 * Runs the verification core once, the way the gateways will: reads an access token (argument or
 * standard input), authenticates it against AUTHGEAR_ENDPOINT (default: the dev issuer on
 * 127.0.0.1:4010; every other setting of the README's table is read from the environment too),
 * and prints the identity headers the application would receive, or the refusal a client would.
 */
import { createAuthenticator } from "../src/core/authenticator.ts";
import { ConfigError, parseConfig } from "../src/core/config.ts";
import { errorResponse } from "../src/core/errors.ts";
import { identityHeaders } from "../src/core/identity.ts";

async function readToken(): Promise<string> {
  if (process.argv[2] !== undefined) return process.argv[2];
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString().trim();
}

let config;
try {
  config = parseConfig({ AUTHGEAR_ENDPOINT: "http://127.0.0.1:4010", ...process.env });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(2);
}
const token = await readToken();
const headers = new Headers(token === "" ? {} : { authorization: `Bearer ${token}` });
const result = await createAuthenticator(config, { logger: { log: () => undefined } }).authenticate(headers);
if (result.ok) {
  console.log("200 — the application would receive:");
  for (const [name, value] of identityHeaders(result.identity)) console.log(`  ${name}: ${value}`);
} else {
  const response = errorResponse(result.error, config.realm);
  console.log(`${response.status} — the client would receive:`);
  for (const [name, value] of Object.entries(response.headers)) console.log(`  ${name}: ${value}`);
  console.log(`  ${response.body}`);
  process.exitCode = 1;
}
