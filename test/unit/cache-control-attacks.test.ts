import { describe, expect, it } from "vitest";
import { keepPrivate } from "../../src/paywall/cache-control.ts";

/**
 * Paid answers and caches in front of the client: whatever the origin writes, no shared cache may
 * be told it can store a paid answer.
 */

function privateOf(cacheControl: string | null, extra: Record<string, string> = {}): Headers {
  const headers = new Headers(extra);
  if (cacheControl !== null) headers.set("Cache-Control", cacheControl);
  keepPrivate(headers);
  return headers;
}

describe("shared-cache fields an origin may add to a paid answer", () => {
  it.each([
    ["X-Accel-Expires", "3600"], // nginx proxy_cache: read before Cache-Control, private ignored
    ["Edge-Control", "cache-maxage=3600"], // Akamai: overrides Cache-Control
    ["Vercel-CDN-Cache-Control", "max-age=3600"], // RFC 9213 targeted field of another CDN
  ])("should remove %s from a paid answer", (name, value) => {
    const headers = privateOf("max-age=60", { [name]: value });
    expect(headers.get(name)).toBeNull();
  });
});

describe("a Cache-Control value whose quoted string never ends", () => {
  it("should not pass on public and s-maxage hidden behind an unterminated quote", () => {
    const headers = privateOf('no-cache="x, public, s-maxage=86400');
    const value = headers.get("Cache-Control") ?? "";
    // A cache that splits at commas (most do) reads public and s-maxage=86400 here.
    expect(value.split(",").map((d) => d.trim().toLowerCase())).not.toContain("public");
    expect(value.toLowerCase()).not.toContain("s-maxage");
  });
});
