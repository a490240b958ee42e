/**
 * What one answered request on a priced route came to, for the operator's funnel: a 402 served,
 * a payment refused (and why, as one of a few stable codes), a session use, a page paid from
 * crawl credit. Pure functions of the request and the answer: they read status and headers and
 * the tags the paywall puts on its own answers (tags.ts), never a body, so counting costs no I/O.
 * Settled payments are not counted here: the receipts ledger holds each of them exactly once.
 */
import { outcomeTag } from "./tags";

/** Why a payment (or an attempt to pay from crawl credit) was refused. */
export const REFUSAL_CODES = [
  "expired",
  "wrong_amount",
  "wrong_terms",
  "invalid_signature",
  "insufficient_funds",
  "nonce_used",
  "duplicate",
  "in_progress",
  "malformed",
  "facilitator_down",
  "settle_failed",
  "pending",
  "store_down",
  "origin_error",
  "client_gone",
  "credit_short",
  "crawler_signature",
  "crawler_blocked",
  "crawler_price",
  "other",
] as const;

/** A refusal code. */
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** The funnel events; settled payments come from the ledger. */
export type FunnelEvent = "challenge" | "refused" | "session" | "credit";

/** What one request counts for (at most two events: a 402 that refused a payment). */
export interface Outcome {
  /** A 402 was served. */
  challenge: boolean;
  /** A payment attempt was refused, with its reason. */
  refused?: RefusalCode | undefined;
  /** A session (pass) use let the request in. */
  session?: boolean | undefined;
  /** A page was paid from prepaid crawl credit. */
  credit?: { network: string; asset: string; amount: string } | undefined;
}

const PAYMENT_HEADERS = ["payment-signature", "x-payment"];
const CRAWLER_PRICE_HEADERS = ["crawler-exact-price", "crawler-max-price"];

/**
 * The outcome of `response` to `request`, or undefined when it counts for nothing here (a paid
 * answer: the ledger counts it; a free one).
 */
export function outcomeOf(request: Request, response: Response): Outcome | undefined {
  const tag = outcomeTag(response);
  if (tag?.type === "session") return { challenge: false, session: true };
  if (tag?.type === "credit") return { challenge: false, credit: tag.spent };
  const status = response.status;
  const paying = PAYMENT_HEADERS.some((name) => request.headers.has(name));
  const attempting = paying || CRAWLER_PRICE_HEADERS.some((name) => request.headers.has(name));
  if (status === 402) {
    if (!attempting) return { challenge: true };
    return { challenge: true, refused: challengeRefusal(response) };
  }
  if (!attempting || status < 400) return undefined;
  const crawlerError = response.headers.get("crawler-error");
  if (crawlerError) return { challenge: false, refused: crawlerRefusal(crawlerError) };
  if (tag?.type === "error") return { challenge: false, refused: errorRefusal(tag.code) };
  // The origin's own error answer, passed on: nothing was charged.
  return { challenge: false, refused: "origin_error" };
}

/** The reason a 402 that answered an attempt states, as a code. */
function challengeRefusal(response: Response): RefusalCode {
  const receipt = response.headers.get("payment-response");
  if (receipt) return "settle_failed";
  const required = response.headers.get("payment-required");
  if (!required) return "other";
  try {
    const error = (JSON.parse(atob(required)) as { error?: unknown }).error;
    return typeof error === "string" ? refusalCode(error) : "other";
  } catch {
    return "other";
  }
}

/**
 * A refusal reason (the facilitator's `invalidReason`, such as
 * `invalid_exact_evm_payload_authorization_valid_before`, or the paywall's own sentence) as a code.
 * Reasons are opaque text (x402 V2 spec §5.4, §9): this only groups the common ones; the rest are
 * `other`.
 */
export function refusalCode(reason: string): RefusalCode {
  const text = reason.toLowerCase();
  if (/crawl credit is/.test(text)) return "credit_short";
  if (/valid_before|valid_after|expired|not yet valid|too early/.test(text)) return "expired";
  if (/insufficient|balance/.test(text)) return "insufficient_funds";
  if (/nonce|already used|replay/.test(text)) return "nonce_used";
  if (/signature/.test(text)) return "invalid_signature";
  if (/value|amount/.test(text)) return "wrong_amount";
  if (/does not match|not offered|another resource|recipient|mismatch|not accepted/.test(text)) {
    return "wrong_terms";
  }
  return "other";
}

function errorRefusal(code: string): RefusalCode {
  switch (code) {
    case "facilitator_unavailable":
      return "facilitator_down";
    case "payment_pending":
      return "pending";
    case "payment_in_progress":
      return "in_progress";
    case "payment_conflict":
    case "payment_already_settled":
      return "duplicate";
    case "invalid_payment":
      return "malformed";
    case "payment_lock_unavailable":
    case "session_store_unavailable":
    case "credit_store_unavailable":
      return "store_down";
    case "origin_unreachable":
    case "invalid_origin_quote":
    case "invalid_usage_report":
      return "origin_error";
    case "client_gone":
      return "client_gone";
    default:
      return "other";
  }
}

function crawlerRefusal(code: string): RefusalCode {
  if (code === "InvalidSignature" || code === "StrongAuthRequired") return "crawler_signature";
  if (code === "CrawlerForbidden") return "crawler_blocked";
  if (/Price/.test(code)) return "crawler_price";
  if (code === "InternalError") return "store_down";
  return "other";
}
