/**
 * serverless.yml as CloudFormation: `serverless package` (no AWS call) into temporary directories,
 * once per setting whose template differs, and the resources checked as API Gateway will read them.
 * serverless-offline ignores `resources:` (gateway responses, the RFC 9728 MOCK method) and builds
 * its own authorizers from serverless.yml, so these are the only checks of what gets deployed.
 *
 * Serverless packages into `<service>/.serverless/` before copying to `--package`, and clears it
 * first, so two packagings of one directory break each other (and a developer's own
 * `npm run package:lambda`). Each packaging therefore gets a service directory of its own: a copy
 * of serverless.yml and package.json, with node_modules, dist and examples linked. They run in
 * parallel, each with the settings' environment cleared first (`serverlessEnv`), so serverless.yml's
 * defaults apply to everything not set here.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAssertionKey } from "../../dev/assertion-key.ts";
import { publicJwk } from "../../src/core/index.ts";
import { expectMetadataMock, httpApiCors, type MockIntegration } from "./deployment-expectations.ts";
import { PROJECT_ROOT, SERVERLESS, serverlessEnv } from "./offline-harness.ts";

const run = promisify(execFile);
const ENDPOINT = "https://example.authgear.cloud";
/** One packaging takes ~4 s alone; six at once on two cores beside other suites, many times that. */
const PACKAGE_MS = 120_000;

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly Condition?: string;
}
type Resources = Record<string, Resource>;

const ASSERTION_KEY = await newAssertionKey("sls-1");
const ASSERTION_JWKS = JSON.stringify({ keys: [publicJwk(ASSERTION_KEY)] });

/** The packagings: jwt with every default, each setting that turns the authorizer cache off, the signed assertion. */
const PACKAGINGS = {
  jwt: {},
  resolver: { AUTH_MODE: "resolver", HTTP_API_RESPONSE: "simple" },
  jwtCookie: { JWT_COOKIE_NAME: "access_token" },
  cacheOff: { AUTHORIZER_CACHE_SECONDS: "0" },
  cors: { CORS_ALLOWED_ORIGINS: "https://app.example.com" },
  assertion: {
    ASSERTION_KEY: JSON.stringify(ASSERTION_KEY),
    ASSERTION_ISSUER: "https://gate.example.com",
    ASSERTION_AUDIENCE: "https://backend.example.com",
    AUTHORIZER_CACHE_SECONDS: "30",
    ASSERTION_JWKS,
  },
} satisfies Record<string, Record<string, string>>;
type Packaging = keyof typeof PACKAGINGS;

const dirs: string[] = [];
/** Each packaging's output directory (`--package`). */
const outputs = {} as Record<Packaging, string>;
const templates = {} as Record<Packaging, Resources>;
const conditions = {} as Record<Packaging, Record<string, unknown>>;

/** The service's files: serverless.yml, its variable sources and local plugins. */
const SERVICE_FILES = [
  "serverless.yml",
  "serverless.cors.cjs",
  "serverless.settings.cjs",
  "serverless.runtimes.cjs",
  "serverless.deployment-order.cjs",
  "package.json",
];
/** What each packaging printed, by packaging. */
const logs = {} as Record<Packaging, string>;

/**
 * `serverless package` of serverless.yml (through `edit`, if given) in a service directory of its
 * own; returns the output directory and what Serverless printed.
 */
async function packageService(
  name: string,
  env: Record<string, string>,
  edit?: (serverlessYml: string) => string,
): Promise<{ output: string; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), `authgear-edge-sls-${name}-`));
  dirs.push(dir);
  const service = join(dir, "service");
  await mkdir(service);
  for (const file of SERVICE_FILES) await copyFile(join(PROJECT_ROOT, file), join(service, file));
  if (edit !== undefined) {
    const file = join(service, "serverless.yml");
    await writeFile(file, edit(await readFile(file, "utf8")));
  }
  for (const link of ["node_modules", "dist", "examples"]) await symlink(join(PROJECT_ROOT, link), join(service, link));
  const output = join(dir, "out");
  const { stdout, stderr } = await run(process.execPath, [SERVERLESS, "package", "--package", output], {
    cwd: service,
    env: serverlessEnv({ AUTHGEAR_ENDPOINT: ENDPOINT, ...env }),
    timeout: PACKAGE_MS,
  });
  return { output, log: stdout + stderr };
}

