/**
 * `npm run deploy:worker [-- <wrangler deploy options>]`: refuses to deploy a Worker that no
 * request could reach (worker-reachability.ts), then runs `wrangler deploy` with the same options.
 * `--config`/`-c` and `--env`/`-e` choose the configuration checked, as they choose wrangler's.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { reachability, readWorkerTargets } from "./worker-reachability.ts";

/** The value of `--name value`, `--name=value` or `-n value` in `args`. */
export function optionValue(args: readonly string[], names: readonly string[]): string | undefined {
  for (const [index, arg] of args.entries()) {
    if (names.includes(arg)) return args[index + 1];
    const name = names.find((candidate) => candidate.startsWith("--") && arg.startsWith(`${candidate}=`));
    if (name !== undefined) return arg.slice(name.length + 1);
  }
  return undefined;
}

const args = process.argv.slice(2);
const env = optionValue(args, ["--env", "-e"]);
const { refusal, warnings } = reachability(readWorkerTargets(optionValue(args, ["--config", "-c"]), env), env);
for (const warning of warnings) process.stderr.write(`Warning: ${warning}\n`);
if (refusal !== undefined) {
  process.stderr.write(`Not deploying: ${refusal}\n`);
  process.exit(1);
}
const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
const child = spawn(process.execPath, [wrangler, "deploy", ...args], { stdio: "inherit" });
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128));
});
