/**
 * The CloudFront example (examples/cdk/cloudfront-edge-stack.ts) as CloudFormation: synthesized offline with a
 * stand-in function bundle (no build, no Docker), and read as CloudFront and Lambda@Edge will read it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { Code } from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthgearCloudFrontStack } from "../../examples/cdk/cloudfront-edge-stack.ts";
import { DeploymentSettingsError } from "../../examples/cdk/settings.ts";

const ORIGIN_URL = "https://api.example.com";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authgear-edge/keys-AbC123";
/**
 * The managed policies' ids, as the CloudFront Developer Guide lists them ("Use managed cache policies",
 * "Use managed origin request policies"), written out here rather than taken from the CDK.
 */
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

let assets: string;

beforeAll(async () => {
  assets = await mkdtemp(join(tmpdir(), "authgear-edge-cdk-cloudfront-"));
  await writeFile(join(assets, "viewer-request.mjs"), "export const handler = async (event) => event;\n");
  // The first synthesis loads most of aws-cdk-lib: here, under a hook's timeout of its own, not a test's.
  synth({});
}, 120_000);

afterAll(async () => {
  await rm(assets, { recursive: true, force: true });
});

interface Synthesized {
  readonly stack: AuthgearCloudFrontStack;
  /** The distribution's stack. */
  readonly main: Template;
  /** The function's stack: `main` when the stack is in us-east-1. */
  readonly edge: Template;
  readonly edgeStack: Stack;
}

const synthesized = new Map<string, Synthesized>();

/** The stacks for `settings` (with ORIGIN_URL) in `region`, synthesized once per distinct input. */
function synth(settings: Record<string, string>, region = "eu-west-1"): Synthesized {
  const key = JSON.stringify([settings, region]);
  let result = synthesized.get(key);
  if (result === undefined) {
    const stack = new AuthgearCloudFrontStack(new App(), "AuthgearCloudFrontTest", {
      env: { account: "123456789012", region },
      settings: { ORIGIN_URL, ...settings },
      edgeCode: Code.fromAsset(assets),
    });
    const edgeStack = Stack.of(stack.edgeFunction.lambda);
    const main = Template.fromStack(stack);
    result = { stack, main, edge: edgeStack === stack ? main : Template.fromStack(edgeStack), edgeStack };
    synthesized.set(key, result);
  }
  return result;
}

type Resource = { Type: string; Properties: Record<string, unknown> };

function only(template: Template, type: string, properties?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, properties && { Properties: properties })) as Array<
    [string, Resource]
  >;
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

function distributionConfig(template: Template): Record<string, unknown> {
  const [, distribution] = only(template, "AWS::CloudFront::Distribution");
  return distribution.Properties.DistributionConfig as Record<string, unknown>;
}

function defaultBehavior(template: Template): Record<string, unknown> {
  return distributionConfig(template).DefaultCacheBehavior as Record<string, unknown>;
}

/** The one function, and the one version of it, in the function's stack. */
function edgeFunction(edge: Template): { functionId: string; fn: Resource; versionId: string } {
  const [functionId, fn] = only(edge, "AWS::Lambda::Function", { Handler: "viewer-request.handler" });
  const [versionId] = only(edge, "AWS::Lambda::Version", { FunctionName: { Ref: functionId } });
  return { functionId, fn, versionId };
}

describe("CDK CloudFront example: the viewer-request association", () => {
  it("in us-east-1: a numbered version of the function, on viewer-request, without the body", () => {
    const { main, edge, edgeStack, stack } = synth({}, "us-east-1");
    expect(edgeStack).toBe(stack);
    const { versionId } = edgeFunction(edge);
    expect(defaultBehavior(main).LambdaFunctionAssociations).toEqual([
      { EventType: "viewer-request", IncludeBody: false, LambdaFunctionARN: { Ref: versionId } },
    ]);
  });

  it("in another region: the version's ARN, published by the us-east-1 stack and read across regions", () => {
    const { main, edge } = synth({});
    const { versionId } = edgeFunction(edge);
    const [, parameter] = only(edge, "AWS::SSM::Parameter", { Value: { Ref: versionId } });
    const [readerId] = only(main, "Custom::CrossRegionStringParameterReader", {
      Region: "us-east-1",
      ParameterName: parameter.Properties.Name,
    });
    expect(defaultBehavior(main).LambdaFunctionAssociations).toEqual([
      {
        EventType: "viewer-request",
        IncludeBody: false,
        LambdaFunctionARN: { "Fn::GetAtt": [readerId, "FunctionArn"] },
      },
    ]);
  });
});

