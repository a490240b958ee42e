import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { manifestSource } from "../../../scripts/asset-manifest.ts";
import { currentManifest } from "../../../scripts/assets.ts";

/** src/assets/manifest.ts: generated from static/ by `npm run assets`, checked by `npm run check`. */

const bytes = (text: string) => new TextEncoder().encode(text);

describe("static asset manifest", () => {
  it("should match the files in static/ as committed", () => {
    const committed = readFileSync(
      new URL("../../../src/assets/manifest.ts", import.meta.url),
      "utf8",
    );
    expect(committed).toBe(currentManifest());
  });

  it("should name each file by its contents, under the paywall's own prefix", () => {
    const one = manifestSource([{ name: "paywall.js", bytes: bytes("a()") }]);
    const same = manifestSource([{ name: "paywall.js", bytes: bytes("a()") }]);
    const other = manifestSource([{ name: "paywall.js", bytes: bytes("b()") }]);
    expect(one).toBe(same);
    expect(other).not.toBe(one);
    expect(one).toMatch(/path: "\/__x402\/assets\/paywall\.[0-9a-f]{16}\.js"/);
    expect(one).toContain('type: "text/javascript; charset=utf-8"');
    expect(one).toMatch(/integrity: "sha384-[A-Za-z0-9+/]{64}"/);
  });

  it("should pin scripts by SRI hash and list files in name order whatever the order read", () => {
    const files = [
      { name: "b.css", bytes: bytes("b{}") },
      { name: "a.js", bytes: bytes("a()") },
    ];
    const source = manifestSource(files);
    expect(source).toBe(manifestSource([...files].reverse()));
    expect(source.indexOf('"a.js"')).toBeLessThan(source.indexOf('"b.css"'));
    expect(source.match(/integrity:/g)).toHaveLength(1);
  });

  it("should refuse a file it does not know how to serve", () => {
    expect(() => manifestSource([{ name: "notes.txt", bytes: bytes("x") }])).toThrow(/notes\.txt/);
    expect(() => manifestSource([{ name: "Page.JS", bytes: bytes("x") }])).toThrow(/Page\.JS/);
  });
});
