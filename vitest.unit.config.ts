import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    // The storage harness runs Durable Object SQL on node:sqlite, which Node 22 still calls
    // experimental: its warning says nothing about the code under test.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
