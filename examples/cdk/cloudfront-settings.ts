/**
 * The CloudFront stack's own settings, checked at synth time: `ORIGIN_URL`, where CloudFront sends the requests the
 * gate lets through (the Worker's setting, read by the Worker's rule), and `SECRET_ARN`, the Secrets Manager secret
 * the function reads at run time. The gate's other settings are baked into dist/edge by `npm run build:edge`, which
 * checks them.
 *
 * Outside this repository, import `urlSetting` from "authgear-edge" instead of ../../src/core/index.ts.
 */
import * as v from "valibot";
import { urlSetting } from "../../src/core/index.ts";
import { DeploymentSettingsError, type SettingsInput } from "./settings.ts";

/** Where CloudFront connects for the requests the gate lets through. */
export interface CloudFrontOrigin {
  /** The origin's DNS name, as CloudFront resolves it. */
  readonly domainName: string;
  /** `https`: CloudFront connects with TLS only; `http`: in clear only. */
  readonly protocol: "https" | "http";
  /** The port CloudFront connects to: the URL's, else 443 for https and 80 for http. */
  readonly port: number;
  /** The path CloudFront puts in front of each request's path (`/base`, no trailing slash); undefined: none. */
  readonly originPath: string | undefined;
}

export interface CloudFrontSettings {
  readonly origin: CloudFrontOrigin;
  /** `SECRET_ARN`: the one secret the function may read (`secretsmanager:GetSecretValue`); undefined: none. */
  readonly secretArn: string | undefined;
}

const ORIGIN_URL_FORM = "https://host[:port][/path]";
const ORIGIN_URL_SCHEMA = urlSetting({ http: "any", form: "base" });
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** The ports CloudFront connects to on a custom origin (CloudFront Developer Guide, "Origin settings", HTTP port). */
const isOriginPort = (port: number): boolean => port === 80 || port === 443 || (port >= 1024 && port <= 65535);
/** CloudFront's limit on an origin path, in characters. */
const MAX_ORIGIN_PATH = 255;
/**
 * A full Secrets Manager secret ARN: the name, then `-` and the 6 characters Secrets Manager adds. A partial ARN
 * (without them) in the function's policy would match no secret, and every request would fail.
 */
const SECRET_ARN =
  /^arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/** Reads and checks `ORIGIN_URL` and `SECRET_ARN`; throws one `DeploymentSettingsError` naming each problem. */
export function readCloudFrontSettings(input: SettingsInput): CloudFrontSettings {
  const value = (name: string): string | undefined => {
    const raw = input[name];
    return raw === undefined || raw.trim() === "" ? undefined : raw;
  };
  const problems: string[] = [];
  const origin = readOrigin(value("ORIGIN_URL"));
  if (typeof origin === "string") problems.push(`ORIGIN_URL: ${origin}`);
  const secretArn = value("SECRET_ARN");
  if (secretArn !== undefined && !SECRET_ARN.test(secretArn)) {
    problems.push(
      `SECRET_ARN: must be the full ARN of a Secrets Manager secret, arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters> (the console's "Secret ARN")`,
    );
  }
  if (typeof origin === "string" || problems.length > 0) {
    throw new DeploymentSettingsError(`The CloudFront stack cannot use these settings. ${problems.join("; ")}`);
  }
  return { origin, secretArn };
}

/** The origin `raw` names, or what is wrong with it. */
function readOrigin(raw: string | undefined): CloudFrontOrigin | string {
  if (raw === undefined)
    return `is required: where CloudFront sends the requests the gate lets through, ${ORIGIN_URL_FORM}`;
  const parsed = v.safeParse(ORIGIN_URL_SCHEMA, raw);
  if (!parsed.success) return `${parsed.issues[0].message} (${ORIGIN_URL_FORM})`;
  const url = new URL(parsed.output);
  const host = url.hostname;
  // The URL parser writes an IPv4 address in dotted decimal, and an IPv6 one without a dot (`[::ffff:cb00:7107]`).
  if (IPV4.test(host) || !host.includes(".")) {
    return `${JSON.stringify(host)} is not a public DNS name: CloudFront connects to an origin by a DNS name it can resolve, never an IP address`;
  }
  const protocol = url.protocol === "https:" ? "https" : "http";
  const defaultPort = protocol === "https" ? 443 : 80;
  const port = url.port === "" ? defaultPort : Number(url.port);
  if (!isOriginPort(port)) return `port ${port}: CloudFront connects to an origin on port 80, 443 or 1024-65535 only`;
  const path = url.pathname === "/" ? undefined : url.pathname;
  if (path?.endsWith("/") === true) return "the path must not end with /";
  if (path !== undefined && path.length > MAX_ORIGIN_PATH) {
    return `the path is ${path.length} characters long; CloudFront takes at most ${MAX_ORIGIN_PATH}`;
  }
  return { domainName: host, protocol, port, originPath: path };
}
