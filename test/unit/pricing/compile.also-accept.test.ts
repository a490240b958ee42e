import { describe, expect, it } from "vitest";
import { compileTable, offersOf, parsePriceTable } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO, USDC_BASE_MAINNET } from "../fixtures.ts";

/** `alsoAccept`: one rule, several networks, each resolved and checked when the table loads. */

function compile(rule: Record<string, unknown>) {
  const parsed = parsePriceTable({ rules: [{ path: "/x/*", price: "$0.01", ...rule }] });
  if (!parsed.ok) return { ok: false as const, errors: parsed.errors };
  return compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
}

describe("alsoAccept", () => {
  it("should resolve each network's price, asset and payee, sharing the rule's terms", () => {
    const other = "0x5555555555555555555555555555555555555555";
    const compiled = compile({
      description: "d",
      maxTimeoutSeconds: 30,
      alsoAccept: [{ network: "eip155:8453", price: "$0.25", payTo: other }],
    });
    if (!compiled.ok) throw new Error(compiled.errors.join("; "));
    const match = compiled.table.match({ method: "GET", host: "a.example", path: "/x/1" });
    if (match.kind !== "priced") throw new Error("free");
    const [main, mainnet] = offersOf(match.offer);
    expect(main?.network).toBe(BASE_SEPOLIA);
    expect(mainnet).toMatchObject({
      network: "eip155:8453",
      amount: "250000",
      asset: USDC_BASE_MAINNET,
      payTo: other,
      maxTimeoutSeconds: 30,
      description: "d",
      extra: { name: "USD Coin", version: "2" },
    });
  });

  it.each([
    [
      [{ network: "eip155:84532", price: "$0.02" }],
      "rules[0].alsoAccept[0]: eip155:84532 is already offered",
    ],
    [
      [{ network: "eip155:999999", price: "$0.02" }],
      "rules[0].alsoAccept[0]: no default USDC is known on eip155:999999",
    ],
    [[{ network: "base", price: "$0.02" }], "rules[0].alsoAccept[0].network"],
    [[], "rules[0].alsoAccept"],
  ])("should refuse %j", (alsoAccept, problem) => {
    const compiled = compile({ alsoAccept });
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.errors.join("\n")).toContain(problem);
  });
});
