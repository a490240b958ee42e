import type { Offer } from "../pricing";
import { offersOf } from "../pricing";
import { requirementsV1, requirementsV2 } from "../x402";
import type { DecodedPayment } from "../x402";
import type { FacilitatorRequest } from "./facilitator";
import { schemeFor } from "../schemes";
import { matchV1, matchV2 } from "./offer-match";

/**
 * Pairs a decoded payment with the route's offers into the exact body the facilitator will be
 * sent, or refuses it with the reason a client sees in the 402's `error`. A V2 payment that names
 * the resource it was made for (`resource.url`, copied from the challenge) is only accepted for
 * that resource.
 */

/** A payment ready for `verify`/`settle` (with the offer it pays), or why it is refused. */
export type PreparedPayment =
  | {
      type: "ready";
      x402Version: 1 | 2;
      request: FacilitatorRequest;
      from: string | undefined;
      /** The offer paid: the rule's main one or one of its `alsoAccept` alternatives. */
      offer: Offer;
    }
  | { type: "refused"; reason: string };

/**
 * Prepares a V1 or V2 payment for the offers of the resource at `resourceUrl`: the payment is
 * held against the offer on its network (the main one when none is), so a refusal names the
 * field that differs from what was offered there.
 */
export function preparePayment(
  payment: Extract<DecodedPayment, { type: "v1" | "v2" }>,
  main: Offer,
  resourceUrl: string,
): PreparedPayment {
  const offers = offersOf(main);
  if (payment.type === "v2") {
    const accepted = payment.payload.accepted as {
      scheme?: unknown;
      network?: unknown;
      asset?: unknown;
    };
    const asset = typeof accepted.asset === "string" ? accepted.asset.toLowerCase() : "";
    const offer =
      offers.find(
        (o) =>
          o.network === accepted.network &&
          o.asset.toLowerCase() === asset &&
          o.scheme === accepted.scheme,
      ) ??
      offers.find((o) => o.network === accepted.network && o.asset.toLowerCase() === asset) ??
      offers.find((o) => o.network === accepted.network) ??
      main;
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
      from: payerOf(payment.payload.payload, offer),
      offer,
    };
  }
  const offer =
    offers.find((o) => requirementsV1(o, resourceUrl)?.network === payment.payload.network) ?? main;
  const offered = requirementsV1(offer, resourceUrl);
  if (!offered) {
    return { type: "refused", reason: `x402 V1 payments are not accepted on ${offer.network}` };
  }
  const problem = matchV1(payment.payload, offered, offer.network);
  if (problem) return { type: "refused", reason: problem };
  return {
    type: "ready",
    x402Version: 1,
    request: { x402Version: 1, paymentPayload: payment.payload, paymentRequirements: offered },
    from: payerOf(payment.payload.payload, offer),
    offer,
  };
}

/** Who the payload says pays (its scheme reads it), before the facilitator confirms it. */
function payerOf(payload: Record<string, unknown>, offer: Offer): string | undefined {
  const identity = schemeFor(offer.scheme, offer.network)?.identity(payload);
  return identity?.ok ? identity.identity.payer : undefined;
}
