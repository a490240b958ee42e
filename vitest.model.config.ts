import { defineConfig } from "vitest/config";

/**
 * The adversarial model test of the paid path (test/model): the bundled Worker in workerd
 * (Miniflare) against anvil + Circle's USDC + the official facilitator behind fault proxies.
 * `MODEL_RUNS`, `MODEL_SEED`, … tune it (test/model/run.ts).
 */
export default defineConfig({
  test: {
    include: ["test/model/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
