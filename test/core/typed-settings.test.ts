/**
 * Settings given in code (typed, see test/types/settings.types.ts) are read by the same schemas as
 * the text an environment holds: `ROUTES` as an array decides as its JSON text does, a flag as a
 * boolean and seconds as a number as their spelling; `LOG_LEVEL`; and `onInvalidConfig: "throw"`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevIssuer, type DevIssuer } from "../../dev/issuer.ts";
import {
  ConfigError,
  createGate,
  parseConfig,
  type CoreSettings,
  type Decision,
  type LogFields,
} from "../../src/core/index.ts";
import { WORKER_DECIDER } from "../fixtures/gate.ts";

const decide = WORKER_DECIDER;
const ROLES = "https://authgear.com/claims/user/roles";

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

/** What refusing a configuration says, or `undefined` when it is accepted. */
function refusal(settings: CoreSettings): string | undefined {
  try {
    parseConfig(settings);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

function summary(decision: Decision): string {
  return decision.allowed ? `allowed ${decision.identity?.subject ?? "anonymous"}` : `refused ${decision.error.code}`;
}

describe("ROUTES given as an array", () => {
  const rules = [
    { path: "/admin/*", roles: ["admin"] },
    { path: "/reports/*", methods: ["POST" as const], roles: ["writer"] },
    { path: "/open/*", anonymous: false as const },
  ];

  it("decides every request as its JSON text does", async () => {
    const settings = { AUTHGEAR_ENDPOINT: issuer.origin, PUBLIC_PATHS: "/health" };
    const fromArray = createGate({ ...settings, ROUTES: rules }, {}, { decide });
    const fromText = createGate({ ...settings, ROUTES: JSON.stringify(rules) }, {}, { decide });
    if (!fromArray.ok || !fromText.ok) throw new Error("both configurations are valid");
    expect(fromArray.config.routes).toEqual(fromText.config.routes);
    const tokens = {
      none: undefined,
      admin: await issuer.mintAccessToken({ sub: "ada", claims: { [ROLES]: ["admin"] } }),
      writer: await issuer.mintAccessToken({ sub: "wes", claims: { [ROLES]: ["writer"] } }),
      plain: await issuer.mintAccessToken({ sub: "pat", claims: { [ROLES]: [] } }),
    };
    const requests = ["GET /admin/x", "POST /reports/1", "GET /reports/1", "GET /open/a", "GET /health", "GET /x"];
    const decisions = async (gate: typeof fromArray): Promise<string[]> => {
      const seen: string[] = [];
      for (const request of requests) {
        const [method = "", path = ""] = request.split(" ");
        for (const [who, token] of Object.entries(tokens)) {
          const headers = new Headers(token === undefined ? {} : { authorization: `Bearer ${token}` });
          seen.push(`${request} ${who}: ${summary(await gate.decider.decide({ method, path, headers }))}`);
        }
      }
      return seen;
    };
    const byArray = await decisions(fromArray);
    expect(byArray).toEqual(await decisions(fromText));
    // The rules decide: each kind of answer occurs.
    expect(byArray).toContain("GET /admin/x admin: allowed ada");
    expect(byArray).toContain("GET /admin/x plain: refused ERR_INSUFFICIENT_SCOPE");
    expect(byArray).toContain("POST /reports/1 writer: allowed wes");
    expect(byArray).toContain("POST /reports/1 admin: refused ERR_INSUFFICIENT_SCOPE");
    expect(byArray).toContain("GET /health none: allowed anonymous");
  });

  it("is refused with the message its JSON text gets, naming the rule", () => {
    const bad = [{ path: "/admin/*", roles: ["admin"] }, { path: "admin" }];
    const message = refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: JSON.stringify(bad) });
    expect(message).toMatch(/^Invalid configuration \(ROUTES\)\. ROUTES: rule 1\.path: /);
    expect(refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: bad })).toBe(message);
    const unknownMember = [{ path: "/admin/*", role: ["admin"] }];
    const member = refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: JSON.stringify(unknownMember) });
    // A rule held in a variable escapes the compiler's check of object literals; the schema still refuses it.
    expect(refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: unknownMember })).toBe(member);
  });

  it("refuses what is neither text nor an array, as it refuses text that is no JSON array", () => {
    const notAList = refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: '{"path":"/admin/*"}' });
    expect(notAList).toBe("Invalid configuration (ROUTES). ROUTES: must be a JSON array of rules");
    expect(refusal({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: { path: "/admin/*" } as never })).toBe(notAList);
  });

  it("is copied when read: changing the array afterwards changes nothing", () => {
    const mutable = [{ path: "/admin/*", roles: ["admin"] }];
    const config = parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, ROUTES: mutable });
    mutable[0]!.roles.push("anyone");
    mutable.push({ path: "/x", roles: ["x"] });
    expect(config.routes).toEqual([{ path: "/admin/*", roles: ["admin"] }]);
  });
});

describe("ISSUERS given as an array", () => {
  it("reads as its JSON text, and is refused as it is", () => {
    const issuers = [
      { issuer: issuer.origin, audiences: ["api"] },
      { issuer: "https://other.example", clientIds: ["svc"] },
    ];
    expect(parseConfig({ ISSUERS: issuers }).issuers).toEqual(
      parseConfig({ ISSUERS: JSON.stringify(issuers) }).issuers,
    );
    const twice = [issuers[0]!, issuers[0]!];
    const message = refusal({ ISSUERS: JSON.stringify(twice) });
    expect(message).toBe("Invalid configuration (ISSUERS). ISSUERS: names an issuer twice");
    expect(refusal({ ISSUERS: twice })).toBe(message);
  });
});

