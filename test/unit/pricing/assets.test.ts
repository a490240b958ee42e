import { describe, expect, it } from "vitest";
import { atomicToUsd, defaultUsdc, usdToAtomic } from "../../../src/pricing/index.ts";
import { BASE_MAINNET, BASE_SEPOLIA, USDC_BASE_MAINNET, USDC_BASE_SEPOLIA } from "../fixtures.ts";

describe("usdToAtomic", () => {
  it.each([
    ["$0.001", "1000"],
    ["$0.01", "10000"],
    ["$1", "1000000"],
    ["$1.50", "1500000"],
    ["$0.000001", "1"],
    ["$0.0000010", "1"],
    ["$00.25", "250000"],
    ["$123456789.123456", "123456789123456"],
  ])("should convert %s to %s atomic units of a 6-decimal token", (price, amount) => {
    expect(usdToAtomic(price, 6)).toEqual({ ok: true, amount });
  });

  it("should use the token's decimals", () => {
    expect(usdToAtomic("$0.01", 18)).toEqual({ ok: true, amount: "10000000000000000" });
    expect(usdToAtomic("$2", 0)).toEqual({ ok: true, amount: "2" });
  });

  it("should refuse a price finer than the token allows instead of rounding", () => {
    expect(usdToAtomic("$0.0000001", 6)).toEqual({
      ok: false,
      reason: '"$0.0000001" has more than 6 decimal places',
    });
    expect(usdToAtomic("$1.5", 0).ok).toBe(false);
  });

  it.each(["$0", "$0.00", "$000.000000"])("should refuse the zero price %s", (price) => {
    expect(usdToAtomic(price, 6)).toEqual({
      ok: false,
      reason: `"${price}" is zero: use a free rule instead`,
    });
  });

  it.each(["0.01", "$", "$.5", "$1.", "$-1", "$1,000", " $1", "$1 ", "$1e3", "€1", "$0x10", ""])(
    "should refuse the malformed price %j",
    (price) => {
      expect(usdToAtomic(price, 6)).toEqual({
        ok: false,
        reason: `"${price}" is not a "$0.01"-style price`,
      });
    },
  );
});

describe("atomicToUsd", () => {
  it.each([
    ["1", "$0.000001"],
    ["1000", "$0.001"],
    ["10000", "$0.01"],
    ["1500000", "$1.5"],
    ["1000000", "$1"],
    ["123456789123456", "$123456789.123456"],
  ])("should format %s atomic units as %s", (amount, usd) => {
    expect(atomicToUsd(amount, 6)).toBe(usd);
  });

  it.each(["$0.001", "$1", "$1.5", "$0.000001", "$42.42"])(
    "should round-trip %s through atomic units",
    (price) => {
      const atomic = usdToAtomic(price, 6);
      if (!atomic.ok) throw new Error(atomic.reason);
      expect(atomicToUsd(atomic.amount, 6)).toBe(price);
    },
  );
});

describe("defaultUsdc", () => {
  it("should know USDC on Base and Base Sepolia, and nothing on an unregistered chain", () => {
    expect(defaultUsdc(BASE_MAINNET)).toEqual({
      address: USDC_BASE_MAINNET,
      decimals: 6,
      eip712: { name: "USD Coin", version: "2" },
    });
    expect(defaultUsdc(BASE_SEPOLIA)).toEqual({
      address: USDC_BASE_SEPOLIA,
      decimals: 6,
      eip712: { name: "USDC", version: "2" },
    });
    expect(defaultUsdc("eip155:999999")).toBeUndefined();
  });
});
