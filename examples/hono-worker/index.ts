/**
 * An existing Hono app on Cloudflare Workers, gated by `authgear()`: the settings are the Worker's
 * vars (wrangler.toml), the identity is `c.get("authgear")`. Deploy: `npx wrangler deploy -c
 * examples/hono-worker/wrangler.toml`.
 */
import { Hono } from "hono";
import { authgear, type AuthgearVariables } from "authgear-edge/hono";
import type { Identity } from "authgear-edge";

const app = new Hono<{ Variables: AuthgearVariables }>();

// Every route below: public paths (PUBLIC_PATHS) pass without credentials, ROUTES applies.
app.use("*", authgear());

/** The signed-in user; `undefined` on a public path without credentials, or for a machine client. */
type User = Extract<Identity, { kind: "user" }>;
const userOf = (identity: Identity | undefined): User | undefined => (identity?.kind === "user" ? identity : undefined);

app.get("/public/hello", (c) => c.json({ hello: "world", user: userOf(c.get("authgear"))?.userId ?? null }));
app.get("/me", (c) => {
  const user = userOf(c.get("authgear"));
  return c.json({ user: user?.userId ?? null, roles: user?.roles ?? [] });
});
app.get("/admin/stats", (c) => c.json({ admin: userOf(c.get("authgear"))?.userId ?? null }));

export default app;
