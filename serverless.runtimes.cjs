/**
 * A local Serverless plugin (serverless.yml `plugins: - ./serverless.runtimes.cjs`): adds the
 * Lambda runtimes Serverless 3.40's configuration schema predates (its list ends at nodejs20.x) to
 * that list, so `provider.runtime: nodejs22.x` validates. Every other rule of the schema still
 * applies, and serverless.yml sets `configValidationMode: error`, so a real mistake in the
 * configuration stops packaging instead of printing a warning beside this one.
 */
"use strict";

/** Lambda runtimes newer than Serverless 3.40's schema (AWS Lambda's "Supported runtimes"). */
const NEWER_RUNTIMES = ["nodejs22.x"];

/**
 * Called (with `new`) when Serverless loads its plugins, before it validates the configuration; no
 * hooks. A Serverless whose schema has no such list (another major) is left as it is.
 */
function newerRuntimes(serverless) {
  const runtimes = serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime;
  if (runtimes === undefined || !Array.isArray(runtimes.enum)) return;
  for (const runtime of NEWER_RUNTIMES) if (!runtimes.enum.includes(runtime)) runtimes.enum.push(runtime);
}

module.exports = newerRuntimes;
