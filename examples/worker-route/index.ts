/**
 * An existing Worker that authenticates one part of itself with the core: requests under /api/
 * are decided (authentication and ROUTES, from the Worker's vars) and answered with the identity;
 * the rest of the app is untouched. The authenticator and its key set live per isolate.
 */
import { createAuthenticatorFromEnv, createDecider, errorResponse, type Decider } from "authgear-edge";

type Gate = { readonly decider: Decider; readonly realm: string } | { readonly response: () => Response };
let gate: Gate | undefined;

function gateFor(env: Readonly<Record<string, unknown>>): Gate {
  if (gate === undefined) {
    const built = createAuthenticatorFromEnv(env);
    gate = built.ok
      ? { decider: createDecider(built.config, built.authenticator, { ambiguousPaths: "refuse", preflightsArePublic: true, overrideHeaders: "reach-origin", validForSeconds: 0 }), realm: built.config.realm }
      : { response: () => { const refusal = errorResponse(built.error, "example"); return new Response(refusal.body, refusal); } };
  }
  return gate;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/api/")) return new Response("the rest of the app, not authenticated here\n");
    const current = gateFor(env);
    if ("response" in current) return current.response();
    const decision = await current.decider.decide(
      { method: request.method, path: url.pathname, query: url.search, headers: request.headers, hasBody: request.body !== null },
      { defer: (promise) => { ctx.waitUntil(promise); } },
    );
    if (!decision.allowed) {
      const refusal = errorResponse(decision.error, current.realm);
      return new Response(refusal.body, refusal);
    }
    return Response.json({ path: url.pathname, user: decision.identity?.userId ?? null, roles: decision.identity?.roles ?? [] });
  },
} satisfies ExportedHandler<Readonly<Record<string, unknown>>>;
