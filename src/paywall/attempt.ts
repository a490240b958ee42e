import type { VerifyResponse } from "@x402/core/types";
import type { FacilitatorResult } from "../payments";
import { meteredCharge } from "../pricing";
import { answerKind, holdPaidAnswer, withoutContent } from "./answers";
import { holdAnswer, isEventStream, settleAmount, settledAtEnd } from "./metered";
import { checkOriginAnswer, fromOrigin } from "./origin-quote";
import {
  content,
  keptPending,
  pendingResponse,
  refused,
  respond,
  settleContext,
  settledOf,
  streamSettled,
} from "./paid-request";
import type { PaidRequest, PayOnceDeps, PayResult } from "./paid-request";
import { errorResponse, paidResponse } from "./responses";
import { settlementHeader } from "../x402";
import { concludeProof, proveOnChain, settleOnce, stayPending } from "./settle-once";
import type { Lock, SettleContext } from "./settle-once";

/**
 * One attempt at a claimed payment (pay-once.ts claims it): verify (a fresh claim) or read the
 * chain (a pending one), forward, hold the answer, check it, settle (settle-once.ts), and
 * answer with what came of it. Only an answer that delivers the content is settled
 * (src/paywall/answers.ts); one short enough to read first (`HOLD_LIMIT`) is read whole before
 * it is settled, so a body that breaks is not charged. Whatever stops it before the settlement
 * lets the payment go: a fresh claim is released, a pending one stays pending (an earlier
 * attempt's settlement may still have gone through). Any exception leaves it pending (503).
 */

/** The facilitator's verify of the payment, started beside its claim (pay-once.ts). */
export type Verifying = Promise<FacilitatorResult<VerifyResponse>>;

/** Where the claim of the payment stands: claimed now, or pending from an earlier attempt. */
export interface AttemptMode {
  mode: "fresh" | "pending";
  /** A fresh claim's verify, when it was started beside the claim; else it starts now. */
  verifying?: Verifying | undefined;
  /** A pending payment's transaction, when one is known. */
  transaction?: string | undefined;
  /** What a pending metered payment's settlement asked for, when known. */
  charged?: string | undefined;
  /** Whether a pending payment's content went out before its settlement (store.ts). */
  served?: boolean | undefined;
}

/** Runs one attempt at a claimed payment (see above); never throws. */
export async function attempt(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock | undefined,
  at: AttemptMode,
): Promise<PayResult> {
  const ctx = settleContext(paid, deps, lock);
  try {
    return await attemptOnce(paid, deps, ctx, at);
  } catch (error) {
    return keptPending(ctx, error);
  }
}

