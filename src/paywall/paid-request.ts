import type { RecentKeys } from "./recent-keys";
import type { SettleResponse } from "@x402/core/types";
import type { ChainProver } from "../chain";
import type { PaymentLockService } from "../idempotency";
import type { Receipt, ReceiptsLedger, ReceiptToRecord } from "../ledger";
import type { Facilitator, PreparedPayment } from "../payments";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions, OriginResult } from "../proxy";
import { errorResponse } from "./responses";
import { settlementHeader } from "../x402";
import { stayPending } from "./settle-once";
import type { Lock, SettleContext } from "./settle-once";

/**
 * What the paid step (pay-once.ts, attempt.ts) takes and gives back. It never calls back into
 * the flow: it answers with a `PayResult`, and the flow builds the 402 of a refusal
 * (challenge.ts) and records a settlement (record-settlement.ts). Only a metered stream, which
 * settles when its body ends, carries a hook for that record (metered.ts).
 */

/** How long a client is asked to wait before sending a pending payment again (seconds). */
export const PENDING_RETRY_AFTER_SECONDS = 5;

/** What the step needs besides the request. */
export interface PayOnceDeps {
  facilitator: Facilitator;
  origin: OriginOptions;
  /** Absent without the `PAYMENTS` binding: then only the chain stops a second settlement. */
  payments?: PaymentLockService | undefined;
  /** Runs work after the answer (`waitUntil`); without it, the work is awaited first. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
  /** Reads the chain to resolve a pending payment (`CHAIN_RPC_URLS`); absent: none can be. */
  chain?: ChainProver | undefined;
  /** The ledger, whose index of pending payments the operator reads. */
  ledger?: ReceiptsLedger | undefined;
  /**
   * Payments this isolate claimed lately: a copy of one is claimed before it is verified;
   * others are verified beside their claim (pay-once.ts). Absent: every one is.
   */
  claimedLately?: RecentKeys | undefined;
}

/** One paid request, ready for the facilitator. */
export interface PaidRequest {
  request: Request;
  forwardPath: string;
  resourceUrl: string;
  offer: Offer;
  prepared: Extract<PreparedPayment, { type: "ready" }>;
  /**
   * What the payment buys, fetched before anything is settled; by default the origin's answer
   * to the request (the crawl-credit top-up serves its own).
   */
  serve?: ((payer: string | undefined) => Promise<OriginResult>) | undefined;
  /**
   * Whom the payment buys for besides the request, when that is a party (a crawl-credit top-up:
   * `key:<thumbprint>`, the key credited). Part of what the lock compares, so a copy of the
   * payment sent by another party never takes over its claim.
   */
  boundTo?: string | undefined;
  /**
   * The ledger receipt of its settlement, when a ledger is configured and the flow records it
   * (record-settlement.ts): handed to the payer's lock with the outcome (settle-once.ts).
   */
  receiptFor?: ((receipt: SettleResponse, payer: string | undefined) => Receipt) | undefined;
}

/**
 * A settlement to record (ledger, and what it bought: a session, credit); `reference` names
 * the payment uniquely (its transaction, or the authorization when unknown).
 */
export interface Settled {
  receipt: SettleResponse;
  payer: string | undefined;
  reference: string;
  /** Its ledger receipt, when it went to the payer's lock (settle-once.ts `recordSettled`). */
  ledger?: ReceiptToRecord | undefined;
}

/** What the paid step came to. */
export type PayResult =
  /** Settled and delivered: `response` carries the content and its receipt. Record `settled`. */
  | { type: "paid"; response: Response; settled: Settled }
  /**
   * A copy of a metered stream's payment whose settlement is now known (the stream went out
   * before): record `settled` when there is one; `response` carries only the receipt.
   */
  | { type: "settled-copy"; response: Response; settled: Settled | undefined }
  /**
   * A copy of a payment that settled before, for what it bought (method, resource and binding):
   * `response` answers it (its receipt, or its content again under the replay rules); `settled`
   * is the settlement it copies, for a seller whose record step is idempotent (a top-up's credit).
   */
  | { type: "settled-before"; response: Response; settled: Settled | undefined }
  /** A metered stream settled when it ends: `open` starts it; `record` runs once it settled. */
  | { type: "stream"; open(record: (settled: Settled) => Promise<void>): Response }
  /**
   * Refused with nothing charged: the route's 402 with `reason`, at `terms` when the origin
   * states others now, with `headers` (a failed settlement's receipt).
   */
  | {
      type: "refused";
      reason: string;
      headers?: Record<string, string> | undefined;
      terms?: Offer | undefined;
    }
  /** The answer is ready (an error, a pending payment, a receipt again): nothing to record. */
  | { type: "respond"; response: Response };

