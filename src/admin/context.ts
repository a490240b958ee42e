import type { Context } from "hono";
import type { Env } from "../config";
import type { ReceiptsLedger } from "../ledger";
import type { PaywallDeps } from "../paywall";
import type { SessionService } from "../sessions";

/**
 * What the admin API and the dashboard reach through: the paywall's own dependencies of the
 * request's env (undefined when the configuration is invalid), and helpers that answer 503 with
 * a reason when a part is not configured, so a missing binding is never a 500.
 */

/** Finds the paywall's dependencies for an env (undefined when the configuration is invalid). */
export type DepsOf = (env: Env) => PaywallDeps | undefined;

/** The Hono context of admin routes. */
export type AdminContext = Context<{ Bindings: Env }>;

/** An admin error answer: JSON `{error, message}`, never cached. */
export function adminError(c: AdminContext, status: number, error: string, message: string) {
  return c.json({ error, message }, status as 400, { "Cache-Control": "no-store" });
}

/** The session service, or a 503 saying sessions are not configured. */
export function sessionsOr503(c: AdminContext, depsOf: DepsOf): SessionService | Response {
  const sessions = depsOf(c.env)?.sessions?.service;
  if (sessions) return sessions;
  const message = "sessions are not configured (SESSIONS binding and SESSION_SECRET)";
  return adminError(c, 503, "sessions_unavailable", message);
}

/** The receipts ledger, or a 503 saying it is not configured. */
export function ledgerOr503(c: AdminContext, depsOf: DepsOf): ReceiptsLedger | Response {
  const deps = depsOf(c.env);
  if (deps?.ledger) return deps.ledger;
  const message = deps
    ? "the receipts ledger is not configured (bind a D1 database as LEDGER)"
    : "the paywall is misconfigured: see GET /__x402/admin/config";
  return adminError(c, 503, "ledger_unavailable", message);
}
