/**
 * Runs the local Authgear-compatible issuer on 127.0.0.1 (port `DEV_ISSUER_PORT`, default
 * 4010) and prints how to reach it, until SIGINT or SIGTERM.
 */
import { startDevIssuer } from "./issuer.ts";

const rawPort = process.env.DEV_ISSUER_PORT ?? "4010";
const port = Number(rawPort);
if (!/^\d+$/.test(rawPort) || port > 65535) {
  console.error(`DEV_ISSUER_PORT must be a port number (0-65535), got ${JSON.stringify(rawPort)}`);
  process.exit(1);
}

const issuer = await startDevIssuer({ port });
const discoveryUrl = `${issuer.origin}/.well-known/openid-configuration`;

const token = await issuer.mintAccessToken({ sub: "dev-user" });
const endpoint = `AUTHGEAR_ENDPOINT=${issuer.origin}`;
console.log(`authgear-edge: the local Authgear-compatible dev issuer alone (npm start runs it with the
demo origin and the Worker; this runs just the issuer, to try the core with the doctor commands below).

dev issuer  ${issuer.origin}
discovery   ${discoveryUrl}
token       ${token}

# mint another access token
curl -s -X POST ${issuer.origin}/_dev/token -H 'content-type: application/json' -d '{"sub":"dev-user","roles":["admin"]}'
# check the configuration against the issuer and verify the token with the core, as the gateway will (in another terminal)
${endpoint} npm run doctor -- --token ${token}
# an opaque token is refused, and the doctor says why
${endpoint} npm run doctor -- --token not-a-jwt-access-token

Ctrl-C stops the issuer.`);

const stop = (): void => {
  issuer.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
