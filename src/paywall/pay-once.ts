import type { SettleResponse } from "@x402/core/types";
import type { ChainProver } from "../chain";
import { paymentIdentity } from "../idempotency";
import type { ClaimResult, PaymentLockService } from "../idempotency";
import type { ReceiptsLedger } from "../ledger";
import type { Facilitator, PreparedPayment } from "../payments";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions, OriginResult } from "../proxy";
import { meteredCharge } from "../pricing";
import { answerKind, holdPaidAnswer, withoutContent } from "./answers";
import { holdAnswer, isEventStream, meteredStreamResponse, settleAmount } from "./metered";
import { requestDigest, settledBefore } from "./replay";
import type { Replay } from "./replay";
import { concludeProof, proveOnChain, settleOnce, stayPending } from "./settle-once";
import type { Lock, SettleContext } from "./settle-once";
import { errorResponse, paidResponse, settlementHeader } from "./responses";

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
 * Only an answer that delivers the content is settled (src/paywall/answers.ts); a HEAD never
 * is; one short enough to read first (`HOLD_LIMIT`) is read whole before it is settled, so a
 * body that breaks is not charged. Any exception after the claim leaves the payment pending
 * (503), never a stuck claim or a 500.
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
   * Looks at the origin's answer before anything is settled; a response returned here is sent
   * instead, the answer withheld and nothing charged (e.g. the origin quoted another price).
   */
  beforeSettle?: ((origin: Response) => Promise<Response | undefined>) | undefined;
  /**
   * Whom the payment buys for besides the request, when that is a party (a crawl-credit top-up:
   * `key:<thumbprint>`, the key credited). Part of what the lock compares, so a copy of the
   * payment sent by another party never takes over its claim.
   */
  boundTo?: string | undefined;
  /** Builds this route's 402 with a reason (and extra headers). */
  challenge(error: string, headers?: Record<string, string>): Promise<Response>;
  /**
   * Called with a successful settlement, to add what it bought (a session) to the response;
   * `reference` names the payment uniquely (transaction, or the authorization when unknown).
   */
  onSettled(
    response: Response,
    receipt: SettleResponse,
    payer: string | undefined,
    reference: string,
  ): Promise<Response>;
}

/** Runs the paid step for one request. */
export async function payOnce(paid: PaidRequest, deps: PayOnceDeps): Promise<Response> {
  if (paid.request.method === "HEAD") {
    // A HEAD delivers no content: never paid for, never forwarded as a paid request, no claim.
    return paid.challenge("a HEAD request is never paid for; send the payment with GET");
  }
  if (!deps.payments) return attempt(paid, deps, undefined, "fresh");
  const identity = await paymentIdentity({
    paymentPayload: paid.prepared.request.paymentPayload,
    scheme: paid.prepared.offer.scheme,
    network: paid.prepared.offer.network,
    asset: paid.prepared.offer.asset,
    resource: claimedResource(paid),
    paymentIdRequired: paid.prepared.offer.paymentIdRequired === true,
  });
  if (!identity.ok) return errorResponse("invalid_payment", identity.reason);
  const { payer } = identity;
  // A payment id may bring the content again: only to the same request, known by its digest.
  let claim = identity.claim;
  if (claim.paymentId !== undefined) {
    const digest = await requestDigest(paid.request, paid.resourceUrl).catch(() => undefined);
    if (digest === undefined) {
      return errorResponse("client_gone", "the request's body could not be read; not charged");
    }
    claim = { ...claim, digest };
  }
  const claimed = await deps.payments.claim(payer, claim);
  const lock = { service: deps.payments, payer, claim };
  switch (claimed.type) {
    case "acquired":
      return attempt(paid, deps, lock, "fresh");
    case "pending":
      return attempt(paid, deps, lock, "pending", claimed.transaction, claimed.charged);
    case "abandoned":
      return concludeAbandoned(paid, deps, lock, claimed);
    case "refused":
      return paid.challenge(claimed.reason);
    case "settled":
      return settledBefore(replayOf(paid, deps, lock, claimed));
    case "busy":
      return errorResponse(
        "payment_in_progress",
        "this payment is being processed by another request; retry in a moment to get its outcome",
      );
    case "conflict":
      return errorResponse("payment_conflict", claimed.reason);
    case "unavailable":
      return errorResponse(
        "payment_lock_unavailable",
        "the payment could not be locked against double settlement; nothing was charged",
      );
  }
}

