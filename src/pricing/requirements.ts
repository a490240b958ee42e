import type { PaymentRequired, PaymentRequirements } from "@x402/core/types";
import type { PaymentRequiredV1, PaymentRequirementsV1 } from "@x402/core/types/v1";
import { schemeFor } from "../schemes";
import { v1NetworkName } from "./assets";
import { offersOf } from "./matcher";
import type { Offer } from "./matcher";

/**
 * Turns a rule's resolved offer into the wire shapes of x402 (x402 V2 spec §5.1): the V2
 * `PaymentRequirements` a payment's `accepted` must equal, and the V1 equivalent for
 * x402 1.x clients. Pure functions of the offer and the resource URL.
 */

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
  const required: PaymentRequired = {
    x402Version: 2,
    resource: { url: resourceUrl, description: offer.description, mimeType: offer.mimeType },
    accepts: offersOf(offer).map(requirementsV2),
  };
  if (error) required.error = error;
  if (extensions && Object.keys(extensions).length > 0) required.extensions = extensions;
  return required;
}

/** The V1-shaped JSON body of a 402, which 1.x clients read (`accepts` may be empty). */
export function paymentRequiredV1(
  offer: Offer,
  resourceUrl: string,
  error?: string,
): PaymentRequiredV1 {
  const accepts = offersOf(offer).flatMap((one) => requirementsV1(one, resourceUrl) ?? []);
  return { x402Version: 1, error: error ?? "X-PAYMENT header is required", accepts };
}