/** A ready answer. */
export function respond(response: Response): Extract<PayResult, { type: "respond" }> {
  return { type: "respond", response };
}

/** A refusal answered with the route's 402. */
export function refused(
  reason: string,
  headers?: Record<string, string>,
): Extract<PayResult, { type: "refused" }> {
  return headers ? { type: "refused", reason, headers } : { type: "refused", reason };
}

/** A settlement as the record step takes it. */
export function settledOf(
  outcome: { receipt: SettleResponse; reference: string; ledger?: ReceiptToRecord | undefined },
  payer: string | undefined,
): Settled {
  const settled: Settled = {
    receipt: outcome.receipt,
    payer: outcome.receipt.payer ?? payer,
    reference: outcome.reference,
  };
  return outcome.ledger ? { ...settled, ledger: outcome.ledger } : settled;
}

/** A `503 payment_pending` (or the facilitator's 502) telling the client when to try again. */
export function pendingResponse(message: string, status: 502 | 503 = 503): Response {
  const response = errorResponse("payment_pending", message, status);
  response.headers.set("Retry-After", String(PENDING_RETRY_AFTER_SECONDS));
  return response;
}

/** The answer to a copy of a stream's payment once its settlement is recorded. */
export function streamSettled(receipt: SettleResponse | undefined): Response {
  const response = errorResponse(
    "payment_already_settled",
    "this payment's stream was served; its settlement is recorded (the receipt is in PAYMENT-RESPONSE)",
  );
  for (const [name, value] of Object.entries(receipt ? settlementHeader(receipt) : {})) {
    response.headers.set(name, value);
  }
  return response;
}

/** What a settlement of `paid` works with (settle-once.ts). */
export function settleContext(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock | undefined,
): SettleContext {
  const { prepared } = paid;
  return {
    facilitator: deps.facilitator,
    lock,
    chain: deps.chain,
    pending: deps.ledger?.pending,
    payment: {
      scheme: prepared.offer.scheme,
      network: prepared.offer.network,
      asset: prepared.offer.asset,
      payTo: prepared.offer.payTo,
      amount: prepared.offer.amount,
      resource: paid.resourceUrl,
      paymentPayload: prepared.request.paymentPayload,
    },
    defer: deps.defer,
    receiptFor: paid.receiptFor,
  };
}

/**
 * The safety net of the paid step: an exception after the payment was claimed (a bug, a fault
 * nothing else caught) leaves it pending, resolved from the chain like any other, and answers
 * 503 with Retry-After; never a claim stuck `settling`, never a 500.
 */
export async function keptPending(ctx: SettleContext, error: unknown): Promise<PayResult> {
  console.error("the paid step failed after its payment was claimed; it is kept pending", error);
  try {
    await stayPending(ctx, "the paywall failed while working on it (see its logs)", 503);
  } catch (again) {
    console.error("could not record the payment as pending", again);
  }
  return respond(
    pendingResponse(
      "the paywall failed while working on this payment; its content was withheld. Send the same " +
        "payment again to resolve it: it is never settled twice, and never served until the " +
        "chain shows it paid.",
    ),
  );
}

/** What the payment buys: the paid request's own `serve`, or the origin's answer. */
export function content(
  paid: PaidRequest,
  deps: PayOnceDeps,
  payer: string | undefined,
): Promise<OriginResult> {
  if (paid.serve) return paid.serve(payer);
  return forwardToOrigin(
    { request: paid.request, forwardPath: paid.forwardPath, payer },
    deps.origin,
  );
}
