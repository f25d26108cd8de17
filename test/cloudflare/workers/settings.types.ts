/**
 * Compile-time checks of the Worker's typed settings (`npm run typecheck` compiles this file with
 * the Workers types; nothing runs it). Each `@ts-expect-error` fails the typecheck if the line
 * below it compiles.
 */
import { createWorker, type WorkerSettings } from "../../../src/cloudflare/index.ts";

interface Env {
  readonly AUTHGEAR_ENDPOINT: string;
  readonly AUTH_MODE: string;
  readonly API: Fetcher;
}

createWorker<Env>({
  settings: {
    ORIGIN_URL: "https://origin.example",
    ROUTES: [{ path: "/admin/*", roles: ["admin"] }],
    FORWARD_AUTHORIZATION: false,
    CORS_ALLOWED_ORIGINS: "https://app.example",
    LOG_LEVEL: "error",
  },
  onInvalidConfig: "throw",
  fetchOrigin: (url, init, env) => env.API.fetch(url, init),
});
createWorker({ settings: { PUBLIC_PATHS: "/healthz", ROUTES: '[{"path":"/admin/*","roles":["admin"]}]' } });
const settings: WorkerSettings = { ASSERTION_KEY: { get: () => Promise.resolve("{}") } };
createWorker({ settings });

// @ts-expect-error a misspelled key
createWorker({ settings: { ORIGIN_URLS: "https://origin.example" } });
// @ts-expect-error the authorizer's setting, which a Worker cannot carry out
createWorker({ settings: { HTTP_API_RESPONSE: "iam" } });
// @ts-expect-error a flag as a number
createWorker({ settings: { SERVER_TIMING: 1 } });
// @ts-expect-error a METHOD_OVERRIDE that is neither any nor none
createWorker({ settings: { METHOD_OVERRIDE: "all" } });
// @ts-expect-error an unknown onInvalidConfig
createWorker({ onInvalidConfig: "log" });
