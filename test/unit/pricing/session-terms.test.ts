import { describe, expect, it } from "vitest";
import { parsePriceTable } from "../../../src/pricing/index.ts";
import { durationSeconds } from "../../../src/pricing/session-terms.ts";
import { PAY_TO } from "../fixtures.ts";

/** Session terms in the price table: durations, uses and scopes, read and refused with a reason. */

describe("session terms in the price table", () => {
  const table = (session: unknown) => ({
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [{ path: "/api/*", price: "$0.01", session }],
  });

  it("should read durations in seconds, minutes, hours and days", () => {
    expect(durationSeconds("90s")).toBe(90);
    expect(durationSeconds("30m")).toBe(1800);
    expect(durationSeconds("1h")).toBe(3600);
    expect(durationSeconds("7d")).toBe(604_800);
    expect(durationSeconds(45)).toBe(45);
    expect(durationSeconds("1w")).toBeUndefined();
    expect(durationSeconds("0s")).toBeUndefined();
  });

  it.each([
    [{}, 'needs "ttl", "uses" or both'],
    [{ ttl: "forever" }, "must be a duration"],
    [{ ttl: "400d" }, "at most 365d"],
    [{ uses: 0 }, "rules[0].session.uses"],
    [{ uses: 1.5 }, "rules[0].session.uses"],
    [{ ttl: "1h", scope: "group:" }, 'must be "route", "resource" or "group:<name>"'],
    [{ ttl: "1h", extra: true }, "rules[0].session"],
  ])("should refuse session %j with a reason", (session, reason) => {
    const result = parsePriceTable(table(session));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join("\n")).toContain(reason);
  });

  it("should refuse session terms on a free rule", () => {
    const result = parsePriceTable({ rules: [{ path: "/x", free: true, session: { uses: 2 } }] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join("\n")).toContain("has no meaning on a free rule");
  });
});
