/**
 * The peer: the official `@x402/hono` `paymentMiddleware` in front of the same origin, with the
 * routes and prices of dev/prices.json. The middleware is built on the first request, because
 * building it fetches the facilitator's `/supported` and a Worker may do no I/O at global scope;
 * it needs `nodejs_compat` (it calls `Buffer`).
 */
import { HTTPFacilitatorClient, type RouteConfig, type RoutesConfig } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware, x402ResourceServer } from "@x402/hono";
import { Hono, type MiddlewareHandler } from "hono";
import { forward, type ProxyEnv } from "./proxy.ts";

/** Bindings of the peer Workers. */
export interface PeerEnv extends ProxyEnv {
  FACILITATOR_URL: string;
  PAY_TO: string;
  NETWORK: `${string}:${string}`;
}

/** What a variant adds: extensions for the resource server and declarations for the routes. */
export interface PeerVariant {
  /** Registers extensions; `origin` is the public origin requests arrive on. */
  setup?(server: x402ResourceServer, origin: string): void;
  /** Extensions declared on every priced route. */
  routeExtensions?(): Record<string, unknown>;
}

/** dev/prices.json in the middleware's route syntax (it has no free exceptions: see below). */
function routes(env: PeerEnv, variant: PeerVariant): RoutesConfig {
  const route = (price: string, description: string, mimeType: string): RouteConfig => ({
    accepts: { scheme: "exact", price, network: env.NETWORK, payTo: env.PAY_TO },
    description,
    mimeType,
    ...(variant.routeExtensions ? { extensions: variant.routeExtensions() } : {}),
  });
  return {
    "/api/*": route("$0.001", "Demo JSON API", "application/json"),
    "GET /articles/:slug": route("$0.01", "A demo article", "text/html"),
  };
}

/** The peer Worker's Hono app for `variant`. */
export function createPeerApp(variant: PeerVariant = {}): Hono<{ Bindings: PeerEnv }> {
  let middleware: MiddlewareHandler | undefined;
  const app = new Hono<{ Bindings: PeerEnv }>();
  app.use(async (c, next) => {
    // The middleware's routes cannot exempt a sub-path, so the free /api/free/* skips it here.
    if (c.req.path.startsWith("/api/free/")) return next();
    if (!middleware) {
      const server = new x402ResourceServer(
        new HTTPFacilitatorClient({ url: c.env.FACILITATOR_URL }),
      ).register(c.env.NETWORK, new ExactEvmScheme());
      variant.setup?.(server, new URL(c.req.url).origin);
      middleware = paymentMiddleware(routes(c.env, variant), server);
    }
    return middleware(c, next);
  });
  app.all("*", (c) => forward(c.req.raw, c.env.ORIGIN_URL));
  return app;
}
