/**
 * The package as `npm publish` would ship it: `npm pack` of the lib/ that the test setup built,
 * its file list, publint (strict) and Are the Types Wrong (ESM only: the package has no CommonJS
 * build), and each entry point imported by its public name, as a consumer's code does.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { publint } from "publint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");
const PACK_MS = 60_000;
const ENTRY_POINTS = {
  ".": "core",
  "./cloudflare": "cloudflare",
  "./aws": "aws",
  "./aws-edge": "aws-edge",
  "./hono": "hono",
  "./assertion": "assertion",
} as const;

let dir: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "authgear-edge-pack-"));
  // Scripts off: lib/ is already built (the prepack script would build it again).
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    timeout: PACK_MS,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (packed === undefined) throw new Error("npm pack reported no package");
  tarball = join(dir, packed.filename);
  files = packed.files.map(({ path }) => path).sort();
}, PACK_MS);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("npm pack", () => {
  it("ships the compiled entry points with their declarations, the README, the licence and the Authgear contract, nothing else", () => {
    // front/: the gate in front of an origin, which /cloudflare and /aws-edge share.
    const shipped = /^lib\/(?:core|front|cloudflare|aws|aws-edge|hono|assertion)\/[a-z0-9-]+\.(?:js|d\.ts)$/;
    const outside = files.filter((path) => !shipped.test(path));
    expect(outside).toEqual(["LICENSE", "README.md", "docs/authgear-contract.md", "package.json"]);
    for (const entry of Object.values(ENTRY_POINTS)) {
      expect(files).toEqual(expect.arrayContaining([`lib/${entry}/index.js`, `lib/${entry}/index.d.ts`]));
    }
    // No test, dev issuer, benchmark, deployable bundle or TypeScript source.
    expect(files.filter((path) => /^(?:test|dev|bench|dist|src|examples)\/|\.ts$(?<!\.d\.ts)/.test(path))).toEqual([]);
  });

  it("ships declarations whose relative imports name the .js files it ships (never a .ts source)", async () => {
    const declarations = files.filter((path) => path.endsWith(".d.ts"));
    expect(declarations.length).toBeGreaterThan(0);
    for (const path of declarations) {
      const text = await readFile(join(ROOT, path), "utf8");
      expect(text.match(/(?:from\s+|import\()"\.{1,2}\/[^"]*\.ts"/g), path).toBeNull();
    }
  });

  it("passes publint in strict mode", { timeout: PACK_MS }, async () => {
    const buffer = await readFile(tarball);
    const { messages } = await publint({
      strict: true,
      pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
    });
    expect(messages).toEqual([]);
  });

  it(
    "resolves every entry point with its types for ESM consumers (Are the Types Wrong, esm-only profile)",
    { timeout: PACK_MS },
    async () => {
      const attw = join(ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js");
      // Exit code 1 on any problem in the resolutions the profile checks.
      const { stdout } = await run(process.execPath, [attw, tarball, "--profile", "esm-only", "--no-color"], {
        timeout: PACK_MS,
      });
      for (const subpath of Object.keys(ENTRY_POINTS)) {
        const name = subpath === "." ? "authgear-edge" : `authgear-edge/${subpath.slice(2)}`;
        expect(stdout).toMatch(new RegExp(`"${name}"\\n\\nnode16 \\(from ESM\\): 🟢 \\(ESM\\)\\nbundler: 🟢`));
      }
    },
  );
});

describe("the entry points, by their public names", () => {
  it("authgear-edge: the core", async () => {
    const core = await import("authgear-edge");
    expect(Object.keys(core)).toEqual(
      expect.arrayContaining([
        "createGate",
        "oncePerSettings",
        "createAuthenticator",
        "createDecider",
        "parseConfig",
        "AuthError",
        "AUTH_ERRORS",
        "identityHeaders",
        "errorResponse",
      ]),
    );
  });

  it("authgear-edge/cloudflare, /aws, /aws-edge and /hono: the factories", async () => {
    const [cloudflare, aws, edge, hono] = await Promise.all([
      import("authgear-edge/cloudflare"),
      import("authgear-edge/aws"),
      import("authgear-edge/aws-edge"),
      import("authgear-edge/hono"),
    ]);
    expect(typeof edge.createEdgeHandler).toBe("function");
    expect(typeof cloudflare.createWorker).toBe("function");
    expect(typeof cloudflare.createCacheKeySetStore).toBe("function");
    expect(typeof aws.createHandler).toBe("function");
    expect(typeof hono.authgear).toBe("function");
  });

  it("authgear-edge/assertion: the origin's verifier, loading jose and nothing of the gate", async () => {
    const { createAssertionVerifier, AssertionVerificationError } = await import("authgear-edge/assertion");
    expect(typeof createAssertionVerifier).toBe("function");
    expect(typeof AssertionVerificationError).toBe("function");
    // Every module the entry loads, followed through its relative imports: no settings, decider or platform.
    const loaded = new Set<string>();
    const bare = new Set<string>();
    const visit = async (path: string): Promise<void> => {
      if (loaded.has(path)) return;
      loaded.add(path);
      const text = await readFile(join(ROOT, path), "utf8");
      for (const [, target = ""] of text.matchAll(/(?:from|import)\s*"([^"]+)"/g)) {
        if (target.startsWith(".")) await visit(join(dirname(path), target));
        else bare.add(target);
      }
    };
    await visit("lib/assertion/index.js");
    expect([...loaded].sort()).toEqual([
      "lib/assertion/index.js",
      "lib/core/assertion-verifier.js",
      "lib/core/compact-jws.js",
    ]);
    expect([...bare]).toEqual(["jose"]);
  });
});
