import { describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

import { keepPrivate } from "../../../src/paywall/cache-control.ts";
import { meteredStreamResponse } from "../../../src/paywall/metered.ts";

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

describe("more shared-cache fields and hidden directives", () => {
  it("should remove every targeted CDN field by its suffix, in any case", () => {
    const headers = privateOf("max-age=60", {
      "fastly-cdn-cache-control": "max-age=3600",
      "AKAMAI-CDN-CACHE-CONTROL": "max-age=3600",
      "CDN-Cache-Control-Extra": "kept",
    });
    expect(headers.get("fastly-cdn-cache-control")).toBeNull();
    expect(headers.get("akamai-cdn-cache-control")).toBeNull();
    // Only names ending in -CDN-Cache-Control are targeted fields (RFC 9213).
    expect(headers.get("cdn-cache-control-extra")).toBe("kept");
    expect(headers.get("Cache-Control")).toBe("private, max-age=60");
  });

  it("should not pass on s-maxage hidden between the commas of a quoted value", () => {
    const value = privateOf('no-cache="x, s-maxage=86400, public", max-age=5').get("Cache-Control");
    expect(value).toBe("private, no-store");
  });

  it("should keep a quoted value whose commas hide nothing a shared cache reads", () => {
    const value = privateOf('no-cache="Set-Cookie, X-Token", max-age=5').get("Cache-Control");
    expect(value).toBe('private, no-cache="Set-Cookie, X-Token", max-age=5');
  });

  it("should keep a metered stream's answer out of shared caches, whatever the origin said", async () => {
    const origin = new Response("data: {}\n\n", {
      headers: {
        "Content-Type": "text/event-stream",
        "Cache-Control": "public, s-maxage=600",
        "CDN-Cache-Control": "max-age=600",
        "Vercel-CDN-Cache-Control": "max-age=600",
        "X-Accel-Expires": "600",
        "Edge-Control": "cache-maxage=600",
        "Surrogate-Control": "max-age=600",
      },
    });
    const streamed = meteredStreamResponse(origin, ["usage"], {
      ended: async () => ({ type: "unpaid", reason: "test" }),
      cut: async () => {},
    });
    await streamed.body?.cancel();
    expect(streamed.headers.get("Cache-Control")).toBe("private, no-store");
    for (const name of [
      "CDN-Cache-Control",
      "Vercel-CDN-Cache-Control",
      "X-Accel-Expires",
      "Edge-Control",
      "Surrogate-Control",
    ]) {
      expect(streamed.headers.get(name)).toBeNull();
    }
  });
});
