import { describe, expect, it } from "vitest";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

/** Metered rules when the table compiles. */

function compileErrors(rule: Record<string, unknown>): string[] {
  const parsed = parsePriceTable({ rules: [{ path: "/m/*", ...rule }] });
  if (!parsed.ok) return parsed.errors;
  const compiled = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
  return compiled.ok ? [] : compiled.errors;
}

const METERED = { unitPrice: "$0.0001", usage: { header: "x-units" } };

describe("metered rules", () => {
  it("should compile on the network's USDC", () => {
    expect(compileErrors({ price: "$0.05", metered: METERED })).toEqual([]);
  });

  it("should refuse another asset, whose units a USD unit price does not fit (regression: an 18-decimal token was settled in USDC units)", () => {
    const errors = compileErrors({
      price: {
        amount: "50000000000000000",
        asset: "0x1111111111111111111111111111111111111111",
        extra: { name: "Other", version: "1" },
      },
      metered: METERED,
    });
    expect(errors.join()).toContain("metered rules are priced in USDC");
  });
});
