/**
 * `SECRET_ARN` and `SECRET_SETTINGS`, the build-time settings that name the edge function's secret: each
 * bad value, a bad combination, and a secret setting also baked in are refused with the keys named and no
 * value quoted.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { EDGE_SETTINGS } from "../../src/aws-edge/config.ts";
import { createSecretSettings, SECRET_SOURCE_SETTINGS, withLoadedSecrets } from "../../src/aws-edge/secret-settings.ts";
import { ConfigError, defineSettings, extendSettings } from "../../src/core/settings.ts";
import { thrownBy } from "../helpers.ts";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge-AbC123";
const ORIGIN_SECRET = "k7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e-baked-origin-secret";

/** The secret settings as a packaging reads them too (the edge's settings do), so a baked copy is seen. */
const BAKED = defineSettings(
  {
    ORIGIN_SECRET: v.optional(v.string()),
    ASSERTION_KEY: v.optional(v.string()),
    ASSERTION_SECOND_KEY: v.optional(v.string()),
  },
  () => ({}),
);
const EDGE_LIKE = extendSettings(BAKED, SECRET_SOURCE_SETTINGS);

function refused(
  env: Readonly<Record<string, unknown>>,
  settings: { parse(env: Readonly<Record<string, unknown>>): unknown } = SECRET_SOURCE_SETTINGS,
): ConfigError {
  return thrownBy(ConfigError, () => settings.parse(env));
}

describe("SECRET_SOURCE_SETTINGS", () => {
  it("fetches nothing when both are unset (or blank)", () => {
    expect(SECRET_SOURCE_SETTINGS.parse({})).toEqual({ secretSource: undefined });
    expect(SECRET_SOURCE_SETTINGS.parse({ SECRET_ARN: " ", SECRET_SETTINGS: "" })).toEqual({ secretSource: undefined });
  });

  it("reads the ARN's region and endpoint, and the names in the order given", () => {
    const config = SECRET_SOURCE_SETTINGS.parse({
      SECRET_ARN: ` ${ARN} `,
      SECRET_SETTINGS: "ASSERTION_KEY, ORIGIN_SECRET,ASSERTION_SECOND_KEY",
    });
    expect(config.secretSource).toEqual({
      arn: { arn: ARN, region: "us-east-1", endpoint: "https://secretsmanager.us-east-1.amazonaws.com" },
      names: ["ASSERTION_KEY", "ORIGIN_SECRET", "ASSERTION_SECOND_KEY"],
    });
  });

  it.each([
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge",
    "arn:aws:ssm:us-east-1:123456789012:parameter/authgear-edge",
    "authgear-edge",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:authgear-edge-AbC123,extra",
  ])("refuses SECRET_ARN %j, naming the form it must take", (arn) => {
    const error = refused({ SECRET_ARN: arn, SECRET_SETTINGS: "ORIGIN_SECRET" });
    expect(error.keys).toEqual(["SECRET_ARN"]);
    expect(error.message).toContain("full ARN");
  });

  it.each([
    ["a name that is no secret setting", "ORIGIN_SECRET,AUTHGEAR_ENDPOINT"],
    ["a name twice", "ORIGIN_SECRET,ORIGIN_SECRET"],
    ["a name in the wrong case", "origin_secret"],
    ["no name at all", " , "],
  ])("refuses SECRET_SETTINGS with %s", (_, names) => {
    const error = refused({ SECRET_ARN: ARN, SECRET_SETTINGS: names });
    expect(error.keys).toEqual(["SECRET_SETTINGS"]);
    expect(error.message).toContain("ORIGIN_SECRET, ASSERTION_KEY, ASSERTION_SECOND_KEY");
  });

  it("requires SECRET_SETTINGS with SECRET_ARN, and refuses it without", () => {
    expect(refused({ SECRET_ARN: ARN }).message).toContain("SECRET_SETTINGS: is required with SECRET_ARN");
    expect(refused({ SECRET_SETTINGS: "ORIGIN_SECRET" }).message).toContain("SECRET_ARN is not set");
  });

  it("refuses a secret setting that is also baked in, naming it and never its value", () => {
    const error = refused(
      { SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET,ASSERTION_KEY", ORIGIN_SECRET, ASSERTION_SECOND_KEY: "{}" },
      EDGE_LIKE,
    );
    expect(error.keys).toEqual(["ORIGIN_SECRET"]);
    expect(error.message).toContain("do not also bake it in");
    expect(error.message).not.toContain(ORIGIN_SECRET.slice(0, 10));
  });

  it("names a baked copy beside a bad value", () => {
    const error = refused({ SECRET_ARN: "nope", SECRET_SETTINGS: "ASSERTION_KEY", ASSERTION_KEY: "{}" }, EDGE_LIKE);
    expect(error.keys).toEqual(["ASSERTION_KEY", "SECRET_ARN"]);
  });

  it("lets the other secret settings be baked in", () => {
    const env = { SECRET_ARN: ARN, SECRET_SETTINGS: "ASSERTION_KEY", ORIGIN_SECRET };
    expect(EDGE_LIKE.parse(env).secretSource?.names).toEqual(["ASSERTION_KEY"]);
  });
});

describe("withLoadedSecrets", () => {
  it("gives the baked settings without the secret's name, and the secret's settings", () => {
    const baked = { AUTHGEAR_ENDPOINT: "https://auth.example.com", SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET" };
    const merged = withLoadedSecrets(baked, { ORIGIN_SECRET });
    expect(merged).toEqual({ AUTHGEAR_ENDPOINT: "https://auth.example.com", ORIGIN_SECRET });
    // What the edge parses then: no baked copy to refuse, the secret's value in place.
    expect(EDGE_LIKE.parse(merged)).toEqual({ secretSource: undefined });
  });
});

describe("with the edge's own settings", () => {
  const EDGE_WITH_SECRETS = extendSettings(EDGE_SETTINGS, SECRET_SOURCE_SETTINGS);
  const BASE = { AUTHGEAR_ENDPOINT: "https://auth.example.com" };

  it("refuses ORIGIN_SECRET baked in and named by SECRET_SETTINGS", () => {
    const env = { ...BASE, SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET", ORIGIN_SECRET };
    expect(thrownBy(ConfigError, () => EDGE_WITH_SECRETS.parse(env)).keys).toEqual(["ORIGIN_SECRET"]);
  });

  it("takes the loaded ORIGIN_SECRET as if it were baked in", () => {
    const baked = { ...BASE, SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET" };
    expect(EDGE_WITH_SECRETS.parse(baked).originSecret).toBeUndefined();
    const config = EDGE_WITH_SECRETS.parse(withLoadedSecrets(baked, { ORIGIN_SECRET }));
    expect(config.originSecret?.value).toBe(ORIGIN_SECRET);
  });

  it("hands createSecretSettings what it read", async () => {
    const source = EDGE_WITH_SECRETS.parse({ ...BASE, SECRET_ARN: ARN, SECRET_SETTINGS: "ORIGIN_SECRET" }).secretSource;
    expect(source).toBeDefined();
    const settings = createSecretSettings(source!.arn, source!.names, {
      endpoint: "http://127.0.0.1:9",
      credentials: () => undefined,
    });
    await expect(settings.load()).rejects.toMatchObject({ code: "ERR_SECRETS_UNAVAILABLE" });
  });
});
