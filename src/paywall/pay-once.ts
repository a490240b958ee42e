import type { SettleResponse } from "@x402/core/types";
import { paymentIdentity } from "../idempotency";
import type { ClaimResult } from "../idempotency";
import { attempt } from "./attempt";
import type { Verifying } from "./attempt";
import {
  content,
  keptPending,
  pendingResponse,
  refused,
  respond,
  settleContext,
} from "./paid-request";
import type { PaidRequest, PayOnceDeps, PayResult } from "./paid-request";
import { requestDigest, settledBefore } from "./replay";
import type { Replay } from "./replay";
import { concludeProof, proveOnChain, referenceOf, stayPending } from "./settle-once";
import type { Lock } from "./settle-once";
import { errorResponse } from "./responses";

/**
 * The paid step, at most once per payment: claim the payment in its payer's lock, verify,
 * forward, settle, record the outcome. Copies of a payment that arrive while it is being worked
 * on get a 409; copies after it settled get the first receipt (and, as a retry of the same
 * request with the same `payment-identifier`, the content again a few times: src/paywall/replay.ts);
 * a settlement that timed out is recorded as pending and resolved only from the chain
 * (settle-once.ts), so a client is never asked to pay again for a payment that may have gone
 * through, nor served one that did not. A payment buys the request it was first sent with
 * (method, resource, and the key a top-up credits): a copy sent elsewhere is a conflict.
 *
 * A pending payment's content was withheld: proven paid, it is served once. An abandoned claim
 * (its request held it past `STALE_CLAIM_MS`: still at a slow origin, or it served the content
 * and its "settled" record was lost) may have served it: it is never served again, only
 * concluded from the chain (proven paid: settled, and copies get the receipt).
 *
 * A HEAD is never paid for. The attempt itself (verify, forward, settle) is attempt.ts; this
 * step answers with a `PayResult` (paid-request.ts) and never calls back into the flow.
 */

/** Runs the paid step for one request. */
export async function payOnce(paid: PaidRequest, deps: PayOnceDeps): Promise<PayResult> {
  if (paid.request.method === "HEAD") {
    // A HEAD delivers no content: never paid for, never forwarded as a paid request, no claim.
    return refused("a HEAD request is never paid for; send the payment with GET");
  }
  if (!deps.payments) return attempt(paid, deps, undefined, { mode: "fresh" });
  const identity = await paymentIdentity({
    paymentPayload: paid.prepared.request.paymentPayload,
    scheme: paid.prepared.offer.scheme,
    network: paid.prepared.offer.network,
    asset: paid.prepared.offer.asset,
    resource: claimedResource(paid),
    paymentIdRequired: paid.prepared.offer.paymentIdRequired === true,
  });
  if (!identity.ok) return respond(errorResponse("invalid_payment", identity.reason));
  const { payer } = identity;
  // A payment id may bring the content again: only to the same request, known by its digest.
  let claim = identity.claim;
  if (claim.paymentId !== undefined) {
    const digest = await requestDigest(paid.request, paid.resourceUrl).catch(() => undefined);
    if (digest === undefined) {
      const why = "the request's body could not be read; not charged";
      return respond(errorResponse("client_gone", why));
    }
    claim = { ...claim, digest };
  }
  // The verify moves no money: it runs beside the claim, and its answer counts only for the
  // request that acquires the payment. A copy this isolate has seen is claimed first, so
  // retries and copies do not each cost the facilitator a verify.
  const seen = deps.claimedLately?.seen(claim.key) === true;
  const verifying = seen ? undefined : verifyBeside(paid, deps);
  const claimed = await deps.payments.claim(payer, claim);
  const lock = { service: deps.payments, payer, claim };
  switch (claimed.type) {
    case "acquired":
      return attempt(paid, deps, lock, { mode: "fresh", verifying });
    case "pending": {
      const { transaction, charged, served } = claimed;
      return attempt(paid, deps, lock, { mode: "pending", transaction, charged, served });
    }
    case "abandoned":
      return concludeAbandoned(paid, deps, lock, claimed);
    case "refused":
      return refused(claimed.reason);
    case "settled":
      return copyOfSettled(paid, deps, lock, claimed);
    case "busy":
      return respond(
        errorResponse(
          "payment_in_progress",
          "this payment is being processed by another request; retry in a moment to get its outcome",
        ),
      );
    case "conflict":
      return respond(errorResponse("payment_conflict", claimed.reason));
    case "unavailable":
      return respond(
        errorResponse(
          "payment_lock_unavailable",
          "the payment could not be locked against double settlement; nothing was charged",
        ),
      );
  }
}

