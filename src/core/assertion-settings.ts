/**
 * The settings of the signed identity assertion (docs/assertion.md), read by both packagings: the
 * Worker sends it in a header and publishes its keys (`ASSERTION_HEADER`, `ASSERTION_SECOND_KEY`:
 * its own settings), the authorizer puts it in its context. The Hono middleware has no origin to
 * vouch to and reads none of them.
 */
import * as v from "valibot";
import {
  parseAssertionJwk,
  type PrivateAssertionJwk,
  type PublicAssertionJwk,
  type SecretBinding,
  type SigningKeySource,
} from "./assertion-keys.ts";
import { secondsSetting } from "./setting-schemas.ts";
import { defineSettings } from "./settings.ts";
import { urlSetting } from "./url-setting.ts";

/** Default `ASSERTION_LIFETIME_SECONDS`: what Cloudflare Access and Pomerium hand an origin lives about as long. */
export const DEFAULT_ASSERTION_LIFETIME_SECONDS = 60;
export const MIN_ASSERTION_LIFETIME_SECONDS = 10;

/** What `createAssertionSigner` and the JWKS are built from. */
export interface AssertionSettings {
  readonly key: SigningKeySource;
  /** The assertion's `iss`. */
  readonly issuer: string;
  /** The assertion's `aud`: the origin. */
  readonly audience: string;
  /** The longest an assertion lives, seconds (never past the access token's `exp`). */
  readonly lifetimeSeconds: number;
}

function isSecretBinding(value: unknown): value is SecretBinding {
  return typeof value === "object" && value !== null && typeof (value as { get?: unknown }).get === "function";
}

/** A JWK setting, or (`ASSERTION_KEY` on a Worker) a Secrets Store binding; `T` is what it reads to. */
function jwkSetting<T>(needPrivate: boolean, bindingAllowed: boolean) {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }): T => {
      const { value } = dataset;
      if (bindingAllowed && isSecretBinding(value)) return value as T;
      if (typeof value !== "string") {
        addIssue({ message: "must be a JWK as JSON text" });
        return NEVER;
      }
      const parsed = parseAssertionJwk(value, needPrivate);
      if ("problem" in parsed) {
        addIssue({ message: parsed.problem });
        return NEVER;
      }
      return parsed.jwk as T;
    }),
  );
}

const ISSUER_URL = /* @__PURE__ */ urlSetting({ http: "loopback", form: "url" });

/** An https URL (http on loopback), kept exactly as spelt: it is the `iss` the origin compares exactly. */
function issuerSetting() {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const result = v.safeParse(ISSUER_URL, dataset.value);
      if (result.success) return dataset.value;
      addIssue({ message: result.issues[0].message });
      return NEVER;
    }),
  );
}

/** The problem of an `ASSERTION_*` setting without `ASSERTION_KEY`. */
export const WITHOUT_KEY =
  "configures the signed identity assertion, and ASSERTION_KEY is not set: set it too, or unset this";

/** `ASSERTION_KEY`'s entry, which a packaging may read again (the same object) for a check of its own. */
export const ASSERTION_KEY_SETTING = /* @__PURE__ */ v.optional(
  jwkSetting<PrivateAssertionJwk | SecretBinding>(true, true),
);

/** `ASSERTION_SECOND_KEY`'s entry: a JWK, public or private (only its public part is used). */
export const ASSERTION_SECOND_KEY_SETTING = /* @__PURE__ */ v.optional(jwkSetting<PublicAssertionJwk>(false, false));

export const ASSERTION_SETTINGS = /* @__PURE__ */ defineSettings(
  {
    // A secret: never echoed (problems name the rule only).
    ASSERTION_KEY: ASSERTION_KEY_SETTING,
    ASSERTION_ISSUER: v.optional(issuerSetting()),
    ASSERTION_AUDIENCE: v.optional(
      v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 printable ASCII characters without spaces")),
    ),
    ASSERTION_LIFETIME_SECONDS: v.optional(
      secondsSetting(MIN_ASSERTION_LIFETIME_SECONDS, DEFAULT_ASSERTION_LIFETIME_SECONDS),
      String(DEFAULT_ASSERTION_LIFETIME_SECONDS),
    ),
  },
  (values) => {
    const { ASSERTION_KEY: key, ASSERTION_ISSUER: issuer, ASSERTION_AUDIENCE: audience } = values;
    const assertion: AssertionSettings | undefined =
      key === undefined || issuer === undefined || audience === undefined
        ? undefined
        : {
            key: isSecretBinding(key) ? { binding: key } : { jwk: key },
            issuer,
            audience,
            lifetimeSeconds: values.ASSERTION_LIFETIME_SECONDS,
          };
    /** The signed identity assertion; `undefined` when `ASSERTION_KEY` is unset. */
    return { assertion };
  },
  (values) => {
    const problems = new Map<string, string>();
    if (values.ASSERTION_KEY === undefined) {
      const others = {
        ASSERTION_ISSUER: values.ASSERTION_ISSUER !== undefined,
        ASSERTION_AUDIENCE: values.ASSERTION_AUDIENCE !== undefined,
        ASSERTION_LIFETIME_SECONDS: values.ASSERTION_LIFETIME_SECONDS !== DEFAULT_ASSERTION_LIFETIME_SECONDS,
      };
      for (const [name, set] of Object.entries(others)) {
        if (set) problems.set(name, WITHOUT_KEY);
      }
      return problems;
    }
    for (const name of ["ASSERTION_ISSUER", "ASSERTION_AUDIENCE"] as const) {
      if (values[name] === undefined) problems.set(name, "is required with ASSERTION_KEY (its iss and aud)");
    }
    return problems;
  },
);
