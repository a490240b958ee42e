import { Hono } from "hono/tiny";
import type { Env } from "../config";
import { adminRefusal } from "./auth";
import { configRoutes } from "./config-routes";
import { adminError } from "./context";
import type { DepsOf } from "./context";
import { funnelRoutes } from "./funnel-routes";
import { pendingRoutes } from "./pending-routes";
import { priceRoutes } from "./prices-routes";
import { receiptRoutes } from "./receipts-routes";
import { sessionRoutes } from "./sessions-routes";

/**
 * The admin API under `/__x402/admin/`: price table (read, validate, replace, roll back),
 * sessions (list, revoke), receipts and revenue, the funnel, pending payments (list, check against the chain),
 * health and configuration. Every call needs the
 * admin bearer token; every answer is JSON (CSV for exports) and never cached; bad input is a
 * 4xx with the reason.
 */

/** The admin routes, to mount at `/__x402/admin`. */
export function adminRoutes(depsOf: DepsOf): Hono<{ Bindings: Env }> {
  const admin = new Hono<{ Bindings: Env }>();

  admin.use("*", async (c, next) => {
    const refusal = await adminRefusal(c.req.header("Authorization") ?? null, c.env.ADMIN_TOKEN);
    if (refusal) {
      return c.json({ error: refusal.error, message: refusal.message }, refusal.status, {
        "Cache-Control": "no-store",
        ...(refusal.status === 401 ? { "WWW-Authenticate": 'Bearer realm="x402-admin"' } : {}),
      });
    }
    c.header("Cache-Control", "no-store");
    await next();
  });

  admin.route("/", sessionRoutes(depsOf));
  admin.route("/", priceRoutes());
  admin.route("/", receiptRoutes(depsOf));
  admin.route("/", pendingRoutes(depsOf));
  admin.route("/", funnelRoutes(depsOf));
  admin.route("/", configRoutes(depsOf));

  admin.all("*", (c) => adminError(c, 404, "not_found", "no such admin endpoint"));
  return admin;
}
