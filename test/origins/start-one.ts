/** Starts one framework app and prints its URL, then waits to be killed: frameworks.test.ts kills it with SIGKILL. */
import { startFramework, type FrameworkName } from "./frameworks.ts";

const origin = await startFramework(process.argv[2] as FrameworkName);
process.stdout.write(`${origin.url}\n`);
setInterval(() => undefined, 60_000);
