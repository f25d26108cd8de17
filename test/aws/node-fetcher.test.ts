/**
 * The Lambda's node:http fetcher behind the core, against the dev issuer over loopback HTTP: the
 * same answers as with `fetch` (test/core/key-set.test.ts, test/core/resolver.test.ts) for a
 * healthy issuer and for every way the issuer or the resolver can fail.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { nodeFetcher } from "../../src/aws/node-fetcher.ts";
import { fetchJson } from "../../src/core/http.ts";
import type { Fetcher } from "../../src/core/ports.ts";
import { harness, outcome, useDevIssuer } from "../helpers.ts";

const issuer = useDevIssuer(undefined, { restoreEachTest: true });
/** An issuer nothing listens for. */
const DOWN = "http://127.0.0.1:9";

function recorded(sent: string[]): Fetcher {
  return (url, init) => {
    sent.push(url);
    return nodeFetcher(url, init);
  };
}

describe("the key set over node:http", () => {
  it("fetches discovery and the JWKS once and verifies tokens", async () => {
    const sent: string[] = [];
    const h = harness(issuer, {}, { fetcher: recorded(sent) });
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(await outcome(h, await issuer.mintAccessToken())).toBe("ok");
    expect(sent).toEqual([`${issuer.origin}/.well-known/openid-configuration`, issuer.jwksUri]);
  });

  it.each(["http500", "redirect", "oversize", "invalid-json", "reset", "hang"] as const)(
    "answers ERR_KEYSET_UNAVAILABLE when the issuer gives %s, within the deadline",
    async (mode) => {
      const token = await issuer.mintAccessToken();
      issuer.setFailure(mode);
      const redirectedBefore = issuer.hits.redirected;
      const h = harness(issuer, {}, { fetcher: nodeFetcher });
      const started = Date.now();
      expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(issuer.hits.redirected).toBe(redirectedBefore);
    },
  );

  it("answers ERR_KEYSET_UNAVAILABLE when nothing listens", async () => {
    const h = harness(issuer, { AUTHGEAR_ENDPOINT: DOWN }, { fetcher: nodeFetcher });
    // A token naming that issuer: the gate trusts it, and cannot fetch its keys.
    const token = await issuer.mintAccessToken({ claims: { iss: DOWN, aud: [DOWN] } });
    expect(await outcome(h, token)).toBe("ERR_KEYSET_UNAVAILABLE");
  });
});

describe("the resolver over node:http", () => {
  const ask = async (cookie: string): Promise<string> => {
    const h = harness(issuer, { AUTH_MODE: "resolver", RESOLVER_TIMEOUT_MS: "500" }, { fetcher: nodeFetcher });
    const result = await h.auth.authenticate(new Headers({ cookie }));
    if (!result.ok) return result.error.code;
    const { identity } = result;
    if (identity.kind === "client") return `client:${identity.clientId}`;
    return `ok:${identity.userId}:${identity.roles.join(",")}`;
  };

  it("reads a valid verdict's identity headers, and an invalid one", async () => {
    issuer.upsertUser("nina", { roles: ["staff"] });
    const session = issuer.createSession("nina");
    expect(await ask(`session=${session.cookie}`)).toBe("ok:nina:staff");
    expect(await ask("session=not-a-session")).toBe("ERR_SESSION_INVALID");
  });

  it.each(["http500", "hang", "redirect", "malformed", "duplicated-user-id"] as const)(
    "fails closed when the resolver gives %s",
    async (mode) => {
      const session = issuer.createSession("nina");
      issuer.setResolverFailure(mode);
      expect(await ask(`session=${session.cookie}`)).toBe("ERR_RESOLVER_UNAVAILABLE");
    },
  );
});

describe("the body as node:http reads it (no web streams)", () => {
  /** A loopback server: each request answers 200 with `headers`, then runs `body` on the response. */
  async function serve(
    body: (res: ServerResponse) => void,
  ): Promise<{ url: string; closed: () => number; close: () => void }> {
    let closed = 0;
    const server = createServer((req, res) => {
      res.on("close", () => (closed += 1));
      body(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/jwks`,
      closed: () => closed,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  it("reads a body sent in several chunks, whole and in order", async () => {
    const server = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"keys":[');
      setTimeout(() => res.end('{"kty":"RSA"}]}'), 20);
    });
    try {
      expect(await fetchJson(nodeFetcher, server.url, { timeoutMs: 2000, maxBytes: 1024 })).toEqual({
        keys: [{ kty: "RSA" }],
      });
    } finally {
      server.close();
    }
  });

  it("keeps the deadline while the body stalls after the headers", async () => {
    const server = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"keys":[');
    });
    try {
      const started = Date.now();
      const failure = fetchJson(nodeFetcher, server.url, { timeoutMs: 300, maxBytes: 1024 });
      await expect(failure).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      server.close();
    }
  });

  it("refuses a chunked body past the limit without reading it to the end, and closes the connection", async () => {
    const server = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = `"${"a".repeat(510)}",`;
      let sent = 0;
      const more = (): void => {
        if (res.destroyed || sent > 10_000) return;
        sent += 1;
        res.write(chunk, more);
      };
      res.write("[", more);
    });
    try {
      await expect(fetchJson(nodeFetcher, server.url, { timeoutMs: 2000, maxBytes: 1024 })).rejects.toThrow(
        /larger than 1024 bytes/,
      );
      await expect.poll(server.closed).toBe(1);
    } finally {
      server.close();
    }
  });
});
