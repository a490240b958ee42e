import type { ReceiptsLedger } from "../../ledger";
import type { OperatorContext, OperatorDeps } from "../deps";

/**
 * The admin API's answers that are not a route's own: errors as JSON `{error, message}`, and the
 * 503 a route gives when a part it needs is not configured, so a missing binding is never a 500.
 */

/** An admin error answer: JSON `{error, message}`, never cached. */
export function adminError(c: OperatorContext, status: number, error: string, message: string) {
  return c.json({ error, message }, status as 400, { "Cache-Control": "no-store" });
}

/** A part a route needs, or the answer saying why it is missing. */
export type Needed<T> = { type: "ready"; part: T } | { type: "respond"; response: Response };

/** The session service, or a 503 saying sessions are not configured. */
export function needSessions(c: OperatorContext): Needed<NonNullable<OperatorDeps["sessions"]>> {
  const sessions = c.var.deps.sessions;
  if (sessions) return { type: "ready", part: sessions };
  const message = "sessions are not configured (SESSIONS binding and SESSION_SECRET)";
  return { type: "respond", response: adminError(c, 503, "sessions_unavailable", message) };
}

/** The receipts ledger, or a 503 saying it is not configured. */
export function needLedger(c: OperatorContext): Needed<ReceiptsLedger> {
  const deps = c.var.deps;
  if (deps.ledger) return { type: "ready", part: deps.ledger };
  const message = deps.config.ok
    ? "the receipts ledger is not configured (bind a D1 database as LEDGER)"
    : "the paywall is misconfigured: see GET /__x402/admin/config";
  return { type: "respond", response: adminError(c, 503, "ledger_unavailable", message) };
}
