/**
 * Runs the local Authgear-compatible issuer on 127.0.0.1 (port `DEV_ISSUER_PORT`, default
 * 4010), with one machine client ({@link MACHINE_CLIENT}, allowed {@link RESOURCE}), and prints
 * how to reach it, until SIGINT or SIGTERM.
 */
import { DEV_TOKEN_USAGE, startDevIssuer } from "./issuer.ts";

const rawPort = process.env.DEV_ISSUER_PORT ?? "4010";
const port = Number(rawPort);
if (!/^\d+$/.test(rawPort) || port > 65535) {
  console.error(`DEV_ISSUER_PORT must be a port number (0-65535), got ${JSON.stringify(rawPort)}`);
  process.exit(1);
}

/** The resource URI of an API the machine client may call: what RESOURCES names at the gate. */
const RESOURCE = "https://api.example.local";
const MACHINE_CLIENT = {
  id: "dev-machine",
  secret: "dev-machine-secret",
  resources: { [RESOURCE]: ["orders:read", "orders:write"] },
};

const issuer = await startDevIssuer({ port, machineClients: [MACHINE_CLIENT] });
const discoveryUrl = `${issuer.origin}/.well-known/openid-configuration`;

const token = await issuer.mintAccessToken({ sub: "dev-user" });
const endpoint = `AUTHGEAR_ENDPOINT=${issuer.origin}`;
/** Reads one field of a JSON answer on standard input. */
const field = (name: string): string => `node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).${name}'`;
const devToken = (body: string): string =>
  `curl -s -X POST ${issuer.origin}/_dev/token -H 'content-type: application/json' -d '${body}'`;
// `--token -` reads the token from standard input: never on a command line (shell history, process list).
const doctor = "npm run -s doctor -- --token -";
console.log(`authgear-edge: the local Authgear-compatible dev issuer alone (npm start runs it with the
demo origin and the Worker; this runs just the issuer, to try the core with the doctor commands below).

dev issuer  ${issuer.origin}
discovery   ${discoveryUrl}
token       ${token}

# mint another access token: POST /_dev/token ${DEV_TOKEN_USAGE}
# ("amr":["pwd","otp","mfa"]: a login with a second factor)
${devToken('{"sub":"dev-user","roles":["admin"]}')}
# a machine client's token, by Authgear's client-credentials grant
curl -s ${issuer.tokenEndpoint} -d grant_type=client_credentials -d client_id=${MACHINE_CLIENT.id} \\
  -d client_secret=${MACHINE_CLIENT.secret} -d resource=${RESOURCE} -d scope=orders:read

# The doctor reads the token from standard input (--token -), so it stays out of the shell history and
# the process list. In another terminal:
# check the configuration against the issuer and verify a fresh token with the core, as the gateway will
${devToken('{"sub":"dev-user"}')} | ${field("access_token")} | ${endpoint} ${doctor}
# an expired token ("expires_in": seconds, negative: expired that long ago), and the doctor says so
${devToken('{"sub":"dev-user","expires_in":-60}')} | ${field("access_token")} | ${endpoint} ${doctor}
# an ID token ("kind":"id_token": typ JWT, aud the client id) is not an access token, and the doctor says why
${devToken('{"sub":"dev-user","kind":"id_token"}')} | ${field("id_token")} | ${endpoint} ${doctor}
# the doctor explains a machine client's token (its scope and resource; RESOURCES names the API's resource URI)
curl -s ${issuer.tokenEndpoint} -d grant_type=client_credentials -d client_id=${MACHINE_CLIENT.id} \\
  -d client_secret=${MACHINE_CLIENT.secret} -d resource=${RESOURCE} -d scope=orders:read \\
  | ${field("access_token")} | ${endpoint} RESOURCES=${RESOURCE} ${doctor}
# an opaque token is refused, and the doctor says why
echo not-a-jwt-access-token | ${endpoint} ${doctor}

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
