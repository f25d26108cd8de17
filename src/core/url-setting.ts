/**
 * The one schema of a URL setting, with its options: the endpoint (an origin), the resolver and
 * login URLs (whole URLs a credential or a browser is sent to), the Worker's origin (a base URL
 * request paths are appended to).
 */
import * as v from "valibot";

export interface UrlRules {
  /**
   * `loopback`: https, or http on localhost, 127.0.0.0/8 and [::1] only (what is sent there must
   * not cross a network in clear); `any`: http or https on any host.
   */
  readonly http: "loopback" | "any";
  /**
   * What the value may hold, and becomes: `origin`, `scheme://host[:port]` alone; `base`, a URL
   * without a query, its trailing slash removed (a request's path is appended to it); `url`, a
   * URL with a path and a query. None may hold credentials or a fragment.
   */
  readonly form: "origin" | "base" | "url";
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** The problem with `raw` under `rules`, or the setting's value. */
function readUrl(raw: string, rules: UrlRules): { readonly problem: string } | { readonly value: string } {
  if (!URL.canParse(raw)) return { problem: "is not an absolute URL" };
  const url = new URL(raw);
  if (rules.http === "any" && url.protocol !== "https:" && url.protocol !== "http:")
    return { problem: "must be an http or https URL" };
  if (
    rules.http === "loopback" &&
    url.protocol !== "https:" &&
    !(url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname))
  ) {
    return { problem: "must use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])" };
  }
  if (url.username !== "" || url.password !== "") return { problem: "must not contain credentials" };
  // The raw spelling too: an empty fragment or query (`#`, `?`) leaves nothing in the URL object.
  if (url.hash !== "" || raw.includes("#")) return { problem: "must not contain a fragment" };
  const hasQuery = url.search !== "" || raw.includes("?");
  switch (rules.form) {
    case "origin":
      if ((url.pathname !== "/" && url.pathname !== "") || hasQuery)
        return { problem: "must be an origin (scheme://host[:port]) without a path or query" };
      return { value: url.origin };
    case "base":
      if (hasQuery) return { problem: "must not contain a query" };
      return { value: url.href.replace(/\/$/, "") };
    case "url":
      return { value: url.href };
  }
}

export function urlSetting(rules: UrlRules) {
  return v.pipe(
    v.string((issue) => (issue.received === "undefined" ? "is required" : "must be a string")),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const read = readUrl(dataset.value, rules);
      if ("problem" in read) {
        addIssue({ message: read.problem });
        return NEVER;
      }
      return read.value;
    }),
  );
}
