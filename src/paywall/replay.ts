import type { SettleResponse } from "@x402/core/types";
import { hex } from "../encoding";
import { MAX_REPLAYS, sameResource } from "../idempotency";
import type { Claim, ClaimResult, PaymentLockService } from "../idempotency";
import type { OriginResult } from "../proxy";
import { answerKind, withoutContent } from "./answers";
import { errorResponse, paidResponse } from "./responses";
import { settlementHeader } from "../x402";

/**
 * A copy of a payment that already settled. Its receipt, always; its content again only to a
 * retry with the same `payment-identifier` that is the same operation as the paid request (same
 * method, resource and body: `requestDigest`, recorded when the payment was claimed), within
 * `REPLAY_WINDOW_MS`, one at a time and at most `MAX_REPLAYS` times (src/idempotency/replays.ts).
 * A client whose answer was lost gets it again; a copier of the header gets nothing a retry
 * would not give the payer, and never more often than the bound.
 *
 * Never served again: metered answers (priced by their own use) and answers on rules that sold
 * a pass. A pass's paid request was its first use, and what the payment bought is the pass; a
 * replay that spent none of its uses would open more than was paid, and one that spent a use
 * would need the token, which the paid answer carried and whoever holds that token can present
 * itself. The payer who lost that answer signs in with the paying wallet (sign-in-with-x) to get
 * a token for the pass; a copier of the payment header cannot.
 */

/** How long after settlement a retry with the same payment id gets the content again. */
export const REPLAY_WINDOW_MS = 10 * 60_000;

/** What serving a settled payment again needs. */
export interface Replay {
  payments: PaymentLockService;
  payer: string;
  claim: Claim;
  settled: Extract<ClaimResult, { type: "settled" }>;
  x402Version: number;
  /** Why this rule's answers are never served again (metered, sold a pass), if they are not. */
  never?: string | undefined;
  /** Fetches the content again (the origin's answer to the request). */
  content(payer: string | undefined): Promise<OriginResult>;
  /** Runs work after the answer (`waitUntil`); without it, the work is awaited first. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** Answers a copy of a settled payment: its content again (see above), or its receipt. */
export async function settledBefore(replay: Replay): Promise<Response> {
  const { claim, settled } = replay;
  const receipt = JSON.parse(settled.receipt) as SettleResponse;
  const sameId = claim.paymentId !== undefined && claim.paymentId === settled.paymentId;
  if (!sameId) {
    return alreadySettled(
      receipt,
      "this payment has already been settled (its receipt is in PAYMENT-RESPONSE); " +
        "send a payment-identifier to retry a payment and get its content again",
    );
  }
  if (replay.never) return alreadySettled(receipt, replay.never);
  const fresh = Date.now() - settled.settledAt < REPLAY_WINDOW_MS;
  // What the payment bought (method, resource, and a top-up's key) is the claim's `resource`.
  if (!fresh || !sameResource(settled.resource, claim.resource) || claim.digest === undefined) {
    return alreadySettled(
      receipt,
      "this payment settled more than 10 minutes ago or for another resource; pay again",
    );
  }
  const start = await replay.payments.startReplay(replay.payer, claim.key, claim.digest);
  switch (start.type) {
    case "unavailable":
      return errorResponse(
        "payment_lock_unavailable",
        "the payment's record could not be reached; retry with the same payment",
      );
    case "busy":
      return errorResponse(
        "payment_in_progress",
        "this payment's content is being served again to another request; retry in a moment",
      );
    case "mismatch":
      return alreadySettled(
        receipt,
        "this payment id paid for another request (method, resource or body); " +
          "only the same request gets its content again",
      );
    case "exhausted":
    case "unknown":
      return alreadySettled(
        receipt,
        `this payment's content was served again as often as it may be (${MAX_REPLAYS} times); pay again`,
      );
    case "granted":
      return serveAgain(replay, receipt);
  }
}

async function serveAgain(replay: Replay, receipt: SettleResponse): Promise<Response> {
  const end = () => replay.payments.endReplay(replay.payer, replay.claim.key);
  const forwarded = await replay.content(receipt.payer);
  if (forwarded.type === "unreachable") {
    await end();
    return errorResponse("origin_unreachable", `${forwarded.reason}; retry with the same payment`);
  }
  const origin = forwarded.response;
  const kind = answerKind(origin.status);
  if (kind !== "content") {
    await end();
    if (kind === "no-content") return withoutContent(origin);
    if (kind === "error") return origin;
    await origin.body?.cancel();
    return errorResponse("origin_unreachable", `the origin answered ${origin.status}`);
  }
  // The next replay may start once this one's body went out (or the client left).
  const body = origin.body ? whenDone(origin.body, () => afterAnswer(end(), replay.defer)) : null;
  if (!body) await end();
  return paidResponse(
    new Response(body, {
      status: origin.status,
      statusText: origin.statusText,
      headers: origin.headers,
    }),
    receipt,
    replay.x402Version,
  );
}

function afterAnswer(work: Promise<unknown>, defer: Replay["defer"]): Promise<unknown> {
  if (defer) {
    defer(work);
    return Promise.resolve();
  }
  return work;
}

/** `body` unchanged, calling `done` once when it ends, breaks or is cancelled. */
function whenDone(
  body: ReadableStream<Uint8Array>,
  done: () => Promise<unknown>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let over = false;
  const finish = async () => {
    if (over) return;
    over = true;
    await done();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        await finish();
        controller.error(error);
        return;
      }
      if (chunk.done) {
        await finish();
        controller.close();
        return;
      }
      controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => undefined);
      await finish();
    },
  });
}

function alreadySettled(receipt: SettleResponse, message: string): Response {
  const response = errorResponse("payment_already_settled", message);
  for (const [name, value] of Object.entries(settlementHeader(receipt))) {
    response.headers.set(name, value);
  }
  return response;
}

/**
 * What makes a retry the same operation as the paid request: SHA-256 (hex) over the method,
 * the resource URL and the SHA-256 of the body. The body is read from a clone (its other branch
 * still goes to the origin), hashed as it streams.
 */
export async function requestDigest(request: Request, resourceUrl: string): Promise<string> {
  const body = request.body ? await bodyHash(request.clone().body) : "";
  const text = `${request.method.toUpperCase()}\n${resourceUrl}\n${body}`;
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

async function bodyHash(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const digest = new crypto.DigestStream("SHA-256");
  await body.pipeTo(digest);
  return hex(await digest.digest);
}
