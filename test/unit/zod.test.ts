import { describe, expect, it } from "vitest";
import { parsePriceTable } from "../../src/pricing/index.ts";
import * as z from "../../src/zod.ts";

/** The schema library's messages and the object-check helper the price table relies on. */

function errorsOf(json: unknown): string[] {
  const result = parsePriceTable(json);
  if (result.ok) throw new Error("the table was accepted");
  return result.errors;
}

function messagesOf(schema: z.ZodMiniType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

describe("englishMessage", () => {
  it("should word the checks a schema leaves unnamed as zod's classic API did", () => {
    expect(messagesOf(z.object({ a: z.string() }), {})).toEqual(["Required"]);
    expect(messagesOf(z.string(), 5)).toEqual(["Expected string, received number"]);
    expect(messagesOf(z.record(z.string(), z.unknown()), [])).toEqual([
      "Expected object, received array",
    ]);
    expect(messagesOf(z.int(), 1.5)).toEqual(["Expected integer, received float"]);
    expect(messagesOf(z.number().check(z.minimum(1)), 0)).toEqual([
      "Number must be greater than or equal to 1",
    ]);
    expect(messagesOf(z.number().check(z.positive()), 0)).toEqual([
      "Number must be greater than 0",
    ]);
    expect(messagesOf(z.string().check(z.maxLength(2)), "abc")).toEqual([
      "String must contain at most 2 character(s)",
    ]);
    expect(messagesOf(z.array(z.string()).check(z.minLength(1)), [])).toEqual([
      "Array must contain at least 1 element(s)",
    ]);
    expect(messagesOf(z.strictObject({}), { a: 1, b: 2 })).toEqual([
      "Unrecognized key(s) in object: 'a', 'b'",
    ]);
    expect(messagesOf(z.literal("1"), "2")).toEqual(['Invalid literal value, expected "1"']);
    expect(messagesOf(z.enum(["json", "text"]), "xml")).toEqual([
      "Invalid enum value. Expected 'json' | 'text', received 'xml'",
    ]);
  });

  it("should name a discriminated union's options when the tag matches none", () => {
    expect(errorsOf({ rules: [], crawlers: { policies: { gptbot: { action: "pay" } } } })).toEqual([
      "crawlers.policies.gptbot.action: Invalid discriminator value. Expected 'allow' | 'block' | 'charge'",
    ]);
  });

  it("should report a bad record key by the key's own message", () => {
    expect(errorsOf({ rules: [], payees: { "bad name": {} } })).toEqual([
      "payees.bad name: map names are letters, digits, _ . -",
    ]);
  });
});

describe("given", () => {
  it("should not call a rule's malformed price missing", () => {
    const dynamicPrice = { from: "cookie:x", each: "$0.01", max: "$1" };
    expect(errorsOf({ rules: [{ path: "/a", dynamicPrice }] })).toEqual([
      'rules[0].dynamicPrice.from: must be "query:<name>", "header:<name>" or "body-kib"',
    ]);
  });

  it("should still see a malformed priced-only field on a free rule", () => {
    expect(errorsOf({ rules: [{ path: "/a", free: true, mimeType: "x".repeat(201) }] })).toEqual([
      "rules[0].mimeType: String must contain at most 200 character(s)",
      "rules[0].mimeType: has no meaning on a free rule",
    ]);
  });

  it("should not call session terms empty when the terms given are malformed", () => {
    expect(errorsOf({ rules: [{ path: "/a", price: "$1", session: { uses: 0 } }] })).toEqual([
      "rules[0].session.uses: Number must be greater than or equal to 1",
    ]);
  });
});
