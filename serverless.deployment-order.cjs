/**
 * A local Serverless plugin (serverless.yml `plugins: - ./serverless.deployment-order.cjs`): makes
 * the REST API's deployment depend on every gateway response and method of that API, its own and
 * those of `resources:` (the RFC 9728 MOCK method, the assertion's JWKS method).
 *
 * A stage serves what its deployment snapshotted. Serverless 3 orders the deployment after the
 * methods it generates only, so on a new stack CloudFormation may create the deployment before
 * the gateway responses and the MOCK method, and the stage then lacks them until the next deploy
 * (serverless/serverless#6210). The deployment's logical id carries a timestamp
 * (`ApiGatewayDeployment<ms>`), so `resources.extensions` cannot name it: this hook adds the
 * DependsOn once the template is complete (`resources:` merged), before it is written.
 *
 * A resource with a `Condition` cannot be named in DependsOn (CloudFormation refuses a dependency
 * on a resource it does not create). For each one, a WaitConditionHandle, which creates nothing in
 * the account, refers to it only when its condition holds (`Fn::If`), and the deployment depends on
 * the handle: CloudFormation's documented way to a conditional dependency.
 */
"use strict";

const REST_API = "ApiGatewayRestApi";
const ORDERED_TYPES = new Set(["AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::Method"]);

class DeploymentOrder {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { "before:aws:package:finalize:saveServiceState": () => this.order() };
  }

  order() {
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    const deployments = Object.keys(resources).filter(
      (id) => resources[id].Type === "AWS::ApiGateway::Deployment" && refersTo(resources[id].Properties.RestApiId),
    );
    if (deployments.length === 0) return;
    const needed = [];
    for (const [id, resource] of Object.entries(resources)) {
      if (!ORDERED_TYPES.has(resource.Type) || !refersTo(resource.Properties && resource.Properties.RestApiId))
        continue;
      if (resource.Condition === undefined) {
        needed.push(id);
        continue;
      }
      const handle = `${id}DeploymentOrder`;
      resources[handle] = {
        Type: "AWS::CloudFormation::WaitConditionHandle",
        Metadata: { After: { "Fn::If": [resource.Condition, { Ref: id }, ""] } },
      };
      needed.push(handle);
    }
    for (const id of deployments) {
      const deployment = resources[id];
      const current = [].concat(deployment.DependsOn || []);
      deployment.DependsOn = [...new Set([...current, ...needed])].sort();
    }
  }
}

/** `{ Ref: "ApiGatewayRestApi" }`: the REST API Serverless generates. */
function refersTo(value) {
  return typeof value === "object" && value !== null && value.Ref === REST_API;
}

module.exports = DeploymentOrder;