/** Starts the facilitator's verify; its rejection surfaces only where it is awaited. */
function verifyBeside(paid: PaidRequest, deps: PayOnceDeps): Verifying {
  const verifying = deps.facilitator.verify(paid.prepared.request);
  verifying.catch(() => undefined);
  return verifying;
}

/** What the lock compares: method, resource URL and the party bound to (store.ts `Claim`). */
function claimedResource(paid: PaidRequest): string {
  const what = `${paid.request.method.toUpperCase()} ${paid.resourceUrl}`;
  return paid.boundTo === undefined ? what : `${what} ${paid.boundTo}`;
}

/**
 * A copy of a settled payment: answered as src/paywall/replay.ts says, with the settlement it
 * copies only when it is exactly what that payment bought (method, resource and binding), so a
 * seller whose record step is idempotent (a top-up's credit, once per settlement) can finish
 * what a failure left undone.
 */
async function copyOfSettled(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock,
  settled: Extract<ClaimResult, { type: "settled" }>,
): Promise<PayResult> {
  const response = await settledBefore(replayOf(paid, deps, lock, settled));
  // Exactly what that payment bought, its binding included: an older record names the URL
  // alone, and a credit store keeps its top-ups per key, so it would credit another key again.
  if (settled.resource !== lock.claim.resource) {
    return { type: "settled-before", response, settled: undefined };
  }
  const receipt = JSON.parse(settled.receipt) as SettleResponse;
  const reference = referenceOf(receipt, lock.claim.key);
  const payer = receipt.payer ?? paid.prepared.from;
  return { type: "settled-before", response, settled: { receipt, payer, reference } };
}

/** A copy of a settled payment, as src/paywall/replay.ts answers it. */
function replayOf(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock,
  settled: Extract<ClaimResult, { type: "settled" }>,
): Replay {
  return {
    payments: lock.service,
    payer: lock.payer,
    claim: lock.claim,
    settled,
    x402Version: paid.prepared.x402Version,
    never: paid.prepared.offer.metered
      ? "a metered answer is priced by its own use: it is never served again on an old payment"
      : paid.offer.session
        ? "this payment bought a pass: use its token, or sign in with the paying wallet " +
          "(sign-in-with-x) to get one; a payment is never served again on its own"
        : undefined,
    content: (buyer) => content(paid, deps, buyer),
    defer: deps.defer,
  };
}

/**
 * An abandoned claim (store.ts): its content may have gone out with its first request, so it is
 * concluded from the chain only, never served here. Proven paid: settled with the transaction
 * found, answered as any settled payment (the receipt; a payment-id retry may get the content
 * under the replay rules). Proven unpaid: refused or released. Unknown: it stays pending.
 */
async function concludeAbandoned(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock,
  claimed: Extract<ClaimResult, { type: "abandoned" }>,
): Promise<PayResult> {
  const ctx = settleContext(paid, deps, lock);
  try {
    const proof = await proveOnChain(ctx, claimed.transaction);
    if (proof.type === "unpaid") {
      await concludeProof(ctx, proof, paid.prepared.from);
      return refused(proof.reason);
    }
    if (proof.type === "unknown") {
      await stayPending(ctx, proof.reason, 503);
      return respond(
        pendingResponse(
          `this payment's first request may have been served, or may still be at the origin, and ` +
            `its settlement is not known (${proof.reason}). It is never served again and never ` +
            "settled twice; send it again to get its receipt once the chain shows it paid.",
        ),
      );
    }
    const settled = await concludeProof(ctx, proof, paid.prepared.from);
    if (settled.type !== "settled") return refused(settled.reason);
    return await copyOfSettled(paid, deps, lock, {
      type: "settled",
      receipt: JSON.stringify(settled.receipt),
      paymentId: claimed.paymentId,
      resource: claimed.resource,
      // Not known: settled after its claim's last move, so never later than the truth.
      settledAt: claimed.since,
    });
  } catch (error) {
    return keptPending(ctx, error);
  }
}
