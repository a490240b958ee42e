import type { PaymentPayload } from "@x402/core/types";
import { describe, expect, it } from "vitest";
import { matchV1, matchV2 } from "../../../src/payments/index.ts";
import { requirementsV1, requirementsV2 } from "../../../src/x402/index.ts";
import {
  exactPayload,
  OFFER,
  OTHER_ADDRESS,
  PAY_TO,
  paymentV1,
  paymentV2,
  RESOURCE_URL,
  V1_BASE,
} from "../fixtures.ts";

const OFFERED = requirementsV2(OFFER);
const OFFERED_V1 = requirementsV1(OFFER, RESOURCE_URL)!;

function reversed<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).reverse()) as T;
}

function withAccepted(patch: Record<string, unknown>): PaymentPayload {
  const payment = paymentV2();
  return { ...payment, accepted: { ...payment.accepted, ...patch } as PaymentPayload["accepted"] };
}

describe("matchV2", () => {
  it("should pass a payment that accepts exactly the offer", () => {
    expect(matchV2(paymentV2(), OFFERED)).toBeUndefined();
  });

  it("should pass an exact copy whose keys are in another order", () => {
    const payment = paymentV2();
    const accepted = reversed({ ...payment.accepted, extra: reversed(payment.accepted.extra!) });
    expect(Object.keys(accepted)[0]).toBe("extra");
    expect(matchV2({ ...payment, accepted }, OFFERED)).toBeUndefined();
  });

  it.each([
    ["scheme", "upto"],
    ["network", "eip155:8453"],
    ["amount", "1"],
    ["amount", 10000],
    ["asset", OTHER_ADDRESS],
    ["payTo", OTHER_ADDRESS],
    ["maxTimeoutSeconds", 3600],
    ["extra", { name: "USD Coin", version: "2" }],
    ["extra", { name: "USDC", version: "2", more: true }],
    ["extra", undefined],
  ])("should name %s when accepted has %j", (field, value) => {
    expect(matchV2(withAccepted({ [field]: value }), OFFERED)).toBe(
      `accepted.${field} does not match what this resource offers`,
    );
  });

  it("should refuse an authorization paying someone else", () => {
    const payment = { ...paymentV2(), payload: exactPayload(OTHER_ADDRESS) };
    expect(matchV2(payment, OFFERED)).toBe("payload.authorization.to is not this resource's payTo");
  });

  it("should compare the authorization's payee whatever its letter case", () => {
    const payment = {
      ...paymentV2(),
      payload: exactPayload(PAY_TO.toUpperCase().replace("0X", "0x")),
    };
    expect(matchV2(payment, OFFERED)).toBeUndefined();
  });

  it.each(["9999", "10001", "010000"])(
    "should refuse an authorization for %s instead of the price",
    (value) => {
      const payment = { ...paymentV2(), payload: exactPayload(PAY_TO, value) };
      expect(matchV2(payment, OFFERED)).toBe(
        "payload.authorization.value is not this resource's price",
      );
    },
  );

  it("should refuse an authorization whose value is a number", () => {
    const payload = exactPayload();
    (payload["authorization"] as Record<string, unknown>)["value"] = 10000;
    expect(matchV2({ ...paymentV2(), payload }, OFFERED)).toBe(
      "payload.authorization.value is not this resource's price",
    );
  });

  it("should refuse a payload without an authorization", () => {
    const payment = { ...paymentV2(), payload: { signature: "0x01" } };
    expect(matchV2(payment, OFFERED)).toBe("payload.authorization is missing");
  });

  it("should refuse a payload without a signature", () => {
    const payload = exactPayload();
    delete payload["signature"];
    expect(matchV2({ ...paymentV2(), payload }, OFFERED)).toBe("payload.signature is missing");
  });
});

describe("matchV1", () => {
  it("should pass a payment for the offer", () => {
    expect(matchV1(paymentV1(), OFFERED_V1, "eip155:84532")).toBeUndefined();
  });

  it("should refuse another scheme", () => {
    expect(matchV1({ ...paymentV1(), scheme: "upto" }, OFFERED_V1, "eip155:84532")).toBe(
      'scheme "upto" is not offered here',
    );
  });

  it("should refuse another network", () => {
    expect(matchV1({ ...paymentV1(), network: V1_BASE }, OFFERED_V1, "eip155:84532")).toBe(
      'network "base" is not offered here',
    );
  });

  it("should refuse an authorization for another amount or payee", () => {
    expect(
      matchV1({ ...paymentV1(), payload: exactPayload(PAY_TO, "1") }, OFFERED_V1, "eip155:84532"),
    ).toBe("payload.authorization.value is not this resource's price");
    expect(
      matchV1({ ...paymentV1(), payload: exactPayload(OTHER_ADDRESS) }, OFFERED_V1, "eip155:84532"),
    ).toBe("payload.authorization.to is not this resource's payTo");
  });
});
