import { describe, expect, it } from "vitest";
import { preparePayment } from "../../../src/payments/index.ts";
import { requirementsV1, requirementsV2 } from "../../../src/x402/index.ts";
import {
  exactPayload,
  OFFER,
  PAY_TO,
  PAYER,
  paymentV1,
  paymentV2,
  RESOURCE_URL,
  V1_BASE,
} from "../fixtures.ts";

describe("preparePayment", () => {
  it("should make a V2 payment ready with the facilitator request body", () => {
    const payload = paymentV2();
    expect(preparePayment({ type: "v2", payload }, OFFER, RESOURCE_URL)).toEqual({
      type: "ready",
      x402Version: 2,
      request: {
        x402Version: 2,
        paymentPayload: payload,
        paymentRequirements: requirementsV2(OFFER),
      },
      from: PAYER,
      offer: OFFER,
    });
  });

  it("should accept a V2 payment that names no resource", () => {
    const payload = paymentV2();
    delete payload.resource;
    expect(preparePayment({ type: "v2", payload }, OFFER, RESOURCE_URL).type).toBe("ready");
  });

  it("should refuse a V2 payment made for another resource", () => {
    const payload = paymentV2();
    expect(preparePayment({ type: "v2", payload }, OFFER, "https://example.com/other")).toEqual({
      type: "refused",
      reason: `the payment was made for another resource: ${RESOURCE_URL}`,
    });
  });

  it("should refuse a V2 payment that does not match the offer", () => {
    const payload = { ...paymentV2(), payload: exactPayload(PAY_TO, "1") };
    expect(preparePayment({ type: "v2", payload }, { ...OFFER }, RESOURCE_URL)).toEqual({
      type: "refused",
      reason: "payload.authorization.value is not this resource's price",
    });
  });

  it("should make a V1 payment ready with the V1 requirements", () => {
    const payload = paymentV1();
    expect(preparePayment({ type: "v1", payload }, OFFER, RESOURCE_URL)).toEqual({
      type: "ready",
      x402Version: 1,
      request: {
        x402Version: 1,
        paymentPayload: payload,
        paymentRequirements: requirementsV1(OFFER, RESOURCE_URL),
      },
      from: PAYER,
      offer: OFFER,
    });
  });

  it("should refuse V1 payments on a network without a V1 name", () => {
    const offer = { ...OFFER, network: "eip155:999999" };
    expect(preparePayment({ type: "v1", payload: paymentV1() }, offer, RESOURCE_URL)).toEqual({
      type: "refused",
      reason: "x402 V1 payments are not accepted on eip155:999999",
    });
  });

  it("should refuse a V1 payment for another network", () => {
    const payload = { ...paymentV1(), network: V1_BASE };
    expect(preparePayment({ type: "v1", payload }, OFFER, RESOURCE_URL)).toEqual({
      type: "refused",
      reason: 'network "base" is not offered here',
    });
  });

  it("should leave the payer unknown when the authorization names none", () => {
    const payload = paymentV2();
    delete (payload.payload["authorization"] as Record<string, unknown>)["from"];
    const prepared = preparePayment({ type: "v2", payload }, OFFER, RESOURCE_URL);
    expect(prepared).toMatchObject({ type: "ready", from: undefined });
  });

  describe("with alsoAccept offers", () => {
    const MAINNET: typeof OFFER = {
      ...OFFER,
      network: "eip155:8453",
      asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      extra: { name: "USD Coin", version: "2" },
    };
    const both = { ...OFFER, alternatives: [MAINNET] };

    it("should hold a payment against the offer on its network", () => {
      const payload = paymentV2();
      payload.accepted = requirementsV2(MAINNET);
      const ready = preparePayment({ type: "v2", payload }, both, RESOURCE_URL);
      expect(ready).toMatchObject({ type: "ready", offer: MAINNET });
      if (ready.type === "ready") {
        expect(ready.request.paymentRequirements).toEqual(requirementsV2(MAINNET));
      }
      const v1 = paymentV1();
      v1.network = "base" as typeof v1.network;
      expect(preparePayment({ type: "v1", payload: v1 }, both, RESOURCE_URL)).toMatchObject({
        type: "ready",
        offer: MAINNET,
      });
    });

    it("should name the differing field when a payment mixes two offers", () => {
      const payload = paymentV2();
      payload.accepted = { ...requirementsV2(MAINNET), amount: "1" };
      expect(preparePayment({ type: "v2", payload }, both, RESOURCE_URL)).toEqual({
        type: "refused",
        reason: "accepted.amount does not match what this resource offers",
      });
    });
  });
});
