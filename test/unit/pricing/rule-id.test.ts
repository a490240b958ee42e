import { describe, expect, it } from "vitest";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import { derivedRuleId, ruleIds } from "../../../src/pricing/rule-id.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

/** Rules have stable names: receipts, the funnel and the admin API name rules by them. */

function compiled(rules: unknown[]) {
  const parsed = parsePriceTable({ rules });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const table = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
  if (!table.ok) throw new Error(table.errors.join("; "));
  return table.table;
}

const nameOf = (rules: unknown[], path: string, method = "GET") =>
  compiled(rules).match({ method, host: "shop.example", path }).rule;

describe("rule ids", () => {
  it("should name a rule the same when rules are reordered (regression: rules[8] named it by position)", () => {
    const weather = { path: "/api/weather", price: "$0.001" };
    const articles = { path: "/articles/:slug", price: "$0.01" };
    const before = nameOf([weather, articles], "/articles/hello");
    const after = nameOf([{ path: "/new/*", free: true }, articles, weather], "/articles/hello");
    expect(before).toBe("/articles/:slug");
    expect(after).toBe(before);
  });

  it("should use an explicit id, and derive one from methods, host and path otherwise", () => {
    const rules = [
      { id: "weather-api", path: "/api/weather", price: "$0.001" },
      { methods: ["POST", "GET"], path: "/api/*", price: "$0.002" },
      { host: "premium.example", path: "/reports/:id", price: "$0.05" },
    ];
    expect(ruleIds(rules)).toEqual([
      "weather-api",
      "GET,POST /api/*",
      "premium.example/reports/:id",
    ]);
    expect(nameOf(rules, "/api/weather")).toBe("weather-api");
    expect(nameOf(rules, "/api/x", "POST")).toBe("GET,POST /api/*");
    expect(nameOf(rules, "/nothing")).toBe("default");
  });

  it("should tell rules deriving the same name apart in table order with #2, #3", () => {
    const same = { path: "/x", free: true };
    expect(ruleIds([same, same, same])).toEqual(["/x", "/x#2", "/x#3"]);
    // A suffix already taken by a path written that way is skipped.
    expect(ruleIds([same, { path: "/x#2" }, same])).toEqual(["/x", "/x#2", "/x#3"]);
    expect(derivedRuleId({ methods: ["GET", "GET"], path: "/a" })).toBe("GET /a");
  });

  it("should refuse an id that is not a slug, is taken twice, or is 'default'", () => {
    const check = (rules: unknown[]) => parsePriceTable({ rules });
    const bad = check([{ id: "Weather API", path: "/a", price: "$0.01" }]);
    expect(bad.ok ? [] : bad.errors).toEqual([
      "rules[0].id: must be a slug such as weather-api (a-z, 0-9, words joined by -)",
    ]);
    const twice = check([
      { id: "a", path: "/a", price: "$0.01" },
      { id: "a", path: "/b", price: "$0.01" },
    ]);
    expect(twice.ok ? [] : twice.errors).toEqual([
      'rules[1].id: "a" is already the id of rules[0]',
    ]);
    const reserved = check([{ id: "default", path: "/a", price: "$0.01" }]);
    expect(reserved.ok ? [] : reserved.errors).toEqual([
      'rules[0].id: "default" names the table\'s default rule',
    ]);
  });

  it("should name each payee of a payee map after its rule", () => {
    const parsed = parsePriceTable({
      payees: { sellers: { alice: PAY_TO } },
      rules: [
        {
          id: "sellers",
          path: "/s/:id/*",
          price: "$0.01",
          payee: { map: "sellers", from: "param:id" },
        },
      ],
    });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const table = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
    if (!table.ok) throw new Error(table.errors.join());
    const match = table.table.match({ method: "GET", host: "h", path: "/s/alice/x" });
    expect(match.rule).toBe("sellers[alice]");
  });
});

describe("the price-table CLI's diff", () => {
  it("should name changed rules by their stable names, not by position", async () => {
    const { diffTables } = await import("../../../scripts/prices/diff.ts");
    const live = {
      rules: [
        { path: "/api/*", price: "$0.001" },
        { path: "/old", free: true },
      ],
    };
    const next = {
      rules: [
        { id: "articles", path: "/a/:s", price: "$0.01" },
        { path: "/api/*", price: "$0.003" },
      ],
    };
    expect(diffTables(live, next)).toEqual([
      "- /old: free",
      '+ articles: "$0.01"',
      '~ /api/*: price "$0.001" → "$0.003"',
    ]);
  });
});
