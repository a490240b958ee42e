import { encodePaymentRequiredHeader } from "@x402/core/http";
import { describe, expect, it } from "vitest";
import { challengeResponse } from "../../src/pricing/index.ts";
import { paymentRequiredV2 } from "../../src/pricing/requirements.ts";
import { OFFER, RESOURCE_URL } from "./fixtures.ts";

describe("PAYMENT-REQUIRED encoding (fast path for ASCII JSON)", () => {
  it("should encode exactly as @x402/core does, for ASCII and for any Unicode", () => {
    const cases = [
      { offer: OFFER, extensions: undefined },
      { offer: { ...OFFER, description: "Café ☕ — 記事 🎉" }, extensions: undefined },
      { offer: OFFER, extensions: { "sign-in-with-x": { statement: "Übersicht" } } },
    ];
    for (const { offer, extensions } of cases) {
      const response = challengeResponse({
        offer,
        resourceUrl: RESOURCE_URL,
        html: false,
        extensions,
      });
      expect(response.headers.get("PAYMENT-REQUIRED")).toBe(
        encodePaymentRequiredHeader(paymentRequiredV2(offer, RESOURCE_URL, undefined, extensions)),
      );
    }
  });
});
