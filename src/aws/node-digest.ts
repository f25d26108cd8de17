/**
 * The core's `Digest` on node:crypto, for the resolver's verdict keys. It answers synchronously:
 * WebCrypto's `digest` in Node queues each hash on libuv's thread pool (about 170 µs of wall time
 * per call measured on a Lambda-sized CPU), for a few hundred bytes that hash in a microsecond.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../core/index.ts";

export const nodeDigest: Digest = (text) => createHash("sha256").update(text, "utf8").digest("hex");
