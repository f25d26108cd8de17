/**
 * How an issuer named by a discovery document or a token differs from a trusted one (a trailing
 * slash, a path, the scheme, the host, the port), and what to do about it.
 */

function setTo(label: string, value: string): string {
  return label === "AUTHGEAR_ENDPOINT" ? `set ${label}=${value}` : `change ${label} to ${value}`;
}

/** How `other` (an issuer from a discovery document or a token) differs from the endpoint origin, and what to do. */
export function issuerDifference(
  endpoint: string,
  other: string,
  source: string,
  label = "AUTHGEAR_ENDPOINT",
): { difference: string; fix: string; usable: boolean } {
  const ours = new URL(endpoint);
  if (!URL.canParse(other)) {
    return {
      difference: "it is not a URL",
      fix: `${source} names no usable issuer: ${label} must be an OpenID Connect issuer`,
      usable: false,
    };
  }
  const theirs = new URL(other);
  const originOnly = (theirs.pathname === "/" || theirs.pathname === "") && theirs.search === "" && theirs.hash === "";
  if (other === `${endpoint}/`) {
    return {
      difference: "a trailing slash",
      fix:
        "the gate accepts issuers that are origins (no path, no trailing slash), compared " +
        `exactly: this issuer's identifier ends with '/', which no ${label} can equal — it ` +
        "is not an Authgear issuer",
      usable: false,
    };
  }
  if (!originOnly) {
    return {
      difference: `it has the path ${theirs.pathname}`,
      fix: "the gate accepts issuers that are origins only (Authgear's are): an issuer with a path cannot be used",
      usable: false,
    };
  }
  const parts: string[] = [];
  if (theirs.protocol !== ours.protocol)
    parts.push(`scheme ${theirs.protocol.slice(0, -1)} instead of ${ours.protocol.slice(0, -1)}`);
  if (theirs.hostname !== ours.hostname) parts.push(`host ${theirs.hostname} instead of ${ours.hostname}`);
  if (theirs.port !== ours.port) parts.push(`port ${theirs.port || "default"} instead of ${ours.port || "default"}`);
  if (other !== theirs.origin) parts.push(`spelled ${JSON.stringify(other)}, not as an origin`);
  const hostHint =
    theirs.hostname !== ours.hostname
      ? ` (Authgear names its issuer after the project's public origin: with a custom domain, ${label} is that domain)`
      : "";
  const exact = other === theirs.origin;
  return {
    difference: parts.join(", ") || "spelled differently",
    fix: exact
      ? `if ${other} is your project's endpoint, ${setTo(label, other)}${hostHint}; otherwise ` +
        `${label} points at another issuer`
      : `the gate compares the issuer exactly: ${source} must name it as ${theirs.origin}`,
    usable: exact,
  };
}
