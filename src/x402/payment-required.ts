import type { PaymentRequired, PaymentRequirements } from "@x402/core/types";
import type { PaymentRequiredV1, PaymentRequirementsV1 } from "@x402/core/types/v1";
import { base64Text } from "../encoding";
import { offersOf, v1NetworkName } from "../pricing";
import type { Offer } from "../pricing";
import { schemeFor } from "../schemes";

/**
 * The terms of a 402 on the wire (x402 V2 spec §5.1, specs/transports-v2/http.md): the V2
 * `PaymentRequirements` a payment's `accepted` must equal, the V1 equivalent for x402 1.x
 * clients, the `PAYMENT-REQUIRED` header and the V1 JSON body. Pure functions of the offer and
 * the resource URL.
 */

/** The V2 header carrying the terms of a 402. */
export const PAYMENT_REQUIRED = "PAYMENT-REQUIRED";

/** The V2 requirements of an offer; `accepted` in a V2 payment must deep-equal this. */
export function requirementsV2(offer: Offer): PaymentRequirements {
  return {
    scheme: offer.scheme,
    network: offer.network as PaymentRequirements["network"],
    amount: offer.amount,
    asset: offer.asset,
    payTo: offer.payTo,
    maxTimeoutSeconds: offer.maxTimeoutSeconds,
    extra: { ...offer.extra },
  };
}

/** The V1 requirements of an offer, or undefined when its network has no V1 name. */
export function requirementsV1(
  offer: Offer,
  resourceUrl: string,
): PaymentRequirementsV1 | undefined {
  const network = v1NetworkName(offer.network);
  if (!network || !schemeFor(offer.scheme, offer.network)?.v1) return undefined;
  return {
    scheme: offer.scheme,
    network: network as PaymentRequirementsV1["network"],
    maxAmountRequired: offer.amount,
    resource: resourceUrl,
    description: offer.description,
    mimeType: offer.mimeType,
    outputSchema: {},
    payTo: offer.payTo,
    maxTimeoutSeconds: offer.maxTimeoutSeconds,
    asset: offer.asset,
    extra: { ...offer.extra },
  };
}

/** The V2 `PaymentRequired` object carried (base64) in the `PAYMENT-REQUIRED` header. */
export function paymentRequiredV2(
  offer: Offer,
  resourceUrl: string,
  error?: string,
  extensions?: Record<string, unknown>,
): PaymentRequired {
  // `description` and `mimeType` are optional in V2's ResourceInfo (spec §5.1.2): an empty one
  // says nothing, so it is left out (V1 requires both, and keeps them).
  const resource: PaymentRequired["resource"] = { url: resourceUrl };
  if (offer.description) resource.description = offer.description;
  if (offer.mimeType) resource.mimeType = offer.mimeType;
  const required: PaymentRequired = {
    x402Version: 2,
    resource,
    accepts: offersOf(offer).map(requirementsV2),
  };
  if (error) required.error = error;
  if (extensions && Object.keys(extensions).length > 0) required.extensions = extensions;
  return required;
}

/**
 * The `PAYMENT-REQUIRED` header value: base64 of the UTF-8 JSON, as `encodePaymentRequiredHeader`
 * of `@x402/core` makes it, without its string per byte (most of the cost of a 402): ASCII JSON
 * goes to `btoa` as it is.
 */
export function encodePaymentRequired(required: PaymentRequired): string {
  return base64Text(JSON.stringify(required));
}

/**
 * What an unpaid request is told, in the body read by x402 1.x clients and seen by anyone else:
 * V2 clients pay with a `PAYMENT-SIGNATURE` header against the `PAYMENT-REQUIRED` header's terms
 * (x402 specs/transports-v2/http.md), 1.x clients with an `X-PAYMENT` header against this body's `accepts`.
 */
export const PAYMENT_NEEDED =
  "payment required: send a PAYMENT-SIGNATURE header (x402 V2, terms in the PAYMENT-REQUIRED header) or an X-PAYMENT header (x402 V1, terms in this body's accepts)";

/** V1 requirements as the 402 body states them: `outputSchema` is left out when there is none. */
export type BodyRequirementsV1 = Omit<PaymentRequirementsV1, "outputSchema"> & {
  outputSchema?: Record<string, unknown>;
};

/** The V1-shaped JSON body of a 402 (`accepts` may be empty). */
export type BodyV1 = Omit<PaymentRequiredV1, "accepts"> & { accepts: BodyRequirementsV1[] };

/**
 * The V1-shaped JSON body of a 402, which 1.x clients read. The rules have no output schema, so
 * none is stated: `outputSchema` is optional in the V1 schema (`x402` 1.x and `@x402/core`), and
 * an empty one says nothing. The facilitator still gets the full `requirementsV1`.
 */
export function paymentRequiredV1(offer: Offer, resourceUrl: string, error?: string): BodyV1 {
  const accepts = offersOf(offer).flatMap((one) => {
    const requirements = requirementsV1(one, resourceUrl);
    if (!requirements) return [];
    const { outputSchema, ...stated } = requirements;
    return Object.keys(outputSchema).length > 0 ? [{ ...stated, outputSchema }] : [stated];
  });
  return { x402Version: 1, error: error ?? PAYMENT_NEEDED, accepts };
}
