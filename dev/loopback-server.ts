/**
 * A node:http server on 127.0.0.1 only, for the dev issuer and the demo origin: a failing handler
 * answers 500 instead of crashing, and `close()` ends every open socket (idle keep-alive and hung
 * requests included) so tests and `npm start` stop promptly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo, Socket } from "node:net";

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Takes over a connection that asked to switch protocols (a WebSocket opening handshake). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export async function listenOnLoopback(
  name: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  upgrade?: UpgradeHandler,
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(`${name}:`, error);
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "unexpected_error" }));
      } else {
        res.destroy();
      }
    });
  });
  // Without a handler, Node closes an upgrade request's connection unanswered.
  if (upgrade !== undefined) server.on("upgrade", upgrade);
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
