/**
 * The example protected function of serverless.yml: answers 200 with what API Gateway handed it
 * in `requestContext.authorizer` — on a REST API the authorizer's `context` plus `principalId`,
 * on an HTTP API the context under `lambda` — so you (and test/aws/offline.test.ts) can see the
 * identity a backend receives. It runs only after the authorizer allowed the request.
 *
 * With CORS_ALLOWED_ORIGINS (exact origins, comma-separated), a request from one of them gets the
 * CORS grant, as a REST API's Lambda proxy integration must give it itself (an HTTP API's CORS
 * configuration replaces it).
 */
const allowedOrigins = new Set(
  (process.env.CORS_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== ""),
);

/**
 * @param {{ headers?: Record<string, string | undefined> | null, requestContext?: { authorizer?: unknown } }} event
 * @returns {Promise<{ statusCode: number, headers: Record<string, string>, body: string }>}
 */
export function handler(event) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  if (allowedOrigins.size > 0) {
    // API Gateway keeps header names as the client spelled them.
    const origin = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === "origin")?.[1];
    headers.vary = "Origin";
    if (origin !== undefined && allowedOrigins.has(origin)) {
      headers["access-control-allow-origin"] = origin;
      headers["access-control-allow-credentials"] = "true";
    }
  }
  return Promise.resolve({
    statusCode: 200,
    headers,
    body: JSON.stringify({ authorizer: event.requestContext?.authorizer ?? null }),
  });
}
