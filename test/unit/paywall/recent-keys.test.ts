import { describe, expect, it } from "vitest";
import { RecentKeys } from "../../../src/paywall/recent-keys.ts";

describe("RecentKeys", () => {
  it("should know a key seen within its time and forget it after", () => {
    const keys = new RecentKeys(4, 1_000);
    expect(keys.seen("a", 0)).toBe(false);
    expect(keys.seen("a", 999)).toBe(true);
    expect(keys.seen("a", 2_000)).toBe(false);
  });

  it("should keep at most its capacity, the oldest going first", () => {
    const keys = new RecentKeys(2, 60_000);
    keys.seen("a", 0);
    keys.seen("b", 1);
    keys.seen("a", 2); // a is the newest now
    keys.seen("c", 3); // b goes
    expect(keys.seen("b", 4)).toBe(false);
    expect(keys.seen("a", 5)).toBe(false); // a went when b came back
    expect(keys.seen("b", 6)).toBe(true);
  });
});
