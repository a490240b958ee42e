/**
 * The price table of the model test: one rule per kind of paid route the paid path knows, each
 * path `/<route>/<behaviour>/<id>` (test/model/origin.ts answers by behaviour).
 */

/** The kinds of paid routes the model drives. */
export const ROUTES = ["pay", "pass", "meter", "sse"] as const;
/** One of `ROUTES`. */
export type Route = (typeof ROUTES)[number];

/** The most each route's payment is for (atomic USDC, 6 decimals). */
export const SIGNED: Record<Route, bigint> = {
  pay: 1000n,
  pass: 2000n,
  meter: 10_000n,
  sse: 10_000n,
};
/** A metered unit's price (atomic USDC): "$0.0001". */
export const UNIT_PRICE = 100n;
/** Uses a pass bought on `/pass/*` carries (the paid request spends the first). */
export const PASS_USES = 2;

/** The table, as the Worker reads it from KV. */
export const MODEL_PRICES = {
  version: "model-1",
  defaults: { network: "eip155:84532", maxTimeoutSeconds: 60 },
  rules: [
    {
      path: "/pay/*",
      price: "$0.001",
      description: "Pay per request",
      mimeType: "application/json",
    },
    {
      path: "/pass/*",
      price: "$0.002",
      description: "A pass of two uses",
      mimeType: "application/json",
      session: { ttl: "1h", uses: PASS_USES },
    },
    {
      path: "/meter/*",
      price: "$0.01",
      description: "Metered by a usage header",
      mimeType: "application/json",
      metered: { unitPrice: "$0.0001", usage: { header: "x-usage-units" } },
    },
    {
      path: "/sse/*",
      price: "$0.01",
      description: "Metered stream (SSE)",
      mimeType: "text/event-stream",
      metered: { unitPrice: "$0.0001", usage: { sse: "usage.total_tokens" } },
    },
  ],
  default: { free: true },
};
