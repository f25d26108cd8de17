/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` in examples/cdk, with the settings taken from the shell's
 * environment by their usual names. `STACK` picks the stack:
 * - `api-gateway` (the default): the Lambda authorizer on API Gateway (after `npm run build`), e.g.
 *   `AUTHGEAR_ENDPOINT=https://myapp.authgear.cloud npx cdk deploy`;
 * - `cloudfront`: the Lambda@Edge gate on a CloudFront distribution (after `npm run build:edge`), e.g.
 *   `STACK=cloudfront ORIGIN_URL=https://api.example.com npx cdk deploy --all`.
 * The account and region are the CLI's (AWS_PROFILE, AWS_REGION, or `--profile`); any region works.
 */
import { App } from "aws-cdk-lib";
import { AuthgearEdgeStack } from "./authgear-edge-stack.ts";
import { AuthgearCloudFrontStack } from "./cloudfront-edge-stack.ts";
import { DeploymentSettingsError } from "./settings.ts";

const app = new App();
const { env } = process;
try {
  const stack = env.STACK === undefined || env.STACK === "" ? "api-gateway" : env.STACK;
  switch (stack) {
    case "api-gateway":
      new AuthgearEdgeStack(app, env.STACK_NAME ?? "AuthgearEdge", {
        settings: env,
        ...(env.STAGE !== undefined && { stageName: env.STAGE }),
      });
      break;
    case "cloudfront":
      new AuthgearCloudFrontStack(app, env.STACK_NAME ?? "AuthgearCloudFront", {
        settings: env,
        // EdgeFunction needs the region known at synth time; without one (no CLI), us-east-1, Lambda@Edge's.
        env: {
          region: env.CDK_DEFAULT_REGION ?? "us-east-1",
          ...(env.CDK_DEFAULT_ACCOUNT !== undefined && { account: env.CDK_DEFAULT_ACCOUNT }),
        },
      });
      break;
    default:
      throw new DeploymentSettingsError(
        `STACK: ${JSON.stringify(stack)}: must be api-gateway (the default) or cloudfront`,
      );
  }
} catch (error) {
  if (!(error instanceof DeploymentSettingsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