/** Why a packaging failed (what Serverless printed), or "packaged". */
function failure(outcome: PromiseSettledResult<unknown> | undefined): string {
  if (outcome?.status !== "rejected") return "packaged";
  const { stderr, stdout } = outcome.reason as { stderr?: unknown; stdout?: unknown };
  return String(stderr) + String(stdout);
}

beforeAll(async () => {
  // Settled, not Promise.all: on a failure, every packaging has finished before afterAll removes its directory.
  const settled = await Promise.allSettled(
    (Object.entries(PACKAGINGS) as Array<[Packaging, Record<string, string>]>).map(async ([name, env]) => {
      ({ output: outputs[name], log: logs[name] } = await packageService(name, env));
      const template = JSON.parse(
        await readFile(join(outputs[name], "cloudformation-template-update-stack.json"), "utf8"),
      ) as {
        Resources: Resources;
        Conditions?: Record<string, unknown>;
      };
      templates[name] = template.Resources;
      conditions[name] = template.Conditions ?? {};
    }),
  );
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
}, PACKAGE_MS + 10_000);

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function properties(packaging: Packaging, logicalId: string): Record<string, unknown> {
  const resource = templates[packaging][logicalId];
  if (resource === undefined) throw new Error(`${logicalId} is not in the ${packaging} template`);
  return resource.Properties;
}

function gatewayResponse(type: string, packaging: Packaging = "jwt"): Record<string, unknown> | undefined {
  return Object.values(templates[packaging]).find(
    (r) => r.Type === "AWS::ApiGateway::GatewayResponse" && r.Properties.ResponseType === type,
  )?.Properties;
}

/** What CloudFormation makes of an Fn::Sub string, for an API `abc123` in us-east-1; throws on any other reference. */
function substitute(value: unknown): string {
  const text = (value as { "Fn::Sub"?: unknown } | undefined)?.["Fn::Sub"];
  if (typeof text !== "string") throw new Error(`not an Fn::Sub string: ${JSON.stringify(value)}`);
  const known: Record<string, string> = {
    ApiGatewayRestApi: "abc123",
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
  };
  return text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const replacement = known[name];
    if (replacement === undefined) throw new Error(`unexpected reference \${${name}} in ${text}`);
    return replacement;
  });
}

const API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev";
const METADATA_URL = `${API_URL}/.well-known/oauth-protected-resource`;

