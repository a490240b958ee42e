import type { SettleResponse } from "@x402/core/types";
import type { Claim, PaymentLockService } from "../idempotency";
import type { Facilitator, FacilitatorRequest } from "../payments";

/**
 * The settlement of a verified payment, and its record in the payment's lock (src/idempotency):
 * settled with its receipt, released when the facilitator refused it (nothing moved), or pending
 * when its answer was lost (the next copy of the payment resolves it, never settling twice).
 */

/** The reason the official EVM facilitator gives when the authorization's nonce is spent. */
const NONCE_USED = /nonce_already_used|authorization_?used|already.?used/i;

/** A payment's claim in its payer's lock. */
export interface Lock {
  service: PaymentLockService;
  payer: string;
  claim: Claim;
}

/** What came of asking the facilitator to settle. */
export type Settlement =
  | { type: "settled"; receipt: SettleResponse; reference: string }
  | { type: "failed"; receipt: SettleResponse; reason: string }
  | { type: "pending"; reason: string; status: 502 | 503 };

/**
 * Settles `request` and records the outcome in the lock. In `pending` mode (an earlier attempt's
 * answer was lost) a refusal because the authorization is spent means that attempt went
 * through. `charged` is what a metered payment settles, for its receipt; `payer` the verified
 * payer, for a receipt that names none; with `defer`, the "settled" record is written after the
 * answer.
 */
export async function settleOnce(
  facilitator: Facilitator,
  lock: Lock | undefined,
  mode: "fresh" | "pending",
  request: FacilitatorRequest,
  known: {
    charged?: string | undefined;
    payer?: string | undefined;
    /** Runs work after the answer (`waitUntil`); without it, the work is awaited first. */
    defer?: ((work: Promise<unknown>) => void) | undefined;
  },
): Promise<Settlement> {
  const settled = await facilitator.settle(request);
  if (settled.type === "unavailable") {
    await lock?.service.finish(lock.payer, lock.claim.key, { type: "pending" });
    return { type: "pending", reason: settled.reason, status: settled.status };
  }
  let receipt = settled.body;
  if (!receipt.success && mode === "pending" && NONCE_USED.test(receipt.errorReason ?? "")) {
    const payer = receipt.payer ?? known.payer;
    receipt = { ...receipt, success: true, errorReason: undefined, ...(payer && { payer }) };
  }
  if (!receipt.success && mode === "pending") {
    // An earlier settlement of this payment may have gone through (its answer was lost): a
    // refusal now (expired, say) does not prove it did not. It stays pending, never "pay again".
    await lock?.service.finish(lock.payer, lock.claim.key, { type: "pending" });
    const reason = receipt.errorReason ?? "the settlement was refused";
    return { type: "pending", reason, status: 503 };
  }
  if (!receipt.success) {
    await lock?.service.finish(lock.payer, lock.claim.key, { type: "released" });
    return { type: "failed", receipt, reason: receipt.errorReason ?? "the settlement failed" };
  }
  const { charged } = known;
  if (charged !== undefined) {
    if (receipt.amount !== undefined && receipt.amount !== charged) {
      console.error(`the facilitator reports settling ${receipt.amount}, not ${charged}`);
    }
    // The facilitator's word on what moved is the receipt's; the mismatch is logged above.
    receipt = { ...receipt, amount: receipt.amount ?? charged };
  }
  // Recording "settled" need not delay the answer: the chain refuses a second settlement.
  const finished = lock?.service.finish(lock.payer, lock.claim.key, {
    type: "settled",
    receipt: JSON.stringify(receipt),
  });
  if (finished && known.defer) known.defer(finished);
  else await finished;
  const reference = receipt.transaction
    ? `${receipt.network}:${receipt.transaction}`
    : `${receipt.network}:authorization:${lock?.claim.key ?? "unknown"}`;
  return { type: "settled", receipt, reference };
}
