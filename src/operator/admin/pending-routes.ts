import { Hono } from "hono/tiny";
import type { ChainProver, Proof } from "../../chain";
import type { PendingPayment } from "../../ledger";
import type { OperatorEnv } from "../deps";
import { adminError, needLedger } from "./answers";
import { iso, isoOrNull } from "./dates";

/**
 * Admin calls on pending payments (settlements whose outcome is unknown, src/ledger/pending.ts):
 * list them with their age, and check one against the chain (`CHAIN_RPC_URLS`), which resolves
 * it when the chain proves it either way: paid (its transaction is noted in the payer's lock,
 * and the payer's next copy of the payment is served), cancelled or diverted (refused), or
 * expired unused (released). Without proof it stays pending, with the check's outcome noted.
 */

const MAX_LIMIT = 1000;

/** A pending payment as the admin API shows it. */
export interface PendingView extends Omit<PendingPayment, "since" | "checkedAt" | "validBefore"> {
  /** ISO times (src/operator/admin/dates.ts); `validBefore` is the authorization's deadline. */
  since: string;
  checkedAt: string | null;
  validBefore: string | null;
  /** Seconds since it became pending. */
  ageSeconds: number;
}

/** The pending-payment routes, mounted under `/__x402/admin`. */
export function pendingRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/payments/pending", async (c) => {
    const needed = needLedger(c);
    if (needed.type === "respond") return needed.response;
    const ledger = needed.part;
    const limit = Number(c.req.query("limit") ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      return adminError(c, 400, "bad_request", `limit is a whole number from 1 to ${MAX_LIMIT}`);
    }
    const now = Date.now();
    const pending: PendingView[] = (await ledger.pending.list(limit)).map((entry) => ({
      ...entry,
      since: iso(entry.since),
      checkedAt: isoOrNull(entry.checkedAt),
      // The authorization's own deadline is in Unix seconds.
      validBefore: entry.validBefore === null ? null : iso(entry.validBefore * 1000),
      ageSeconds: Math.floor((now - entry.since) / 1000),
    }));
    return c.json({ pending, count: pending.length });
  });

  routes.post("/payments/pending/:payer/:key/check", async (c) => {
    const needed = needLedger(c);
    if (needed.type === "respond") return needed.response;
    const ledger = needed.part;
    const deps = c.var.deps;
    const payer = c.req.param("payer").toLowerCase();
    const key = c.req.param("key").toLowerCase();
    const entry = await ledger.pending.get(payer, key);
    if (!entry) return adminError(c, 404, "not_found", "no such pending payment");
    if (!deps.payments?.resolve) {
      return adminError(c, 503, "payment_lock_unavailable", "the PAYMENTS binding is missing");
    }
    const proof = await proofOf(entry, deps.chain);
    const verdict =
      proof.type === "paid"
        ? ({ type: "paid", transaction: proof.transaction } as const)
        : proof.type === "unpaid"
          ? proof.why === "expired"
            ? ({ type: "expired" } as const)
            : ({ type: "refused", reason: proof.reason } as const)
          : ({ type: "unknown", note: proof.reason } as const);
    const resolved = await deps.payments.resolve(payer, key, verdict);
    if ("type" in resolved) {
      return adminError(
        c,
        503,
        "payment_lock_unavailable",
        "the payer's lock could not be reached",
      );
    }
    if (proof.type === "unpaid" || resolved.state === null || resolved.state === "settled") {
      await ledger.pending.clear(payer, key);
    } else {
      const outcome =
        proof.type === "paid"
          ? `paid on chain in ${proof.transaction}; served on the payer's next copy`
          : proof.reason;
      await ledger.pending.checked(
        payer,
        key,
        outcome,
        proof.type === "paid" ? proof.transaction : null,
      );
    }
    return c.json({
      outcome:
        proof.type === "paid"
          ? "paid"
          : proof.type === "unpaid"
            ? proof.why === "expired"
              ? "released"
              : "refused"
            : "pending",
      reason: proof.type === "paid" ? `paid in ${proof.transaction}` : proof.reason,
      transaction: proof.type === "paid" ? proof.transaction : null,
      state: resolved.state,
    });
  });

  return routes;
}

/** The chain's verdict on an indexed pending payment. */
async function proofOf(entry: PendingPayment, chain: ChainProver | undefined): Promise<Proof> {
  if (entry.nonce === null || entry.validBefore === null) {
    return { type: "unknown", reason: "this payment cannot be proven from the chain here" };
  }
  if (!chain) return { type: "unknown", reason: "no chain RPC is configured (CHAIN_RPC_URLS)" };
  return chain.prove(entry.network, {
    asset: entry.asset,
    payer: entry.payer,
    payTo: entry.payTo,
    amount: entry.amount,
    nonce: entry.nonce,
    validBefore: entry.validBefore,
    transaction: entry.tx ?? undefined,
  });
}
