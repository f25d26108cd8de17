/**
 * `npm run doctor [-- --token <access token>]`: checks the gate's configuration, read from this
 * process's environment exactly as the Worker and the authorizer read theirs, against the live
 * issuer. One line per check (✓ passed, ✗ failed, – skipped), each failure with its fix; exit
 * status 1 when a check failed, 2 for a usage error. `--token -` reads the token from standard
 * input (it then stays out of the shell history and the process list). The token and the values
 * of settings named `*SECRET*` are never printed.
 */
import { runDoctor } from "./doctor.ts";
import { formatCheck, summary } from "./report.ts";

const USAGE = `usage: npm run doctor [-- --token <access token> | --token -]

Checks the configuration in the environment (AUTHGEAR_ENDPOINT or ISSUERS, AUTH_MODE, ... as the
gate reads them) against every live issuer; with --token, also verifies that token as the gate
would and explains it (--token - reads it from standard input).
`;

function parseArguments(args: readonly string[]): { token: string | undefined } | { error: string } | { help: true } {
  let token: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--token") {
      const value = args[index + 1];
      if (value === undefined)
        return { error: "--token needs a value (the token, or - to read it from standard input)" };
      token = value;
      index += 1;
    } else if (arg.startsWith("--token=")) {
      token = arg.slice("--token=".length);
    } else {
      return { error: `unknown argument ${JSON.stringify(arg.length > 40 ? `${arg.slice(0, 12)}…` : arg)}` };
    }
  }
  return { token };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

const parsed = parseArguments(process.argv.slice(2));
if ("help" in parsed) {
  process.stdout.write(USAGE);
} else if ("error" in parsed) {
  process.stderr.write(`doctor: ${parsed.error}\n${USAGE}`);
  process.exitCode = 2;
} else {
  const token = parsed.token === "-" ? await readStdin() : parsed.token;
  const checks = await runDoctor(process.env, token === undefined ? {} : { token });
  process.stdout.write(`${checks.map(formatCheck).join("\n")}\n${summary(checks)}\n`);
  process.exitCode = checks.every((check) => check.ok) ? 0 : 1;
}
