/**
 * One Lambda container for examples/lambda-authorizer: run as its own process, whose environment
 * is the Lambda's (so the example's `createHandler()` reads it, as deployed). Reads a JSON array
 * of events on standard input and writes, as its last line, `RESULTS <json>`: per event
 * `{ result }` or `{ error: <the thrown message> }`. The authorizer's own log lines come before.
 */
import { handler } from "../../examples/lambda-authorizer/authorizer.ts";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const events = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Parameters<typeof handler>[0][];
const results: unknown[] = [];
for (const event of events) {
  try {
    results.push({ result: await handler(event, { awsRequestId: "example" }) });
  } catch (error) {
    results.push({ error: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(`RESULTS ${JSON.stringify(results)}\n`);
