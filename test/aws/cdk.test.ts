/**
 * The CDK example (examples/cdk) as CloudFormation: the stack synthesized offline with stand-in
 * assets (no build, no Docker), and the template read as API Gateway and Lambda will read it, beside
 * the same choices in serverless.yml (test/aws/serverless-package.test.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Code } from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthgearEdgeStack } from "../../examples/cdk/authgear-edge-stack.ts";
import { expectMetadataMock, httpApiCors, type MockIntegration } from "./deployment-expectations.ts";

const ENDPOINT = "https://example.authgear.cloud";
const CORS_ORIGIN = "https://app.example.com";
/** What CloudFormation fills in for the stack's references, for a REST API `abc123` in us-east-1. */
const REFERENCES: Record<string, string> = {
  "AWS::Region": "us-east-1",
  "AWS::URLSuffix": "amazonaws.com",
};
const API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev";
const METADATA_URL = `${API_URL}/.well-known/oauth-protected-resource`;

let assets: string;

beforeAll(async () => {
  assets = await mkdtemp(join(tmpdir(), "authgear-edge-cdk-"));
  await writeFile(join(assets, "authorizer.mjs"), "export const handler = () => {};\n");
  await writeFile(join(assets, "hello.mjs"), "export const handler = () => {};\n");
  // The first synthesis loads most of aws-cdk-lib: here, under a hook's timeout of its own, not a test's.
  synth({});
}, 120_000);

afterAll(async () => {
  await rm(assets, { recursive: true, force: true });
});

const templates = new Map<string, Template>();

/** The stack's template for `settings` (with AUTHGEAR_ENDPOINT), synthesized once per distinct settings. */
function synth(settings: Record<string, string>): Template {
  const key = JSON.stringify(settings);
  let template = templates.get(key);
  if (template === undefined) {
    template = synthesize(settings);
    templates.set(key, template);
  }
  return template;
}

function synthesize(settings: Record<string, string>): Template {
  const app = new App();
  const code = Code.fromAsset(assets);
  const stack = new AuthgearEdgeStack(app, "AuthgearEdgeTest", {
    settings: { AUTHGEAR_ENDPOINT: ENDPOINT, ...settings },
    authorizerCode: code,
    backendCode: code,
  });
  return Template.fromStack(stack);
}

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

function only(template: Template, type: string, properties?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, properties && { Properties: properties })) as Array<
    [string, Resource]
  >;
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

/** A string as CloudFormation deploys it: `Fn::Join` of literals and the references above (the REST API: `abc123`). */
function deployed(template: Template, value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join !== undefined) return join[1].map((part) => deployed(template, part)).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  const [restApiId] = only(template, "AWS::ApiGateway::RestApi");
  if (ref === restApiId) return "abc123";
  if (ref !== undefined && REFERENCES[ref] !== undefined) return REFERENCES[ref];
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

function authorizerEnvironment(template: Template): Record<string, string> {
  const [, fn] = only(template, "AWS::Lambda::Function", { Handler: "authorizer.handler" });
  return (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
}

describe("CDK example: the authorizer cache", () => {
  it("AUTH_MODE=jwt: 300 s on the Authorization header for both APIs, and the authorizer told so", () => {
    const template = synth({});
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", {
      Type: "REQUEST",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "REQUEST",
      AuthorizerPayloadFormatVersion: "2.0",
      EnableSimpleResponses: false,
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(authorizerEnvironment(template)).toMatchObject({
      AUTHORIZER_CACHE_SECONDS: "300",
      HTTP_API_RESPONSE: "iam",
    });
  });

  it("AUTHORIZER_CACHE_SECONDS is the one TTL of both authorizers and the function", () => {
    const template = synth({ AUTHORIZER_CACHE_SECONDS: "3600" });
    template.hasResourceProperties("AWS::ApiGateway::Authorizer", { AuthorizerResultTtlInSeconds: 3600 });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", { AuthorizerResultTtlInSeconds: 3600 });
    expect(authorizerEnvironment(template).AUTHORIZER_CACHE_SECONDS).toBe("3600");
  });

  it.each([
    ["AUTH_MODE=resolver", { AUTH_MODE: "resolver" }],
    ["AUTH_MODE=hybrid", { AUTH_MODE: "hybrid" }],
    ["JWT_COOKIE_NAME", { JWT_COOKIE_NAME: "access_token" }],
    ["AUTHORIZER_CACHE_SECONDS=0", { AUTHORIZER_CACHE_SECONDS: "0" }],
  ])("%s: caching off, and no identity source, so every request reaches the authorizer", (_, settings) => {
    const template = synth(settings);
    const [, rest] = only(template, "AWS::ApiGateway::Authorizer");
    expect(rest.Properties).toMatchObject({ Type: "REQUEST", AuthorizerResultTtlInSeconds: 0 });
    expect(rest.Properties).not.toHaveProperty("IdentitySource");
    // An empty list is none (Serverless 3 writes the same).
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: [],
    });
    expect(authorizerEnvironment(template).AUTHORIZER_CACHE_SECONDS).toBe("0");
  });

  it("HTTP_API_RESPONSE=simple: simple responses, still payload 2.0", () => {
    const template = synth({ HTTP_API_RESPONSE: "simple" });
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerPayloadFormatVersion: "2.0",
      EnableSimpleResponses: true,
    });
    expect(authorizerEnvironment(template).HTTP_API_RESPONSE).toBe("simple");
  });

  it("the HTTP API's route uses the authorizer, which API Gateway may invoke", () => {
    const template = synth({});
    const [authorizerId] = only(template, "AWS::ApiGatewayV2::Authorizer");
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
      RouteKey: "GET /api/hello",
      AuthorizationType: "CUSTOM",
      AuthorizerId: { Ref: authorizerId },
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Principal: "apigateway.amazonaws.com",
      SourceArn: Match.objectLike({
        "Fn::Join": ["", Match.arrayWith([`/authorizers/`, { Ref: authorizerId }])],
      }),
    });
  });
});