/** What the lock compares: method, resource URL and the party bound to (store.ts `Claim`). */
function claimedResource(paid: PaidRequest): string {
  const what = `${paid.request.method.toUpperCase()} ${paid.resourceUrl}`;
  return paid.boundTo === undefined ? what : `${what} ${paid.boundTo}`;
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
): Promise<Response> {
  const ctx = settleContext(paid, deps, lock);
  try {
    const proof = await proveOnChain(ctx, claimed.transaction);
    if (proof.type === "unpaid") {
      await concludeProof(ctx, proof, paid.prepared.from);
      return paid.challenge(proof.reason);
    }
    if (proof.type === "unknown") {
      await stayPending(ctx, proof.reason, 503);
      return pendingResponse(
        `this payment's first request may have been served, or may still be at the origin, and ` +
          `its settlement is not known (${proof.reason}). It is never served again and never ` +
          "settled twice; send it again to get its receipt once the chain shows it paid.",
      );
    }
    const settled = await concludeProof(ctx, proof, paid.prepared.from);
    if (settled.type !== "settled") return paid.challenge(settled.reason);
    return await settledBefore(
      replayOf(paid, deps, lock, {
        type: "settled",
        receipt: JSON.stringify(settled.receipt),
        paymentId: claimed.paymentId,
        resource: claimed.resource,
        // Not known: settled after its claim's last move, so never later than the truth.
        settledAt: claimed.since,
      }),
    );
  } catch (error) {
    return keptPending(ctx, error);
  }
}

/** What a settlement of `paid` works with (settle-once.ts). */
function settleContext(
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
  };
}

/**
 * The safety net of the paid step: an exception after the payment was claimed (a bug, a fault
 * nothing else caught) leaves it pending, resolved from the chain like any other, and answers
 * 503 with Retry-After; never a claim stuck `settling`, never a 500.
 */
async function keptPending(ctx: SettleContext, error: unknown): Promise<Response> {
  console.error("the paid step failed after its payment was claimed; it is kept pending", error);
  try {
    await stayPending(ctx, "the paywall failed while working on it (see its logs)", 503);
  } catch (again) {
    console.error("could not record the payment as pending", again);
  }
  return pendingResponse(
    "the paywall failed while working on this payment; its content was withheld. Send the same " +
      "payment again to resolve it: it is never settled twice, and never served until the " +
      "chain shows it paid.",
  );
}

async function attempt(
  paid: PaidRequest,
  deps: PayOnceDeps,
  lock: Lock | undefined,
  mode: "fresh" | "pending",
  knownTransaction?: string,
  knownCharged?: string,
): Promise<Response> {
  const ctx = settleContext(paid, deps, lock);
  try {
    return await attemptOnce(paid, deps, ctx, mode, knownTransaction, knownCharged);
  } catch (error) {
    return keptPending(ctx, error);
  }
}

