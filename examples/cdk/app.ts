/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` in examples/cdk (after `npm run build`), with the
 * authorizer's settings taken from the shell's environment by their usual names, e.g.
 * `AUTHGEAR_ENDPOINT=https://myapp.authgear.cloud npx cdk deploy`. The account and region are the
 * CLI's (AWS_PROFILE, AWS_REGION, or `--profile`); any region works.
 */
import { App } from "aws-cdk-lib";
import { AuthgearEdgeStack } from "./authgear-edge-stack.ts";
import { DeploymentSettingsError } from "./settings.ts";

const app = new App();
try {
  new AuthgearEdgeStack(app, process.env.STACK_NAME ?? "AuthgearEdge", {
    settings: process.env,
    ...(process.env.STAGE !== undefined && { stageName: process.env.STAGE }),
  });
} catch (error) {
  if (!(error instanceof DeploymentSettingsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