describe("CDK example: the functions", () => {
  it("deploys the bundle on nodejs22.x, 256 MB, 15 s, with the settings in its environment", () => {
    const template = synth({ ROUTES: '[{"path":"/hello/admin","roles":["admin"]}]', AUDIENCE: "api" });
    const [, fn] = only(template, "AWS::Lambda::Function", { Handler: "authorizer.handler" });
    expect(fn.Properties).toMatchObject({ Runtime: "nodejs22.x", MemorySize: 256, Timeout: 15 });
    expect(authorizerEnvironment(template)).toEqual({
      AUTHGEAR_ENDPOINT: ENDPOINT,
      AUDIENCE: "api",
      ROUTES: '[{"path":"/hello/admin","roles":["admin"]}]',
      AUTHORIZER_CACHE_SECONDS: "300",
      HTTP_API_RESPONSE: "iam",
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 14 });
  });
});

describe("CDK example: settings the authorizer or API Gateway would refuse fail synth", () => {
  it.each([
    ["a TTL above API Gateway's 3600 s", { AUTHORIZER_CACHE_SECONDS: "7200" }, "AUTHORIZER_CACHE_SECONDS"],
    ["a mistyped mode", { AUTH_MODE: "hybird" }, "AUTH_MODE"],
    ["no endpoint", { AUTHGEAR_ENDPOINT: "" }, "AUTHGEAR_ENDPOINT: is required"],
    [
      "cookie credentials under a cache",
      { AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "60" },
      "AUTHORIZER_CACHE_SECONDS: cookie credentials",
    ],
    [
      "a cached simple answer with ROUTES",
      { HTTP_API_RESPONSE: "simple", ROUTES: '[{"path":"/admin","roles":["admin"]}]' },
      "HTTP_API_RESPONSE: a simple response",
    ],
    ["a Worker-only setting", { ORIGIN_URL: "https://origin.example.com" }, "ORIGIN_URL (API Gateway's integration"],
    ["an origin that is not exact", { CORS_ALLOWED_ORIGINS: `${CORS_ORIGIN}/` }, "CORS_ALLOWED_ORIGINS"],
    [
      "two origins for the REST API's gateway responses",
      { CORS_ALLOWED_ORIGINS: `${CORS_ORIGIN},https://admin.example.com` },
      "CORS_ALLOWED_ORIGINS names 2 origins",
    ],
  ])("%s", (_, settings, message) => {
    expect(() => synth(settings)).toThrow(message);
  });
});

