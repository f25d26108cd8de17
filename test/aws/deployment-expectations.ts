/**
 * What serverless.yml's template and the CDK stack's must both hold, as CloudFormation holds it: the RFC 9728
 * metadata route (a MOCK integration that answers 200 with the protected-resource document) and the HTTP API's CORS.
 */
import { expect } from "vitest";

export interface MockIntegration {
  readonly Type?: string;
  readonly RequestTemplates: Record<string, string>;
  readonly IntegrationResponses: ReadonlyArray<{
    readonly StatusCode: string;
    readonly ResponseParameters: Record<string, string>;
    readonly ResponseTemplates: Record<string, unknown>;
  }>;
}

/**
 * The MOCK answers 200 (its request template names the status) with the JSON document of `resource`, whose
 * authorization server is `endpoint`; `render` resolves the template's intrinsic functions as the deployment would.
 */
export function expectMetadataMock(
  integration: MockIntegration,
  render: (template: unknown) => string,
  resource: string,
  endpoint: string,
): void {
  expect(JSON.parse(integration.RequestTemplates["application/json"]!)).toEqual({ statusCode: 200 });
  const [response] = integration.IntegrationResponses;
  expect(response).toMatchObject({
    StatusCode: "200",
    ResponseParameters: { "method.response.header.Content-Type": "'application/json; charset=utf-8'" },
  });
  expect(JSON.parse(render(response!.ResponseTemplates["application/json"]))).toEqual({
    resource,
    authorization_servers: [endpoint],
    bearer_methods_supported: ["header"],
  });
}

/** The HTTP API's CORS for one listed origin: credentials allowed, the challenge and `Retry-After` exposed. */
export function httpApiCors(origin: string): Record<string, unknown> {
  return {
    AllowOrigins: [origin],
    AllowCredentials: true,
    AllowHeaders: ["Authorization", "Content-Type"],
    ExposeHeaders: ["WWW-Authenticate", "Retry-After"],
    MaxAge: 600,
  };
}
