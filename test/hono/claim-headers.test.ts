/**
 * CLAIM_HEADERS in the Hono middleware: the app reads the identity's claim headers on `c.req`,
 * and never a client's copy of one, in any spelling, on any request that reaches it.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { authgear, type AuthgearVariables } from "../../src/hono/index.ts";
import { useDevIssuer } from "../helpers.ts";

const CLAIM_HEADERS = JSON.stringify({ "x-user-email": "email", "x-groups": "groups" });
const FORGED = { "X-User-Email": "forged@evil.example", x_user_email: "forged", "x.groups": "admin" };

const issuer = useDevIssuer();

function app(settings: Record<string, string>): Hono<{ Variables: AuthgearVariables }> {
  const hono = new Hono<{ Variables: AuthgearVariables }>();
  const all = { AUTHGEAR_ENDPOINT: issuer.origin, CLAIM_HEADERS, ...settings };
  hono.use("*", authgear({ settings: all, logger: { log() {} } }));
  hono.all("*", async (c) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      if (/^x[-_.](user|groups)/.test(name)) headers[name] = value;
    });
    return c.json({ headers, body: c.req.method === "POST" ? await c.req.text() : null });
  });
  return hono;
}

describe("CLAIM_HEADERS in authgear()", () => {
  it("gives the app the claim headers, none of the client's copies, and the request body intact", async () => {
    const claims = { email: "dana@example.com", groups: ["eng", "ops"] };
    const token = await issuer.mintAccessToken({ sub: "dana", claims });
    const response = await app({}).request("/x", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, ...FORGED },
      body: "payload",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      headers: { "x-user-email": "dana@example.com", "x-groups": "eng,ops" },
      body: "payload",
    });
  });

  it("strips client copies on a public path and a report-only refusal", async () => {
    const publicPath = await app({ PUBLIC_PATHS: "/public/*" }).request("/public/a", { headers: FORGED });
    expect(await publicPath.json()).toEqual({ headers: {}, body: null });
    const reportOnly = await app({ REPORT_ONLY: "true" }).request("/x", { headers: FORGED });
    expect(await reportOnly.json()).toEqual({ headers: {}, body: null });
  });
});
