import { describe, expect, it } from "vitest";
import { parsePriceTable } from "../../../src/pricing/index.ts";
import { PAY_TO, USDC_BASE_SEPOLIA } from "../fixtures.ts";

function errorsOf(json: unknown): string[] {
  const result = parsePriceTable(json);
  if (result.ok) throw new Error("the table was accepted");
  return result.errors;
}

describe("parsePriceTable", () => {
  it("should accept a table using every feature and keep its values", () => {
    const json = {
      version: "2025-01-01",
      caseSensitive: true,
      defaults: { network: "eip155:84532", payTo: PAY_TO, maxTimeoutSeconds: 120 },
      rules: [
        { path: "/public/*", free: true },
        { host: "*.example.com", methods: ["GET", "POST"], path: "/api/:id", price: "$0.01" },
        {
          host: "example.com",
          path: "/files*",
          price: {
            amount: "1000",
            asset: USDC_BASE_SEPOLIA,
            extra: { name: "USDC", version: "2" },
          },
          description: "a file",
          mimeType: "application/octet-stream",
        },
      ],
      default: { price: "$0.001", network: "eip155:8453" },
    };
    expect(parsePriceTable(json)).toEqual({ ok: true, table: json });
  });

  it("should apply the defaults of a minimal table", () => {
    expect(parsePriceTable({ rules: [] })).toEqual({
      ok: true,
      table: { caseSensitive: false, defaults: {}, rules: [], default: { free: true } },
    });
  });

  it("should name the JSON path of a malformed price", () => {
    const errors = errorsOf({
      rules: [
        { path: "/a", free: true },
        { path: "/b", price: "1 dollar" },
      ],
    });
    expect(errors).toEqual([
      'rules[1].price: must look like "$0.01" (a dollar sign and a decimal amount)',
    ]);
  });

  it("should name the bad field of an atomic price", () => {
    const errors = errorsOf({
      rules: [
        {
          path: "/a",
          price: { amount: "0", asset: USDC_BASE_SEPOLIA, extra: { name: "USDC", version: "2" } },
        },
      ],
    });
    expect(errors).toEqual([
      "rules[0].price.amount: must be a positive whole number of atomic units",
    ]);
  });

  it("should describe a price of neither form", () => {
    expect(errorsOf({ rules: [{ path: "/a", price: 5 }] })).toEqual([
      'rules[0].price: must be a "$0.01" string or an {amount, asset, extra} object',
    ]);
  });

  it("should report every problem of a table at once", () => {
    const errors = errorsOf({
      rules: [
        { path: "/a", price: "$1", payTo: "0x123" },
        { path: "/b", price: "$1", network: "base" },
        { path: "/c*/d", free: true },
      ],
    });
    expect(errors).toEqual([
      "rules[0].payTo: must be a 0x-prefixed 20-byte hex address (EVM) or a Base58 public key (Solana)",
      "rules[1].network: must be a CAIP-2 network id such as eip155:8453",
      "rules[2].path: a * may only stand at the end of the pattern",
    ]);
  });

  it("should refuse a rule that is both free and priced", () => {
    expect(errorsOf({ rules: [{ path: "/a", free: true, price: "$1" }] })).toEqual([
      "rules[0]: a rule is either free or has a price, not both",
    ]);
  });

  it("should refuse a rule that is neither free nor priced", () => {
    expect(errorsOf({ rules: [{ path: "/a" }] })).toEqual([
      'rules[0]: needs a "price" or "free": true',
    ]);
  });

  it("should refuse payment terms on a free rule", () => {
    expect(
      errorsOf({ rules: [{ path: "/a", free: true, network: "eip155:8453", payTo: PAY_TO }] }),
    ).toEqual([
      "rules[0].network: has no meaning on a free rule",
      "rules[0].payTo: has no meaning on a free rule",
    ]);
  });

  it("should refuse payment terms on a free default", () => {
    expect(errorsOf({ rules: [], default: { free: true, description: "x" } })).toEqual([
      "default.description: has no meaning on a free rule",
    ]);
  });

  it("should refuse a default that is neither free nor priced", () => {
    expect(errorsOf({ rules: [], default: {} })).toEqual([
      'default: needs a "price" or "free": true',
    ]);
  });

  it.each([
    ["a bad payTo in defaults", { defaults: { payTo: PAY_TO.slice(0, -1) } }, "defaults.payTo"],
    ["an upper-case network", { defaults: { network: "EIP155:8453" } }, "defaults.network"],
    ["a path without a leading slash", { rules: [{ path: "a", free: true }] }, "rules[0].path"],
    ["a * before the end", { rules: [{ path: "/a/*/b", free: true }] }, "rules[0].path"],
    ["two stars", { rules: [{ path: "/a**", free: true }] }, "rules[0].path"],
    [
      "an upper-case host",
      { rules: [{ path: "/", host: "Example.com", free: true }] },
      "rules[0].host",
    ],
    [
      "a host with a port",
      { rules: [{ path: "/", host: "a.com:80", free: true }] },
      "rules[0].host",
    ],
    [
      "a lower-case method",
      { rules: [{ path: "/", methods: ["get"], free: true }] },
      "rules[0].methods[0]",
    ],
    [
      "an empty method list",
      { rules: [{ path: "/", methods: [], free: true }] },
      "rules[0].methods",
    ],
    ["a zero timeout", { defaults: { maxTimeoutSeconds: 0 } }, "defaults.maxTimeoutSeconds"],
  ])("should refuse %s", (_name, patch, path) => {
    const errors = errorsOf({ rules: [], ...patch });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^${path.replace(/[[\].]/g, "\\$&")}: `));
  });

  it("should refuse unknown keys, naming them", () => {
    const errors = errorsOf({ rules: [{ path: "/a", prize: "$1", free: true }] });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^rules\[0\]: .*prize/);
  });

  it("should refuse a value that is not a table", () => {
    expect(errorsOf(null)).toEqual(["(table): Expected object, received null"]);
    expect(errorsOf({})).toEqual(["rules: Required"]);
  });
});

describe("paywall page terms", () => {
  const table = (extra: Record<string, unknown>, rule: Record<string, unknown> = {}) => ({
    rules: [{ path: "/articles/:slug", price: "$0.01", ...rule }],
    ...extra,
  });

  it("should accept a rule's title and the table's brand", () => {
    const brand = { name: "Demo Times", colour: "#1652f0", logo: "https://cdn.example/l.svg" };
    const result = parsePriceTable(table({ brand }, { title: "An article" }));
    expect(result.ok && result.table.brand).toEqual(brand);
    expect(result.ok && result.table.rules[0]?.title).toBe("An article");
    expect(parsePriceTable(table({ brand: { logo: "/logo.svg", colour: "#fc0" } })).ok).toBe(true);
  });

  it("should refuse a colour that is not hex, a logo that is not https or a path, and unknown brand keys", () => {
    expect(errorsOf(table({ brand: { colour: "red;background:url(x)" } }))).toEqual([
      'brand.colour: must be a hex colour such as "#1652f0"',
    ]);
    for (const logo of [
      "javascript:alert(1)",
      "http://cdn.example/l.svg",
      "//evil.example/x",
      "data:image/png;base64,AA",
    ]) {
      expect(errorsOf(table({ brand: { logo } }))).toEqual([
        'brand.logo: must be an https URL or a path on this site such as "/logo.svg"',
      ]);
    }
    expect(errorsOf(table({ brand: { font: "Comic Sans" } }))[0]).toContain("font");
  });

  it("should refuse a title that is empty or spans lines", () => {
    expect(errorsOf(table({}, { title: "" }))[0]).toMatch(/^rules\[0\]\.title:/);
    expect(errorsOf(table({}, { title: "one\ntwo" }))).toEqual([
      "rules[0].title: must be one line of text",
    ]);
  });
});
