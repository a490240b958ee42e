import { describe, expect, it } from "vitest";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import type { CompiledTable, EnvDefaults, Lookup, Offer } from "../../../src/pricing/index.ts";
import {
  BASE_MAINNET,
  BASE_SEPOLIA,
  OTHER_ADDRESS,
  PAY_TO,
  PAYER,
  USDC_BASE_MAINNET,
  USDC_BASE_SEPOLIA,
} from "../fixtures.ts";

const ENV: EnvDefaults = { network: BASE_SEPOLIA, payTo: PAY_TO };

function compile(json: unknown, env: EnvDefaults = ENV): CompiledTable {
  const parsed = parsePriceTable(json);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const compiled = compileTable(parsed.table, env);
  if (!compiled.ok) throw new Error(compiled.errors.join("; "));
  return compiled.table;
}

function compileErrors(json: unknown, env: EnvDefaults = ENV): string[] {
  const parsed = parsePriceTable(json);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const compiled = compileTable(parsed.table, env);
  if (compiled.ok) throw new Error("the table compiled");
  return compiled.errors;
}

/**
 * The position of the rule a request matches ("rules[1]" or "default"), found from the name the
 * match carries (src/pricing/rule-id.ts) in the table's listing.
 */
function ruleFor(table: CompiledTable, path: string, method = "GET", host = "example.com") {
  const name = table.match({ method, host, path }).rule;
  if (name === "default") return name;
  return `rules[${table.listing.findIndex((listed) => listed.id === name)}]`;
}

function offerOf(match: Lookup): Offer {
  if (match.kind !== "priced") throw new Error(`${match.rule} is free`);
  return match.offer;
}

/** A table of free rules (each labelled by its index) over a priced default. */
function rules(...list: object[]): CompiledTable {
  return compile({ rules: list.map((r) => ({ free: true, ...r })), default: { price: "$1" } });
}

