import { describe, expect, it } from "vitest";
import { resolveOriginPrice } from "../../../src/pricing/origin-price.ts";
import { BASE_SEPOLIA } from "../fixtures.ts";

/** The bounds a rule's `originPrice` sets on what its origin may quote. */

describe("resolveOriginPrice", () => {
  it("should refuse bounds that cannot work", () => {
    expect(resolveOriginPrice({ min: "$1", max: "$0.5" }, BASE_SEPOLIA)).toBe(
      "originPrice.max is below its min",
    );
    expect(resolveOriginPrice({ min: "$1", max: "$2" }, "eip155:999999")).toContain("known USDC");
  });
});
