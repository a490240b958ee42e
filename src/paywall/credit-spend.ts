import { answerKind, holdPaidAnswer, withoutContent } from "./answers";
import { CRAWLER_CHARGED, formatCrawlerPrice } from "../crawlers";
import type { Subject } from "../crawlers";
import type { CreditService } from "../credit";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { crawlerChallenge, crawlerErrorResponse, withHeaders } from "./crawler-responses";
import { keepPrivate } from "./cache-control";
import { errorResponse } from "./responses";
import { tagOutcome } from "../funnel";

/**
 * Serving a page from prepaid crawl credit: a verified crawler that agreed to the price
 * (`crawler-max-price` at or above it, or `crawler-exact-price` equal to it) is debited in its
 * key's Durable Object before the origin is asked, from the balance bought on the page's own
 * terms (its network, asset and payee: the gate sends nothing else here). The debit comes first
 * so that it reserves the amount: concurrent requests never spend more than the balance. It
 * stands only by the rules a paid request is settled by (src/paywall/attempt.ts): the origin's
 * answer delivers the content (src/paywall/answers.ts: a 2xx), a short body (`HOLD_LIMIT`) is
 * read whole first, and the client is still there; otherwise it is given back (the origin
 * unreachable, a 3xx, 4xx or 5xx, a body that breaks, a client gone), so a page is never served
 * without its debit and never debited without being served. A client gone before the debit is
 * not debited at all. A longer or chunked answer streams out after the debit, like a paid one
 * after its settlement: a break in it is charged. Each signed request spends at most once (its
 * nonce is recorded); credit that is short is a 402 again, a store that cannot be reached a 503.
 *
 * A debit given back is never lost: when the store cannot take the refund it is owed and
 * retried after the answer (`defer`), then carried with the key's next credit call
 * (src/credit/owed.ts). The crawler is told its credit "was not charged" only once the store
 * confirmed the refund; otherwise that the debit will be given back.
 */

/** The balance after a page served from credit, as `USD 0.99`. */
export const CREDIT_REMAINING = "crawler-credit-remaining";

/** Remembered a little past the signature's expiry, matching the verifier's clock tolerance. */
export const NONCE_GRACE_SECONDS = 60;

/** One request to serve from credit. */
export interface SpendInput {
  request: Request;
  offer: Offer;
  resourceUrl: string;
  forwardPath: string;
  /** A verified subject (with `keyid`). */
  subject: Subject;
  /** The balance to spend: the page's network, asset and payee (src/credit/account.ts). */
  account: string;
}

/** What spending credit needs: the credit store, the origin, and work after the answer. */
export interface SpendDeps {
  credit: CreditService;
  origin: OriginOptions;
  /** Keeps retrying an owed refund after the answer (the request's `waitUntil`). */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** Debits, forwards, and gives the debit back unless the page is delivered; never throws. */
export async function spendCredit(input: SpendInput, deps: SpendDeps): Promise<Response> {
  const { request, offer, subject } = input;
  if (!subject.keyid || !subject.nonce || subject.expires === undefined) {
    const why = "spending credit needs a signature with a nonce, so it cannot be replayed";
    return crawlerErrorResponse("InvalidSignature", why);
  }
  if (request.method === "HEAD") {
    // A HEAD delivers no content: never debited, answered with the page's price.
    return crawlerChallenge(request, offer, input.resourceUrl, "a HEAD request is never paid for");
  }
  if (request.signal.aborted) {
    const why = "the client went away before the page was asked for; nothing was charged";
    return errorResponse("client_gone", why);
  }
  const keyid = subject.keyid;
  const debit = await deps.credit.debit(
    {
      keyid,
      account: input.account,
      amount: offer.amount,
      nonce: subject.nonce,
      nonceExpiresAt: (subject.expires + NONCE_GRACE_SECONDS) * 1000,
      resource: input.resourceUrl,
    },
    deps.defer,
  );
  switch (debit.type) {
    case "unavailable":
      // The reason says whether a debit may stand (its answer lost) and is being given back.
      return crawlerErrorResponse("InternalError", debit.reason, { status: 503 });
    case "replayed":
      return crawlerErrorResponse("InvalidSignature", "this signed request was already used");
    case "insufficient": {
      const why = `crawl credit is ${formatCrawlerPrice(debit.balance)}; buy more at /__x402/crawl-credit or pay with x402`;
      return crawlerChallenge(request, offer, input.resourceUrl, why);
    }
    case "debited":
      break;
  }
  const refund = () => deps.credit.refund(keyid, debit.debit, deps.defer);
  const forwarded = await forwardToOrigin({ request, forwardPath: input.forwardPath }, deps.origin);
  if (forwarded.type === "unreachable") {
    const refunded = await refund();
    return errorResponse("origin_unreachable", `${forwarded.reason}; ${uncharged(refunded)}`);
  }
  const origin = forwarded.response;
  // Only an answer that delivers the content is debited (src/paywall/answers.ts).
  const kind = answerKind(origin.status);
  if (kind !== "content") {
    const refunded = await refund();
    if (kind === "no-content") return withoutContent(origin);
    if (kind === "error") return origin;
    await origin.body?.cancel();
    return errorResponse(
      "origin_unreachable",
      `the origin answered ${origin.status}; ${uncharged(refunded)}`,
    );
  }
  // The client went away while the origin was answering: nobody would get the page.
  const gone = async (body: Response) => {
    await body.body?.cancel().catch(() => undefined);
    const refunded = await refund();
    return errorResponse(
      "client_gone",
      `the client went away before the page; ${uncharged(refunded)}`,
    );
  };
  if (request.signal.aborted) return gone(origin);
  // A short body is read whole before the debit stands: one that breaks is not charged.
  const held = await holdPaidAnswer(origin);
  if (held.type === "broken") {
    const refunded = await refund();
    return errorResponse("origin_unreachable", `${held.reason}; ${uncharged(refunded)}`);
  }
  if (request.signal.aborted) return gone(held.response);
  const added: Record<string, string> = {
    [CRAWLER_CHARGED]: formatCrawlerPrice(offer.amount),
    [CREDIT_REMAINING]: formatCrawlerPrice(debit.balance),
  };
  const served = withHeaders(held.response, added);
  keepPrivate(served.headers);
  const spent = { network: offer.network, asset: offer.asset, amount: offer.amount };
  return tagOutcome(served, { type: "credit", spent });
}

/** What the crawler is told of a debit given back: confirmed by the store, or still owed. */
function uncharged(refunded: boolean): string {
  if (refunded) return "your credit was not charged";
  return "this page is not charged: its debit will be given back to your credit shortly (the credit store could not take it yet)";
}
