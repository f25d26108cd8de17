import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/log-scan.ts"],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
