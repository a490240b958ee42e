import type { SettleResponse } from "@x402/core/types";
import { base64Text } from "../encoding";

/**
 * The `PAYMENT-RESPONSE` header value: what `@x402/core`'s `encodePaymentResponseHeader` sends
 * (the receipt without its server-side `extensionResponses`), encoded without its per-byte cost.
 */
export function encodeReceipt(receipt: SettleResponse): string {
  const buyerFacing: Partial<SettleResponse> & Record<string, unknown> = { ...receipt };
  delete buyerFacing["extensionResponses"];
  return base64Text(JSON.stringify(buyerFacing));
}
