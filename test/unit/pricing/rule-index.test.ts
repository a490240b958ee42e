import { describe, expect, it } from "vitest";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import type { CompiledTable } from "../../../src/pricing/index.ts";
import { RuleIndex } from "../../../src/pricing/rule-index.ts";
import { ruleIds } from "../../../src/pricing/rule-id.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

const PATTERNS = [
  "/",
  "/*",
  "/a",
  "/a/",
  "/a/*",
  "/a*",
  "/a/b",
  "/a/b*",
  "/a/:x",
  "/a/:x/c",
  "/a/:x/*",
  "/:x",
  "/:x/b",
  "/:x*",
  "/ab",
  "/a/b/c",
  "/files.v1/*",
  "/b/*",
];
const PATHS = [
  "/",
  "/a",
  "/ab",
  "/abc",
  "/a/b",
  "/a/bc",
  "/a/b/c",
  "/a/b/c/d",
  "/a/z/c",
  "/a/z",
  "/b",
  "/b/b",
  "/files.v1",
  "/files.v1/x",
  "/filesXv1/x",
  "/z/b",
];

/** The matcher's pattern syntax, scanned rule by rule: the reference the index must agree with. */
function linearMatch(patterns: { path: string; host?: string }[], host: string, path: string) {
  const index = patterns.findIndex((rule) => {
    if (rule.host !== undefined && rule.host !== host) return false;
    let body = rule.path;
    let tail = "";
    if (body.endsWith("/*")) [body, tail] = [body.slice(0, -2), "(?:/.*)?"];
    else if (body.endsWith("*")) [body, tail] = [body.slice(0, -1), ".*"];
    else if (body.length > 1 && body.endsWith("/")) body = body.slice(0, -1);
    const source = body
      .split("/")
      .map((s) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    return new RegExp(`^${source}${tail}$`, "s").test(path);
  });
  return index === -1 ? "default" : ruleIds(patterns)[index];
}

function compile(rules: { path: string; host?: string }[]): CompiledTable {
  const parsed = parsePriceTable({
    defaults: { network: BASE_SEPOLIA, payTo: PAY_TO },
    rules: rules.map((rule) => ({ ...rule, price: "$0.01" })),
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const compiled = compileTable(parsed.table, {});
  if (!compiled.ok) throw new Error(compiled.errors.join("; "));
  return compiled.table;
}

describe("rule index", () => {
  it("should pick the same rule as a first-match scan, whatever the rule order", () => {
    for (let rotation = 0; rotation < PATTERNS.length; rotation++) {
      const rules = [...PATTERNS.slice(rotation), ...PATTERNS.slice(0, rotation)].map((path) => ({
        path,
      }));
      const table = compile(rules);
      for (const path of PATHS) {
        const got = table.match({ method: "GET", host: "example.com", path }).rule;
        expect(got, `${path} with rotation ${rotation}`).toBe(
          linearMatch(rules, "example.com", path),
        );
      }
    }
  });

  it("should keep table order between host-specific and any-host rules", () => {
    const rules = [
      { path: "/a/*" },
      { host: "shop.example.com", path: "/a/b" },
      { host: "shop.example.com", path: "/*" },
      { path: "/b" },
    ];
    const table = compile(rules);
    for (const host of ["shop.example.com", "example.com"]) {
      for (const path of PATHS) {
        expect(table.match({ method: "GET", host, path }).rule, `${host}${path}`).toBe(
          linearMatch(rules, host, path),
        );
      }
    }
  });

  it("should offer only the rules along the path's literal prefix, in table order", () => {
    const index = new RuleIndex();
    index.add(0, undefined, "/x/*");
    index.add(1, undefined, "/:any");
    index.add(2, "h.example", "/a/b");
    index.add(3, undefined, "/a/b/c");
    index.add(4, undefined, "/a/b*");
    expect(index.candidates("h.example", "/a/b")).toEqual([1, 2, 4]);
    expect(index.candidates("other.example", "/a/b/c")).toEqual([1, 3, 4]);
    expect(index.candidates("other.example", "/x")).toEqual([0, 1]);
  });
});
