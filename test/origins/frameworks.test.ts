/**
 * Each framework app, over real HTTP and without a gate: it records what it routed, receives the identity header,
 * and honours exactly the override channels listed here (found by trying them; "not honoured" is asserted too).
 * Expected values: the method of the `orders` handler that ran, `route:METHOD` for another route, or the status
 * of an answer that is not the app's (PHP's built-in server refuses methods it does not know with 501).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FRAMEWORKS,
  missingRuntimes,
  readServed,
  START_TIMEOUT_MS,
  startFramework,
  type FrameworkName,
  type RunningOrigin,
} from "./frameworks.ts";
import { sendRaw, type RawRequest } from "./send.ts";

const missing = missingRuntimes();
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`test/origins skipped: ${missing.join(", ")} not installed (CI installs them: .ci/run)`);

const FORM = "application/x-www-form-urlencoded";
const MULTIPART_BODY = '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n';
const PREFLIGHT = { origin: "https://app.example", "access-control-request-method": "DELETE" };

type Expected = Readonly<Record<FrameworkName, string>>;

interface Case extends RawRequest {
  readonly name: string;
  readonly served: Expected;
}

/** `value` for every framework but those named. */
function every(value: string, except: Partial<Expected> = {}): Expected {
  return { ...(Object.fromEntries(FRAMEWORKS.map((name) => [name, value])) as Expected), ...except };
}

const PHP = { laravel: "DELETE", symfony: "DELETE" } as const;
const LARAVEL = { laravel: "DELETE" } as const;
const RUBY = { rack: "DELETE", sinatra: "DELETE" } as const;
/** Frameworks that answer a HEAD with their GET handler. */
const HEAD_AS_GET = { symfony: "GET", sinatra: "GET", flask: "GET", express: "GET", hono: "GET" } as const;

const NODE_OTHER = { express: "other:GET", hono: "other:GET" } as const;
function get(target: string, headers: Record<string, string> = {}): RawRequest {
  return { method: "GET", target, headers };
}
/** Node's HTTP server keeps `_` in header names: a different header. */
const NODE = { express: "POST", hono: "POST" } as const;
const UNDERSCORED = { x_http_method_override: "DELETE" } as const;
/** Frameworks that read no `_method` from the query. */
const NOT_READ = { rack: "POST", sinatra: "POST", flask: "POST" } as const;
function kase(name: string, request: RawRequest, served: Expected): Case {
  return { name, ...request, served };
}
function post(target: string, headers: Record<string, string> = {}): RawRequest {
  return { method: "POST", target, headers };
}
/** A `_method=DELETE` form (or `body`) of the media type given, sent with `method`. */
function form(contentType = FORM, method = "POST", body = "_method=DELETE"): RawRequest {
  return { method, target: "/orders/1", headers: { "content-type": contentType }, body };
}
function json(contentType: string): RawRequest {
  return { ...form(contentType), body: '{"_method":"DELETE"}' };
}
function overrideHeader(method: string, value = "DELETE", extra: Record<string, string> = {}): RawRequest {
  return { method, target: "/orders/1", headers: { ...extra, "x-http-method-override": value } };
}
function query(key: string, method = "POST"): RawRequest {
  return { method, target: `/orders/1?${key}=DELETE` };
}

const UNKNOWN = { laravel: "501", symfony: "501" } as const;
/** The override channels of these two are read on every wire method (Hono's: but GET; Flask's header: all). */
const ANY_METHOD = { flask: "DELETE", hono: "DELETE" } as const;
const JSON_READERS = { laravel: "DELETE", express: "DELETE" } as const;
/** Flask's documented middleware reads no form; Express's urlencoded parser, no multipart. */
const NOT_MULTIPART = { flask: "POST", express: "POST" } as const;
const MULTIPART = "multipart/form-data; boundary=b";

