import { encodePaymentResponseHeader } from "@x402/core/http";
import type { SettleResponse } from "@x402/core/types";
import { describe, expect, it } from "vitest";
import { base64Text } from "../../../src/encoding.ts";
import { encodeReceipt } from "../../../src/x402/index.ts";

/** The PAYMENT-RESPONSE header: the same bytes as the official encoder, without its cost. */

describe("encodeReceipt", () => {
  const receipt = {
    success: true,
    transaction: `0x${"ab".repeat(32)}`,
    network: "eip155:84532",
    payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    extensionResponses: { bazaar: { server: "side" } },
  } as unknown as SettleResponse;

  it("should encode a receipt exactly as @x402/core does, without extension responses", () => {
    expect(encodeReceipt(receipt)).toBe(encodePaymentResponseHeader(receipt));
    expect(JSON.parse(atob(encodeReceipt(receipt)))).not.toHaveProperty("extensionResponses");
  });

  it("should encode a failed settlement with a non-ASCII reason as @x402/core does", () => {
    const failed = { ...receipt, success: false, errorReason: "refusé — nonce déjà utilisé ✓" };
    expect(encodeReceipt(failed)).toBe(encodePaymentResponseHeader(failed));
  });

  it("should base64 any text's UTF-8 bytes", () => {
    expect(base64Text("hello")).toBe(Buffer.from("hello").toString("base64"));
    expect(base64Text("é✓𝄞")).toBe(Buffer.from("é✓𝄞").toString("base64"));
  });
});
