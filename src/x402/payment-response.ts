import type { SettleResponse } from "@x402/core/types";
import { base64Text } from "../encoding";

/**
 * The settlement receipt on the wire (specs/transports-v2/http.md, transports-v1/http.md):
 * `PAYMENT-RESPONSE` for V2 clients, `X-PAYMENT-RESPONSE` for V1 clients, each base64 JSON.
 */

/** The V2 receipt header. */
export const PAYMENT_RESPONSE = "PAYMENT-RESPONSE";
/** The V1 receipt header. */
export const X_PAYMENT_RESPONSE = "X-PAYMENT-RESPONSE";

/** The receipt header a client of `x402Version` reads. */
export function receiptHeaderName(x402Version: number): string {
  return x402Version === 1 ? X_PAYMENT_RESPONSE : PAYMENT_RESPONSE;
}

/**
 * The `PAYMENT-RESPONSE` header value: what `@x402/core`'s `encodePaymentResponseHeader` sends
 * (the receipt without its server-side `extensionResponses`), encoded without its per-byte cost.
 */
export function encodeReceipt(receipt: SettleResponse): string {
  const buyerFacing: Partial<SettleResponse> & Record<string, unknown> = { ...receipt };
  delete buyerFacing["extensionResponses"];
  return base64Text(JSON.stringify(buyerFacing));
}

/** Encodes a settlement outcome for the `PAYMENT-RESPONSE` header of a failed settlement. */
export function settlementHeader(receipt: SettleResponse): Record<string, string> {
  return { [PAYMENT_RESPONSE]: encodeReceipt(receipt) };
}
