import { Hono } from "hono";
import { loadConfig } from "./config";
import type { Config, Env } from "./config";
import { PriceTableStore } from "./kv";
import { httpFacilitator } from "./payments";
import { errorResponse, handleRequest } from "./paywall";
import type { PaywallDeps } from "./paywall";

/**
 * Builds the Hono app: the paywall's own endpoints under `/__x402/`, and every other request
 * through the paywall flow. Dependencies are built once per isolate (the price table cache
 * lives as long as the isolate) and rebuilt only if the bindings change.
 */

let cached: { env: Env; key: string; deps: PaywallDeps } | undefined;

function depsFor(env: Env, config: Config): PaywallDeps {
  const key = JSON.stringify(config);
  if (cached && cached.env.PRICES === env.PRICES && cached.key === key) return cached.deps;
  const deps: PaywallDeps = {
    tables: new PriceTableStore(env.PRICES, {
      ttlMs: config.tableTtlMs,
      env: { network: config.network, payTo: config.payTo },
    }),
    facilitator: httpFacilitator({
      urls: config.facilitatorUrls,
      timeoutMs: config.facilitatorTimeoutMs,
    }),
    origin: { base: config.originUrl, payerHeader: config.payerHeader },
  };
  cached = { env, key, deps };
  return deps;
}

/** Creates the Worker's app. */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();

  app.get("/__x402/health", async (c) => {
    const loaded = loadConfig(c.env);
    if (!loaded.ok) return c.json({ ok: false, reason: loaded.reason }, 503);
    const state = await depsFor(c.env, loaded.config).tables.current();
    if (!state.ok) return c.json({ ok: false, reason: state.reason }, 503);
    return c.json({ ok: true, priceTableVersion: state.table.version ?? null });
  });

  app.all("*", (c) => {
    const loaded = loadConfig(c.env);
    if (!loaded.ok) {
      console.error(loaded.reason);
      return errorResponse("misconfigured", loaded.reason);
    }
    return handleRequest(c.req.raw, depsFor(c.env, loaded.config));
  });

  app.onError((error) => {
    console.error("unexpected error", error);
    return errorResponse("internal_error", "the paywall hit an unexpected error");
  });
  return app;
}
