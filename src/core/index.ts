/** The public surface of the verification core. Packagings import from here only. */
export {
  createAuthenticator,
  createAuthenticatorFromEnv,
  type Authenticator,
  type AuthenticatorDeps,
  type CallOptions,
  type AuthResult,
  type FromEnvOptions,
  type FromEnvResult,
} from "./authenticator.ts";
export {
  CORE_SETTINGS,
  parseConfig,
  SETTING_NAMES,
  settingDefault,
  SUPPORTED_ALGORITHMS,
  type Config,
  type Algorithm,
  type AuthMode,
  type CoreSettings,
  type SettingName,
} from "./config.ts";
export {
  ConfigError,
  defineSettings,
  extendSettings,
  fromEnv,
  overlaySettings,
  settingsRecord,
  type ConfigOf,
  type EnvSettings,
  type Settings,
  type SettingsInput,
  type SettingValues,
} from "./settings.ts";
export { flagSetting, listSetting, secondsSetting, textOrNumber, TOKEN_PATTERN } from "./setting-schemas.ts";
export { urlSetting, type UrlRules } from "./url-setting.ts";
export {
  COOKIE_SEPARATOR,
  cookiePairName,
  extractCredentials,
  findCookie,
  hidesCookie,
  MAX_CREDENTIAL_LENGTH,
  type Credentials,
  type CredentialSource,
  type HeaderReader,
  type WebSocketCredentials,
} from "./credentials.ts";
export { TOKEN_SUBPROTOCOL_PREFIX, withoutTokenSubprotocol } from "./token-subprotocol.ts";
export {
  isWebSocketUpgrade,
  QUERY_PARAMETER_PATTERN,
  RFC6750_QUERY_PARAMETER,
  webSocketQueryToken,
  type QueryReader,
} from "./websocket.ts";
export {
  AUTH_ERRORS,
  AuthError,
  describeError,
  errorResponse,
  bearerChallenge,
  RETRY_AFTER_SECONDS,
  type AuthErrorCode,
  type BearerErrorName,
  type ErrorDescription,
  type ErrorResponse,
} from "./errors.ts";
export {
  CLIENT_MARKS,
  identityFromClaims,
  identityHeaderNames,
  identityHeaders,
  isIdentityHeaderName,
  type ClientIdentity,
  type ClientMarks,
  type Identity,
  type UserIdentity,
} from "./identity.ts";
export {
  claimHeaderCollisions,
  createClaimHeaders,
  logOmittedClaimHeaders,
  MAX_CLAIM_HEADERS,
  reservedHeaderReason,
  type ClaimHeader,
  type ClaimHeaders,
  type ClaimHeaderValues,
  type OmittedClaimHeader,
} from "./claim-headers.ts";
export {
  encodeClaim,
  MAX_CLAIM_HEADER_BYTES,
  MAX_CLAIM_HEADERS_TOTAL_BYTES,
  type Encoded,
  type OmissionReason,
} from "./claim-encoding.ts";
export { MAX_ISSUERS, type IssuerConfig } from "./issuers.ts";
export {
  createMemoryKeySetStore,
  DEFAULT_KEY_SET_TIMING,
  type KeySetSnapshot,
  type KeySetStore,
  type KeySetTiming,
} from "./key-set.ts";
export {
  atLevel,
  CountingMeter,
  DEFAULT_LOG_LEVEL,
  jsonLogger,
  LOG_LEVELS,
  logLevel,
  noMeter,
  silentLogger,
  webCryptoDigest,
  withFields,
  type Call,
  type CoreMetric,
  type Meter,
  type Clock,
  type Defer,
  type Digest,
  type BodyReader,
  type BodyStream,
  type Fetcher,
  type FetchInit,
  type FetchResponse,
  type Logger,
  type LogFields,
  type LogLevel,
} from "./ports.ts";
export { DEFAULT_TOKEN_CACHE, type TokenCacheOptions } from "./token-cache.ts";
export {
  assertUnambiguousPath,
  canonicalPath,
  createPublicPathMatcher,
  isAmbiguousPath,
  ruleReadings,
} from "./paths.ts";
export {
  assertAllowed,
  assertAllowedOn,
  compileRoutes,
  governsKind,
  meetsRule,
  methodsCovered,
  routeRefusal,
  ruleOverlapsPublicPath,
  ruleRefusal,
  scopesSupported,
  METHODS,
  MAX_RULE_PATH_LENGTH,
  type Method,
  type RouteRequirement,
  type RouteRule,
} from "./routes.ts";
export {
  createDecider,
  type AuthorizeCallback,
  type AuthorizeRequest,
  type Decider,
  type DeciderOptions,
  type Decision,
  type DecisionRequest,
} from "./decision.ts";
export { createGate, logLevelOf, oncePerSettings, type Gate, type GateOptions, type OnInvalidConfig } from "./gate.ts";
export {
  protectedResourceMetadata,
  RESOURCE_METADATA_PATH,
  type ProtectedResourceMetadata,
} from "./resource-metadata.ts";
export {
  canonicalHeaderName,
  isCanonicalOverrideHeader,
  isOverrideHeader,
  mayMeanOtherMethods,
  wireMethodsAdmitted,
  wireMethodsGoverned,
  METHOD_OVERRIDE_MODES,
  type HeaderList,
  type MethodOverrideMode,
} from "./overrides.ts";
export { parseStoredVerdict, type StoredVerdict, type Verdict, type VerdictStore } from "./resolver.ts";
export {
  ASSERTION_ALGORITHMS,
  createAssertionKeys,
  parseAssertionJwk,
  publicJwk,
  type AssertionAlgorithm,
  type AssertionKeys,
  type PrivateAssertionJwk,
  type PublicAssertionJwk,
  type SecretBinding,
  type SigningKey,
  type SigningKeySource,
} from "./assertion-keys.ts";
export {
  ASSERTION_KEY_SETTING,
  ASSERTION_SECOND_KEY_SETTING,
  ASSERTION_SETTINGS,
  WITHOUT_KEY as ASSERTION_WITHOUT_KEY,
  DEFAULT_ASSERTION_LIFETIME_SECONDS,
  type AssertionSettings,
} from "./assertion-settings.ts";
export {
  ASSERTION_JWKS_PATH,
  ASSERTION_TYPE,
  createAssertionSigner,
  type AssertionSigner,
  type AssertionSignerOptions,
} from "./assertion.ts";
export { DEFAULT_ASSERTION_HEADER } from "./assertion-verifier.ts";