const CASES: readonly Case[] = [
  kase("plain GET", { method: "GET", target: "/orders/1" }, every("GET")),
  kase("plain DELETE", { method: "DELETE", target: "/orders/1" }, every("DELETE")),
  kase("plain HEAD", { method: "HEAD", target: "/orders/1" }, every("HEAD", HEAD_AS_GET)),
  kase("plain OPTIONS", { method: "OPTIONS", target: "/orders" }, every("OPTIONS")),
  kase("another route", { method: "PATCH", target: "/reports/7" }, every("reports:PATCH")),
  kase("the fallback", { method: "GET", target: "/elsewhere" }, every("other:GET")),
  kase("an unknown method", { method: "PURGE", target: "/orders/1" }, every("other:PURGE", UNKNOWN)),
  // paths each framework routes to /orders/{id} (GET for its GET handler there)
  kase("path /orders/%31", get("/orders/%31"), every("GET")),
  kase("path /ORDERS/1", get("/ORDERS/1"), every("other:GET", { express: "GET" })),
  kase("path /orders/1/", get("/orders/1/"), every("other:GET", { laravel: "GET", express: "GET" })),
  kase("path /orders//1", get("/orders//1"), every("other:GET", { sinatra: "GET", flask: "308" })),
  kase("path /%6Frders/1", get("/%6Frders/1"), every("GET", { rack: "other:GET", express: "other:GET" })),
  kase("path /orders%2F1", get("/orders%2F1"), every("GET", { rack: "other:GET", ...NODE_OTHER })),
  kase("path /reports/../orders/1", get("/reports/../orders/1"), every("other:GET", { sinatra: "GET", hono: "GET" })),
  kase("path /orders/1;x", get("/orders/1;x"), every("GET")),
  // _method in a form body, on POST
  kase("form _method", form(), every("DELETE", { flask: "POST" })),
  kase("form _method lower-case value", form(FORM, "POST", "_method=delete"), every("DELETE", { flask: "POST" })),
  kase(
    "form _method unknown value",
    form(FORM, "POST", "_method=FOO"),
    every("POST", { laravel: "other:FOO", symfony: "other:FOO", hono: "other:FOO" }),
  ),
  kase("multipart _method", form(MULTIPART, "POST", MULTIPART_BODY), every("DELETE", NOT_MULTIPART)),
  kase(
    "multipart _method, upper-case media type",
    form("MULTIPART/FORM-DATA; boundary=b", "POST", MULTIPART_BODY),
    every("DELETE", { ...NOT_MULTIPART, hono: "POST" }),
  ),
  // _method in a JSON body
  kase("json _method", json("application/json"), every("POST", JSON_READERS)),
  kase("json _method, charset", json("application/json; charset=utf-8"), every("POST", JSON_READERS)),
  kase("json _method, upper-case media type", json("APPLICATION/JSON"), every("POST", { express: "DELETE" })),
  kase("json _method, +json media type", json("application/vnd.api+json"), every("POST", LARAVEL)),
  kase("json _method, text/json", json("text/json"), every("POST", LARAVEL)),
  kase("json _method, any media type holding /json", json("text/plain; x=/json"), every("POST", LARAVEL)),
  // _method in the query, on POST
  kase("query _method", query("_method"), every("POST", { ...PHP, express: "DELETE", hono: "DELETE" })),
  kase("query %5Fmethod", query("%5Fmethod"), every("POST", { ...PHP, express: "DELETE", hono: "DELETE" })),
  kase("query .method (PHP: . becomes _)", query(".method"), every("POST", PHP)),
  kase("query %20_method (PHP: leading space dropped)", query("%20_method"), every("POST", PHP)),
  kase("query +_method (PHP: leading space dropped)", query("+_method"), every("POST", PHP)),
  kase("query _method%00x (PHP: cut at NUL)", query("_method%00x"), every("POST", PHP)),
  kase("query %20method (not honoured)", query("%20method"), every("POST")),
  kase("query [method (not honoured)", query("[method"), every("POST")),
  kase("query _method[ (PHP: _method_)", query("_method["), every("POST")),
  kase("query _method[] (an array)", query("_method[]"), every("POST")),
  kase("query _method. (PHP: _method_)", query("_method."), every("POST")),
  kase("query _METHOD (not honoured)", query("_METHOD"), every("POST")),
  kase("form .method (PHP: . becomes _)", form(FORM, "POST", ".method=DELETE"), every("POST", PHP)),
  kase("form _method%00x (PHP: cut at NUL)", form(FORM, "POST", "_method%00x=DELETE"), every("POST", PHP)),
  // media types read loosely as a form
  kase("form with charset=x", form(`${FORM};charset=x`), every("DELETE", { flask: "POST", express: "415" })),
  kase("form with charset=utf-8", form(`${FORM}; charset=utf-8`), every("DELETE", { flask: "POST" })),
  kase("form, upper-case media type", form(FORM.toUpperCase()), every("DELETE", { flask: "POST", hono: "POST" })),
  kase(
    "form, then , text/plain",
    form(`${FORM}, text/plain`),
    every("DELETE", { flask: "POST", express: "POST", hono: "POST" }),
  ),
  kase("form media type with a suffix (not a form)", form(`${FORM}x`), every("POST")),
  kase("form body as text/plain", form("text/plain"), every("POST")),
  kase("form body without Content-Type", { ...post("/orders/1"), body: "_method=DELETE" }, every("POST", RUBY)),
  // override headers
  kase("X-HTTP-Method-Override on POST", overrideHeader("POST"), every("DELETE")),
  kase("X-HTTP-Method-Override on GET", overrideHeader("GET"), every("GET", { flask: "DELETE" })),
  kase("X-HTTP-Method-Override on PUT", overrideHeader("PUT"), every("PUT", ANY_METHOD)),
  kase("X-HTTP-Method-Override on HEAD", overrideHeader("HEAD"), every("HEAD", { ...HEAD_AS_GET, ...ANY_METHOD })),
  kase("X-HTTP-Method-Override on OPTIONS", overrideHeader("OPTIONS"), every("OPTIONS", ANY_METHOD)),
  kase(
    "X-HTTP-Method-Override on an unknown method",
    overrideHeader("PURGE"),
    every("other:PURGE", { ...UNKNOWN, ...ANY_METHOD }),
  ),
  // Hono hands the value to `new Request` as it is, and fetch upper-cases only some standard methods, not PATCH.
  kase("X-HTTP-Method-Override, lower case", overrideHeader("POST", "patch"), every("PATCH", { hono: "other:PATCH" })),
  // CGI-style servers (PHP, WEBrick, Werkzeug) map `_` in a header name to the same variable as `-`
  kase("x_http_method_override on POST", post("/orders/1", UNDERSCORED), every("DELETE", NODE)),
  kase("x_http_method_override on GET", get("/orders/1", UNDERSCORED), every("GET", { flask: "DELETE" })),
  kase(
    "X-HTTP-Method-Override: DELETE, PUT",
    overrideHeader("POST", "DELETE, PUT"),
    // Symfony refuses the value (SuspiciousOperationException); `new Request` throws in Hono.
    every("POST", { laravel: "other:POST", symfony: "other:POST", express: "DELETE", hono: "500" }),
  ),
  kase("two query _method (PHP: the last)", query("_method=PUT&_method"), every("PUT", { ...PHP, ...NOT_READ })),
  kase("X-HTTP-Method (not honoured)", post("/orders/1", { "x-http-method": "DELETE" }), every("POST")),
  kase("X-Method-Override (not honoured)", post("/orders/1", { "x-method-override": "DELETE" }), every("POST")),
  kase(
    "header and form disagree",
    { ...form(), headers: { "content-type": FORM, "x-http-method-override": "PUT" } },
    { laravel: "PUT", symfony: "PUT", rack: "DELETE", sinatra: "DELETE", flask: "PUT", express: "DELETE", hono: "PUT" },
  ),
  // _method on other wire methods
  kase("form _method on PUT", form(FORM, "PUT"), every("PUT", { hono: "DELETE" })),
  kase("form _method on PATCH", form(FORM, "PATCH"), every("PATCH", { hono: "DELETE" })),
  kase("form _method on OPTIONS", form(FORM, "OPTIONS"), every("OPTIONS", { hono: "DELETE" })),
  kase("form _method on DELETE", form(FORM, "DELETE", "_method=PUT"), every("DELETE", { hono: "PUT" })),
  kase("form _method on HEAD (@hono/node-server passes no HEAD body)", form(FORM, "HEAD"), every("HEAD", HEAD_AS_GET)),
  kase("form _method on GET", form(FORM, "GET"), every("GET")),
  kase("form _method on an unknown method", form(FORM, "PURGE"), every("other:PURGE", { ...UNKNOWN, hono: "DELETE" })),
  kase("query _method on PUT", query("_method", "PUT"), every("PUT", { hono: "DELETE" })),
  kase("query _method on OPTIONS", query("_method", "OPTIONS"), every("OPTIONS", { hono: "DELETE" })),
  kase("query _method on HEAD", query("_method", "HEAD"), every("HEAD", { ...HEAD_AS_GET, hono: "DELETE" })),
  kase("query _method on GET", query("_method", "GET"), every("GET")),
  // a CORS preflight carrying an override
  kase(
    "preflight with query _method",
    { ...query("_method", "OPTIONS"), headers: PREFLIGHT },
    every("OPTIONS", { hono: "DELETE" }),
  ),
  kase(
    "preflight with X-HTTP-Method-Override",
    overrideHeader("OPTIONS", "DELETE", PREFLIGHT),
    every("OPTIONS", ANY_METHOD),
  ),
  kase(
    "preflight with form _method",
    { ...form(FORM, "OPTIONS"), headers: { ...PREFLIGHT, "content-type": FORM } },
    every("OPTIONS", { hono: "DELETE" }),
  ),
];

