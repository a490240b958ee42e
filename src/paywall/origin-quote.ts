import type { DecodedPayment } from "../payments";
import { QUOTE_HEADER, QUOTE_REQUEST_HEADER, readQuote, withinQuoteBounds } from "../pricing";
import type { Offer, OriginPrice } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { errorResponse } from "./responses";

/**
 * The origin's in-band quote (src/pricing/origin-price.ts) in the request path. An unpaid
 * request costs one origin call, `x402-quote-request: 1` with no body, whose `x402-price`
 * becomes the 402's amount. A paid request is priced at the amount it carries, if that is a
 * possible quote, and is settled only if the origin's answer quotes that same amount.
 */

/** The offer at the price that applies to this request, or the answer to give instead. */
export async function quotedOffer(
  offer: Offer,
  bounds: OriginPrice,
  payment: DecodedPayment,
  input: { request: Request; forwardPath: string },
  origin: OriginOptions,
): Promise<Offer | Response> {
  const carried = amountOf(payment);
  if (carried !== undefined && withinQuoteBounds(carried, bounds)) {
    return { ...offer, amount: carried };
  }
  const result = await forwardToOrigin(
    { ...input, extraHeaders: { [QUOTE_REQUEST_HEADER]: "1" }, withoutBody: true },
    origin,
  );
  if (result.type === "unreachable") {
    return errorResponse("origin_unreachable", `${result.reason}; no price could be quoted`);
  }
  await result.response.body?.cancel();
  const quote = readQuote(result.response.headers.get(QUOTE_HEADER), bounds);
  if (!quote.ok) return errorResponse("invalid_origin_quote", quote.reason);
  return { ...offer, amount: quote.amount, display: quote.display };
}

function amountOf(payment: DecodedPayment): string | undefined {
  if (payment.type === "v2") {
    const amount = (payment.payload.accepted as { amount?: unknown }).amount;
    return typeof amount === "string" ? amount : undefined;
  }
  if (payment.type === "v1") {
    const authorization = payment.payload.payload["authorization"] as
      { value?: unknown } | undefined;
    return typeof authorization?.value === "string" ? authorization.value : undefined;
  }
  return undefined;
}
