import type { SettleResponse } from "@x402/core/types";
import { transferFacts } from "../chain";
import type { ChainProver, Proof } from "../chain";
import type { Claim, Handoff, PaymentLockService } from "../idempotency";
import type { PendingPayments, Receipt, ReceiptToRecord } from "../ledger";
import type { Facilitator, FacilitatorRequest } from "../payments";

/**
 * The settlement of a verified payment, and its record in the payment's lock (src/idempotency):
 * settled with its receipt, released when the facilitator refused a fresh one (nothing moved),
 * or pending when its outcome is unknown (the answer was lost, a 5xx, garbage). A pending
 * payment moves on only by proof from the chain (src/chain): the transfer it authorized is
 * there (settled, with that transaction), or it never will be (cancelled or diverted: refused;
 * expired unused: released). A facilitator saying the nonce is used proves nothing: the payer
 * can spend a nonce without paying the seller. Without proof it stays pending, never served,
 * never asked to pay again, never settled twice, and the operator sees it (src/ledger/pending.ts).
 */

/** A payment's claim in its payer's lock. */
export interface Lock {
  service: PaymentLockService;
  payer: string;
  claim: Claim;
}

/** What a settlement works with besides the request. */
export interface SettleContext {
  facilitator: Facilitator;
  /**
   * The facilitator that verified the payment (`endpoint` of its answer): the settle goes
   * there; absent (a pending payment's retry, not verified again): the first that may take it.
   */
  verifiedAt?: string | undefined;
  lock: Lock | undefined;
  /** Reads the chain for a proof; absent: nothing pending can be proven. */
  chain?: ChainProver | undefined;
  /** The operator's index of pending payments; absent without the ledger. */
  pending?: PendingPayments | undefined;
  /** The terms paid (network, asset, payee, price) and the payment payload. */
  payment: {
    scheme: string;
    network: string;
    asset: string;
    payTo: string;
    amount: string;
    resource: string;
    paymentPayload: unknown;
  };
  /** Runs work after the answer (`waitUntil`); without it, the work is awaited first. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
  /**
   * The ledger receipt of a settlement (with a ledger configured): handed to the lock with the
   * "settled" outcome, so the payer's object writes it to D1 and the Worker does not.
   */
  receiptFor?: ((receipt: SettleResponse, payer: string | undefined) => Receipt) | undefined;
}

/** What came of asking the facilitator to settle, or of reading the chain. */
export type Settlement =
  /** `ledger`: the receipt for the ledger, when it went to the lock (see `recordSettled`). */
  | { type: "settled"; receipt: SettleResponse; reference: string; ledger?: ReceiptToRecord }
  /** A fresh settlement the facilitator refused: nothing moved, the payer may pay again. */
  | { type: "failed"; receipt: SettleResponse; reason: string }
  /** A pending payment the chain shows will never pay (cancelled, diverted, expired unused). */
  | { type: "unpaid"; reason: string }
  | { type: "pending"; reason: string; status: 502 | 503 };

/**
 * Settles `request` and records the outcome in the lock. In `pending` mode (an earlier attempt's
 * outcome is unknown) a refusal is resolved from the chain, never taken as proof either way.
 * `charged` is what a metered payment settles, for its receipt; `payer` the verified payer, for
 * a receipt that names none; `served`: the content already went out (a metered stream), so a
 * payment left pending is never served to a copy again.
 */
export async function settleOnce(
  ctx: SettleContext,
  mode: "fresh" | "pending",
  request: FacilitatorRequest,
  known: { charged?: string | undefined; payer?: string | undefined; served?: boolean },
): Promise<Settlement> {
  const settled = await ctx.facilitator.settle(request, ctx.verifiedAt);
  if (settled.type === "unavailable") {
    return stayPending(ctx, settled.reason, settled.status, undefined, known.charged, known.served);
  }
  let receipt = settled.body;
  if (!receipt.success && mode === "fresh") {
    await finish(ctx, { type: "released" });
    return { type: "failed", receipt, reason: receipt.errorReason ?? "the settlement failed" };
  }
  if (!receipt.success) {
    // An earlier settlement of this payment may have gone through: only the chain can say.
    const refused = receipt.errorReason ?? "the settlement was refused";
    const proof = await proveOnChain(ctx, receipt.transaction || undefined, known.charged);
    if (proof.type === "unknown") {
      const why = `${refused}; ${proof.reason}`;
      return stayPending(ctx, why, 503, undefined, known.charged, known.served);
    }
    const concluded = await concludeProof(ctx, proof, known.payer, known.charged);
    return concluded;
  }
  const { charged } = known;
  if (charged !== undefined) {
    if (receipt.amount !== undefined && receipt.amount !== charged) {
      console.error(`the facilitator reports settling ${receipt.amount}, not ${charged}`);
    }
    // The facilitator's word on what moved is the receipt's; the mismatch is logged above.
    receipt = { ...receipt, amount: receipt.amount ?? charged };
  }
  return recordSettled(ctx, receipt, mode === "pending", known.payer);
}

/**
 * Reads the chain for the payment before anything else is done with a pending copy: a proof
 * either way concludes it (`settled` is recorded once the content is served: see `recordSettled`);
 * `unknown` leaves it to a new settlement attempt. `charged`: what a metered payment's
 * settlement asked for, when known (a Permit2 transfer of exactly that is looked for).
 */
