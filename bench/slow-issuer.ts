/**
 * The issuer 50 ms away, for the Lambda benchmark's cold starts: a loopback http server that
 * answers each request after `delayMs` with the dev issuer's answer to the same path, the dev
 * issuer's origin replaced by its own in the body (so its discovery document names itself as the
 * issuer and its own JWKS URI; tokens for it are minted with its origin as `iss` and `aud`). One
 * delay per answer models one round trip per request; connection set-up is not delayed.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlowIssuer {
  /** `http://127.0.0.1:<port>`: the issuer, as its discovery document names it. */
  readonly origin: string;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  close(): void;
}

export async function startSlowIssuer(upstream: string, delayMs: number): Promise<SlowIssuer> {
  const hits = new Map<string, number>();
  let origin = "";
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    setTimeout(() => {
      fetch(`${upstream}${path}`)
        .then(async (answer) => {
          const body = (await answer.text()).replaceAll(upstream, origin);
          const type = answer.headers.get("content-type") ?? "application/json";
          res.writeHead(answer.status, { "content-type": type }).end(body);
        })
        .catch(() => res.writeHead(502).end());
    }, delayMs);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = (): void => {
    server.close();
    server.closeAllConnections();
  };
  return { origin, hits, close };
}
