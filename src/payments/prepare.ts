import type { Offer } from "../pricing";
import { requirementsV1, requirementsV2 } from "../pricing";
import type { DecodedPayment } from "./codec";
import type { FacilitatorRequest } from "./facilitator";
import { matchV1, matchV2 } from "./offer-match";

/**
 * Pairs a decoded payment with the route's offer into the exact body the facilitator will be
 * sent, or refuses it with the reason a client sees in the 402's `error`. A V2 payment that names
 * the resource it was made for (`resource.url`, copied from the challenge) is only accepted for
 * that resource.
 */

/** A payment ready for `verify`/`settle`, or why it is refused. */
export type PreparedPayment =
  | { type: "ready"; x402Version: 1 | 2; request: FacilitatorRequest; from: string | undefined }
  | { type: "refused"; reason: string };

/** Prepares a V1 or V2 payment for the offer of the resource at `resourceUrl`. */
export function preparePayment(
  payment: Extract<DecodedPayment, { type: "v1" | "v2" }>,
  offer: Offer,
  resourceUrl: string,
): PreparedPayment {
  if (payment.type === "v2") {
    const offered = requirementsV2(offer);
    const paidFor = payment.payload.resource?.url;
    if (paidFor !== undefined && paidFor !== resourceUrl) {
      return { type: "refused", reason: `the payment was made for another resource: ${paidFor}` };
    }
    const problem = matchV2(payment.payload, offered);
    if (problem) return { type: "refused", reason: problem };
    return {
      type: "ready",
      x402Version: 2,
      request: { x402Version: 2, paymentPayload: payment.payload, paymentRequirements: offered },
      from: authorizationFrom(payment.payload.payload),
    };
  }
  const offered = requirementsV1(offer, resourceUrl);
  if (!offered) {
    return { type: "refused", reason: `x402 V1 payments are not accepted on ${offer.network}` };
  }
  const problem = matchV1(payment.payload, offered);
  if (problem) return { type: "refused", reason: problem };
  return {
    type: "ready",
    x402Version: 1,
    request: { x402Version: 1, paymentPayload: payment.payload, paymentRequirements: offered },
    from: authorizationFrom(payment.payload.payload),
  };
}

function authorizationFrom(payload: Record<string, unknown>): string | undefined {
  const authorization = payload["authorization"] as { from?: unknown } | undefined;
  return typeof authorization?.from === "string" ? authorization.from : undefined;
}