/** Laravel has no setting; Symfony reads the header on POST whatever http_method_override says. */
const SETTING_ONLY = { laravel: "DELETE", symfony: "DELETE" } as const;
/** docs/method-override.md's refusal in Laravel and Symfony: 405, from the framework, no handler run. */
const REFUSED = { laravel: "other:DELETE", symfony: "other:DELETE" } as const;

const LARAVEL_REFUSED = { laravel: "other:DELETE" } as const;
const UNKNOWN_EVERYWHERE = every("other:PURGE", UNKNOWN);
const MULTIPART_FORM = form(MULTIPART, "POST", MULTIPART_BODY);

/**
 * Each channel above, and what still counts with overriding switched off: [name, request, served under
 * "setting-off" (the framework's setting alone), served under "off" (as docs/method-override.md says)].
 */
const OFF_CASES: ReadonlyArray<readonly [string, RawRequest, Expected, Expected]> = [
  ["form _method", form(), every("POST", LARAVEL), every("POST", LARAVEL_REFUSED)],
  ["multipart _method", MULTIPART_FORM, every("POST", LARAVEL), every("POST", LARAVEL_REFUSED)],
  ["json _method", json("application/json"), every("POST", LARAVEL), every("POST", LARAVEL_REFUSED)],
  ["query _method", query("_method"), every("POST", LARAVEL), every("POST", LARAVEL_REFUSED)],
  ["query .method", query(".method"), every("POST", LARAVEL), every("POST", LARAVEL_REFUSED)],
  ["form without Content-Type", { ...post("/orders/1"), body: "_method=DELETE" }, every("POST"), every("POST")],
  ["X-HTTP-Method-Override on POST", overrideHeader("POST"), every("POST", SETTING_ONLY), every("POST", REFUSED)],
  ["x_http_method_override", post("/orders/1", UNDERSCORED), every("POST", SETTING_ONLY), every("POST", REFUSED)],
  ["X-HTTP-Method-Override on GET", overrideHeader("GET"), every("GET"), every("GET")],
  ["X-HTTP-Method-Override on PUT", overrideHeader("PUT"), every("PUT"), every("PUT")],
  ["form _method on PUT", form(FORM, "PUT"), every("PUT"), every("PUT")],
  ["query _method on OPTIONS", query("_method", "OPTIONS"), every("OPTIONS"), every("OPTIONS")],
  ["X-HTTP-Method-Override on PURGE", overrideHeader("PURGE"), UNKNOWN_EVERYWHERE, UNKNOWN_EVERYWHERE],
  ["plain DELETE", { method: "DELETE", target: "/orders/1" }, every("DELETE"), every("DELETE")],
  ["plain POST", post("/orders/1"), every("POST"), every("POST")],
];

