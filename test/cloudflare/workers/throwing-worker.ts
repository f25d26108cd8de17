/**
 * A Worker built with `createWorker({ onInvalidConfig: "throw" })` and its route rules given in
 * code as an array, for test/cloudflare/typed-settings.test.ts.
 */
import { createWorker } from "../../../src/cloudflare/create-worker.ts";

export default createWorker({
  settings: { ROUTES: [{ path: "/admin/*", roles: ["admin"] }], PUBLIC_PATHS: "/public/*" },
  cache: null,
  onInvalidConfig: "throw",
});
