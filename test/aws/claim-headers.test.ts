/**
 * CLAIM_HEADERS in the authorizer, through `createHandler`: the values the Worker would send,
 * in the context under their `claim*` keys beside the identity's, for REST and HTTP API answers.
 */
import { describe, expect, it } from "vitest";
import { createHandler } from "../../src/aws/create-handler.ts";
import type { LogFields } from "../../src/core/index.ts";
import { httpApiEvent, requestEvent } from "./fixtures.ts";
import { useDevIssuer } from "../helpers.ts";

const ORG = "https://example.com/claims/org_id";
const CLAIM_HEADERS = JSON.stringify({
  "X-User-Email": "email",
  "x-org-id": ORG,
  "x-groups": "groups",
  "x-name": "name",
});
const bearer = (token: string) => requestEvent({ headers: { Authorization: `Bearer ${token}` } });

const issuer = useDevIssuer();

function handler(settings: Record<string, string>, logs: Array<{ event: string } & LogFields> = []) {
  return createHandler({
    env: { AUTHGEAR_ENDPOINT: issuer.origin, AUTHORIZER_CACHE_SECONDS: "0", CLAIM_HEADERS, ...settings },
    logger: { log: (event, fields) => logs.push({ event, ...fields }) },
  });
}

describe("CLAIM_HEADERS in the authorizer", () => {
  it("puts the claim values in the context under claim* keys, beside the identity's", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const authorize = handler({}, logs);
    const token = await issuer.mintAccessToken({
      sub: "alice",
      claims: { email: "alice@example.com", [ORG]: "org_42", groups: ["eng", 7, true], name: "Zoë" },
    });
    const forged = { Authorization: `Bearer ${token}`, "x-user-email": "forged" };
    const rest = await authorize(requestEvent({ headers: forged }));
    const context = { ...rest.context };
    expect(context).toMatchObject({ userId: "alice", edgeKind: "user" });
    const claims = Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith("claim")));
    expect(claims).toEqual({ claimXUserEmail: "alice@example.com", claimXOrgId: "org_42", claimXGroups: "eng,7,true" });
    // The identity's own keys are all there, unchanged, and none starts with "claim".
    const plain = await handler({ CLAIM_HEADERS: "" })(bearer(token));
    expect(context).toEqual({ ...plain.context, ...claims });
    expect(Object.keys(plain.context ?? {}).filter((key) => key.startsWith("claim"))).toEqual([]);
    expect(logs.filter(({ event }) => event === "claim_header_omitted")).toEqual([
      { event: "claim_header_omitted", header: "x-name", claim: "name", reason: "not_ascii" },
    ]);

    const http = await authorize(httpApiEvent({ headers: { authorization: `Bearer ${token}` } }));
    expect(http.context).toEqual(rest.context);
  });

  it("leaves the context as it was without CLAIM_HEADERS, and without the claim", async () => {
    const token = await issuer.mintAccessToken({ sub: "bob" });
    const withSetting = await handler({})(bearer(token));
    const without = await handler({ CLAIM_HEADERS: "" })(bearer(token));
    expect(withSetting.context).toEqual(without.context);
    expect(Object.keys(without.context ?? {}).some((key) => key.startsWith("claim"))).toBe(false);
  });

  it("with AUTH_MODE=hybrid: a JWT's claims, none for a session cookie the resolver judged", async () => {
    const authorize = handler({ AUTH_MODE: "hybrid" });
    const session = issuer.createSession("erin");
    const token = await issuer.mintAccessToken({ sessionId: session.id, claims: { email: "erin@example.com" } });
    const jwt = await authorize(bearer(token));
    expect(jwt.context).toMatchObject({ userId: "erin", claimXUserEmail: "erin@example.com" });
    const cookie = await authorize(requestEvent({ headers: { Cookie: `session=${session.cookie}` } }));
    expect(cookie.context).toMatchObject({ userId: "erin" });
    expect(Object.keys(cookie.context ?? {}).filter((key) => key.startsWith("claim"))).toEqual([]);
  });

  it("refuses to start with AUTH_MODE=resolver", async () => {
    const logs: Array<{ event: string } & LogFields> = [];
    const token = await issuer.mintAccessToken({ sub: "bob" });
    await expect(handler({ AUTH_MODE: "resolver" }, logs)(bearer(token))).rejects.toThrow("Service Unavailable");
    expect(logs.find(({ event }) => event === "config_invalid")?.keys).toBe("CLAIM_HEADERS");
  });
});
