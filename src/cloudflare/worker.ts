/**
 * The deployed Worker (wrangler.toml's `main`): `createWorker()` over the Worker's vars and
 * secrets, gating every request of its routes. workerd accepts only handlers as this module's
 * exports.
 */
import { createWorker, type Env } from "./create-worker.ts";

export type { Env, WorkerOptions } from "./create-worker.ts";

export default createWorker() satisfies ExportedHandler<Env>;
