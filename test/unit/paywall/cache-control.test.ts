import { describe, expect, it } from "vitest";
import { directiveName, directives, keepPrivate } from "../../../src/paywall/cache-control.ts";

/** Cache-Control of paid answers: parsed as RFC 9111 §5.2 writes it, always ending up private. */

function privateOf(cacheControl: string | null, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(extra);
  if (cacheControl !== null) headers.set("Cache-Control", cacheControl);
  keepPrivate(headers);
  return headers;
}

describe("directives", () => {
  it("should not split a quoted value at its commas", () => {
    expect(directives('private="Set-Cookie, X-Token", s-maxage=600')).toEqual([
      'private="Set-Cookie, X-Token"',
      "s-maxage=600",
    ]);
  });

  it("should keep an escaped quote inside a quoted value", () => {
    expect(directives('no-cache="a\\", b", public')).toEqual(['no-cache="a\\", b"', "public"]);
  });

  it("should drop empty members and spaces", () => {
    expect(directives(" , public,,max-age=1 ,")).toEqual(["public", "max-age=1"]);
  });

  it("should read a qualified private as the private directive, in any case", () => {
    expect(directiveName('Private="Set-Cookie"')).toBe("private");
    expect(directiveName("S-MAXAGE=10")).toBe("s-maxage");
  });
});

describe("keepPrivate", () => {
  it.each<[string | null, string]>([
    [null, "private"],
    ["", "private"],
    ['public, s-maxage=600, private="Set-Cookie"', "private"],
    ['private="Set-Cookie, X-Token", max-age=60', "private, max-age=60"],
    ["private", "private"],
    ["no-store", "private, no-store"],
    ["PUBLIC, Max-Age=5, proxy-revalidate", "private, Max-Age=5"],
    [
      'no-cache="Set-Cookie", public, must-revalidate',
      'private, no-cache="Set-Cookie", must-revalidate',
    ],
  ])("should turn %j into %j", (origin, expected) => {
    expect(privateOf(origin).get("Cache-Control")).toBe(expected);
  });

  it("should drop the fields only shared caches read, which override Cache-Control there", () => {
    const headers = privateOf("public", {
      "CDN-Cache-Control": "max-age=3600",
      "Cloudflare-CDN-Cache-Control": "max-age=3600",
      "Surrogate-Control": "max-age=3600",
    });
    expect([...headers.keys()]).toEqual(["cache-control"]);
  });
});