describe("CDK CloudFront example: the function", () => {
  it("lives in a us-east-1 stack the distribution's stack depends on, whatever the stack's region", () => {
    const { main, edgeStack, stack } = synth({});
    expect(stack.region).toBe("eu-west-1");
    expect(edgeStack).not.toBe(stack);
    expect(edgeStack.region).toBe("us-east-1");
    expect(edgeStack.stackName).toBe("AuthgearCloudFrontTest-EdgeFunction");
    expect(edgeStack.account).toBe("123456789012");
    expect(stack.dependencies).toContain(edgeStack);
    main.resourcePropertiesCountIs("AWS::Lambda::Function", { Handler: "viewer-request.handler" }, 0);
  });

  it("runs viewer-request.handler on nodejs22.x, 128 MB, 5 s, without environment variables", () => {
    const { fn } = edgeFunction(synth({}).edge);
    expect(fn.Properties).toMatchObject({
      Handler: "viewer-request.handler",
      Runtime: "nodejs22.x",
      MemorySize: 128,
      Timeout: 5,
    });
    expect(fn.Properties).not.toHaveProperty("Environment");
  });

  it("has a role Lambda@Edge may assume, with the basic execution policy and nothing else", () => {
    const { edge } = synth({});
    const { fn } = edgeFunction(edge);
    const roleId = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const role = (edge.findResources("AWS::IAM::Role") as Record<string, Resource>)[roleId]!;
    const trusted = (role.Properties.AssumeRolePolicyDocument as { Statement: Array<{ Principal: unknown }> })
      .Statement;
    expect(trusted.map((statement) => statement.Principal)).toEqual([
      { Service: "lambda.amazonaws.com" },
      { Service: "edgelambda.amazonaws.com" },
    ]);
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        "Fn::Join": [
          "",
          ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        ],
      },
    ]);
    expect(role.Properties).not.toHaveProperty("Policies");
    edge.resourceCountIs("AWS::IAM::Policy", 0);
  });

  it("with SECRET_ARN: reading exactly that secret, and no other action", () => {
    for (const region of ["eu-west-1", "us-east-1"]) {
      const { edge } = synth({ SECRET_ARN }, region);
      const { fn } = edgeFunction(edge);
      const roleId = (fn.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
      const [, policy] = only(edge, "AWS::IAM::Policy");
      expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
      expect(policy.Properties.PolicyDocument).toEqual({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: SECRET_ARN }],
      });
    }
  });

  it("reports its name and its log group, /aws/lambda/us-east-1.<name>, from its own stack", () => {
    const { edge, main } = synth({});
    const { functionId } = edgeFunction(edge);
    edge.hasOutput("EdgeFunctionName", { Value: { Ref: functionId } });
    edge.hasOutput("EdgeLogGroupName", {
      Value: { "Fn::Join": ["", ["/aws/lambda/us-east-1.", { Ref: functionId }]] },
    });
    const [distributionId] = only(main, "AWS::CloudFront::Distribution");
    main.hasOutput("DistributionUrl", {
      Value: { "Fn::Join": ["", ["https://", { "Fn::GetAtt": [distributionId, "DomainName"] }]] },
    });
  });
});