async function attemptOnce(
  paid: PaidRequest,
  deps: PayOnceDeps,
  ctx: SettleContext,
  mode: "fresh" | "pending",
  knownTransaction: string | undefined,
  knownCharged?: string,
): Promise<Response> {
  const { request, prepared } = paid;
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
  const metered = prepared.offer.metered;
  let payer = prepared.from;
  if (mode === "pending") {
    // The chain first: a payment proven unpaid never reaches the origin again, one proven paid
    // is served with its transaction; without proof a new settlement is tried (the nonce lets
    // the token move at most once) and, failing that, it stays pending.
    const proof = await proveOnChain(ctx, knownTransaction, knownCharged);
    if (proof.type === "unpaid") {
      await concludeProof(ctx, proof, payer);
      return paid.challenge(proof.reason);
    }
    if (proof.type === "paid" && metered && "sse" in metered.usage) {
      // The served stream's settlement went through: recorded, and no other stream is opened.
      const settled = await concludeProof(ctx, proof, payer, knownCharged);
      if (settled.type === "settled") {
        await paid.onSettled(
          new Response(null),
          settled.receipt,
          settled.receipt.payer ?? payer,
          settled.reference,
        );
      }
      return alreadySettled(settled.type === "settled" ? settled.receipt : undefined);
    }
    if (proof.type === "paid") proven = proof.transaction;
    if (proof.type === "unknown" && metered && "sse" in metered.usage) {
      // A stream goes out before it is settled: a copy of its payment never opens another one,
      // but settles what the served stream owes (the permit lets money move once).
      return settleServedStream(paid, ctx, proof.reason, knownCharged, payer);
    }
  }
  if (mode === "fresh") {
    const verified = await deps.facilitator.verify(prepared.request);
    if (verified.type === "unavailable") {
      await release();
      return errorResponse("facilitator_unavailable", verified.reason, verified.status);
    }
    if (!verified.body.isValid) {
      await release();
      return paid.challenge(verified.body.invalidReason ?? "the payment is not valid");
    }
    payer = verified.body.payer ?? payer;
    // The settle goes where the payment was verified (src/payments/facilitator.ts).
    ctx.verifiedAt = verified.endpoint;
  }

  const forwarded = await content(paid, deps, payer);
  if (forwarded.type === "unreachable") {
    await giveUp();
    return errorResponse("origin_unreachable", `${forwarded.reason}; you were not charged`);
  }
  let origin = forwarded.response;
  const kind = answerKind(origin.status);
  if (kind !== "content") {
    // Only an answer that delivers the content is charged (src/paywall/answers.ts).
    await giveUp();
    if (kind === "error") return origin;
    if (kind === "no-content") return withoutContent(origin);
    await origin.body?.cancel();
    return errorResponse(
      "origin_unreachable",
      `the origin answered ${origin.status}, which a paid request cannot be answered with; you were not charged`,
    );
  }
  const refusal = await paid.beforeSettle?.(origin);
  if (refusal) {
    await origin.body?.cancel();
    await giveUp();
    return refusal;
  }
  if (request.signal.aborted) {
    // The client went away while the origin was answering: nobody would get the content.
    await origin.body?.cancel();
    await giveUp();
    return errorResponse("client_gone", "the client went away before the answer; not charged");
  }
  let toSettle = prepared.request;
  let charged: string | undefined;
  if (metered && "sse" in metered.usage && !isEventStream(origin.headers)) {
    // Not a stream (the client asked for one answer): its usage is read from the JSON before
    // any of it goes out, else it costs the maximum signed for; it goes out once settled.
    const held = await holdAnswer(origin, metered.usage.sse);
    if (held.type === "broken" || request.signal.aborted) {
      await giveUp();
      return held.type === "broken"
        ? errorResponse("origin_unreachable", `${held.reason}; you were not charged`)
        : errorResponse("client_gone", "the client went away before the answer; not charged");
    }
    origin = held.response;
    const charge = meteredCharge(metered, held.reported, prepared.offer.amount);
    charged = charge.ok ? charge.amount : prepared.offer.amount;
    toSettle = settleAmount(prepared.request, charged);
  } else if (metered && "sse" in metered.usage) {
    // The usage is known when the stream ends: the body goes out first (src/pricing/metered.ts).
    return meteredStreamResponse(origin, metered.usage.sse, {
      ended: async (reported) => {
        // The whole stream went out: its usage is charged, the maximum if it reported none.
        const charge = meteredCharge(metered, reported, prepared.offer.amount);
        const amount = charge.ok ? charge.amount : prepared.offer.amount;
        const request = settleAmount(prepared.request, amount);
        const outcome = await settleOnce(ctx, mode, request, { charged: amount, payer });
        if (outcome.type === "settled") {
          await paid.onSettled(
            new Response(null),
            outcome.receipt,
            outcome.receipt.payer ?? payer,
            outcome.reference,
          );
        }
        return outcome;
      },
      cut: async ({ by, reported, delivered }) => {
        // Content went out: the usage seen so far is charged, and a client that leaves before
        // any usage is reported is charged the maximum it signed for (else leaving early would
        // read streams free, the permit still good for another). Nothing went out, or the
        // origin broke before reporting any: nothing is charged.
        const charge = meteredCharge(metered, reported, prepared.offer.amount);
        const amount = charge.ok
          ? charge.amount
          : by === "client" && delivered
            ? prepared.offer.amount
            : undefined;
        if (amount === undefined) {
          await giveUp();
          return;
        }
        const request = settleAmount(prepared.request, amount);
        const work = settleOnce(ctx, mode, request, { charged: amount, payer }).then(
          async (outcome) => {
            if (outcome.type !== "settled") {
              console.error("a cut metered stream was not settled:", outcome.reason);
              return;
            }
            await paid.onSettled(
              new Response(null),
              outcome.receipt,
              outcome.receipt.payer ?? payer,
              outcome.reference,
            );
          },
        );
        // The client is gone: the settlement goes on after the request when it can.
        if (deps.defer) deps.defer(work);
        else await work;
      },
    });
  }
  if (metered && "header" in metered.usage) {
    const charge = meteredCharge(
      metered,
      origin.headers.get(metered.usage.header) ?? undefined,
      prepared.offer.amount,
    );
    if (!charge.ok) {
      await origin.body?.cancel();
      await giveUp();
      return errorResponse(
        "invalid_usage_report",
        `${charge.reason}; the answer was withheld and nothing was charged`,
      );
    }
    toSettle = settleAmount(prepared.request, charge.amount);
    charged = charge.amount;
  }
  if (!(metered && "sse" in metered.usage)) {
    // A body that breaks before it is read is not charged (a short one is read first).
    const held = await holdPaidAnswer(origin);
    if (held.type === "broken" || request.signal.aborted) {
      if (held.type === "held") await held.response.body?.cancel();
      await giveUp();
      return held.type === "broken"
        ? errorResponse("origin_unreachable", `${held.reason}; you were not charged`)
        : errorResponse("client_gone", "the client went away before the answer; not charged");
    }
    origin = held.response;
  }
  const outcome = proven
    ? await concludeProof(
        ctx,
        { type: "paid", transaction: proven },
        payer,
        knownCharged ?? charged,
      )
    : await settleOnce(ctx, mode, toSettle, { charged, payer });
  if (outcome.type === "pending") {
    await origin.body?.cancel();
    return pendingResponse(
      `the settlement's outcome is unknown (${outcome.reason}); the content was withheld. ` +
        "Send the same payment again to resolve it: it is never settled twice, and never " +
        "served until the chain shows it paid.",
      outcome.status,
    );
  }
  if (outcome.type === "unpaid") {
    await origin.body?.cancel();
    return paid.challenge(outcome.reason);
  }
  if (outcome.type === "failed") {
    await origin.body?.cancel();
    return paid.challenge(outcome.reason, settlementHeader(outcome.receipt));
  }
  const response = paidResponse(origin, outcome.receipt, prepared.x402Version);
  return paid.onSettled(
    response,
    outcome.receipt,
    outcome.receipt.payer ?? payer,
    outcome.reference,
  );
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
): Promise<Response> {
  const stillPending = (why: string) =>
    pendingResponse(
      `this payment's stream was served and its settlement is not known yet (${why}); ` +
        "it is never settled twice",
    );
  if (charged === undefined) {
    await stayPending(ctx, reason, 503);
    return stillPending(reason);
  }
  const request = settleAmount(paid.prepared.request, charged);
  const outcome = await settleOnce(ctx, "pending", request, { charged, payer });
  if (outcome.type === "pending") return stillPending(outcome.reason);
  if (outcome.type !== "settled") {
    return errorResponse(
      "payment_already_settled",
      `this payment's stream was served; its settlement was refused: ${outcome.reason}`,
    );
  }
  await paid.onSettled(
    new Response(null),
    outcome.receipt,
    outcome.receipt.payer ?? payer,
    outcome.reference,
  );
  return alreadySettled(outcome.receipt);
}

/** The answer to a copy of a stream's payment once its settlement is recorded. */
function alreadySettled(receipt: SettleResponse | undefined): Response {
  const response = errorResponse(
    "payment_already_settled",
    "this payment's stream was served; its settlement is recorded (the receipt is in PAYMENT-RESPONSE)",
  );
  for (const [name, value] of Object.entries(receipt ? settlementHeader(receipt) : {})) {
    response.headers.set(name, value);
  }
  return response;
}

/** A `503 payment_pending` (or the facilitator's 502) telling the client when to try again. */
function pendingResponse(message: string, status: 502 | 503 = 503): Response {
  const response = errorResponse("payment_pending", message, status);
  response.headers.set("Retry-After", String(PENDING_RETRY_AFTER_SECONDS));
  return response;
}

/** What the payment buys: the paid request's own `serve`, or the origin's answer. */
function content(
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
