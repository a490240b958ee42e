import { defineConfig } from "vitest/config";

/** End-to-end tests: anvil + Circle's USDC + the official facilitator + demo origin + `wrangler dev`. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
