/**
 * The authorizer keys resolver verdicts with node:crypto's synchronous SHA-256 (src/aws/node-digest.ts), the
 * Worker and the library with WebCrypto's (core ports.ts). Both must be SHA-256 of the UTF-8 bytes in lower-case hex:
 * checked against FIPS 180-2's published vectors, and against each other on generated text (any code point, lone
 * surrogates included: the framed credentials are JSON, which escapes those, but the port takes any string).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeDigest } from "../../src/aws/node-digest.ts";
import { webCryptoDigest } from "../../src/core/index.ts";

/** FIPS 180-2, Appendix B.1 and B.2, and the empty message. */
const VECTORS: ReadonlyArray<readonly [string, string]> = [
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
];

describe("the resolver's verdict keys (Digest)", () => {
  it.each(VECTORS)("hashes %j to FIPS 180-2's digest, in both implementations", async (text, expected) => {
    expect(nodeDigest(text)).toBe(expected);
    await expect(webCryptoDigest(text)).resolves.toBe(expected);
  });

  it("answers synchronously in Node, without a promise", () => {
    expect(typeof nodeDigest("abc")).toBe("string");
  });

  it("agrees with WebCrypto on any text, as UTF-8", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 600 }), async (text) => {
        expect(nodeDigest(text)).toBe(await webCryptoDigest(text));
      }),
      { numRuns: 1000, seed: 21_2026 },
    );
  });
});
