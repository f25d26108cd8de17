/** Builds dist/ once before the tests, so the Worker tests exercise exactly what wrangler deploys. */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
}
