/**
 * The demo origin's WebSocket endpoint (every path): it accepts an opening handshake as an
 * application behind the gate would, choosing the first subprotocol offered, then sends one
 * JSON message saying what reached it (path, the identity headers, the `Sec-WebSocket-Protocol`
 * it received, the protocol it chose) and echoes every later message. A token entry the gate
 * failed to remove would be the first offered, so it would be chosen, and shown.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";

/** The first message of every connection. */
export interface EchoHello {
  readonly kind: "hello";
  /** The raw request-target, query included. */
  readonly path: string;
  /** Every `x-authgear-*` header received, by lower-case name. */
  readonly identity: Record<string, string>;
  /** The `Sec-WebSocket-Protocol` header received, as received; `null` when absent. */
  readonly offered: string | null;
  /** The protocol the origin chose (`""`: none offered). */
  readonly protocol: string;
}

export interface WebSocketEcho {
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Ends every connection (the server's own `close` destroys their sockets too). */
  close(): void;
}

export function createWebSocketEcho(): WebSocketEcho {
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
  });
  return {
    handleUpgrade(req, socket, head) {
      server.handleUpgrade(req, socket, head, (ws) => {
        const identity = Object.fromEntries(
          Object.entries(req.headers).flatMap(([name, value]) =>
            name.startsWith("x-authgear-") && typeof value === "string" ? [[name, value]] : [],
          ),
        );
        const offered = req.headers["sec-websocket-protocol"] ?? null;
        const hello: EchoHello = { kind: "hello", path: req.url ?? "", identity, offered, protocol: ws.protocol };
        ws.send(JSON.stringify(hello));
        ws.on("message", (data, isBinary) => {
          ws.send(data, { binary: isBinary });
        });
      });
    },
    close() {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}
