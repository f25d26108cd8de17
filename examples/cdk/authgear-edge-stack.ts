/**
 * The authgear-edge Lambda authorizer (dist/lambda/authorizer.mjs, built by `npm run build`) in
 * front of an example function, on a REST API and on an HTTP API, with serverless.yml's choices:
 * - one result TTL (`AUTHORIZER_CACHE_SECONDS`) for API Gateway and the authorizer, so that the
 *   authorizer compiles each answer to stay right for as long as API Gateway reuses it;
 * - cached (TTL > 0, only `AUTH_MODE=jwt` without `JWT_COOKIE_NAME`): the Authorization header is
 *   the identity source, so API Gateway answers 401 itself to a request without one; uncached (0):
 *   no identity source, so every request reaches the authorizer, cookies or no credentials at all;
 * - the REST API's gateway responses: 401 and 403 with the Bearer challenge that points to the RFC
 *   9728 metadata, the authorizer's failures (thrown "Service Unavailable") as 503 with Retry-After,
 *   all `no-store`, each with the CORS grant when `CORS_ALLOWED_ORIGINS` is set;
 * - GET /.well-known/oauth-protected-resource (RFC 9728) on the REST API, answered by a MOCK;
 * - the HTTP API authorizer on payload 2.0, its simple responses following `HTTP_API_RESPONSE`.
 * The CDK makes the REST API's deployment depend on every method and gateway response it knows.
 */
