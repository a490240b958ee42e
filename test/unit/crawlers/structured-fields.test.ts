import { describe, expect, it } from "vitest";
import {
  parseDictionary,
  parseItem,
  serializeMember,
} from "../../../src/crawlers/structured-fields.ts";

/** RFC 8941 parsing and re-serialisation, the parts RFC 9421 signature bases depend on. */

describe("parseDictionary", () => {
  it("should read a Signature-Input inner list with its parameters, in order", () => {
    const parsed = parseDictionary(
      'sig1=("@authority" "signature-agent";key="sig1");created=1700000000;keyid="abc";tag="web-bot-auth"',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const member = parsed.value.get("sig1");
    expect(member?.kind).toBe("inner-list");
    expect(serializeMember(member!)).toBe(
      '("@authority" "signature-agent";key="sig1");created=1700000000;keyid="abc";tag="web-bot-auth"',
    );
  });

  it("should read byte sequences and bare keys as true", () => {
    const parsed = parseDictionary("sig1=:AAEC:, flag");
    expect(parsed.ok && parsed.value.get("sig1")).toMatchObject({
      value: { type: "bytes", value: new Uint8Array([0, 1, 2]) },
    });
    expect(parsed.ok && parsed.value.get("flag")).toMatchObject({
      value: { type: "boolean", value: true },
    });
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
  ])("should refuse %s", (_what, text) => {
    expect(parseDictionary(text).ok).toBe(false);
  });
});

describe("parseItem and serialisation", () => {
  it.each([
    ['"https://crawler.example"', '"https://crawler.example"'],
    ['"a \\"quoted\\" \\\\ thing"', '"a \\"quoted\\" \\\\ thing"'],
    ["token/x:y", "token/x:y"],
    ["-42", "-42"],
    ["1.50", "1.5"],
    ["?0", "?0"],
    ['"x";a;b=?0;c=2', '"x";a;b=?0;c=2'],
  ])("should re-serialise %s canonically as %s", (text, expected) => {
    const parsed = parseItem(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(serializeMember(parsed.value)).toBe(expected);
  });

  it("should drop surrounding spaces but refuse trailing garbage", () => {
    expect(parseItem('  "x"  ').ok).toBe(true);
    expect(parseItem('"x" y').ok).toBe(false);
  });
});
