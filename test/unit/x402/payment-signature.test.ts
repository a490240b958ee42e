import { describe, expect, it } from "vitest";
import { decodePayment, MAX_PAYMENT_HEADER_BYTES } from "../../../src/x402/index.ts";
import type { DecodedPayment } from "../../../src/x402/index.ts";
import { paymentV1, paymentV2, toBase64 } from "../fixtures.ts";

function decode(headers: Record<string, string>): DecodedPayment {
  return decodePayment(new Headers(headers));
}

function reasonOf(result: DecodedPayment): string {
  if (result.type !== "invalid") throw new Error(`decoded as ${result.type}`);
  return result.reason;
}

describe("decodePayment", () => {
  it("should find no payment on a request without payment headers", () => {
    expect(decode({ Accept: "text/html" })).toEqual({ type: "none" });
  });

  it("should decode a V2 PAYMENT-SIGNATURE", () => {
    const payment = paymentV2();
    expect(decode({ "PAYMENT-SIGNATURE": toBase64(payment) })).toEqual({
      type: "v2",
      payload: payment,
    });
  });

  it("should decode a V1 X-PAYMENT", () => {
    const payment = paymentV1();
    expect(decode({ "X-PAYMENT": toBase64(payment) })).toEqual({ type: "v1", payload: payment });
  });

  it("should accept unpadded base64url", () => {
    const payment = { ...paymentV2(), extensions: { note: "~~~~~~~?????????" } };
    const standard = toBase64(payment);
    expect(standard).toMatch(/\+/);
    expect(standard).toMatch(/\//);
    const url = standard.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(decode({ "PAYMENT-SIGNATURE": url })).toEqual({ type: "v2", payload: payment });
  });

  it("should refuse a request carrying both generations' headers", () => {
    const result = decode({
      "PAYMENT-SIGNATURE": toBase64(paymentV2()),
      "X-PAYMENT": toBase64(paymentV1()),
    });
    expect(reasonOf(result)).toBe("send either PAYMENT-SIGNATURE or X-PAYMENT, not both");
  });

  it("should refuse a payment header sent twice", () => {
    const headers = new Headers();
    headers.append("PAYMENT-SIGNATURE", toBase64(paymentV2()));
    headers.append("PAYMENT-SIGNATURE", toBase64(paymentV2()));
    expect(reasonOf(decodePayment(headers))).toBe("PAYMENT-SIGNATURE was sent more than once");
  });

  it("should refuse an oversized header before decoding it", () => {
    const big = "A".repeat(MAX_PAYMENT_HEADER_BYTES + 1);
    expect(reasonOf(decode({ "X-PAYMENT": big }))).toBe(
      `X-PAYMENT is larger than ${MAX_PAYMENT_HEADER_BYTES} bytes`,
    );
    const limit = "A".repeat(MAX_PAYMENT_HEADER_BYTES);
    expect(reasonOf(decode({ "X-PAYMENT": limit }))).not.toContain("larger");
  });

  it.each(["not base64!", "{}", "ab=c", "abc==="])("should refuse %j as not base64", (value) => {
    expect(reasonOf(decode({ "PAYMENT-SIGNATURE": value }))).toBe(
      "PAYMENT-SIGNATURE is not base64",
    );
  });

  it("should refuse base64 with an impossible length", () => {
    expect(reasonOf(decode({ "PAYMENT-SIGNATURE": "abcde" }))).toBe(
      "PAYMENT-SIGNATURE is not valid base64",
    );
  });

  it("should refuse base64 that is not JSON", () => {
    expect(reasonOf(decode({ "X-PAYMENT": toBase64("not json") }))).toBe(
      "X-PAYMENT does not decode to JSON",
    );
  });

  it("should refuse a V1 payment in PAYMENT-SIGNATURE", () => {
    expect(reasonOf(decode({ "PAYMENT-SIGNATURE": toBase64(paymentV1()) }))).toBe(
      "PAYMENT-SIGNATURE must carry x402Version 2",
    );
  });

  it("should refuse a V2 payment in X-PAYMENT", () => {
    expect(reasonOf(decode({ "X-PAYMENT": toBase64(paymentV2()) }))).toBe(
      "X-PAYMENT must carry x402Version 1",
    );
  });

  it.each([null, [], 2, "x402Version"])("should refuse the JSON value %j", (value) => {
    expect(reasonOf(decode({ "PAYMENT-SIGNATURE": toBase64(JSON.stringify(value)) }))).toBe(
      "PAYMENT-SIGNATURE must carry x402Version 2",
    );
  });

  it("should name the missing field of a malformed V2 payment", () => {
    const payment = paymentV2() as unknown as { accepted: Record<string, unknown> };
    delete payment.accepted["payTo"];
    expect(reasonOf(decode({ "PAYMENT-SIGNATURE": toBase64(payment) }))).toMatch(
      /^PAYMENT-SIGNATURE has the wrong shape at accepted\.payTo: /,
    );
  });

  it("should name the mistyped field of a malformed V1 payment", () => {
    const payment = { ...paymentV1(), payload: "0xsignature" };
    expect(reasonOf(decode({ "X-PAYMENT": toBase64(payment) }))).toMatch(
      /^X-PAYMENT has the wrong shape at payload: /,
    );
  });
});
