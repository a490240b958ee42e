import { describe, expect, it } from "vitest";
import { dynamicAmount, parsePriceTable } from "../../../src/pricing/index.ts";
import { resolveDynamicPrice } from "../../../src/pricing/dynamic-price.ts";
import type { DynamicPrice } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA } from "../fixtures.ts";

/** Dynamic prices: base + units × each, within [min, max], in exact atomic units. */

function price(config: Record<string, unknown>): DynamicPrice {
  const resolved = resolveDynamicPrice(
    { from: "query:pages", each: "$0.001", max: "$0.05", ...config } as never,
    BASE_SEPOLIA,
  );
  if (typeof resolved === "string") throw new Error(resolved);
  return resolved;
}

const at = (p: DynamicPrice, query = "", headers: Record<string, string> = {}) =>
  dynamicAmount(p, { url: new URL(`https://a.example/x${query}`), headers: new Headers(headers) });

describe("dynamicAmount", () => {
  it("should charge base plus units times each", () => {
    expect(at(price({ base: "$0.002" }), "?pages=3")).toEqual({
      ok: true,
      amount: "5000",
      display: "$0.005",
    });
  });

  it("should keep the price within min and max", () => {
    expect(at(price({ min: "$0.004" }), "?pages=1")).toMatchObject({ amount: "4000" });
    expect(at(price({}), "?pages=0")).toMatchObject({ amount: "1" });
    expect(at(price({}), "?pages=999999")).toMatchObject({ amount: "50000" });
  });

  it("should read a header, or the body size in whole KiB", () => {
    const header = price({ from: "header:x-units" });
    expect(at(header, "", { "X-Units": " 7 " })).toMatchObject({ amount: "7000" });
    const body = price({ from: "body-kib" });
    expect(at(body, "", { "Content-Length": "1025" })).toMatchObject({ amount: "2000" });
    expect(at(body, "", { "Content-Length": "0" })).toMatchObject({ amount: "1" });
  });

  it.each([
    ["", "the query parameter pages, which is missing"],
    ["?pages=-1", "must be a whole number"],
    ["?pages=1.5", "must be a whole number"],
    ["?pages=1e3", "must be a whole number"],
    ["?pages=99999999999999", "must be a whole number of at most 13 digits"],
    ["?pages=1&pages=2", "more than once"],
  ])("should refuse %j with a reason", (query, reason) => {
    const result = at(price({}), query);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("should refuse bounds that cannot work when the table loads", () => {
    expect(
      resolveDynamicPrice(
        { from: "body-kib", each: "$0.1", max: "$0.01", min: "$0.02" },
        BASE_SEPOLIA,
      ),
    ).toBe("dynamicPrice.max is below its min");
    expect(
      resolveDynamicPrice({ from: "body-kib", each: "$0.0000001", max: "$1" }, BASE_SEPOLIA),
    ).toContain("more than 6 decimal places");
    expect(
      resolveDynamicPrice({ from: "body-kib", each: "$0.1", max: "$1" }, "eip155:999999"),
    ).toContain("known USDC");
    const both = parsePriceTable({
      rules: [
        { path: "/x", price: "$0.01", dynamicPrice: { from: "body-kib", each: "$0.1", max: "$1" } },
      ],
    });
    expect(both.ok).toBe(false);
  });
});