import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import {
  AuthorizationType,
  type CfnAuthorizer,
  type CorsOptions,
  IdentitySource,
  LambdaIntegration,
  MockIntegration,
  RequestAuthorizer,
  ResponseType,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import {
  AuthorizerPayloadVersion,
  CorsHttpMethod,
  HttpApi,
  HttpAuthorizer,
  HttpAuthorizerType,
  HttpMethod,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { DeploymentSettingsError, readDeploymentSettings, type SettingsInput } from "./settings.ts";

const REPO = new URL("../../", import.meta.url);

export interface AuthgearEdgeStackProps extends StackProps {
  /** The settings, by their environment names (docs/configuration.md); checked when the stack is built. */
  readonly settings: SettingsInput;
  /** The folder that holds `authorizer.mjs`. Default: dist/lambda of this repository (`npm run build`). */
  readonly authorizerCode?: Code;
  /** The folder that holds the example backend `hello.mjs`. Default: examples/hello.mjs of this repository. */
  readonly backendCode?: Code;
  /** The REST API's stage. Default: `dev`, as serverless.yml's. */
  readonly stageName?: string;
}

/** Request headers a browser page may send, exposed response headers, and preflight reuse (s), as serverless.yml's. */
const CORS_REQUEST_HEADERS = ["Authorization", "Content-Type"];
const CORS_EXPOSED_HEADERS = ["WWW-Authenticate", "Retry-After"];
const CORS_MAX_AGE_SECONDS = 600;

export class AuthgearEdgeStack extends Stack {
  readonly restApi: RestApi;
  readonly httpApi: HttpApi;
  readonly authorizer: LambdaFunction;

  constructor(scope: Construct, id: string, props: AuthgearEdgeStackProps) {
    super(scope, id, props);
    const settings = readDeploymentSettings(props.settings);
    const { cacheSeconds, realm, corsOrigins } = settings;
    const stageName = props.stageName ?? "dev";
    const cors = corsOrigins.length > 0;

    this.authorizer = new LambdaFunction(this, "Authorizer", {
      description: "authgear-edge Lambda authorizer (REQUEST and HTTP API)",
      runtime: Runtime.NODEJS_22_X,
      handler: "authorizer.handler",
      code: props.authorizerCode ?? Code.fromAsset(new URL("dist/lambda", REPO).pathname),
      memorySize: 256,
      // A cold key set costs two fetches (discovery, JWKS) of at most 5 s each.
      timeout: Duration.seconds(15),
      environment: { ...settings.environment },
      logGroup: new LogGroup(this, "AuthorizerLogs", { retention: RetentionDays.TWO_WEEKS }),
    });
    const backend = new LambdaFunction(this, "Hello", {
      description: "authgear-edge example protected function (echoes requestContext.authorizer)",
      runtime: Runtime.NODEJS_22_X,
      handler: "hello.handler",
      code: props.backendCode ?? Code.fromAsset(new URL("examples", REPO).pathname, { exclude: ["**", "!hello.mjs"] }),
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: { CORS_ALLOWED_ORIGINS: corsOrigins.join(",") },
      logGroup: new LogGroup(this, "HelloLogs", { retention: RetentionDays.TWO_WEEKS }),
    });

    // REST API: one REQUEST authorizer for every route.
    this.restApi = new RestApi(this, "RestApi", {
      restApiName: `${id}-rest`,
      deployOptions: { stageName },
      // No account-wide API Gateway logging role (an AWS::ApiGateway::Account), as with Serverless.
      cloudWatchRole: false,
    });
    const requestAuthorizer = new RequestAuthorizer(this, "RestAuthorizer", {
      handler: this.authorizer,
      resultsCacheTtl: Duration.seconds(cacheSeconds),
      identitySources: cacheSeconds > 0 ? [IdentitySource.header("Authorization")] : [],
    });
    if (cacheSeconds === 0) {
      // The CDK writes "" for none; leave it out, as Serverless does: no request is turned away unseen.
      (requestAuthorizer.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride("IdentitySource");
    }
    const restCors: CorsOptions | undefined = cors
      ? {
          allowOrigins: [...corsOrigins],
          allowHeaders: CORS_REQUEST_HEADERS,
          allowCredentials: true,
          maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
        }
      : undefined;
    const hello = this.restApi.root.addResource("hello", restCors && { defaultCorsPreflightOptions: restCors });
    hello.addMethod("GET", new LambdaIntegration(backend), {
      authorizer: requestAuthorizer,
      authorizationType: AuthorizationType.CUSTOM,
    });
    hello.addResource("{proxy+}").addMethod("GET", new LambdaIntegration(backend), {
      authorizer: requestAuthorizer,
      authorizationType: AuthorizationType.CUSTOM,
    });

    const restUrl = `https://${this.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${stageName}`;
    const metadataUrl = `${restUrl}/.well-known/oauth-protected-resource`;
    this.addGatewayResponses(realm, metadataUrl, corsOrigins);
    this.addProtectedResourceMetadata(restUrl, realm);

    // HTTP API: payload 2.0 whatever the answer's format (the CDK's HttpLambdaAuthorizer uses 1.0 for IAM answers).
    this.httpApi = new HttpApi(this, "HttpApi", {
      apiName: `${id}-http`,
      ...(cors && {
        corsPreflight: {
          allowOrigins: [...corsOrigins],
          allowHeaders: CORS_REQUEST_HEADERS,
          allowMethods: [CorsHttpMethod.ANY],
          allowCredentials: true,
          exposeHeaders: CORS_EXPOSED_HEADERS,
          maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
        },
      }),
    });
    const httpAuthorizer = new HttpAuthorizer(this, "HttpApiAuthorizer", {
      httpApi: this.httpApi,
      type: HttpAuthorizerType.LAMBDA,
      authorizerName: "authgearHttpApi",
      authorizerUri: `arn:${this.partition}:apigateway:${this.region}:lambda:path/2015-03-31/functions/${this.authorizer.functionArn}/invocations`,
      payloadFormatVersion: AuthorizerPayloadVersion.VERSION_2_0,
      enableSimpleResponses: settings.config.httpApiResponse === "simple",
      identitySource: cacheSeconds > 0 ? ["$request.header.Authorization"] : [],
      resultsCacheTtl: Duration.seconds(cacheSeconds),
    });
    this.authorizer.addPermission("HttpApiAuthorizerInvoke", {
      principal: new ServicePrincipal("apigateway.amazonaws.com"),
      sourceArn: this.formatArn({
        service: "execute-api",
        resource: this.httpApi.apiId,
        resourceName: `authorizers/${httpAuthorizer.authorizerId}`,
      }),
    });
    this.httpApi.addRoutes({
      path: "/api/hello",
      methods: [HttpMethod.GET],
      integration: new HttpLambdaIntegration("HelloHttp", backend),
      authorizer: HttpAuthorizer.fromHttpAuthorizerAttributes(this, "HttpApiAuthorizerRef", {
        authorizerId: httpAuthorizer.authorizerId,
        authorizerType: "CUSTOM",
      }),
    });

    new CfnOutput(this, "RestApiUrl", { value: restUrl });
    new CfnOutput(this, "HttpApiUrl", { value: this.httpApi.apiEndpoint });
  }

  /**
   * API Gateway's refusals with the Worker's statuses and headers (REST APIs only; an HTTP API has
   * no gateway responses). A header is one static value, so the CORS grant names one origin.
   */
  private addGatewayResponses(realm: string, metadataUrl: string, corsOrigins: readonly string[]): void {
    if (corsOrigins.length > 1) {
      throw new DeploymentSettingsError(
        `CORS_ALLOWED_ORIGINS names ${corsOrigins.length} origins, but the REST API's gateway responses (its 401/403/503) can name only one: list one origin`,
      );
    }
    const grant: Record<string, string> =
      corsOrigins[0] === undefined
        ? {}
        : {
            "Access-Control-Allow-Origin": `'${corsOrigins[0]}'`,
            "Access-Control-Allow-Credentials": "'true'",
            "Access-Control-Expose-Headers": `'${CORS_EXPOSED_HEADERS.join(", ")}'`,
          };
    const challenge = (error: string): string =>
      `'Bearer realm="${realm}", ${error}resource_metadata="${metadataUrl}"'`;
    this.restApi.addGatewayResponse("Unauthorized", {
      type: ResponseType.UNAUTHORIZED,
      statusCode: "401",
      responseHeaders: { ...grant, "WWW-Authenticate": challenge(""), "Cache-Control": "'no-store'" },
      templates: {
        "application/json": '{"error":"unauthorized","error_description":$context.error.messageString}',
      },
    });
    this.restApi.addGatewayResponse("AccessDenied", {
      type: ResponseType.ACCESS_DENIED,
      statusCode: "403",
      responseHeaders: {
        ...grant,
        "WWW-Authenticate": challenge('error="insufficient_scope", '),
        "Cache-Control": "'no-store'",
      },
      templates: {
        "application/json": '{"error":"insufficient_scope","error_description":$context.error.messageString}',
      },
    });
    // The authorizer throws for an unreachable key set or resolver and for an invalid configuration: never an Allow.
    for (const [name, type] of [
      ["AuthorizerFailure", ResponseType.AUTHORIZER_FAILURE],
      ["AuthorizerConfigurationError", ResponseType.AUTHORIZER_CONFIGURATION_ERROR],
    ] as const) {
      this.restApi.addGatewayResponse(name, {
        type,
        statusCode: "503",
        responseHeaders: { ...grant, "Retry-After": "'5'", "Cache-Control": "'no-store'" },
        templates: {
          "application/json":
            '{"error":"temporarily_unavailable","error_description":"Authentication is temporarily unavailable."}',
        },
      });
    }
  }

  /**
   * RFC 9728 protected-resource metadata at {REST API URL}/.well-known/oauth-protected-resource,
   * unauthenticated, from a MOCK integration (no Lambda runs). Add `scopes_supported` by hand if
   * clients should see the scopes ROUTES asks for.
   */
  private addProtectedResourceMetadata(restUrl: string, realm: string): void {
    const document = JSON.stringify({
      resource: restUrl,
      authorization_servers: [realm],
      bearer_methods_supported: ["header"],
    });
    this.restApi.root
      .addResource(".well-known")
      .addResource("oauth-protected-resource")
      .addMethod(
        "GET",
        new MockIntegration({
          requestTemplates: { "application/json": '{"statusCode": 200}' },
          integrationResponses: [
            {
              statusCode: "200",
              responseParameters: {
                "method.response.header.Content-Type": "'application/json; charset=utf-8'",
                "method.response.header.Cache-Control": "'public, max-age=3600'",
              },
              responseTemplates: { "application/json": document },
            },
          ],
        }),
        {
          authorizationType: AuthorizationType.NONE,
          methodResponses: [
            {
              statusCode: "200",
              responseParameters: {
                "method.response.header.Content-Type": true,
                "method.response.header.Cache-Control": true,
              },
            },
          ],
        },
      );
  }
}
