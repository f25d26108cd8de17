/**
 * The edge handler with `SECRET_ARN`: the origin secret it sends comes from the Secrets Manager
 * stand-in (which checks every request's signature), fetched once per container; while the secret
 * cannot be had nothing goes on (503); a secret with the wrong keys is a configuration error (500).
 */
import type { CloudFrontRequest, CloudFrontResultResponse } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { createEdgeHandler, type EdgeHandler } from "../../src/aws-edge/create-edge-handler.ts";
import { useDevIssuer } from "../helpers.ts";
import { headerOf, viewerRequest } from "./events.ts";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "./secrets-manager-stand-in.ts";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge/edge-Xy12Ab";
const ROLE = {
  accessKeyId: "ASIAEDGEHANDLER00001",
  secretAccessKey: "handlerSecretAccessKeyEXAMPLE/0123456789",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLEhandlerSessionToken0123",
};
const ORIGIN_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-from-the-secret";

const issuer = useDevIssuer();
const servers: SecretsManagerStandIn[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function standIn(secretString: string): Promise<SecretsManagerStandIn> {
  const server = await startSecretsManagerStandIn({
    region: "us-east-1",
    keys: [ROLE],
    secrets: [{ arn: ARN, secretString }],
  });
  servers.push(server);
  return server;
}

function edge(server: SecretsManagerStandIn, lines: string[] = []): EdgeHandler {
  return createEdgeHandler({
    settings: { AUTHGEAR_ENDPOINT: issuer.origin, SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET" },
    secrets: { endpoint: server.endpoint, credentials: () => ROLE },
    logger: { log: (event, fields) => lines.push(JSON.stringify({ event, ...fields })) },
  });
}

async function bearer(): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await issuer.mintAccessToken({ sub: "bob" })}` };
}

describe("SECRET_ARN", () => {
  it("sends the secret's ORIGIN_SECRET on every allowed request, fetched once per container", async () => {
    const server = await standIn(JSON.stringify({ ORIGIN_SECRET }));
    const lines: string[] = [];
    const handler = edge(server, lines);
    const headers = await bearer();
    const results = await Promise.all([1, 2, 3].map(() => handler(viewerRequest({ uri: "/x", headers }))));
    for (const result of results) {
      expect(headerOf((result as CloudFrontRequest).headers, "x-authgear-edge-secret")).toBe(ORIGIN_SECRET);
    }
    const again = (await handler(viewerRequest({ uri: "/public" }))) as CloudFrontResultResponse;
    expect(again.status).toBe("401");
    expect(server.calls.map(({ status, securityToken }) => [status, securityToken])).toEqual([
      [200, ROLE.sessionToken],
    ]);
    expect(lines.join("\n")).not.toContain(ORIGIN_SECRET);
  });

  it("at init: the secret first, then the key sets; the first request fetches nothing", async () => {
    const server = await standIn(JSON.stringify({ ORIGIN_SECRET }));
    const handler = edge(server);
    const jwks = issuer.hits.jwks;
    expect(await handler.prefetchKeys(1500)).toBe(true);
    expect([server.calls.length, issuer.hits.jwks - jwks]).toEqual([1, 1]);
    const result = await handler(viewerRequest({ uri: "/x", headers: await bearer() }));
    expect(headerOf((result as CloudFrontRequest).headers, "x-authgear-edge-secret")).toBe(ORIGIN_SECRET);
    expect([server.calls.length, issuer.hits.jwks - jwks]).toEqual([1, 1]);
  });

  it("while Secrets Manager fails: 503 with Retry-After, nothing goes on; it is asked again later", async () => {
    const server = await standIn(JSON.stringify({ ORIGIN_SECRET }));
    server.fail("unavailable");
    const handler = edge(server);
    const headers = await bearer();
    const refused = (await handler(viewerRequest({ uri: "/x", headers }))) as CloudFrontResultResponse;
    expect(refused.status).toBe("503");
    expect(headerOf(refused.headers, "retry-after")).toBeDefined();
    expect(JSON.parse(refused.body ?? "")).toMatchObject({ code: "ERR_SECRETS_UNAVAILABLE" });
  });

  it("a secret holding other keys than SECRET_SETTINGS: 500 naming them, nothing goes on", async () => {
    const server = await standIn(JSON.stringify({ ORIGIN_SECRET, EXTRA: "x" }));
    const lines: string[] = [];
    const refused = (await edge(
      server,
      lines,
    )(viewerRequest({ uri: "/x", headers: await bearer() }))) as CloudFrontResultResponse;
    expect(refused.status).toBe("500");
    expect(JSON.parse(refused.body ?? "")).toMatchObject({ code: "ERR_CONFIG_INVALID" });
    expect(lines.join("\n")).toContain('"event":"config_invalid"');
  });

  it("refuses at construction a secret setting also baked in", () => {
    expect(() =>
      createEdgeHandler({
        settings: {
          AUTHGEAR_ENDPOINT: issuer.origin,
          SECRET_ARN: ARN,
          SECRET_SETTINGS: "ORIGIN_SECRET",
          ORIGIN_SECRET,
        },
        onInvalidConfig: "throw",
      }),
    ).toThrow(/Invalid configuration \(ORIGIN_SECRET\)/);
  });
});
