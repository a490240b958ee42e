import { defineConfig } from "vitest/config";

/**
 * End-to-end tests: each file starts its own local stack on free ports (anvil + Circle's USDC +
 * the official facilitator + the demo origin + `wrangler dev`) and pays with the official clients.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
