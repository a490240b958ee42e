import { describe, expect, it } from "vitest";
import { priceMismatch, scopeKey } from "../../../src/sessions/scope.ts";

/** Session scopes: the key a pass is held under, and the prices a pass opens. */

describe("scopes and prices", () => {
  const terms = { routeKey: "* GET /articles/:slug", caseSensitive: false };

  it("should key a route scope by host and rule, a resource scope by path, a group by name", () => {
    expect(scopeKey({ ...terms, scope: "route" }, "Example.com", "/articles/a")).toBe(
      "route:example.com * GET /articles/:slug",
    );
    expect(scopeKey({ ...terms, scope: "resource" }, "example.com", "/Articles/A")).toBe(
      "resource:example.com/articles/a",
    );
    expect(
      scopeKey({ ...terms, scope: "resource", caseSensitive: true }, "example.com", "/A"),
    ).toBe("resource:example.com/A");
    expect(scopeKey({ ...terms, scope: "group:pro" }, "example.com", "/x")).toBe("group:pro");
  });

  it("should key a host with a trailing dot as the same host without it", () => {
    for (const scope of ["route", "resource"] as const) {
      expect(scopeKey({ ...terms, scope }, "Example.COM.", "/articles/a")).toBe(
        scopeKey({ ...terms, scope }, "example.com", "/articles/a"),
      );
    }
  });

  it("should let a session open only routes priced at or below what was paid, in its asset", () => {
    const held = { network: "eip155:84532", asset: "0xAbC", amount: "10000" };
    expect(priceMismatch(held, { ...held, amount: "10000" })).toBeUndefined();
    expect(priceMismatch(held, { ...held, asset: "0xabc", amount: "9999" })).toBeUndefined();
    expect(priceMismatch(held, { ...held, amount: "250000" })).toContain("this route costs 250000");
    expect(priceMismatch(held, { ...held, network: "eip155:8453" })).toContain("eip155:8453");
    expect(priceMismatch(held, { ...held, asset: "0xdef" })).toContain("0xdef");
  });
});