export async function proveOnChain(
  ctx: SettleContext,
  transaction?: string,
  charged?: string,
): Promise<Proof> {
  const facts = transferFacts(ctx.payment, ctx.payment.paymentPayload, charged);
  if (!facts.ok) return { type: "unknown", reason: facts.reason };
  if (!ctx.chain) {
    return {
      type: "unknown",
      reason: `no chain RPC is configured for ${ctx.payment.network} (CHAIN_RPC_URLS)`,
    };
  }
  return ctx.chain.prove(ctx.payment.network, { ...facts.facts, transaction });
}

/**
 * The receipt a chain proof stands for: the transfer it found, of `charged` when the payment
 * settles a metered amount (the proof matched exactly that), else the price.
 */
export function provenReceipt(
  ctx: SettleContext,
  transaction: string,
  payer: string | undefined,
  charged?: string,
): SettleResponse {
  return {
    success: true,
    transaction,
    network: ctx.payment.network as SettleResponse["network"],
    amount: charged ?? ctx.payment.amount,
    ...(payer && { payer }),
  };
}

/**
 * Records a decisive proof of an unpaid payment (refused, or released when it expired unused)
 * or of a paid one (settled with the transaction found).
 */
export async function concludeProof(
  ctx: SettleContext,
  proof: Exclude<Proof, { type: "unknown" }>,
  payer: string | undefined,
  charged?: string,
): Promise<Extract<Settlement, { type: "settled" | "unpaid" }>> {
  if (proof.type === "paid") {
    return recordSettled(ctx, provenReceipt(ctx, proof.transaction, payer, charged), true, payer);
  }
  await finish(
    ctx,
    proof.why === "expired"
      ? { type: "released", proof: "expired" }
      : { type: "refused", reason: proof.reason },
  );
  await clearPending(ctx);
  return { type: "unpaid", reason: proof.reason };
}

/** Keeps the payment pending (lock and operator's index) with `reason`. */
export async function stayPending(
  ctx: SettleContext,
  reason: string,
  status: 502 | 503,
  transaction?: string,
  charged?: string,
  served?: boolean,
): Promise<Extract<Settlement, { type: "pending" }>> {
  await finish(ctx, { type: "pending", note: reason, transaction, charged, served });
  const { lock, pending, payment } = ctx;
  if (lock && pending) {
    // The operator's index proves only EIP-3009 authorizations from its row: a permit's nonce
    // read as one would prove nothing (src/operator/admin/pending-routes.ts).
    const read = transferFacts(payment, payment.paymentPayload);
    const facts = read.ok && !read.facts.permit2 ? read : undefined;
    const noted = pending.note({
      payer: lock.payer,
      key: lock.claim.key,
      network: payment.network,
      asset: payment.asset,
      payTo: payment.payTo,
      amount: payment.amount,
      nonce: facts ? facts.facts.nonce : null,
      validBefore: facts ? facts.facts.validBefore : null,
      resource: payment.resource,
      since: Date.now(),
      checkedAt: null,
      outcome: reason,
      tx: transaction ?? null,
    });
    if (ctx.defer) ctx.defer(noted);
    else await noted;
  }
  return { type: "pending", reason, status };
}

/**
 * Records "settled" in the lock, with the payment's ledger receipt when there is a lock and a
 * ledger: the payer's object writes it to D1 (src/idempotency/outbox.ts), and the record step
 * writes it itself only if the lock did not take it (`ledger.handedOver` resolves false).
 */
async function recordSettled(
  ctx: SettleContext,
  receipt: SettleResponse,
  wasPending: boolean,
  payer: string | undefined,
): Promise<Extract<Settlement, { type: "settled" }>> {
  const ledger = ctx.lock && ctx.receiptFor?.(receipt, receipt.payer ?? payer);
  const outcome = { type: "settled" as const, receipt: JSON.stringify(receipt) };
  // Recording "settled" need not delay the answer: the chain refuses a second settlement.
  const finished = ledger
    ? finishWith(ctx, { ...outcome, ledger: JSON.stringify(ledger) })
    : finishWith(ctx, outcome);
  if (ctx.defer) ctx.defer(finished);
  else await finished;
  if (wasPending) await clearPending(ctx);
  const reference = referenceOf(receipt, ctx.lock?.claim.key);
  if (!ledger) return { type: "settled", receipt, reference };
  const handedOver = finished.then((handoff) => handoff === "recorded" || handoff === "queued");
  return { type: "settled", receipt, reference, ledger: { receipt: ledger, handedOver } };
}

/** Names a settlement uniquely: its transaction, or the authorization when the receipt has none. */
export function referenceOf(receipt: SettleResponse, claimKey: string | undefined): string {
  return receipt.transaction
    ? `${receipt.network}:${receipt.transaction}`
    : `${receipt.network}:authorization:${claimKey ?? "unknown"}`;
}

async function finish(
  ctx: SettleContext,
  outcome: Parameters<PaymentLockService["finish"]>[2],
): Promise<void> {
  await finishWith(ctx, outcome);
}

/** Reports `outcome` to the lock; what became of a ledger receipt it carries (none: no lock). */
async function finishWith(
  ctx: SettleContext,
  outcome: Parameters<PaymentLockService["finish"]>[2],
): Promise<Handoff | "unavailable" | undefined> {
  const { lock } = ctx;
  return lock?.service.finish(lock.payer, lock.claim.key, outcome);
}

async function clearPending(ctx: SettleContext): Promise<void> {
  const { lock, pending } = ctx;
  if (!lock || !pending) return;
  const cleared = pending.clear(lock.payer, lock.claim.key);
  if (ctx.defer) ctx.defer(cleared);
  else await cleared;
}