describe("CDK example: gateway responses", () => {
  it("answers 401 and 403 with Bearer challenges that point to the protected-resource metadata", () => {
    const template = synth({});
    const header = (type: string, name: string): string => {
      const [, response] = only(template, "AWS::ApiGateway::GatewayResponse", { ResponseType: type });
      const parameters = response.Properties.ResponseParameters as Record<string, unknown>;
      return deployed(template, parameters[`gatewayresponse.header.${name}`]);
    };
    template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      ResponseType: "UNAUTHORIZED",
      StatusCode: "401",
    });
    expect(header("UNAUTHORIZED", "WWW-Authenticate")).toBe(
      `'Bearer realm="${ENDPOINT}", resource_metadata="${METADATA_URL}"'`,
    );
    template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      ResponseType: "ACCESS_DENIED",
      StatusCode: "403",
    });
    expect(header("ACCESS_DENIED", "WWW-Authenticate")).toBe(
      `'Bearer realm="${ENDPOINT}", error="insufficient_scope", resource_metadata="${METADATA_URL}"'`,
    );
    for (const type of ["UNAUTHORIZED", "ACCESS_DENIED"]) expect(header(type, "Cache-Control")).toBe("'no-store'");
  });

  it.each([
    ["the first of ISSUERS", {}, "https://second.example.com"],
    ["AUTHGEAR_REALM", { AUTHGEAR_REALM: "https://realm.example" }, "https://realm.example"],
  ])("with ISSUERS instead of AUTHGEAR_ENDPOINT, the realm is %s", (_, settings, realm) => {
    const issuers = JSON.stringify([{ issuer: "https://second.example.com" }, { issuer: ENDPOINT }]);
    const template = synth({ AUTHGEAR_ENDPOINT: "", ISSUERS: issuers, ...settings });
    template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      ResponseType: "UNAUTHORIZED",
      ResponseParameters: Match.objectLike({
        "gatewayresponse.header.WWW-Authenticate": Match.objectLike({
          "Fn::Join": ["", Match.arrayWith([`'Bearer realm="${realm}", resource_metadata="https://`])],
        }),
      }),
    });
  });

  it("maps authorizer failures to 503 with Retry-After", () => {
    const template = synth({});
    for (const type of ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"]) {
      template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
        ResponseType: type,
        StatusCode: "503",
        ResponseParameters: {
          "gatewayresponse.header.Retry-After": "'5'",
          "gatewayresponse.header.Cache-Control": "'no-store'",
        },
      });
    }
  });

  it("the deployment depends on every gateway response and method, so the first deployment has them", () => {
    const template = synth({});
    const [, deployment] = only(template, "AWS::ApiGateway::Deployment");
    const needed = [
      ...Object.keys(template.findResources("AWS::ApiGateway::GatewayResponse")),
      ...Object.keys(template.findResources("AWS::ApiGateway::Method")),
    ];
    expect(needed).toHaveLength(4 + 3);
    expect(deployment.DependsOn).toEqual(expect.arrayContaining(needed));
  });
});

describe("CDK example: RFC 9728 protected-resource metadata", () => {
  it("serves GET /.well-known/oauth-protected-resource without authentication from a MOCK integration", () => {
    const template = synth({});
    const [wellKnownId] = only(template, "AWS::ApiGateway::Resource", { PathPart: ".well-known" });
    const [restApiId] = only(template, "AWS::ApiGateway::RestApi");
    template.hasResourceProperties("AWS::ApiGateway::Resource", {
      PathPart: ".well-known",
      ParentId: { "Fn::GetAtt": [restApiId, "RootResourceId"] },
    });
    const [leafId] = only(template, "AWS::ApiGateway::Resource", {
      PathPart: "oauth-protected-resource",
      ParentId: { Ref: wellKnownId },
    });
    const [, method] = only(template, "AWS::ApiGateway::Method", { ResourceId: { Ref: leafId } });
    expect(method.Properties).toMatchObject({ HttpMethod: "GET", AuthorizationType: "NONE" });
    expect(method.Properties).not.toHaveProperty("AuthorizerId");
    const integration = method.Properties.Integration as MockIntegration;
    expect(integration.Type).toBe("MOCK");
    expectMetadataMock(integration, (value) => deployed(template, value), API_URL, ENDPOINT);
  });
});

describe("CDK example: CORS (CORS_ALLOWED_ORIGINS)", () => {
  it("unset: no grant in the gateway responses, no HTTP API CORS, no OPTIONS methods", () => {
    const template = synth({});
    for (const [, response] of Object.entries(template.findResources("AWS::ApiGateway::GatewayResponse"))) {
      const names = Object.keys((response as Resource).Properties.ResponseParameters as object);
      expect(names.filter((name) => name.includes("Access-Control-"))).toEqual([]);
    }
    const [, api] = only(template, "AWS::ApiGatewayV2::Api");
    expect(api.Properties).not.toHaveProperty("CorsConfiguration");
    template.resourcePropertiesCountIs("AWS::ApiGateway::Method", { HttpMethod: "OPTIONS" }, 0);
  });

  it("set: the gateway responses grant the origin and expose the challenge; both APIs answer its preflights", () => {
    const template = synth({ CORS_ALLOWED_ORIGINS: CORS_ORIGIN });
    const responses = Object.values(template.findResources("AWS::ApiGateway::GatewayResponse")) as Resource[];
    expect(responses).toHaveLength(4);
    for (const response of responses) {
      expect(response.Properties.ResponseParameters).toMatchObject({
        "gatewayresponse.header.Access-Control-Allow-Origin": `'${CORS_ORIGIN}'`,
        "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
        "gatewayresponse.header.Access-Control-Expose-Headers": "'WWW-Authenticate, Retry-After'",
      });
    }
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      CorsConfiguration: httpApiCors(CORS_ORIGIN),
    });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "OPTIONS",
      AuthorizationType: "NONE",
      Integration: Match.objectLike({
        Type: "MOCK",
        IntegrationResponses: [
          Match.objectLike({
            ResponseParameters: Match.objectLike({
              "method.response.header.Access-Control-Allow-Origin": `'${CORS_ORIGIN}'`,
              "method.response.header.Access-Control-Allow-Credentials": "'true'",
            }),
          }),
        ],
      }),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "hello.handler",
      Environment: { Variables: { CORS_ALLOWED_ORIGINS: CORS_ORIGIN } },
    });
  });
});