/** What the test reads off an answer, in the notation of `served`. */
function reading(status: number, headers: Parameters<typeof readServed>[0]): string {
  const served = readServed(headers);
  if (served === undefined) return String(status);
  return served.route === "orders" ? served.method : `${served.route}:${served.method}`;
}

describe.skipIf(skip).each(FRAMEWORKS)("%s", (name) => {
  let origin: RunningOrigin;
  beforeAll(async () => {
    origin = await startFramework(name);
  }, START_TIMEOUT_MS + 5_000);
  afterAll(async () => {
    await origin.close();
  });

  it("records the route, the method and the path it routed, and the identity header it received", async () => {
    const withUser = await fetch(`${origin.url}/orders/1`, { headers: { "x-authgear-user-id": "user-1" } });
    expect(readServed(withUser.headers)).toEqual({ route: "orders", method: "GET", path: "/orders/1", user: "user-1" });
    const anonymous = await fetch(`${origin.url}/reports/a%20b`, { method: "DELETE" });
    expect(readServed(anonymous.headers)).toMatchObject({ route: "reports", method: "DELETE", user: undefined });
    expect(readServed(anonymous.headers)?.path).toMatch(/^\/reports\/a(%20| )b$/);
  });

  it("takes x_authgear_user_id for the identity header when its server maps `_` to `-`", async () => {
    const answer = await sendRaw(origin.url, get("/orders/1", { x_authgear_user_id: "posing" }));
    const cgiStyle = name !== "express" && name !== "hono";
    expect(readServed(answer.headers)?.user).toBe(cgiStyle ? "posing" : undefined);
  });

  it.each(CASES)("$name", async (request) => {
    const answer = await sendRaw(origin.url, request);
    expect(reading(answer.status, answer.headers)).toBe(request.served[name]);
  });
});

