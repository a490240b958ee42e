import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { wranglerEnv } from "./dev/worker.ts";

// Keep wrangler offline and its files inside the project, as for every wrangler run here.
Object.assign(process.env, wranglerEnv());

/** Integration tests: the Worker inside workerd with local KV, against fake facilitator and origin servers. */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ORIGIN_URL: inject("originUrl"),
          FACILITATOR_URLS: inject("facilitatorUrl"),
          // The fake facilitator's fake chain (test/support/fakes.ts), read to resolve pending payments.
          CHAIN_RPC_URLS: JSON.stringify({ "eip155:84532": `${inject("facilitatorBase")}/rpc` }),
          PRICE_TABLE_TTL_SECONDS: "0",
          FACILITATOR_TIMEOUT_MS: "2000",
          WEB_BOT_AUTH_HTTP_LOOPBACK: "true",
          SESSION_SECRET: "workers-test-session-secret-0123456789",
          ADMIN_TOKEN: "workers-test-admin-token",
          // Funnel counts are written right after each answer, so a test reads them at once.
          FUNNEL_FLUSH_SECONDS: "0",
        },
      },
    })),
  ],
  test: {
    include: ["test/workers/**/*.test.ts"],
    globalSetup: ["test/workers/global-setup.ts", "test/support/crawler-setup.ts"],
  },
});