describe("CDK CloudFront example: the default behaviour", () => {
  it("caches nothing and sends the origin every viewer header but Host, by the managed policies", () => {
    const behavior = defaultBehavior(synth({}).main);
    expect(behavior.CachePolicyId).toBe(CACHING_DISABLED);
    expect(behavior.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
    // Legacy cache settings would take the place of both policies.
    expect(behavior).not.toHaveProperty("ForwardedValues");
  });

  it("redirects http to https and lets every method through to the function", () => {
    const behavior = defaultBehavior(synth({}).main);
    expect(behavior.ViewerProtocolPolicy).toBe("redirect-to-https");
    expect([...(behavior.AllowedMethods as string[])].sort()).toEqual(
      ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"].sort(),
    );
  });
});

describe("CDK CloudFront example: the origin, from ORIGIN_URL", () => {
  it.each([
    [
      "https, default port, no path",
      "https://api.example.com",
      { DomainName: "api.example.com", CustomOriginConfig: { OriginProtocolPolicy: "https-only", HTTPSPort: 443 } },
    ],
    [
      "https, a port, a path (its trailing slash removed), the host in lower case",
      "https://API.Example.com:8443/base/",
      {
        DomainName: "api.example.com",
        OriginPath: "/base",
        CustomOriginConfig: { OriginProtocolPolicy: "https-only", HTTPSPort: 8443 },
      },
    ],
    [
      "http, a port, a deeper path",
      "http://origin.example.com:8080/v1/api",
      {
        DomainName: "origin.example.com",
        OriginPath: "/v1/api",
        CustomOriginConfig: { OriginProtocolPolicy: "http-only", HTTPPort: 8080 },
      },
    ],
    [
      "http, default port",
      "http://origin.example.com",
      { DomainName: "origin.example.com", CustomOriginConfig: { OriginProtocolPolicy: "http-only", HTTPPort: 80 } },
    ],
  ])("%s", (_, url, expected) => {
    const { main } = synth({ ORIGIN_URL: url });
    const origins = distributionConfig(main).Origins as Array<Record<string, unknown>>;
    expect(origins).toHaveLength(1);
    const origin = origins[0]!;
    expect(origin).toMatchObject(expected);
    if (!("OriginPath" in expected)) expect(origin).not.toHaveProperty("OriginPath");
    const ports = Object.keys(origin.CustomOriginConfig as object).filter((key) => key.endsWith("Port"));
    expect(ports).toEqual(Object.keys(expected.CustomOriginConfig).filter((key) => key.endsWith("Port")));
    expect(defaultBehavior(main).TargetOriginId).toBe(origin.Id);
  });

  it("warns at synth that an http origin receives the identity headers in clear; not an https one", () => {
    Annotations.fromStack(synth({ ORIGIN_URL: "http://origin.example.com" }).stack).hasWarning(
      "*",
      Match.stringLikeRegexp("ORIGIN_URL is http: the identity headers"),
    );
    Annotations.fromStack(synth({}).stack).hasNoWarning("*", Match.stringLikeRegexp("ORIGIN_URL"));
  });
});

describe("CDK CloudFront example: settings CloudFront would refuse, or that cannot work, fail synth", () => {
  it.each([
    ["no ORIGIN_URL", { ORIGIN_URL: "" }, "ORIGIN_URL: is required"],
    ["a blank ORIGIN_URL", { ORIGIN_URL: "  " }, "ORIGIN_URL: is required"],
    ["not a URL", { ORIGIN_URL: "api.example.com" }, "ORIGIN_URL: is not an absolute URL"],
    ["another scheme", { ORIGIN_URL: "ftp://api.example.com" }, "ORIGIN_URL: must be an http or https URL"],
    ["credentials", { ORIGIN_URL: "https://user:pw@api.example.com" }, "ORIGIN_URL: must not contain credentials"],
    ["a query", { ORIGIN_URL: "https://api.example.com/base?x=1" }, "ORIGIN_URL: must not contain a query"],
    ["an empty query", { ORIGIN_URL: "https://api.example.com/?" }, "ORIGIN_URL: must not contain a query"],
    ["a fragment", { ORIGIN_URL: "https://api.example.com/#top" }, "ORIGIN_URL: must not contain a fragment"],
    ["an IPv4 address", { ORIGIN_URL: "https://203.0.113.7" }, 'ORIGIN_URL: "203.0.113.7" is not a public DNS name'],
    ["an IPv4 address, spelt in hex", { ORIGIN_URL: "http://0xcb.0.113.7" }, '"203.0.113.7" is not a public DNS'],
    ["an IPv6 address", { ORIGIN_URL: "https://[2001:db8::1]" }, 'ORIGIN_URL: "[2001:db8::1]" is not a public DNS'],
    ["an IPv4 address as one number", { ORIGIN_URL: "http://3405803783" }, '"203.0.113.7" is not a public DNS'],
    [
      "an IPv4-mapped IPv6 address",
      { ORIGIN_URL: "https://[::ffff:203.0.113.7]" },
      '"[::ffff:cb00:7107]" is not a public DNS',
    ],
    ["a name without a dot", { ORIGIN_URL: "http://localhost:8080" }, 'ORIGIN_URL: "localhost" is not a public DNS'],
    ["a port below 1024", { ORIGIN_URL: "https://api.example.com:1023" }, "ORIGIN_URL: port 1023: CloudFront"],
    ["port 81", { ORIGIN_URL: "http://api.example.com:81" }, "ORIGIN_URL: port 81"],
    ["a path ending in //", { ORIGIN_URL: "https://api.example.com/base//" }, "ORIGIN_URL: the path must not end"],
    [
      "a path longer than 255 characters",
      { ORIGIN_URL: `https://api.example.com/${"a".repeat(255)}` },
      "ORIGIN_URL: the path is 256 characters long",
    ],
    [
      "a partial secret ARN (without the 6 characters)",
      { SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authgear" },
      "SECRET_ARN: must be the full ARN",
    ],
    [
      "a secret name",
      { SECRET_ARN: "authgear-edge/keys-AbC123" },
      "SECRET_ARN: must be the full ARN of a Secrets Manager secret",
    ],
    [
      "a Parameter Store ARN",
      { SECRET_ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter/authgear-edge-AbC123" },
      "SECRET_ARN: must be the full ARN",
    ],
    [
      "a wildcard",
      { SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*-AbC123" },
      "SECRET_ARN: must be the full ARN",
    ],
  ])("%s", (_, settings, message) => {
    const build = (): Synthesized => synth(settings);
    expect(build).toThrow(DeploymentSettingsError);
    expect(build).toThrow(message);
  });

  it("names every bad setting in one message", () => {
    expect(() => synth({ ORIGIN_URL: "https://10.0.0.1", SECRET_ARN: "keys" })).toThrow(
      /ORIGIN_URL: "10\.0\.0\.1" is not a public DNS name.*; SECRET_ARN: must be the full ARN/,
    );
  });

  it.each([
    ["the aws partition", SECRET_ARN],
    ["GovCloud", "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:keys-AbC123"],
    ["China", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a/b_c+d=e.f@g-h-ZZZZZZ"],
  ])("takes a full secret ARN in %s", (_, arn) => {
    const { edge } = synth({ SECRET_ARN: arn });
    edge.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: { Statement: [Match.objectLike({ Resource: arn })] },
    });
  });
});