describe("serverless package: the authorizer cache", () => {
  it("AUTH_MODE=jwt caches for 300 s on the Authorization header, and tells the authorizer so", () => {
    expect(properties("jwt", "AuthorizerApiGatewayAuthorizer")).toMatchObject({
      Type: "REQUEST",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(properties("jwt", "TokenAuthorizerApiGatewayAuthorizer")).toMatchObject({
      Type: "TOKEN",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(properties("jwt", "HttpApiAuthorizerAuthgearHttpApi")).toMatchObject({
      AuthorizerType: "REQUEST",
      AuthorizerPayloadFormatVersion: "2.0",
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerResultTtlInSeconds: 300,
    });
    for (const fn of ["AuthorizerLambdaFunction", "TokenAuthorizerLambdaFunction"]) {
      expect(properties("jwt", fn), fn).toMatchObject({
        Environment: { Variables: { AUTH_MODE: "jwt", AUTHORIZER_CACHE_SECONDS: "300" } },
      });
    }
  });

  it.each(["resolver", "jwtCookie", "cacheOff"] as const)(
    "%s: caching off, and no identity source, so every request reaches the authorizer",
    (packaging) => {
      const rest = properties(packaging, "AuthorizerApiGatewayAuthorizer");
      expect(rest).toMatchObject({ Type: "REQUEST", AuthorizerResultTtlInSeconds: 0 });
      // Left out of the template: API Gateway then sends every request, whatever it carries.
      expect(rest).not.toHaveProperty("IdentitySource");
      // Serverless 3 always writes the HTTP API authorizer's IdentitySource; empty is none.
      expect(properties(packaging, "HttpApiAuthorizerAuthgearHttpApi")).toMatchObject({
        AuthorizerResultTtlInSeconds: 0,
        IdentitySource: [],
      });
      // A TOKEN authorizer cannot do without its header; it is just not cached.
      expect(properties(packaging, "TokenAuthorizerApiGatewayAuthorizer")).toMatchObject({
        IdentitySource: "method.request.header.Authorization",
        AuthorizerResultTtlInSeconds: 0,
      });
      expect(properties(packaging, "AuthorizerLambdaFunction")).toMatchObject({
        Environment: { Variables: { AUTHORIZER_CACHE_SECONDS: "0" } },
      });
    },
  );

  it("enableSimpleResponses follows HTTP_API_RESPONSE (default iam)", () => {
    expect(properties("jwt", "AuthorizerLambdaFunction")).toMatchObject({
      Environment: { Variables: { HTTP_API_RESPONSE: "iam" } },
    });
    expect(properties("jwt", "HttpApiAuthorizerAuthgearHttpApi")).toMatchObject({ EnableSimpleResponses: false });
    expect(properties("resolver", "AuthorizerLambdaFunction")).toMatchObject({
      Environment: { Variables: { HTTP_API_RESPONSE: "simple" } },
    });
    expect(properties("resolver", "HttpApiAuthorizerAuthgearHttpApi")).toMatchObject({ EnableSimpleResponses: true });
  });
});

describe("serverless package: gateway responses", () => {
  it("maps authorizer failures to 503 with Retry-After", () => {
    for (const type of ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"]) {
      expect(gatewayResponse(type), type).toMatchObject({
        StatusCode: "503",
        ResponseParameters: { "gatewayresponse.header.Retry-After": "'5'" },
      });
    }
  });

  it("answers 401 and 403 with Bearer challenges that point to the protected-resource metadata", () => {
    const challenge = (type: string): string => {
      const response = gatewayResponse(type);
      const parameters = response?.ResponseParameters as Record<string, unknown> | undefined;
      return substitute(parameters?.["gatewayresponse.header.WWW-Authenticate"]);
    };
    expect(gatewayResponse("UNAUTHORIZED")).toMatchObject({ StatusCode: "401" });
    expect(challenge("UNAUTHORIZED")).toBe(`'Bearer realm="${ENDPOINT}", resource_metadata="${METADATA_URL}"'`);
    expect(gatewayResponse("ACCESS_DENIED")).toMatchObject({ StatusCode: "403" });
    expect(challenge("ACCESS_DENIED")).toBe(
      `'Bearer realm="${ENDPOINT}", error="insufficient_scope", resource_metadata="${METADATA_URL}"'`,
    );
  });
});

describe("serverless package: settings API Gateway or the authorizer would refuse stop packaging", () => {
  it(
    "a TTL above 3600 s (3600 packages), a cached cookie mode or REPORT_ONLY under a cache, each with the reason",
    { timeout: PACKAGE_MS + 10_000 },
    async () => {
      const [longest, tooLong, notANumber, cookies, reportOnly] = await Promise.allSettled([
        packageService("ttl-3600", { AUTHORIZER_CACHE_SECONDS: "3600" }),
        packageService("ttl-3601", { AUTHORIZER_CACHE_SECONDS: "3601" }),
        packageService("ttl-nan", { AUTHORIZER_CACHE_SECONDS: "5m" }),
        packageService("ttl-cookies", { AUTH_MODE: "hybrid", AUTHORIZER_CACHE_SECONDS: "60" }),
        packageService("ttl-report", { REPORT_ONLY: "true" }),
      ]);
      expect(failure(longest)).toBe("packaged");
      if (longest.status === "fulfilled") {
        const template = JSON.parse(
          await readFile(join(longest.value.output, "cloudformation-template-update-stack.json"), "utf8"),
        ) as { Resources: Resources };
        expect(template.Resources.AuthorizerApiGatewayAuthorizer?.Properties).toMatchObject({
          AuthorizerResultTtlInSeconds: 3600,
        });
      }
      expect(failure(tooLong)).toContain(
        'AUTHORIZER_CACHE_SECONDS="3601": must be a whole number of seconds from 0 to 3600',
      );
      expect(failure(notANumber)).toContain('AUTHORIZER_CACHE_SECONDS="5m": must be a whole number of seconds');
      expect(failure(cookies)).toContain("AUTHORIZER_CACHE_SECONDS=60: cookie credentials");
      // The default 300 s of AUTH_MODE=jwt meets REPORT_ONLY.
      expect(failure(reportOnly)).toContain(
        "AUTHORIZER_CACHE_SECONDS=300: REPORT_ONLY=true needs the authorizer cache off",
      );
    },
  );
});

describe("serverless package: configuration validation", () => {
  it("validates in error mode without a warning for nodejs22.x", () => {
    expect(logs.jwt).not.toMatch(/Invalid configuration|Warning/i);
  });

  it("still stops on a real mistake in serverless.yml", { timeout: PACKAGE_MS + 10_000 }, async () => {
    const [typo] = await Promise.allSettled([
      packageService("typo", {}, (yml) => yml.replace("memorySize: 256", "memorySize: lots")),
    ]);
    expect(failure(typo)).toMatch(/provider\.memorySize/);
  });
});

describe("serverless package: the REST API's deployment", () => {
  it.each(["jwt", "cors", "assertion"] as const)(
    "%s: depends on every gateway response and method of the API, a conditional one through a handle",
    (packaging) => {
      const resources = templates[packaging];
      const deployments = Object.entries(resources).filter(([, r]) => r.Type === "AWS::ApiGateway::Deployment");
      expect(deployments).toHaveLength(1);
      const [, deployment] = deployments[0]!;
      const dependsOn = (deployment as Resource & { DependsOn?: string[] }).DependsOn ?? [];
      const ordered = Object.entries(resources).filter(
        ([, r]) => r.Type === "AWS::ApiGateway::GatewayResponse" || r.Type === "AWS::ApiGateway::Method",
      );
      expect(ordered.filter(([, r]) => r.Type === "AWS::ApiGateway::GatewayResponse")).toHaveLength(4);
      expect(ordered.map(([id]) => id)).toContain("ProtectedResourceMetadataMethod");
      for (const [id, resource] of ordered) {
        if (resource.Condition === undefined) {
          expect(dependsOn, id).toContain(id);
          continue;
        }
        // CloudFormation refuses DependsOn a resource its condition leaves out; a handle refers to it when created.
        expect(dependsOn, id).not.toContain(id);
        const handles = dependsOn.filter((name) => {
          const handle = resources[name] as (Resource & { Metadata?: unknown }) | undefined;
          return (
            handle?.Type === "AWS::CloudFormation::WaitConditionHandle" &&
            deepEqual(handle.Metadata, { After: { "Fn::If": [resource.Condition, { Ref: id }, ""] } })
          );
        });
        expect(handles, id).toHaveLength(1);
      }
    },
  );
});

describe("serverless package: RFC 9728 protected-resource metadata", () => {
  it("serves GET /.well-known/oauth-protected-resource without authentication from a MOCK integration", () => {
    const resources = templates.jwt;
    const byRef = (value: unknown): [string, Resource] => {
      const id = (value as { Ref?: unknown }).Ref;
      const resource = typeof id === "string" ? resources[id] : undefined;
      if (resource === undefined) throw new Error(`no resource for ${JSON.stringify(value)}`);
      return [id as string, resource];
    };
    // The assertion's JWKS method is conditional (below): deployed only with ASSERTION_JWKS.
    const methods = Object.values(resources).filter(
      (r) =>
        r.Type === "AWS::ApiGateway::Method" &&
        (r.Properties.Integration as { Type?: string } | undefined)?.Type === "MOCK" &&
        r.Condition === undefined,
    );
    expect(methods).toHaveLength(1);
    const method = methods[0]!.Properties;
    expect(method).toMatchObject({
      HttpMethod: "GET",
      AuthorizationType: "NONE",
      RestApiId: { Ref: "ApiGatewayRestApi" },
    });
    expect(method).not.toHaveProperty("AuthorizerId");

    // /.well-known/oauth-protected-resource, right under the API's root.
    const [, leaf] = byRef(method.ResourceId);
    expect(leaf).toMatchObject({
      Type: "AWS::ApiGateway::Resource",
      Properties: { PathPart: "oauth-protected-resource" },
    });
    const [, parent] = byRef(leaf.Properties.ParentId);
    expect(parent).toMatchObject({
      Type: "AWS::ApiGateway::Resource",
      Properties: { PathPart: ".well-known", ParentId: { "Fn::GetAtt": ["ApiGatewayRestApi", "RootResourceId"] } },
    });

    // The MOCK answers 200 (its request template names the status) with the JSON document.
    const integration = method.Integration as MockIntegration;
    expect(integration.IntegrationResponses).toHaveLength(1);
    expectMetadataMock(integration, substitute, API_URL, ENDPOINT);
    expect(method.MethodResponses).toEqual([
      {
        StatusCode: "200",
        ResponseParameters: {
          "method.response.header.Content-Type": true,
          "method.response.header.Cache-Control": true,
        },
      },
    ]);
  });
});

describe("serverless package: the signed assertion (docs/assertion.md)", () => {
  it("passes the settings to the authorizer, and publishes ASSERTION_JWKS at /.well-known/authgear-edge/jwks.json", () => {
    for (const fn of ["AuthorizerLambdaFunction", "TokenAuthorizerLambdaFunction"]) {
      const {
        ASSERTION_KEY: key,
        ASSERTION_ISSUER: iss,
        AUTHORIZER_CACHE_SECONDS: ttl,
      } = (properties("assertion", fn) as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
      expect([JSON.parse(key ?? "{}"), iss, ttl]).toEqual([ASSERTION_KEY, "https://gate.example.com", "30"]);
    }
    const resources = templates.assertion;
    expect(conditions.assertion.AssertionJwksPublished).toEqual({
      "Fn::Not": [{ "Fn::Equals": [ASSERTION_JWKS, ""] }],
    });
    expect(conditions.jwt.AssertionJwksPublished).toEqual({ "Fn::Not": [{ "Fn::Equals": ["", ""] }] });
    const method = resources.AssertionJwksMethod;
    expect(method?.Condition).toBe("AssertionJwksPublished");
    expect(method?.Properties).toMatchObject({
      HttpMethod: "GET",
      AuthorizationType: "NONE",
      ResourceId: { Ref: "AssertionJwksResource" },
    });
    const integration = method?.Properties.Integration as {
      Type: string;
      IntegrationResponses: Array<{
        ResponseParameters: Record<string, string>;
        ResponseTemplates: Record<string, string>;
      }>;
    };
    expect(integration.Type).toBe("MOCK");
    const [response] = integration.IntegrationResponses;
    expect(JSON.parse(response?.ResponseTemplates["application/json"] ?? "")).toEqual({
      keys: [publicJwk(ASSERTION_KEY)],
    });
    expect(response?.ResponseParameters["method.response.header.Cache-Control"]).toBe("'public, max-age=300'");
    expect(resources.AssertionJwksResource?.Properties).toMatchObject({
      PathPart: "jwks.json",
      ParentId: { Ref: "AssertionJwksDirectory" },
    });
    expect(resources.AssertionJwksDirectory?.Properties).toMatchObject({
      PathPart: "authgear-edge",
      ParentId: { Ref: "ProtectedResourceMetadataWellKnown" },
    });
    for (const id of ["AssertionJwksDirectory", "AssertionJwksResource"])
      expect(resources[id]?.Condition).toBe("AssertionJwksPublished");
  });
});

describe("serverless package: the functions", () => {
  it("deploys the bundle on nodejs22.x with the configuration", () => {
    expect(properties("jwt", "AuthorizerLambdaFunction")).toMatchObject({
      Handler: "dist/lambda/authorizer.handler",
      Runtime: "nodejs22.x",
      Environment: { Variables: { AUTHGEAR_ENDPOINT: ENDPOINT } },
    });
  });

  it("packages only the bundle for the authorizers, and only its file for the WebSocket backend", async () => {
    for (const fn of ["authorizer", "tokenAuthorizer", "websocketAuthorizer"]) {
      expect(await zipEntries(join(outputs.jwt, `${fn}.zip`)), fn).toEqual(["dist/lambda/authorizer.mjs"]);
    }
    expect(await zipEntries(join(outputs.jwt, "websocket.zip"))).toEqual(["examples/websocket.mjs"]);
  });
});

/** The entry names of a zip, from its end-of-central-directory record and central directory. */
async function zipEntries(file: string): Promise<string[]> {
  const zip = await readFile(file);
  const end = zip.lastIndexOf("PK\x05\x06");
  const names: string[] = [];
  for (let entry = 0, at = zip.readUInt32LE(end + 16); entry < zip.readUInt16LE(end + 10); entry++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.subarray(at + 46, at + 46 + nameLength).toString("utf8"));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

/** The resources of one type in a packaging's template (of one API, when `apiId` is given), by logical id. */
function resourcesOfType(packaging: Packaging, type: string, apiId?: string): Array<[string, Record<string, unknown>]> {
  const ofType = Object.entries(templates[packaging]).filter(([, r]) => r.Type === type);
  const ofApi = apiId === undefined ? ofType : ofType.filter(([, r]) => deepEqual(r.Properties.ApiId, { Ref: apiId }));
  return ofApi.map(([id, r]) => [id, r.Properties]);
}

describe("serverless package: the WebSocket API", () => {
  it.each(Object.keys(PACKAGINGS) as Packaging[])(
    "%s: the authorizer runs on $connect alone, uncached, with an identity source every handshake carries",
    (packaging) => {
      const webSocketApi = ([, p]: [string, Record<string, unknown>]) => p.ProtocolType === "WEBSOCKET";
      const apis = resourcesOfType(packaging, "AWS::ApiGatewayV2::Api").filter(webSocketApi);
      expect(apis).toHaveLength(1);
      const [apiId] = apis[0]!;
      const authorizers = resourcesOfType(packaging, "AWS::ApiGatewayV2::Authorizer", apiId);
      expect(authorizers).toHaveLength(1);
      const [authorizerId, authorizer] = authorizers[0]!;
      // Sec-WebSocket-Key: RFC 6455 §4.1 requires it in every handshake, so API Gateway's identity-source check
      // (each source present, or a 401 without the authorizer) lets every $connect reach the authorizer.
      expect(authorizer).toEqual({
        ApiId: { Ref: apiId },
        Name: "websocketAuthorizer",
        AuthorizerType: "REQUEST",
        AuthorizerUri: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":apigateway:",
              { Ref: "AWS::Region" },
              ":lambda:path/2015-03-31/functions/",
              { "Fn::GetAtt": ["WebsocketAuthorizerLambdaFunction", "Arn"] },
              "/invocations",
            ],
          ],
        },
        IdentitySource: ["route.request.header.Sec-WebSocket-Key"],
      });
      const routes = resourcesOfType(packaging, "AWS::ApiGatewayV2::Route", apiId);
      const byKey = Object.fromEntries(routes.map(([, p]) => [p.RouteKey as string, p]));
      expect(Object.keys(byKey).sort()).toEqual(["$connect", "$default", "$disconnect"]);
      expect(byKey.$connect).toMatchObject({ AuthorizationType: "CUSTOM", AuthorizerId: { Ref: authorizerId } });
      for (const key of ["$default", "$disconnect"]) {
        expect(byKey[key], key).toMatchObject({ AuthorizationType: "NONE" });
      }
      // The authorizer knows its answers are not reused, whatever the REST and HTTP APIs' cache.
      expect(properties(packaging, "WebsocketAuthorizerLambdaFunction")).toMatchObject({
        Handler: "dist/lambda/authorizer.handler",
        Environment: {
          Variables: { AUTHORIZER_CACHE_SECONDS: "0", AUTHGEAR_ENDPOINT: ENDPOINT, WEBSOCKET_QUERY_TOKEN: "" },
        },
      });
    },
  );
});

function deepEqual(left: unknown, right: unknown): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * A value as CloudFormation deploys it, for the conditions of `packaging` (each an `Fn::Equals` of
 * two strings): `Fn::If` picks its branch, `AWS::NoValue` removes the member.
 */
function deployed(packaging: Packaging, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => deployed(packaging, item));
  if (typeof value !== "object" || value === null) return value;
  const branch = (value as { "Fn::If"?: [string, unknown, unknown] })["Fn::If"];
  if (branch !== undefined) {
    const [name, whenTrue, whenFalse] = branch;
    const condition = conditions[packaging][name] as { "Fn::Equals": [string, string] } | undefined;
    if (condition === undefined) throw new Error(`no condition ${name} in the ${packaging} template`);
    const [left, right] = condition["Fn::Equals"];
    return deployed(packaging, left === right ? whenTrue : whenFalse);
  }
  const members = Object.entries(value).map(([key, member]) => [key, deployed(packaging, member)] as const);
  return Object.fromEntries(
    members.filter(
      ([, member]) =>
        !(typeof member === "object" && member !== null && (member as { Ref?: unknown }).Ref === "AWS::NoValue"),
    ),
  );
}

const CORS_ORIGIN = "https://app.example.com";
const GATEWAY_RESPONSES = ["UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"];
const corsHeaders = (parameters: unknown): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(parameters as Record<string, unknown>).filter(([name]) => name.includes("Access-Control-")),
  );

describe("serverless package: CORS (CORS_ALLOWED_ORIGINS)", () => {
  it("unset: no CORS anywhere — no grant in the gateway responses, no HTTP API CORS, no OPTIONS methods", () => {
    for (const type of GATEWAY_RESPONSES) {
      const parameters = deployed("jwt", gatewayResponse(type)?.ResponseParameters);
      expect(corsHeaders(parameters), type).toEqual({});
      expect(parameters, type).toHaveProperty(["gatewayresponse.header.Cache-Control"], "'no-store'");
    }
    expect(properties("jwt", "HttpApi")).not.toHaveProperty("CorsConfiguration");
    expect(
      Object.values(templates.jwt).filter(
        (r) => r.Type === "AWS::ApiGateway::Method" && r.Properties.HttpMethod === "OPTIONS",
      ),
    ).toEqual([]);
    expect(properties("jwt", "HelloLambdaFunction")).toMatchObject({
      Environment: { Variables: { CORS_ALLOWED_ORIGINS: "" } },
    });
  });

  it("set: the REST gateway responses (401, 403, 503) grant the one allowed origin, and expose the challenge", () => {
    for (const type of GATEWAY_RESPONSES) {
      const parameters = deployed("cors", gatewayResponse(type, "cors")?.ResponseParameters);
      expect(corsHeaders(parameters), type).toEqual({
        "gatewayresponse.header.Access-Control-Allow-Origin": `'${CORS_ORIGIN}'`,
        "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
        "gatewayresponse.header.Access-Control-Expose-Headers": "'WWW-Authenticate, Retry-After'",
      });
    }
    // The challenge is still there beside the grant.
    expect(deployed("cors", gatewayResponse("UNAUTHORIZED", "cors")?.ResponseParameters)).toHaveProperty([
      "gatewayresponse.header.WWW-Authenticate",
    ]);
  });

  it("set: the HTTP API answers preflights for exactly the listed origin, with credentials, exposing the challenge", () => {
    expect(properties("cors", "HttpApi")).toMatchObject({
      CorsConfiguration: httpApiCors(CORS_ORIGIN),
    });
  });

  it("set: each REST route gets an unauthenticated OPTIONS method granting the listed origin, and the function its list", () => {
    const options = Object.values(templates.cors).filter(
      (r) => r.Type === "AWS::ApiGateway::Method" && r.Properties.HttpMethod === "OPTIONS",
    );
    expect(options).toHaveLength(4);
    for (const { Properties: method } of options) {
      expect(method).toMatchObject({ AuthorizationType: "NONE", Integration: { Type: "MOCK" } });
      const [response] = (
        method.Integration as { IntegrationResponses: Array<{ ResponseParameters: Record<string, string> }> }
      ).IntegrationResponses;
      expect(response?.ResponseParameters).toMatchObject({
        "method.response.header.Access-Control-Allow-Origin": `'${CORS_ORIGIN}'`,
        "method.response.header.Access-Control-Allow-Credentials": "'true'",
        "method.response.header.Access-Control-Allow-Headers": "'Authorization,Content-Type'",
      });
    }
    expect(properties("cors", "HelloLambdaFunction")).toMatchObject({
      Environment: { Variables: { CORS_ALLOWED_ORIGINS: CORS_ORIGIN } },
    });
  });

  it(
    "stops packaging with the reason for an origin that is not exact, and for several origins (a REST gateway response names one)",
    { timeout: PACKAGE_MS + 10_000 },
    async () => {
      const [bad, several] = await Promise.allSettled([
        packageService("cors-bad", { CORS_ALLOWED_ORIGINS: "https://app.example.com/, *" }),
        packageService("cors-several", { CORS_ALLOWED_ORIGINS: `${CORS_ORIGIN}, https://admin.example.com` }),
      ]);
      expect(failure(bad)).toContain(
        'CORS_ALLOWED_ORIGINS: "https://app.example.com/", "*": each comma-separated entry must be an exact origin',
      );
      expect(failure(several)).toContain(
        "CORS_ALLOWED_ORIGINS names 2 origins, but the REST API's gateway responses (its 401/403/503) can name only one",
      );
    },
  );
});
