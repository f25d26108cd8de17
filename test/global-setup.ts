/**
 * Builds dist/ (what wrangler deploys and the Lambda bundle) and lib/ (the package's entry points,
 * which the examples import as `authgear-edge/...`) once before the tests, so the tests exercise
 * exactly what ships.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export default async function setup(): Promise<void> {
  const run = (script: string) => promisify(execFile)("npm", ["run", "--silent", script]);
  const builds = await Promise.allSettled([run("build"), run("build:lib")]);
  for (const build of builds) {
    if (build.status === "rejected") {
      const { stdout = "", stderr = "" } = build.reason as { stdout?: string; stderr?: string };
      throw new Error(`the build before the tests failed:\n${stdout}${stderr}`);
    }
  }
}
