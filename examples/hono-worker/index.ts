/**
 * An existing Hono app on Cloudflare Workers, gated by `authgear()`: the settings are the Worker's
 * vars (wrangler.toml), the identity is `c.get("authgear")`. Deploy: `npx wrangler deploy -c
 * examples/hono-worker/wrangler.toml`.
 */
import { Hono } from "hono";
import { authgear, type AuthgearVariables } from "authgear-edge/hono";

const app = new Hono<{ Variables: AuthgearVariables }>();

// Every route below: public paths (PUBLIC_PATHS) pass without credentials, ROUTES applies.
app.use("*", authgear());

app.get("/public/hello", (c) => c.json({ hello: "world", user: c.get("authgear")?.userId ?? null }));
app.get("/me", (c) => {
  const identity = c.get("authgear");
  return c.json({ user: identity?.userId ?? null, roles: identity?.roles ?? [] });
});
app.get("/admin/stats", (c) => c.json({ admin: c.get("authgear")?.userId ?? null }));

export default app;
