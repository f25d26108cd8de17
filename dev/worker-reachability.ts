/**
 * Whether a Worker deployed with a wrangler configuration can be reached at all: by a route (in
 * front of a zone, or a custom domain) or at its workers.dev URL. wrangler.toml ships with
 * `workers_dev = false` and no route, so that nothing is exposed before its owner says where the
 * gate stands; `wrangler deploy` then uploads a Worker no request can reach ("No deploy targets").
 * The configuration is read with wrangler's own reader, environments (`--env`) included.
 */
import { unstable_readConfig } from "wrangler";

/** What decides where a deployed Worker answers: wrangler's configuration, as its reader returns it. */
export interface WorkerTargets {
  readonly name?: string | undefined;
  /** wrangler's default, when unset: true without routes, false with them. */
  readonly workers_dev?: boolean | undefined;
  readonly routes?: readonly unknown[] | undefined;
  readonly route?: unknown;
  readonly vars?: Readonly<Record<string, unknown>> | undefined;
}

export interface Reachability {
  /** Why the deployment must not go ahead; `undefined` when the Worker can be reached. */
  readonly refusal: string | undefined;
  /** What may be wrong but cannot be told from the configuration alone (a secret may set it). */
  readonly warnings: readonly string[];
}

const ROUTE_EXAMPLE = 'routes = [{ pattern = "api.example.com/*", zone_name = "example.com" }]';

/** Refuses a configuration whose Worker no request can reach; `env`: the environment deployed (`--env`). */
export function reachability(config: WorkerTargets, env?: string): Reachability {
  const where = env === undefined ? "wrangler.toml" : `wrangler.toml's [env.${env}]`;
  const name = config.name ?? "the Worker";
  const routed = (config.routes?.length ?? 0) > 0 || config.route !== undefined;
  const workersDev = config.workers_dev ?? !routed;
  if (!routed && !workersDev) {
    return {
      refusal:
        `${name} would deploy unreachable: ${where} has workers_dev = false and no route. Set a route to put the ` +
        `gate in front of a zone (${ROUTE_EXAMPLE}; its requests then go on to the origin behind the route), or ` +
        `workers_dev = true with ORIGIN_URL to serve it at ${name}.<your subdomain>.workers.dev.`,
      warnings: [],
    };
  }
  const originUrl = config.vars?.ORIGIN_URL;
  const warnings =
    workersDev && !routed && (typeof originUrl !== "string" || originUrl.trim() === "")
      ? [
          `${name} is served at its workers.dev URL only, and ${where} sets no ORIGIN_URL: unless a secret sets ` +
            `it, the Worker passes each request on to its own URL, where no origin stands. Set ORIGIN_URL.`,
        ]
      : [];
  return { refusal: undefined, warnings };
}

/**
 * wrangler's reader, typed by what this check reads of its answer: wrangler's declaration of the
 * whole configuration does not resolve for the type-aware lint (it reads it as an error type).
 */
const readConfig: (
  args: { readonly config?: string; readonly env?: string },
  options: { readonly hideWarnings: boolean },
) => WorkerTargets = unstable_readConfig;

/** The configuration wrangler would deploy: `configPath` (default: wrangler's own search), `env` merged in. */
export function readWorkerTargets(configPath?: string, env?: string): WorkerTargets {
  return readConfig(
    { ...(configPath !== undefined && { config: configPath }), ...(env !== undefined && { env }) },
    { hideWarnings: true },
  );
}
