import { deepEqual } from "@x402/core/utils";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { PaymentPayloadV1, PaymentRequirementsV1 } from "@x402/core/types/v1";

/**
 * Checks that a payment is for exactly what this route offers, before any facilitator call.
 * V2: `accepted` must deep-equal the offered requirements (key order aside, X402.md §2); the
 * first differing field is named. Both versions: an EIP-3009 authorization must pay the offered
 * amount to the offered payee, so a payment signed for another price or payee never reaches
 * verification.
 */

/** `undefined` when the payment matches; otherwise the reason it does not. */
export type MatchProblem = string | undefined;

const FIELDS: ReadonlyArray<keyof PaymentRequirements> = [
  "scheme",
  "network",
  "amount",
  "asset",
  "payTo",
  "maxTimeoutSeconds",
  "extra",
];

/** Compares a V2 payment with the route's V2 requirements. */
export function matchV2(payload: PaymentPayload, offered: PaymentRequirements): MatchProblem {
  const accepted = payload.accepted as unknown as Record<string, unknown>;
  for (const field of FIELDS) {
    if (!deepEqual(accepted[field] ?? null, offered[field] ?? null)) {
      return `accepted.${field} does not match what this resource offers`;
    }
  }
  return matchAuthorization(payload.payload, offered.amount, offered.payTo);
}

/** Compares a V1 payment with the route's V1 requirements. */
export function matchV1(payload: PaymentPayloadV1, offered: PaymentRequirementsV1): MatchProblem {
  if (payload.scheme !== offered.scheme) return `scheme "${payload.scheme}" is not offered here`;
  if (payload.network !== offered.network)
    return `network "${payload.network}" is not offered here`;
  return matchAuthorization(payload.payload, offered.maxAmountRequired, offered.payTo);
}

/** The `exact` EVM payload must authorise exactly `amount` to `payTo` (X402.md §3). */
function matchAuthorization(
  payload: Record<string, unknown>,
  amount: string,
  payTo: string,
): MatchProblem {
  const authorization = payload["authorization"];
  if (typeof authorization !== "object" || authorization === null) {
    return "payload.authorization is missing";
  }
  const { to, value } = authorization as { to?: unknown; value?: unknown };
  if (typeof to !== "string" || to.toLowerCase() !== payTo.toLowerCase()) {
    return "payload.authorization.to is not this resource's payTo";
  }
  if (typeof value !== "string" || value !== amount) {
    return "payload.authorization.value is not this resource's price";
  }
  if (typeof payload["signature"] !== "string") return "payload.signature is missing";
  return undefined;
}
