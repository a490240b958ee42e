import type { DecodedPayment } from "../payments";
import {
  PAYEE_HEADER,
  QUOTE_HEADER,
  QUOTE_REQUEST_HEADER,
  checkAnswerQuote,
  readPayee,
  readQuote,
  withinQuoteBounds,
} from "../pricing";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { errorResponse } from "./responses";

/**
 * The origin's in-band terms (src/pricing/origin-price.ts) in the request path: its price
 * (`originPrice`) and its payee (`payee: {from: "origin"}`). An unpaid request costs one origin
 * call, `x402-quote-request: 1` with no body, whose `x402-price` and `x402-pay-to` become the
 * 402's terms. A paid request is taken at the terms it carries, if they are possible ones (an
 * amount within the bounds, an address of the network), and is settled only if the origin's
 * answer states those same terms.
 */

/** True when the offer's terms come from the origin. */
export function fromOrigin(offer: Offer): boolean {
  return offer.quote !== undefined || offer.payeeFromOrigin === true;
}

/** The offer at the terms that apply to this request, or the answer to give instead. */
export async function originTerms(
  offer: Offer,
  payment: DecodedPayment,
  input: { request: Request; forwardPath: string },
  origin: OriginOptions,
): Promise<Offer | Response> {
  const bounds = offer.quote;
  const carried = carriedTerms(payment);
  const amountOk =
    !bounds || (carried.amount !== undefined && withinQuoteBounds(carried.amount, bounds));
  const payeeOk =
    !offer.payeeFromOrigin ||
    (carried.payTo !== undefined && readPayee(carried.payTo, offer.network).ok);
  if (amountOk && payeeOk) {
    return {
      ...offer,
      ...(bounds && carried.amount !== undefined && { amount: carried.amount }),
      ...(offer.payeeFromOrigin && carried.payTo !== undefined && { payTo: carried.payTo }),
    };
  }
  const result = await forwardToOrigin(
    { ...input, extraHeaders: { [QUOTE_REQUEST_HEADER]: "1" }, withoutBody: true },
    origin,
  );
  if (result.type === "unreachable") {
    return errorResponse("origin_unreachable", `${result.reason}; no price could be quoted`);
  }
  await result.response.body?.cancel();
  let quoted = offer;
  if (bounds) {
    const quote = readQuote(result.response.headers.get(QUOTE_HEADER), bounds);
    if (!quote.ok) return errorResponse("invalid_origin_quote", quote.reason);
    quoted = { ...quoted, amount: quote.amount, display: quote.display };
  }
  if (offer.payeeFromOrigin) {
    const payee = readPayee(result.response.headers.get(PAYEE_HEADER), offer.network);
    if (!payee.ok) return errorResponse("invalid_origin_quote", payee.reason);
    quoted = { ...quoted, payTo: payee.payTo };
  }
  return quoted;
}

/**
 * Checks the origin's answer to a paid request against the terms paid: undefined when it states
 * them; otherwise what to answer instead (nothing is settled): a 502 for missing or invalid
 * terms, or a 402 at the origin's terms now.
 */
export function checkOriginAnswer(
  answer: Response,
  paid: Offer,
  challenge: (error: string, at: Offer) => Promise<Response>,
): Promise<Response> | Response | undefined {
  let changed = paid;
  const reasons: string[] = [];
  if (paid.quote) {
    const check = checkAnswerQuote(answer, paid, paid.quote);
    if (!check.ok && "invalid" in check)
      return errorResponse("invalid_origin_quote", check.invalid);
    if (!check.ok) {
      changed = { ...changed, amount: check.changed.amount, display: check.changed.display };
      reasons.push(check.reason);
    }
  }
  if (paid.payeeFromOrigin) {
    const payee = readPayee(answer.headers.get(PAYEE_HEADER), paid.network);
    if (!payee.ok) return errorResponse("invalid_origin_quote", payee.reason);
    if (payee.payTo.toLowerCase() !== paid.payTo.toLowerCase()) {
      changed = { ...changed, payTo: payee.payTo };
      reasons.push("the origin names another payee for this resource; nothing was charged");
    }
  }
  return reasons.length > 0 ? challenge(reasons.join("; "), changed) : undefined;
}

function carriedTerms(payment: DecodedPayment): { amount?: string; payTo?: string } {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  if (payment.type === "v2") {
    const accepted = payment.payload.accepted as { amount?: unknown; payTo?: unknown };
    return strip({ amount: text(accepted.amount), payTo: text(accepted.payTo) });
  }
  if (payment.type === "v1") {
    const authorization = payment.payload.payload["authorization"] as
      { value?: unknown; to?: unknown } | undefined;
    return strip({ amount: text(authorization?.value), payTo: text(authorization?.to) });
  }
  return {};
}

function strip(terms: { amount: string | undefined; payTo: string | undefined }): {
  amount?: string;
  payTo?: string;
} {
  return {
    ...(terms.amount !== undefined && { amount: terms.amount }),
    ...(terms.payTo !== undefined && { payTo: terms.payTo }),
  };
}