async function attemptOnce(
  paid: PaidRequest,
  deps: PayOnceDeps,
  ctx: SettleContext,
  at: AttemptMode,
): Promise<PayResult> {
  const { request, prepared } = paid;
  const { mode } = at;
  const { lock } = ctx;
  const release = () => lock?.service.finish(lock.payer, lock.claim.key, { type: "released" });
  // Nothing was charged: a fresh claim is let go; a pending one stays pending, as the earlier
  // attempt's settlement may still have gone through (with the transaction, once proven).
  let proven: string | undefined;
  const giveUp = () =>
    mode === "fresh"
      ? release()
      : lock?.service.finish(lock.payer, lock.claim.key, {
          type: "pending",
          transaction: proven,
        });
  const notCharged = async (response: Response, body?: Response) => {
    await body?.body?.cancel();
    await giveUp();
    return respond(response);
  };
  const metered = prepared.offer.metered;
  const streams = metered !== undefined && "sse" in metered.usage;
  // A pending payment on a stream rule whose content went out (a stream) is never served again;
  // one whose answer was withheld (JSON held for its settlement) is served by the copy that
  // settles it. Not recorded (an older record): taken as served, never served twice.
  const streamed = streams && at.served !== false;
  let payer = prepared.from;
  if (mode === "pending") {
    // The chain first: a payment proven unpaid never reaches the origin again, one proven paid
    // is served with its transaction; without proof a new settlement is tried (the nonce lets
    // the token move at most once) and, failing that, it stays pending.
    const proof = await proveOnChain(ctx, at.transaction, at.charged);
    if (proof.type === "unpaid") {
      await concludeProof(ctx, proof, payer);
      return refused(proof.reason);
    }
    if (proof.type === "paid" && streamed) {
      // The served stream's settlement went through: recorded, and no other stream is opened.
      const settled = await concludeProof(ctx, proof, payer, at.charged);
      const receipt = settled.type === "settled" ? settled.receipt : undefined;
      return {
        type: "settled-copy",
        response: streamSettled(receipt),
        settled: settled.type === "settled" ? settledOf(settled, payer) : undefined,
      };
    }
    if (proof.type === "paid") proven = proof.transaction;
    if (proof.type === "unknown" && streamed) {
      // A stream goes out before it is settled: a copy of its payment never opens another one,
      // but settles what the served stream owes (the permit lets money move once).
      return settleServedStream(paid, ctx, proof.reason, at.charged, payer);
    }
  }
  if (mode === "fresh") {
    const verified = await (at.verifying ?? deps.facilitator.verify(prepared.request));
    if (verified.type === "unavailable") {
      await release();
      return respond(errorResponse("facilitator_unavailable", verified.reason, verified.status));
    }
    if (!verified.body.isValid) {
      await release();
      return refused(verified.body.invalidReason ?? "the payment is not valid");
    }
    payer = verified.body.payer ?? payer;
    // The settle goes where the payment was verified (src/payments/facilitator.ts).
    ctx.verifiedAt = verified.endpoint;
  }

  const forwarded = await content(paid, deps, payer);
  if (forwarded.type === "unreachable") {
    return notCharged(
      errorResponse("origin_unreachable", `${forwarded.reason}; you were not charged`),
    );
  }
  let origin = forwarded.response;
  const kind = answerKind(origin.status);
  if (kind !== "content") {
    // Only an answer that delivers the content is charged (src/paywall/answers.ts).
    await giveUp();
    if (kind === "error") return respond(origin);
    if (kind === "no-content") return respond(await withoutContent(origin));
    await origin.body?.cancel();
    return respond(
      errorResponse(
        "origin_unreachable",
        `the origin answered ${origin.status}, which a paid request cannot be answered with; you were not charged`,
      ),
    );
  }
  if (fromOrigin(prepared.offer)) {
    // The origin's answer must state the terms paid again before anything is settled.
    const terms = checkOriginAnswer(origin, prepared.offer);
    if (terms.type !== "same") {
      await origin.body?.cancel();
      await giveUp();
      return terms;
    }
  }
  const gone = () =>
    errorResponse("client_gone", "the client went away before the answer; not charged");
  // The client went away while the origin was answering: nobody would get the content.
  if (request.signal.aborted) return notCharged(gone(), origin);
  let toSettle = prepared.request;
  let charged: string | undefined;
  if (metered && "sse" in metered.usage && !isEventStream(origin.headers)) {
    // Not a stream (the client asked for one answer): its usage is read from the JSON before
    // any of it goes out, else it costs the maximum signed for; it goes out once settled.
    const held = await holdAnswer(origin, metered.usage.sse);
    if (held.type === "broken") {
      return notCharged(
        errorResponse("origin_unreachable", `${held.reason}; you were not charged`),
      );
    }
    if (request.signal.aborted) return notCharged(gone());
    origin = held.response;
    const charge = meteredCharge(metered, held.reported, prepared.offer.amount);
    charged = charge.ok ? charge.amount : prepared.offer.amount;
    toSettle = settleAmount(prepared.request, charged);
  } else if (metered && "sse" in metered.usage) {
    return settledAtEnd(origin, {
      ctx,
      mode,
      metered,
      path: metered.usage.sse,
      request: prepared.request,
      max: prepared.offer.amount,
      payer,
      owed: mode === "pending" ? at.charged : undefined,
      giveUp: async () => giveUp(),
    });
  }
  if (metered && "header" in metered.usage) {
    const reported = origin.headers.get(metered.usage.header) ?? undefined;
    const charge = meteredCharge(metered, reported, prepared.offer.amount);
    if (!charge.ok) {
      const why = `${charge.reason}; the answer was withheld and nothing was charged`;
      return notCharged(errorResponse("invalid_usage_report", why), origin);
    }
    toSettle = settleAmount(prepared.request, charge.amount);
    charged = charge.amount;
  }
  if (mode === "pending" && at.charged !== undefined && charged !== undefined) {
    // The earlier settlement asked for `at.charged` and may have moved it (the permit moves
    // once): the copy settles, and the chain is searched for, exactly that amount, whatever
    // usage the origin reports now; another amount would read a paid permit as diverted.
    charged = at.charged;
    toSettle = settleAmount(prepared.request, charged);
  }
  if (!streams) {
    // A body that breaks before it is read is not charged (a short one is read first).
    const held = await holdPaidAnswer(origin);
    if (held.type === "broken") {
      return notCharged(
        errorResponse("origin_unreachable", `${held.reason}; you were not charged`),
      );
    }
    if (request.signal.aborted) return notCharged(gone(), held.response);
    origin = held.response;
  }
  const outcome = proven
    ? await concludeProof(ctx, { type: "paid", transaction: proven }, payer, at.charged ?? charged)
    : await settleOnce(ctx, mode, toSettle, { charged, payer });
  if (outcome.type !== "settled") await origin.body?.cancel();
  switch (outcome.type) {
    case "pending":
      return respond(
        pendingResponse(
          `the settlement's outcome is unknown (${outcome.reason}); the content was withheld. ` +
            "Send the same payment again to resolve it: it is never settled twice, and never " +
            "served until the chain shows it paid.",
          outcome.status,
        ),
      );
    case "unpaid":
      return refused(outcome.reason);
    case "failed":
      return refused(outcome.reason, settlementHeader(outcome.receipt));
    case "settled":
      return {
        type: "paid",
        response: paidResponse(origin, outcome.receipt, prepared.x402Version),
        settled: settledOf(outcome, payer),
      };
  }
}

/**
 * A copy of a metered stream's payment whose settlement is unknown: the stream went out, so no
 * other is opened; the amount it owes (recorded when it ended) is settled again, which moves
 * money at most once (the permit's nonce). Without a recorded amount it stays pending.
 */
async function settleServedStream(
  paid: PaidRequest,
  ctx: SettleContext,
  reason: string,
  charged: string | undefined,
  payer: string | undefined,
): Promise<PayResult> {
  const stillPending = (why: string) =>
    respond(
      pendingResponse(
        `this payment's stream was served and its settlement is not known yet (${why}); ` +
          "it is never settled twice",
      ),
    );
  if (charged === undefined) {
    await stayPending(ctx, reason, 503, undefined, undefined, true);
    return stillPending(reason);
  }
  const request = settleAmount(paid.prepared.request, charged);
  const outcome = await settleOnce(ctx, "pending", request, { charged, payer, served: true });
  if (outcome.type === "pending") return stillPending(outcome.reason);
  if (outcome.type !== "settled") {
    return respond(
      errorResponse(
        "payment_already_settled",
        `this payment's stream was served; its settlement was refused: ${outcome.reason}`,
      ),
    );
  }
  const settled = settledOf(outcome, payer);
  return { type: "settled-copy", response: streamSettled(outcome.receipt), settled };
}
