/**
 * The Worker of the settings walk (test/core/settings-binding.test.ts), in workerd: one
 * `createWorker` per instance the test names (`x-walk-instance`), built from the settings the test
 * sends (`x-walk-settings`, JSON, given as its env), with a clock the test moves
 * (`x-walk-offset`, milliseconds), memory-only caches, and an origin that answers with what it
 * received. The answer carries the instance's log lines written during the request (`x-walk-logs`).
 */
import { createWorker } from "../../../src/cloudflare/create-worker.ts";

interface Instance {
  readonly handler: ExportedHandler<Record<string, string>>;
  readonly settings: Record<string, string>;
  readonly logs: string[];
  readonly offset: { ms: number };
}

const instances = new Map<string, Instance>();

function instanceFor(request: Request): Instance {
  const id = request.headers.get("x-walk-instance") ?? "";
  let instance = instances.get(id);
  if (instance === undefined) {
    const logs: string[] = [];
    const offset = { ms: 0 };
    const handler = createWorker<Record<string, string>>({
      cache: null,
      logger: { log: (event, fields) => logs.push(JSON.stringify({ event, ...fields })) },
      clock: () => Date.now() + offset.ms,
      fetchOrigin: (url, init) => {
        const headers = [...new Headers(init.headers)];
        return Promise.resolve(new Response(JSON.stringify({ url, headers }), { headers: { "x-walk-origin": "1" } }));
      },
    });
    const settings = JSON.parse(request.headers.get("x-walk-settings") ?? "{}") as Record<string, string>;
    instance = { handler, settings, logs, offset };
    instances.set(id, instance);
  }
  return instance;
}

export default {
  async fetch(request, _env, ctx) {
    const instance = instanceFor(request);
    instance.offset.ms = Number(request.headers.get("x-walk-offset") ?? "0");
    const headers = new Headers([...request.headers].filter(([name]) => !name.startsWith("x-walk-")));
    const before = instance.logs.length;
    const fetch = instance.handler.fetch;
    if (fetch === undefined) throw new Error("createWorker gave no fetch");
    const response = await fetch(new Request(request.url, { method: request.method, headers }), instance.settings, ctx);
    const answer = new Response(response.body, response);
    answer.headers.set("x-walk-logs", JSON.stringify(instance.logs.slice(before)));
    return answer;
  },
} satisfies ExportedHandler;
