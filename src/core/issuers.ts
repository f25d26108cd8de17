/**
 * The issuers a deployment trusts (`ISSUERS`, or `AUTHGEAR_ENDPOINT` for one): each with its own
 * audiences, client allow-list, algorithms and key set. A token's `iss` picks its issuer by exact
 * match before any network call, so a token can never make the gate fetch from a URL it names
 * (authenticator.ts).
 */
import * as v from "valibot";
import { algorithmList, type Algorithm } from "./algorithms.ts";
import { CLIENT_MARKS, type ClientMarks } from "./identity.ts";
import { jsonListSetting, NAME } from "./setting-schemas.ts";
import { urlSetting } from "./url-setting.ts";

/**
 * Most issuers one gate trusts. Each costs a key set (a discovery and a JWKS fetch, a cache entry)
 * and nothing per request: the lookup is one `Map` access whatever the count.
 */
export const MAX_ISSUERS = 16;

export interface IssuerConfig {
  /** The issuer identifier, an origin: the exact `iss` its tokens carry. */
  readonly issuer: string;
  readonly discoveryUrl: string;
  /** A user's token must have one of these in `aud`; default the issuer itself (Authgear's). */
  readonly audiences: readonly string[];
  /**
   * A machine client's token must have one of these in `aud`: the API's resource URIs (RFC 8707).
   * Empty: this issuer's client tokens are refused.
   */
  readonly resources: readonly string[];
  /** When set, a token's `client_id` must be one of these. */
  readonly allowedClientIds: ReadonlySet<string> | undefined;
  readonly algorithms: readonly Algorithm[];
  /** How this issuer marks a machine client's token (identity.ts). */
  readonly clientMarks: ClientMarks;
  /**
   * Where the keys are fetched without discovery, when set: the JWKS of another host of the same
   * project (the old issuer of a custom-domain switch, whose host now redirects), or a known URL.
   */
  readonly jwksUri: string | undefined;
}

/**
 * A resource URI (RFC 8707 §2): an absolute URI without a fragment, compared with `aud` exactly as
 * written (never normalised: `https://api.example` and `https://api.example/` are two audiences).
 */
export const resourceSchema = v.pipe(
  v.string(),
  v.check((raw) => URL.canParse(raw) && !raw.includes("#"), "must be an absolute URI without a fragment (RFC 8707)"),
);

const issuerEntries = {
  issuer: urlSetting({ http: "loopback", form: "origin" }),
  audiences: v.optional(v.pipe(v.array(NAME), v.minLength(1, "must name at least one audience"))),
  resources: v.optional(v.pipe(v.array(resourceSchema), v.minLength(1, "must name at least one resource"))),
  clientIds: v.optional(v.pipe(v.array(NAME), v.minLength(1, "must name at least one client id, or be left out"))),
  algorithms: v.optional(algorithmList()),
  clientMarks: v.optional(v.picklist(CLIENT_MARKS, `must be one of ${CLIENT_MARKS.join(", ")}`)),
  jwksUri: v.optional(urlSetting({ http: "loopback", form: "url" })),
};

const issuerSchema = v.strictObject(issuerEntries, (issue) =>
  issue.expected === "never"
    ? `unknown member ${issue.received}; an issuer's members are ${Object.keys(issuerEntries).join(", ")}`
    : "must be an object with an issuer",
);

export type IssuerEntry = v.InferOutput<typeof issuerSchema>;

/** `ISSUERS`: a JSON array of 1 to `MAX_ISSUERS` issuers, each named once. */
export const issuersSchema = v.pipe(
  jsonListSetting(issuerSchema, "must be a JSON array of issuers"),
  v.minLength(1, "must name at least one issuer"),
  v.maxLength(MAX_ISSUERS, `may name at most ${MAX_ISSUERS} issuers`),
  v.check((list) => new Set(list.map((entry) => entry.issuer)).size === list.length, "names an issuer twice"),
);

/** One issuer's configuration; `algorithms`: `ALGORITHMS`, the default of every issuer's. */
export function issuerConfig(entry: IssuerEntry, algorithms: readonly Algorithm[]): IssuerConfig {
  return {
    issuer: entry.issuer,
    discoveryUrl: `${entry.issuer}/.well-known/openid-configuration`,
    audiences: entry.audiences ?? [entry.issuer],
    resources: entry.resources ?? [],
    allowedClientIds: entry.clientIds === undefined ? undefined : new Set(entry.clientIds),
    algorithms: entry.algorithms ?? algorithms,
    clientMarks: entry.clientMarks ?? "authgear",
    jwksUri: entry.jwksUri,
  };
}