describe("flags and numbers given in code", () => {
  const base = () => ({ AUTHGEAR_ENDPOINT: issuer.origin });

  it("read a boolean as its spelling", () => {
    expect(parseConfig({ ...base(), REPORT_ONLY: true }).reportOnly).toBe(true);
    expect(parseConfig({ ...base(), REPORT_ONLY: false, LOG_DECISIONS: true }).logDecisions).toBe(true);
    expect(parseConfig({ ...base(), REPORT_ONLY: "true" }).reportOnly).toBe(true);
  });

  it("read a number as its decimal spelling, refusing what its spelling is refused for", () => {
    expect(parseConfig({ ...base(), CLOCK_TOLERANCE_SECONDS: 30 }).clockToleranceSeconds).toBe(30);
    expect(parseConfig({ ...base(), RESOLVER_TIMEOUT_MS: 2500, AUTH_MODE: "hybrid" }).resolverTimeoutMs).toBe(2500);
    for (const [number, text] of [
      [1.5, "1.5"],
      [-1, "-1"],
      [301, "301"],
      [1e21, "1e+21"],
    ] as const) {
      expect(refusal({ ...base(), CLOCK_TOLERANCE_SECONDS: number })).toBe(
        refusal({ ...base(), CLOCK_TOLERANCE_SECONDS: text }),
      );
    }
    expect(refusal({ ...base(), CLOCK_TOLERANCE_SECONDS: 1.5 })).toMatch(/CLOCK_TOLERANCE_SECONDS: must be a whole/);
  });

  it("refuse other types with the setting's own message", () => {
    expect(refusal({ ...base(), REPORT_ONLY: 1 as never })).toBe(
      "Invalid configuration (REPORT_ONLY). REPORT_ONLY: must be true or false",
    );
    expect(refusal({ ...base(), JWKS_MAX_AGE_SECONDS: true as never })).toMatch(
      /JWKS_MAX_AGE_SECONDS: must be a whole/,
    );
  });
});

describe("LOG_LEVEL", () => {
  it("is info by default, and one of error, warn, info, debug", () => {
    expect(parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin }).logLevel).toBe("info");
    for (const level of ["error", "warn", "info", "debug"] as const) {
      expect(parseConfig({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: level }).logLevel).toBe(level);
    }
    expect(refusal({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "WARN" as never })).toBe(
      "Invalid configuration (LOG_LEVEL). LOG_LEVEL: must be one of error, warn, info, debug",
    );
  });

  it("refuses LOG_DECISIONS=true with a level that would drop the decisions", () => {
    for (const level of ["error", "warn"] as const) {
      const message = refusal({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_DECISIONS: "true", LOG_LEVEL: level });
      expect(message).toMatch(/^Invalid configuration \(LOG_DECISIONS\)\. LOG_DECISIONS: logs every decision/);
      expect(message).toContain(`LOG_LEVEL=${level}`);
    }
    for (const level of ["info", "debug"] as const) {
      expect(refusal({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_DECISIONS: "true", LOG_LEVEL: level })).toBeUndefined();
    }
  });

  it("governs the lines of the gate's logger, those parsing writes included", () => {
    const lines = (settings: Readonly<Record<string, unknown>>): string[] => {
      const seen: string[] = [];
      const logger = { log: (event: string, fields: LogFields) => seen.push(`${event} ${String(fields.name)}`) };
      createGate(settings, { logger }, { decide });
      return seen;
    };
    // A look-alike of a setting's name is a warn line.
    const lookalike = { AUTHGEAR_ENDPOINT: issuer.origin, AUTH_MOD: "hybrid" };
    expect(lines(lookalike)).toEqual(["config_unknown_setting AUTH_MOD"]);
    expect(lines({ ...lookalike, LOG_LEVEL: "warn" })).toEqual(["config_unknown_setting AUTH_MOD"]);
    expect(lines({ ...lookalike, LOG_LEVEL: "error" })).toEqual([]);
    // A bad configuration is an error line, written at every level; a bad LOG_LEVEL too.
    expect(lines({ LOG_LEVEL: "error" })).toEqual(["config_invalid undefined"]);
    expect(lines({ AUTHGEAR_ENDPOINT: issuer.origin, LOG_LEVEL: "loud" })).toEqual(["config_invalid undefined"]);
  });
});

describe('onInvalidConfig: "throw"', () => {
  it("throws the ConfigError naming every bad key, once logged; by default the gate holds it", () => {
    const bad = { AUTHGEAR_ENDPOINT: "http://authgear.example", AUTH_MODE: "oauth" } as const;
    const logged: string[] = [];
    const logger = { log: (event: string) => logged.push(event) };
    let thrown: unknown;
    try {
      createGate(bad as never, { logger }, { decide, onInvalidConfig: "throw" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).keys).toEqual(["AUTHGEAR_ENDPOINT", "AUTH_MODE"]);
    expect(logged).toEqual(["config_invalid"]);
    const held = createGate(bad as never, { logger }, { decide });
    expect(held.ok ? [] : held.error.keys).toEqual(["AUTHGEAR_ENDPOINT", "AUTH_MODE"]);
    expect(createGate({ AUTHGEAR_ENDPOINT: issuer.origin }, {}, { decide, onInvalidConfig: "throw" }).ok).toBe(true);
  });
});
