import { describe, expect, it } from "vitest";
import {
  isInnerList,
  parseStrictDictionary,
  parseStrictItem,
  serializeInnerList,
  serializeItem,
  Token,
} from "../../../src/crawlers/structured-fields.ts";
import type { Item, InnerList } from "../../../src/crawlers/structured-fields.ts";

function serializeMember(member: Item | InnerList): string {
  return isInnerList(member) ? serializeInnerList(member) : serializeItem(member);
}

/** RFC 8941 parsing and re-serialisation, the parts RFC 9421 signature bases depend on. */

describe("parseStrictDictionary", () => {
  it("should read a Signature-Input inner list with its parameters, in order", () => {
    const parsed = parseStrictDictionary(
      'sig1=("@authority" "signature-agent";key="sig1");created=1700000000;keyid="abc";tag="web-bot-auth"',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const member = parsed.value.get("sig1");
    expect(isInnerList(member!)).toBe(true);
    expect(serializeMember(member!)).toBe(
      '("@authority" "signature-agent";key="sig1");created=1700000000;keyid="abc";tag="web-bot-auth"',
    );
  });

  it("should read byte sequences and bare keys as true", () => {
    const parsed = parseStrictDictionary("sig1=:AAEC:, flag");
    expect(parsed.ok && new Uint8Array(parsed.value.get("sig1")![0] as ArrayBuffer)).toEqual(
      new Uint8Array([0, 1, 2]),
    );
    expect(parsed.ok && parsed.value.get("flag")![0]).toBe(true);
  });

  it.each([
    ["a repeated key", "a=1, a=2"],
    ["a repeated parameter", 'a=("x");keyid="1";keyid="2"'],
    ["a trailing comma", "a=1,"],
    ["an upper-case key", "A=1"],
    ["a non-ASCII character", 'a="é"'],
    ["an unterminated string", 'a="x'],
    ["bad base64", "a=:A*B=:"],
    ["an integer of 16 digits", "a=1234567890123456"],
    ["a bad escape", 'a="\\x"'],
    ["a repeated parameter on an inner list item", 'a=("x";k=1;k=2)'],
    ["a repeated key after a string holding separators", 'a="x;y,\\"z", a=2'],
    ["an RFC 9651 Date", "a=@1700000000"],
    ["an RFC 9651 Display String", 'a=%"x"'],
  ])("should refuse %s", (_what, text) => {
    expect(parseStrictDictionary(text).ok).toBe(false);
  });

  it("should not mistake separators inside strings for repeated members or parameters", () => {
    const parsed = parseStrictDictionary('a="x;y,\\"z";p=1, b=("u;v" "w,x");q');
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect([...parsed.value.keys()]).toEqual(["a", "b"]);
  });
});

describe("parseStrictItem and serialisation", () => {
  it.each([
    ['"https://crawler.example"', '"https://crawler.example"'],
    ['"a \\"quoted\\" \\\\ thing"', '"a \\"quoted\\" \\\\ thing"'],
    ["token/x:y", "token/x:y"],
    ["-42", "-42"],
    ["1.50", "1.5"],
    ["?0", "?0"],
    ['"x";a;b=?0;c=2', '"x";a;b=?0;c=2'],
  ])("should re-serialise %s canonically as %s", (text, expected) => {
    const parsed = parseStrictItem(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(serializeMember(parsed.value)).toBe(expected);
  });

  it("should read a token as a Token", () => {
    const parsed = parseStrictItem("token/x:y");
    expect(parsed.ok && parsed.value[0]).toEqual(new Token("token/x:y"));
  });

  it("should refuse a repeated parameter", () => {
    expect(parseStrictItem('"x";a=1;a=2').ok).toBe(false);
  });

  it("should drop surrounding spaces but refuse trailing garbage", () => {
    expect(parseStrictItem('  "x"  ').ok).toBe(true);
    expect(parseStrictItem('"x" y').ok).toBe(false);
  });
});
