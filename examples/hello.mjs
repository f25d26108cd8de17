/**
 * The example protected function of serverless.yml: answers 200 with what API Gateway handed it
 * in `requestContext.authorizer` — on a REST API the authorizer's `context` plus `principalId`,
 * on an HTTP API the context under `lambda` — so you (and test/aws/offline.test.ts) can see the
 * identity a backend receives. It runs only after the authorizer allowed the request.
 *
 * @param {{ requestContext?: { authorizer?: unknown } }} event
 * @returns {Promise<{ statusCode: number, headers: Record<string, string>, body: string }>}
 */
export function handler(event) {
  return Promise.resolve({
    statusCode: 200,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify({ authorizer: event.requestContext?.authorizer ?? null }),
  });
}