const OFF_MODES = [
  ["setting-off", 2],
  ["off", 3],
] as const;

/** "off" differs from "setting-off" only in Laravel and Symfony (the refusal docs/method-override.md adds). */
const OFF_RUNS = FRAMEWORKS.flatMap((name) =>
  OFF_MODES.filter(([mode]) => mode === "setting-off" || name === "laravel" || name === "symfony").map(
    ([mode, column]) => ({ name, mode, column }),
  ),
);

describe.skipIf(skip).each(OFF_RUNS)("$name, methodOverride: $mode", ({ name, mode, column }) => {
  let origin: RunningOrigin;
  beforeAll(async () => {
    origin = await startFramework(name, { methodOverride: mode });
  }, START_TIMEOUT_MS + 5_000);
  afterAll(async () => {
    await origin.close();
  });

  it.each(OFF_CASES)("%s", async (...offCase) => {
    const answer = await sendRaw(origin.url, offCase[1]);
    expect(reading(answer.status, answer.headers)).toBe(offCase[column][name]);
  });
});

describe.skipIf(skip)("startFramework", () => {
  it(
    "gives each start its own port, and close() ends the app",
    async () => {
      const [first, second] = await Promise.all([startFramework("laravel"), startFramework("flask")]);
      expect(first.url).not.toBe(second.url);
      await Promise.all([first.close(), second.close()]);
      for (const origin of [first, second]) {
        await expect(fetch(`${origin.url}/orders/1`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
      }
    },
    2 * START_TIMEOUT_MS,
  );
});

/** Starts `name` in a process of its own, which the test then kills without letting it clean up. */
async function startInDoomedProcess(name: FrameworkName): Promise<{ url: string; kill(): void }> {
  const script = fileURLToPath(new URL("start-one.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script, name], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return { url: line, kill: () => child.kill("SIGKILL") };
}

describe.skipIf(skip)("an app whose test process is killed", () => {
  it.each(["symfony", "flask"] as const)(
    "%s ends too",
    async (name) => {
      const doomed = await startInDoomedProcess(name);
      expect((await fetch(`${doomed.url}/orders/1`)).status).toBe(200);
      doomed.kill();
      const deadline = Date.now() + 5_000;
      let refused = false;
      while (!refused && Date.now() < deadline) {
        refused = await fetch(`${doomed.url}/orders/1`, { signal: AbortSignal.timeout(500) }).then(
          () => false,
          () => true,
        );
        if (!refused) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(refused).toBe(true);
    },
    2 * START_TIMEOUT_MS,
  );
});

describe("readServed", () => {
  it("is undefined for an answer that is not an app's", () => {
    expect(readServed(new Headers({ "content-type": "application/json" }))).toBeUndefined();
    const admin = { "x-served-route": "admin", "x-served-method": "GET", "x-served-path": "/", "x-served-user": "-" };
    expect(readServed(admin)).toBeUndefined();
  });

  it("decodes the path byte for byte", () => {
    const headers = { "x-served-route": "other", "x-served-method": "GET", "x-served-user": "u" };
    expect(readServed({ ...headers, "x-served-path": "%2Fa%20%C3%A9" })?.path).toBe("/a é");
    expect(readServed({ ...headers, "x-served-path": "%2F%FF" })?.path).toBe("/\u00ff");
  });
});
