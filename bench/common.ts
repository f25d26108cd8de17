/** What the benchmarks share: the project root, statistics, number formatting and report lines. */
import { readFileSync } from "node:fs";
import type { DevIssuer } from "../dev/issuer.ts";
import { loadavg } from "node:os";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");

export function fail(message: string): never {
  throw new Error(`bench: ${message}`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? fail("no samples");
  return sorted.length % 2 === 1 ? upper : (upper + (sorted[middle - 1] ?? upper)) / 2;
}

/** The installed version of a package, from its manifest in node_modules. */
export function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(resolve(ROOT, "node_modules", name, "package.json"), "utf8")) as { version?: string };
  return manifest.version ?? "?";
}

export const fixed = (value: number, digits = 1): string => value.toFixed(digits);
export const integer = (value: number): string => Math.round(value).toLocaleString("en-US");
export const kib = (bytes: number): string => `${fixed(bytes / 1024)} KiB`;
export const loadAverages = (): string => loadavg().map((value) => fixed(value, 2)).join(", ");

export function targetLine(pass: boolean, text: string): string {
  return `- ${pass ? "PASS" : "MISS"}: ${text}`;
}

/** `count` distinct access tokens for subjects `bench-user-<i>`, minted a few at a time (WebCrypto signs on libuv's thread pool). */
export async function mintTokens(issuer: DevIssuer, count: number): Promise<string[]> {
  const pool: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        pool[index] = await issuer.mintAccessToken({ sub: `bench-user-${index}` });
      }
    }),
  );
  if (new Set(pool).size !== count) fail("the token pool is not distinct");
  return pool;
}
