import { describe, expect, it } from "vitest";
import { hashToken, newToken, parseToken } from "../../../src/sessions/token.ts";

/** Session tokens: their spelling, their randomness and how they are stored. */

const OBJECT_ID = "ab".repeat(32);

describe("session tokens", () => {
  it("should name its object and carry 256 random bits", () => {
    const a = newToken(OBJECT_ID);
    const b = newToken(OBJECT_ID);
    expect(a).not.toBe(b);
    expect(parseToken(a)).toEqual({ token: a, objectId: OBJECT_ID });
    expect(parseToken(` ${a} `)?.objectId).toBe(OBJECT_ID);
  });

  it.each([
    "",
    "x402s1",
    `x402s1.${OBJECT_ID}`,
    `x402s2.${OBJECT_ID}.${"a".repeat(43)}`,
    `x402s1.${"g".repeat(64)}.${"a".repeat(43)}`,
    `x402s1.${OBJECT_ID}.${"a".repeat(42)}`,
  ])("should not parse %j", (text) => {
    expect(parseToken(text)).toBeUndefined();
  });

  it("should store a token as its SHA-256", async () => {
    expect(await hashToken("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
