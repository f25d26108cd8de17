import { describe, expect, it } from "vitest";
import { logProblems } from "./log-rules.ts";

const cookie = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA";

describe("the log scan's rules", () => {
  it("finds a credential, a secret or a query string in a line of ours, naming the event only", () => {
    const lines = [
      `{"level":"warn","event":"request_refused","code":"ERR_JWT_EXPIRED","path":"/x"}`,
      `{"level":"warn","event":"request_refused","path":"/x?token=abc"}`,
      `{"level":"error","event":"resolver_failed","reason":"cookie ${cookie}"}`,
      `workerd: {"level":"info","event":"keyset_refreshed","note":"${cookie.slice(0, 20)}"}`,
      `a line of someone else's that mentions ${cookie}`,
    ];
    expect(logProblems(lines, new Set([cookie]))).toEqual([
      "request_refused: a query string in path",
      "resolver_failed: a credential or secret",
      "keyset_refreshed: a credential or secret",
    ]);
  });

  it("passes clean lines, and ignores values too short to be credentials", () => {
    expect(logProblems([`{"event":"request_allowed","path":"/a","user_id":"alice"}`], new Set(["alice"]))).toEqual([]);
  });
});