describe("compileTable", () => {
  describe("paths", () => {
    it("should let the first matching rule win", () => {
      const table = compile({
        rules: [
          { path: "/api/public", free: true },
          { path: "/api/*", price: "$0.01" },
          { path: "/api/public", price: "$5" },
        ],
      });
      expect(table.match({ method: "GET", host: "a.com", path: "/api/public" })).toEqual({
        kind: "free",
        rule: "/api/public",
      });
      expect(offerOf(table.match({ method: "GET", host: "a.com", path: "/api/x" })).amount).toBe(
        "10000",
      );
    });

    it("should match '/api/*' for /api and everything below it, but not /apix", () => {
      const table = rules({ path: "/api/*" });
      expect(ruleFor(table, "/api")).toBe("rules[0]");
      expect(ruleFor(table, "/api/a")).toBe("rules[0]");
      expect(ruleFor(table, "/api/a/b/c")).toBe("rules[0]");
      expect(ruleFor(table, "/apix")).toBe("default");
      expect(ruleFor(table, "/ap")).toBe("default");
      expect(ruleFor(table, "/")).toBe("default");
    });

    it("should match '/files*' as a string prefix", () => {
      const table = rules({ path: "/files*" });
      expect(ruleFor(table, "/files")).toBe("rules[0]");
      expect(ruleFor(table, "/files2024")).toBe("rules[0]");
      expect(ruleFor(table, "/files/a/b")).toBe("rules[0]");
      expect(ruleFor(table, "/file")).toBe("default");
      expect(ruleFor(table, "/x/files")).toBe("default");
    });

    it("should match '/*' for every path and '/' for the root only", () => {
      const root = rules({ path: "/" });
      expect(ruleFor(root, "/")).toBe("rules[0]");
      expect(ruleFor(root, "/a")).toBe("default");
      const all = rules({ path: "/*" });
      expect(ruleFor(all, "/")).toBe("rules[0]");
      expect(ruleFor(all, "/a/b")).toBe("rules[0]");
    });

    it("should match ':slug' against exactly one segment", () => {
      const table = rules({ path: "/blog/:slug" }, { path: "/u/:id/posts" });
      expect(ruleFor(table, "/blog/hello")).toBe("rules[0]");
      expect(ruleFor(table, "/blog")).toBe("default");
      expect(ruleFor(table, "/blog/a/b")).toBe("default");
      expect(ruleFor(table, "/u/7/posts")).toBe("rules[1]");
      expect(ruleFor(table, "/u/7/8/posts")).toBe("default");
    });

    it("should match a pattern with a trailing slash as the path without it", () => {
      expect(ruleFor(rules({ path: "/docs/" }), "/docs")).toBe("rules[0]");
    });

    it("should match regular-expression characters literally", () => {
      const table = rules({ path: "/a.b/(x)+" });
      expect(ruleFor(table, "/a.b/(x)+")).toBe("rules[0]");
      expect(ruleFor(table, "/aXb/(x)+")).toBe("default");
      expect(ruleFor(table, "/a.b/xx")).toBe("default");
    });

    it("should match paths case-insensitively by default", () => {
      const table = rules({ path: "/Docs/*" });
      expect(ruleFor(table, "/docs/a")).toBe("rules[0]");
      expect(ruleFor(table, "/DOCS/A")).toBe("rules[0]");
    });

    it("should match paths case-sensitively when the table says so", () => {
      const table = compile({
        caseSensitive: true,
        rules: [{ path: "/Docs/*", free: true }],
        default: { price: "$1" },
      });
      expect(ruleFor(table, "/Docs/a")).toBe("rules[0]");
      expect(ruleFor(table, "/docs/a")).toBe("default");
      expect(ruleFor(table, "/DOCS/a")).toBe("default");
    });

    it("should NFKC-fold full-width characters in patterns", () => {
      expect(ruleFor(rules({ path: "/\uFF41\uFF50\uFF49/*" }), "/api/x")).toBe("rules[0]");
    });
  });

  describe("hosts and methods", () => {
    it("should match an exact host whatever its case, and only that host", () => {
      const table = rules({ host: "example.com", path: "/*" });
      expect(ruleFor(table, "/", "GET", "example.com")).toBe("rules[0]");
      expect(ruleFor(table, "/", "GET", "EXAMPLE.com")).toBe("rules[0]");
      expect(ruleFor(table, "/", "GET", "www.example.com")).toBe("default");
      expect(ruleFor(table, "/", "GET", "example.org")).toBe("default");
    });

    it("should match '*.example.com' for subdomains but not the apex or look-alikes", () => {
      const table = rules({ host: "*.example.com", path: "/*" });
      expect(ruleFor(table, "/", "GET", "api.example.com")).toBe("rules[0]");
      expect(ruleFor(table, "/", "GET", "a.b.example.com")).toBe("rules[0]");
      expect(ruleFor(table, "/", "GET", "example.com")).toBe("default");
      expect(ruleFor(table, "/", "GET", "badexample.com")).toBe("default");
      expect(ruleFor(table, "/", "GET", "example.com.evil.net")).toBe("default");
    });

    it("should let a GET rule cover HEAD", () => {
      const table = rules({ methods: ["GET"], path: "/*" });
      expect(ruleFor(table, "/", "GET")).toBe("rules[0]");
      expect(ruleFor(table, "/", "HEAD")).toBe("rules[0]");
      expect(ruleFor(table, "/", "POST")).toBe("default");
    });

    it("should not let a POST-only rule match GET or HEAD", () => {
      const table = rules({ methods: ["POST"], path: "/*" });
      expect(ruleFor(table, "/", "POST")).toBe("rules[0]");
      expect(ruleFor(table, "/", "GET")).toBe("default");
      expect(ruleFor(table, "/", "HEAD")).toBe("default");
    });

    it("should match every method when a rule names none", () => {
      const table = rules({ path: "/*" });
      for (const method of ["GET", "POST", "DELETE", "PATCH"]) {
        expect(ruleFor(table, "/", method)).toBe("rules[0]");
      }
    });
  });

  describe("default rule", () => {
    it("should leave unmatched requests free by default", () => {
      const table = compile({ rules: [{ path: "/paid", price: "$1" }] });
      expect(table.match({ method: "GET", host: "a.com", path: "/other" })).toEqual({
        kind: "free",
        rule: "default",
      });
    });

    it("should price unmatched requests when the default has a price", () => {
      const table = compile({ rules: [], default: { price: "$0.002" } });
      const match = table.match({ method: "GET", host: "a.com", path: "/anything" });
      expect(match.rule).toBe("default");
      expect(offerOf(match).amount).toBe("2000");
    });

    it("should echo the table's version", () => {
      expect(compile({ version: 7, rules: [] }).version).toBe(7);
      expect(compile({ rules: [] }).version).toBeUndefined();
    });
  });

  describe("offers", () => {
    it("should resolve a USD price on Base Sepolia to its USDC", () => {
      const table = compile({ rules: [{ path: "/*", price: "$0.01" }] });
      expect(offerOf(table.match({ method: "GET", host: "a.com", path: "/" }))).toEqual({
        scheme: "exact",
        network: BASE_SEPOLIA,
        amount: "10000",
        asset: USDC_BASE_SEPOLIA,
        payTo: PAY_TO,
        maxTimeoutSeconds: 60,
        extra: { name: "USDC", version: "2" },
        description: "",
        mimeType: "",
        display: "$0.01",
      });
    });

    it("should resolve a USD price on Base to its USDC and EIP-712 name", () => {
      const table = compile({ rules: [{ path: "/*", price: "$1.50", network: BASE_MAINNET }] });
      const offer = offerOf(table.match({ method: "GET", host: "a.com", path: "/" }));
      expect(offer).toMatchObject({
        network: BASE_MAINNET,
        amount: "1500000",
        asset: USDC_BASE_MAINNET,
        extra: { name: "USD Coin", version: "2" },
        display: "$1.5",
      });
    });

    it("should take an atomic price with its explicit asset, on any network", () => {
      const price = { amount: "42", asset: OTHER_ADDRESS, extra: { name: "Tok", version: "1" } };
      const table = compile({ rules: [{ path: "/*", price, network: "eip155:999999" }] });
      expect(offerOf(table.match({ method: "GET", host: "a.com", path: "/" }))).toMatchObject({
        network: "eip155:999999",
        amount: "42",
        asset: OTHER_ADDRESS,
        extra: { name: "Tok", version: "1" },
        display: "",
      });
    });

    it("should show dollars for an atomic price in the network's USDC", () => {
      const price = {
        amount: "500000",
        asset: USDC_BASE_SEPOLIA.toLowerCase(),
        extra: { name: "USDC", version: "2" },
      };
      const table = compile({ rules: [{ path: "/*", price }] });
      expect(offerOf(table.match({ method: "GET", host: "a.com", path: "/" })).display).toBe(
        "$0.5",
      );
    });

    it("should carry description, mime type and timeout from the rule", () => {
      const table = compile({
        rules: [
          {
            path: "/*",
            price: "$1",
            description: "Report",
            mimeType: "application/pdf",
            maxTimeoutSeconds: 30,
          },
        ],
      });
      expect(offerOf(table.match({ method: "GET", host: "a.com", path: "/" }))).toMatchObject({
        description: "Report",
        mimeType: "application/pdf",
        maxTimeoutSeconds: 30,
      });
    });

    it("should let rule terms override table defaults, which override the environment", () => {
      const table = compile({
        defaults: { payTo: OTHER_ADDRESS, maxTimeoutSeconds: 90 },
        rules: [
          { path: "/a", price: "$1" },
          { path: "/b", price: "$1", payTo: PAYER, network: BASE_MAINNET },
        ],
      });
      const a = offerOf(table.match({ method: "GET", host: "x.com", path: "/a" }));
      expect([a.network, a.payTo, a.maxTimeoutSeconds]).toEqual([BASE_SEPOLIA, OTHER_ADDRESS, 90]);
      const b = offerOf(table.match({ method: "GET", host: "x.com", path: "/b" }));
      expect([b.network, b.payTo, b.asset]).toEqual([BASE_MAINNET, PAYER, USDC_BASE_MAINNET]);
    });

    it("should use the table's terms when the environment sets none", () => {
      const table = compile(
        { defaults: { network: BASE_MAINNET, payTo: PAYER }, rules: [{ path: "/", price: "$1" }] },
        {},
      );
      const offer = offerOf(table.match({ method: "GET", host: "x.com", path: "/" }));
      expect([offer.network, offer.payTo]).toEqual([BASE_MAINNET, PAYER]);
    });
  });

  describe("errors", () => {
    it("should refuse a priced rule without a payTo anywhere", () => {
      expect(
        compileErrors({ rules: [{ path: "/", price: "$1" }] }, { network: BASE_SEPOLIA }),
      ).toEqual(["rules[0]: no payTo: set one on the rule, in defaults, or the PAY_TO variable"]);
    });

    it("should refuse a priced rule without a network anywhere", () => {
      expect(compileErrors({ rules: [{ path: "/", price: "$1" }] }, { payTo: PAY_TO })).toEqual([
        "rules[0]: no network: set one on the rule, in defaults, or the NETWORK variable",
      ]);
    });

    it("should refuse a USD price on a network without a known USDC", () => {
      const errors = compileErrors({
        rules: [{ path: "/", price: "$1", network: "eip155:999999" }],
      });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^rules\[0\]: no default USDC is known on eip155:999999 /);
    });

    it("should refuse USD prices that are zero or finer than USDC allows", () => {
      expect(
        compileErrors({
          rules: [
            { path: "/a", price: "$0" },
            { path: "/b", price: "$0.0000001" },
          ],
        }),
      ).toEqual([
        'rules[0]: "$0" is zero: use a free rule instead',
        'rules[1]: "$0.0000001" has more than 6 decimal places',
      ]);
    });

    it("should report an unresolvable default together with the rules' errors", () => {
      expect(
        compileErrors({ rules: [{ path: "/a", price: "$1" }], default: { price: "$2" } }, {}),
      ).toEqual([
        "rules[0]: no network: set one on the rule, in defaults, or the NETWORK variable",
        "default: no network: set one on the rule, in defaults, or the NETWORK variable",
      ]);
    });

    it("should not need a network or payTo for a table of free rules", () => {
      const table = compile({ rules: [{ path: "/", free: true }] }, {});
      expect(ruleFor(table, "/")).toBe("rules[0]");
    });
  });
});
