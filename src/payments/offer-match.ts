import { deepEqual } from "@x402/core/utils";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { PaymentPayloadV1, PaymentRequirementsV1 } from "@x402/core/types/v1";
import { schemeFor } from "../schemes";
import type { OfferedTerms } from "../schemes";

/**
 * Checks that a payment is for exactly what this route offers, before any facilitator call.
 * V2: `accepted` must deep-equal the offered requirements (key order aside, x402 V2 spec §5.2); the
 * first differing field is named. Both versions: the scheme's payload (an EIP-3009 authorization,
 * a Permit2 permit, a Solana transfer; src/schemes) must pay the offered amount to the offered
 * payee, so a payment signed for another price or payee never reaches verification.
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
  return checkScheme(payload.payload, offered.scheme, offered.network, offered);
}

/** Compares a V1 payment with the route's V1 requirements (V1 is `exact` on EVM only). */
export function matchV1(
  payload: PaymentPayloadV1,
  offered: PaymentRequirementsV1,
  network: string,
): MatchProblem {
  if (payload.scheme !== offered.scheme) return `scheme "${payload.scheme}" is not offered here`;
  if (payload.network !== offered.network)
    return `network "${payload.network}" is not offered here`;
  return checkScheme(payload.payload, offered.scheme, network, {
    amount: offered.maxAmountRequired,
    asset: offered.asset,
    payTo: offered.payTo,
    extra: offered.extra ?? {},
  });
}

/** The scheme's own check of its payload (src/schemes): it must pay exactly what was offered. */
function checkScheme(
  payload: Record<string, unknown>,
  scheme: string,
  network: string,
  offered: OfferedTerms,
): MatchProblem {
  const module = schemeFor(scheme, network);
  if (!module) return `the ${scheme} scheme is not accepted on ${network}`;
  return module.check(payload, offered);
}
