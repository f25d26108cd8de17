/**
 * An existing Worker that authenticates one part of itself with the core: requests under /api/
 * are decided (authentication and ROUTES, from the Worker's vars) and answered with the identity;
 * the rest of the app is untouched. The configuration, key set and token cache live per isolate.
 */
import { createGate, errorResponse, oncePerSettings, type AuthError } from "authgear-edge";

type Env = Readonly<Record<string, unknown>>;

const gateFor = oncePerSettings((env: Env) =>
  createGate(
    env,
    {},
    {
      decide: {
        ambiguousPaths: "refuse",
        preflightsArePublic: true,
        overrideHeaders: "reach-origin",
        validForSeconds: 0,
      },
    },
  ),
);

function refusal(error: AuthError, realm: string): Response {
  const { status, headers, body } = errorResponse(error, realm);
  return new Response(body, { status, headers });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/api/")) return new Response("the rest of the app, not authenticated here\n");
    const gate = gateFor(env);
    // A bad configuration: every /api/ request is refused (500), and the log names every bad key once.
    if (!gate.ok) return refusal(gate.error, "example");
    const decision = await gate.decider.decide(
      { method: request.method, path: url.pathname, headers: request.headers, hasBody: request.body !== null },
      {
        defer: (promise) => {
          ctx.waitUntil(promise);
        },
      },
    );
    if (!decision.allowed) return refusal(decision.error, gate.config.realm);
    // A machine client (a client-credentials token, where a rule admits one) is not a user.
    const user = decision.identity?.kind === "user" ? decision.identity : undefined;
    return Response.json({ path: url.pathname, user: user?.userId ?? null, roles: user?.roles ?? [] });
  },
} satisfies ExportedHandler<Env>;
