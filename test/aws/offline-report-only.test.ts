/**
 * REPORT_ONLY=true end to end: the built authorizer under serverless-offline with serverless.yml's
 * example API and the authorizer cache off (REPORT_ONLY requires it). Every request reaches the
 * backend; a would-be refusal arrives with its code and without any identity.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOffline, STARTUP_MS, type Offline } from "./offline-harness.ts";
import { useDevIssuer } from "../helpers.ts";

const ROUTES = JSON.stringify([{ path: "/hello/admin", roles: ["admin"] }]);
const ROLES = "https://authgear.com/claims/user/roles";

const issuer = useDevIssuer();
let offline: Offline;

beforeAll(async () => {
  offline = await startOffline({
    AUTHGEAR_ENDPOINT: issuer.origin,
    ROUTES,
    REPORT_ONLY: "true",
    AUTHORIZER_CACHE_SECONDS: "0",
  });
}, STARTUP_MS + 10_000);

afterAll(async () => {
  await offline.stop();
});

async function get(
  path: string,
  token?: string,
): Promise<{ status: number; authorizer: Record<string, unknown> | undefined }> {
  const response = await fetch(
    `${offline.url}${path}`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );
  const body = (await response.json()) as { authorizer?: Record<string, unknown> };
  return { status: response.status, authorizer: body.authorizer };
}

describe("serverless offline, REPORT_ONLY=true", () => {
  it("lets each would-be refusal through with its code and no identity, and an allowed request as usual", async () => {
    const staff = await issuer.mintAccessToken({ sub: "staff-user", claims: { [ROLES]: ["staff"] } });
    const admin = await issuer.mintAccessToken({ sub: "admin-user", claims: { [ROLES]: ["admin"] } });
    const expired = await issuer.mintAccessToken({ sub: "late-user", expiresIn: -5 });
    const cases: Array<[string, string | undefined, string | undefined, string | undefined]> = [
      ["/hello", undefined, "ERR_CREDENTIALS_MISSING", undefined],
      ["/hello", expired, "ERR_JWT_EXPIRED", undefined],
      ["/hello/admin", staff, "ERR_INSUFFICIENT_SCOPE", undefined],
      ["/hello/admin", admin, undefined, "admin-user"],
    ];
    for (const [path, token, report, user] of cases) {
      const { status, authorizer } = await get(path, token);
      expect({
        path,
        status,
        report: authorizer?.authgearEdgeReport,
        user: authorizer?.userId,
        principal: authorizer?.principalId,
      }).toEqual({
        path,
        status: 200,
        report,
        user,
        principal: user ?? "report-only",
      });
    }
    const output = offline.output();
    expect(output.match(/"event":"would_refuse"/g)).toHaveLength(3);
    expect(output).not.toContain(expired.split(".")[2]!.slice(0, 16));
  });
});
