import type { PaymentPayload } from "@x402/core/types";
import type { PaymentPayloadV1 } from "@x402/core/types/v1";
import type { Offer } from "../../src/pricing/index.ts";

/** Shared values for the unit tests: one offer on Base Sepolia and payments made for it. */

export const PAY_TO = "0x2222222222222222222222222222222222222222";
export const OTHER_ADDRESS = "0x4444444444444444444444444444444444444444";
export const PAYER = "0x3333333333333333333333333333333333333333";
export const BASE_SEPOLIA = "eip155:84532";
export const BASE_MAINNET = "eip155:8453";
export const USDC_BASE_SEPOLIA = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
export const USDC_BASE_MAINNET = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
export const RESOURCE_URL = "https://example.com/articles/paid";
/** V1 network names, typed as @x402/core types them (it types V1 networks as CAIP-2). */
export const V1_BASE_SEPOLIA = "base-sepolia" as PaymentPayloadV1["network"];
export const V1_BASE = "base" as PaymentPayloadV1["network"];
export const SIGNATURE = "0x" + "ab".repeat(65);

/** A one-cent offer in Base Sepolia USDC, as the matcher resolves it. */
export const OFFER: Offer = {
  scheme: "exact",
  network: BASE_SEPOLIA,
  amount: "10000",
  asset: USDC_BASE_SEPOLIA,
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
  extra: { name: "USDC", version: "2" },
  description: "A paid article",
  mimeType: "text/html",
  display: "$0.01",
};

/** An EIP-3009 `exact` payload paying `value` to `to`. */
export function exactPayload(to = PAY_TO, value = OFFER.amount): Record<string, unknown> {
  return {
    signature: SIGNATURE,
    authorization: {
      from: PAYER,
      to,
      value,
      validAfter: "0",
      validBefore: "9999999999",
      nonce: "0x" + "01".repeat(32),
    },
  };
}

/** A V2 payment that accepts exactly OFFER for RESOURCE_URL. */
export function paymentV2(): PaymentPayload {
  return {
    x402Version: 2,
    resource: { url: RESOURCE_URL, description: OFFER.description, mimeType: OFFER.mimeType },
    accepted: {
      scheme: "exact",
      network: BASE_SEPOLIA,
      amount: OFFER.amount,
      asset: OFFER.asset,
      payTo: OFFER.payTo,
      maxTimeoutSeconds: OFFER.maxTimeoutSeconds,
      extra: { name: "USDC", version: "2" },
    },
    payload: exactPayload(),
  };
}

/** A V1 payment for OFFER on Base Sepolia. */
export function paymentV1(): PaymentPayloadV1 {
  return { x402Version: 1, scheme: "exact", network: V1_BASE_SEPOLIA, payload: exactPayload() };
}

/** Standard base64 of a value's JSON (UTF-8), as x402 clients encode payment headers. */
export function toBase64(value: unknown): string {
  const bytes = new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
  return btoa(String.fromCharCode(...bytes));
}
