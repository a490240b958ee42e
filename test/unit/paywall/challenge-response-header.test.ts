import { encodePaymentRequiredHeader } from "@x402/core/http";
import { describe, expect, it } from "vitest";
import { bazaarExtension } from "../../../src/discovery/bazaar.ts";
import { paymentIdentifierDeclaration } from "../../../src/idempotency/claim.ts";
import { challengeResponse } from "../../../src/paywall/challenge-response.ts";
import { extensionMembers, paymentRequiredV2 } from "../../../src/x402/index.ts";
import { OFFER, RESOURCE_URL } from "../fixtures.ts";

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
        extensions: extensions && extensionMembers(extensions),
      });
      expect(response.headers.get("PAYMENT-REQUIRED")).toBe(
        encodePaymentRequiredHeader(paymentRequiredV2(offer, RESOURCE_URL, undefined, extensions)),
      );
    }
  });

  it("should keep the bytes exact when the built-once parts are served again", () => {
    const extensions = {
      "payment-identifier": paymentIdentifierDeclaration(true),
      bazaar: bazaarExtension(OFFER, "GET"),
      "sign-in-with-x": { info: { nonce: "abc" } },
    };
    for (const error of [undefined, "accepted.amount does not match what this resource offers"]) {
      for (let round = 0; round < 2; round++) {
        const response = challengeResponse({
          offer: OFFER,
          resourceUrl: RESOURCE_URL,
          error,
          html: false,
          extensions: extensionMembers(extensions),
        });
        expect(response.headers.get("PAYMENT-REQUIRED")).toBe(
          encodePaymentRequiredHeader(paymentRequiredV2(OFFER, RESOURCE_URL, error, extensions)),
        );
      }
    }
  });
});
