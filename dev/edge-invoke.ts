/**
 * `npm run -s edge:invoke -- /path?query [--header 'Name: value'] [--method GET]`: one viewer-request
 * event, shaped as CloudFront sends it, through the built function (dist/edge/viewer-request.mjs, or
 * `--bundle dir`), as Lambda@Edge would run it; prints what the function hands back to CloudFront:
 * the request going on (with the identity headers) or the response sent in its place.
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    header: { type: "string", multiple: true, default: [] },
    method: { type: "string", default: "GET" },
    bundle: { type: "string", default: "dist/edge" },
  },
});
const [target = "/"] = positionals;
const url = new URL(target, "https://d111111abcdef8.cloudfront.net");
const headers: Record<string, Array<{ key: string; value: string }>> = {
  host: [{ key: "Host", value: url.host }],
};
for (const line of values.header) {
  const colon = line.indexOf(":");
  if (colon < 1) throw new Error(`--header "${line}": expected "Name: value"`);
  const key = line.slice(0, colon).trim();
  (headers[key.toLowerCase()] ??= []).push({ key, value: line.slice(colon + 1).trim() });
}
const event = {
  Records: [
    {
      cf: {
        config: {
          distributionDomainName: url.host,
          distributionId: "EDFDVBD6EXAMPLE",
          eventType: "viewer-request",
          requestId: "edge-invoke",
        },
        request: {
          clientIp: "203.0.113.178",
          method: values.method,
          uri: url.pathname,
          querystring: url.search.slice(1),
          headers,
        },
      },
    },
  ],
};
const bundle = pathToFileURL(join(resolve(values.bundle), "viewer-request.mjs")).href;
const { handler } = (await import(bundle)) as { handler: (event: unknown) => Promise<unknown> };
process.stdout.write(`${JSON.stringify(await handler(event), null, 2)}\n`);
