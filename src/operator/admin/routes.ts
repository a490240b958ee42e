import { Hono } from "hono/tiny";
import { operatorAuth } from "../auth";
import { withDeps } from "../deps";
import type { OperatorDepsOf, OperatorEnv } from "../deps";
import { adminError } from "./answers";
import { configRoutes } from "./config-routes";
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
export function adminRoutes(depsOf: OperatorDepsOf): Hono<OperatorEnv> {
  const admin = new Hono<OperatorEnv>();

  admin.use("*", withDeps(depsOf));
  admin.use(
    "*",
    operatorAuth({
      cookie: false,
      refuse: (c, refusal) =>
        c.json({ error: refusal.error, message: refusal.message }, refusal.status, {
          "Cache-Control": "no-store",
          ...(refusal.status === 401 ? { "WWW-Authenticate": 'Bearer realm="x402-admin"' } : {}),
        }),
    }),
  );
  admin.use("*", async (c, next) => {
    c.header("Cache-Control", "no-store");
    await next();
  });

  admin.route("/", sessionRoutes());
  admin.route("/", priceRoutes());
  admin.route("/", receiptRoutes());
  admin.route("/", pendingRoutes());
  admin.route("/", funnelRoutes());
  admin.route("/", configRoutes());

  admin.all("*", (c) => adminError(c, 404, "not_found", "no such admin endpoint"));
  return admin;
}
