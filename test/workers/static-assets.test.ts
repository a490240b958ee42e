import { beforeEach, describe, expect, it } from "vitest";
import { STATIC_ASSETS } from "../../src/assets";
import { call, originSaw, putTable, unique } from "./helpers";

/**
 * The paywall's static files (static/, the `ASSETS` binding) as the Worker serves them in
 * workerd: at their content-hashed paths under `/__x402/assets/` only, with their own type and a
 * cache for good, never priced, never sent to the origin, and nothing else taken from the
 * origin's paths. That no file of static/ is served in place of an origin path by the assets
 * router itself (`run_worker_first`) is tested through `wrangler dev` in
 * test/e2e/browser-paywall.test.ts.
 */

const BASE = "https://paywall.test";
const SCRIPT = STATIC_ASSETS["paywall.js"];

/** A table that prices every path, so a request that reached a rule would get a 402. */
const EVERYTHING_PRICED = { version: "assets-1", rules: [{ path: "/*", price: "$0.01" }] };

beforeEach(async () => {
  await putTable(EVERYTHING_PRICED);
});

async function sri(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", bytes));
  return `sha384-${btoa(String.fromCharCode(...digest))}`;
}

describe("static assets", () => {
  it("should serve the page's script with its type, a cache for good and its SRI hash's bytes", async () => {
    const response = await call(new Request(`${BASE}${SCRIPT.path}`));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeNull();
    expect(await sri(await response.arrayBuffer())).toBe(SCRIPT.integrity);
    expect(await originSaw(SCRIPT.path)).toBe(0);
  });

  it("should serve each stylesheet as CSS", async () => {
    for (const asset of [STATIC_ASSETS["paywall.css"], STATIC_ASSETS["dashboard.css"]]) {
      const response = await call(new Request(`${BASE}${asset.path}`));
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
      expect(response.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(await response.text()).toMatch(/^body \{/m);
    }
  });

  it("should answer a revalidation with 304 and HEAD without a body", async () => {
    const first = await call(new Request(`${BASE}${SCRIPT.path}`));
    await first.body?.cancel();
    const etag = first.headers.get("ETag");
    expect(etag).toBeTruthy();
    const again = await call(
      new Request(`${BASE}${SCRIPT.path}`, { headers: { "If-None-Match": etag! } }),
    );
    expect(again.status).toBe(304);
    expect(again.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    const head = await call(new Request(`${BASE}${SCRIPT.path}`, { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(await head.text()).toBe("");
  });

  it("should answer any other name under /__x402/assets/ with the reserved path's 404", async () => {
    const id = unique();
    for (const path of [
      `/__x402/assets/paywall.${id}.js`,
      SCRIPT.path.toUpperCase(),
      `/__x402/assets${SCRIPT.file}`,
      `/__x402/assets/${id}`,
    ]) {
      const response = await call(new Request(`${BASE}${path}`));
      expect(response.status, path).toBe(404);
      expect(await response.json()).toMatchObject({ error: "reserved_path" });
    }
    expect(await originSaw(`/__x402/assets/paywall.${id}.js`)).toBe(0);
  });

  it("should leave origin paths that look like an asset's to the price table and the origin", async () => {
    await putTable({ version: "assets-2", rules: [{ path: "/*", free: true }] });
    const id = unique();
    for (const path of [`/assets/paywall.${id}.js`, `/x/__x402/assets/${id}.js`, SCRIPT.file]) {
      const before = await originSaw(path);
      const response = await call(new Request(`${BASE}${path}`));
      expect(response.status, path).toBe(200);
      await response.body?.cancel();
      expect(await originSaw(path)).toBe(before + 1);
    }
  });
});
