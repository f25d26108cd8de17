/**
 * The authgear-edge gate as a Lambda@Edge viewer-request function (dist/edge/viewer-request.mjs, built by
 * `npm run build:edge` with the gate's settings baked in) in front of any origin, on a CloudFront distribution:
 * - the function runs on every viewer request, before CloudFront's cache, and either answers (401, 403, a redirect
 *   to the login page, a preflight, the RFC 9728 document) or lets the request on with the identity headers set;
 * - the origin is `ORIGIN_URL`, the Worker's setting for the same thing;
 * - Lambda@Edge runs only functions that live in us-east-1: `EdgeFunction` puts this one there, in this stack when
 *   the stack is in us-east-1, else in a stack of its own, `<id>-EdgeFunction`, that this one depends on.
 */
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  experimental,
  type ICachePolicy,
  LambdaEdgeEventType,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { HttpOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Code, Runtime } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { existsSync } from "node:fs";
import { type CloudFrontOrigin, readCloudFrontSettings } from "./cloudfront-settings.ts";
import { DeploymentSettingsError, type SettingsInput } from "./settings.ts";

const REPO = new URL("../../", import.meta.url);
const EDGE_ENTRY = "viewer-request.mjs";

export interface AuthgearCloudFrontStackProps extends StackProps {
  /** The settings, by their environment names: `ORIGIN_URL` (required) and `SECRET_ARN`; checked when built. */
  readonly settings: SettingsInput;
  /** The folder that holds `viewer-request.mjs`. Default: dist/edge of this repository (`npm run build:edge`). */
  readonly edgeCode?: Code;
  /**
   * The default behaviour's cache policy. Default: `CachePolicy.CACHING_DISABLED`. The identity headers the function
   * sets are in no cache key, so a policy that caches must key on every credential (and still serves a cached answer
   * to whoever presents the same one): leave caching to paths that need no identity, on behaviours of their own.
   */
  readonly cachePolicy?: ICachePolicy;
}

export class AuthgearCloudFrontStack extends Stack {
  readonly distribution: Distribution;
  readonly edgeFunction: experimental.EdgeFunction;

  constructor(scope: Construct, id: string, props: AuthgearCloudFrontStackProps) {
    super(scope, id, props);
    const { origin, secretArn } = readCloudFrontSettings(props.settings);

    // Lambda@Edge takes no environment variables: the settings are in the bundle.
    this.edgeFunction = new experimental.EdgeFunction(this, "ViewerRequest", {
      // Its stack when this one is not in us-east-1.
      stackId: `${id}-EdgeFunction`,
      description: "authgear-edge Lambda@Edge viewer-request gate",
      runtime: Runtime.NODEJS_22_X,
      handler: "viewer-request.handler",
      code: props.edgeCode ?? defaultEdgeCode(),
      memorySize: 128,
      // Lambda@Edge's maximum for viewer events.
      timeout: Duration.seconds(5),
    });
    // The role has the basic execution policy (logs, in every region that runs the function) and, with SECRET_ARN,
    // reading that one secret: nothing else.
    if (secretArn !== undefined) {
      this.edgeFunction.addToRolePolicy(
        new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] }),
      );
    }

    if (origin.protocol === "http") {
      Annotations.of(this).addWarningV2(
        "authgear-edge:origin-http",
        "ORIGIN_URL is http: the identity headers (and the credentials FORWARD_AUTHORIZATION leaves) travel from CloudFront to the origin in clear",
      );
    }
    this.distribution = new Distribution(this, "Distribution", {
      comment: `${id}: authgear-edge in front of ${origin.domainName}`.slice(0, 128),
      defaultBehavior: {
        origin: httpOrigin(origin),
        // The gate's answers, and the identity behind them, go over https only: CloudFront redirects plain http.
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        // A gate in front of an API: every method reaches the function, which decides.
        allowedMethods: AllowedMethods.ALLOW_ALL,
        // The identity headers the function sets are in no cache key: a cached answer for one user would be served
        // to another.
        cachePolicy: props.cachePolicy ?? CachePolicy.CACHING_DISABLED,
        // CloudFront sends an origin only the headers a policy names, and the headers a viewer-request function sets
        // reach it only as the policy forwards them (CloudFront Developer Guide, "Choose the event to trigger the
        // function"). All viewer headers: the identity headers, and Authorization and cookies when the function leaves
        // them (FORWARD_AUTHORIZATION). Not Host: the origin sees its own name (TLS, virtual hosts).
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        edgeLambdas: [
          {
            functionVersion: this.edgeFunction.currentVersion,
            eventType: LambdaEdgeEventType.VIEWER_REQUEST,
            // The gate never reads a body.
            includeBody: false,
          },
        ],
      },
    });

    new CfnOutput(this, "DistributionUrl", { value: `https://${this.distribution.distributionDomainName}` });
    new CfnOutput(this, "DistributionId", { value: this.distribution.distributionId });
    // In the function's own stack (us-east-1): a reference across regions is not a CloudFormation output.
    const functionStack = Stack.of(this.edgeFunction.lambda);
    const functionName = this.edgeFunction.lambda.functionName;
    new CfnOutput(functionStack, "EdgeFunctionName", { value: functionName });
    new CfnOutput(functionStack, "EdgeLogGroupName", {
      description: "The function's log group, in the region of each edge location that ran it",
      value: `/aws/lambda/us-east-1.${functionName}`,
    });
  }
}

/** The folder that `npm run build:edge` writes, with only the function's entry in the package. */
function defaultEdgeCode(): Code {
  const folder = new URL("dist/edge/", REPO);
  if (!existsSync(new URL(EDGE_ENTRY, folder))) {
    throw new DeploymentSettingsError(
      `dist/edge/${EDGE_ENTRY} is missing: run \`npm run build:edge\` first, with the gate's settings in the environment`,
    );
  }
  return Code.fromAsset(folder.pathname, { exclude: ["**", `!${EDGE_ENTRY}`] });
}

function httpOrigin(origin: CloudFrontOrigin): HttpOrigin {
  const https = origin.protocol === "https";
  return new HttpOrigin(origin.domainName, {
    protocolPolicy: https ? OriginProtocolPolicy.HTTPS_ONLY : OriginProtocolPolicy.HTTP_ONLY,
    ...(https ? { httpsPort: origin.port } : { httpPort: origin.port }),
    ...(origin.originPath !== undefined && { originPath: origin.originPath }),
  });
}
