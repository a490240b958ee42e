import { describe, expect, it } from "vitest";
import { checkAnswerQuote, readQuote } from "../../../src/paywall/quote-headers.ts";
import { resolveOriginPrice } from "../../../src/pricing/origin-price.ts";
import type { OriginPrice } from "../../../src/pricing/origin-price.ts";
import { BASE_SEPOLIA, OFFER } from "../fixtures.ts";

/** Prices the origin quotes in band: bounded, exact, and checked again on the paid answer. */

function bounds(min = "$0.001", max = "$0.01"): OriginPrice {
  const resolved = resolveOriginPrice({ min, max }, BASE_SEPOLIA);
  if (typeof resolved === "string") throw new Error(resolved);
  return resolved;
}

describe("readQuote", () => {
  it("should turn a quote within bounds into atomic units", () => {
    expect(readQuote(" $0.005 ", bounds())).toEqual({
      ok: true,
      amount: "5000",
      display: "$0.005",
    });
    expect(readQuote("$0.001", bounds())).toMatchObject({ amount: "1000" });
    expect(readQuote("$0.01", bounds())).toMatchObject({ amount: "10000" });
  });

  it.each([
    [null, "sent no x402-price quote"],
    ["0.005", 'not a "$0.01"-style price'],
    ["$0.0000001", "more than 6 decimal places"],
    ["$0.0005", "outside this rule's $0.001–$0.01"],
    ["$1", "outside this rule's $0.001–$0.01"],
    ["$0", "is zero"],
  ])("should refuse the quote %j", (quote, reason) => {
    const result = readQuote(quote, bounds());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe("checkAnswerQuote", () => {
  const paid = { ...OFFER, amount: "5000" };
  const answer = (price?: string) =>
    new Response("content", { headers: price === undefined ? {} : { "x402-price": price } });

  it("should let a paid answer through only when it quotes the amount paid", () => {
    expect(checkAnswerQuote(answer("$0.005"), paid, bounds())).toEqual({ ok: true });
  });

  it("should offer the new price when the origin now asks another one", () => {
    const check = checkAnswerQuote(answer("$0.007"), paid, bounds());
    expect(check).toMatchObject({ ok: false, changed: { amount: "7000", display: "$0.007" } });
  });

  it("should withhold an answer with no usable quote", () => {
    expect(checkAnswerQuote(answer(), paid, bounds())).toMatchObject({
      ok: false,
      invalid: expect.stringContaining("no x402-price"),
    });
    expect(checkAnswerQuote(answer("$9"), paid, bounds())).toMatchObject({
      ok: false,
      invalid: expect.stringContaining("outside"),
    });
  });
});
