import { describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import { handleRequest } from "../../../src/paywall/index.ts";
import type { PaywallDeps } from "../../../src/paywall/index.ts";
import { BASE_SEPOLIA, PAY_TO, RESOURCE_URL, paymentV2, toBase64 } from "../fixtures.ts";
import { fakeFacilitator } from "./paid-step-harness.ts";

/** The request path end to end in Node: match → decide → pay once → record → respond. */

function table() {
  const parsed = parsePriceTable({
    rules: [
      { path: "/free", free: true },
      { path: "/articles/*", price: "$0.01", description: "A paid article", mimeType: "text/html" },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const compiled = compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
  if (!compiled.ok) throw new Error(compiled.errors.join("; "));
  return compiled.table;
}

function setUp(answers: Parameters<typeof fakeFacilitator>[0] = {}) {
  const { facilitator, calls } = fakeFacilitator(answers);
  const seen: Request[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(new Request(input, init));
    return new Response("the article", { headers: { "Content-Length": "11" } });
  }) as typeof globalThis.fetch;
  const compiled = table();
  const deps: PaywallDeps = {
    tables: { current: async () => ({ ok: true, table: compiled }) },
    facilitator,
    origin: { base: new URL("http://127.0.0.1:9/"), payerHeader: "x-payer", fetch },
  };
  return { deps, calls, seen };
}

const paying = () =>
  new Request(RESOURCE_URL, { headers: { "PAYMENT-SIGNATURE": toBase64(paymentV2()) } });

function required(response: Response): { error?: string } {
  return JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED") ?? "")) as { error?: string };
}

describe("handleRequest", () => {
  it("should answer an unpaid request on a priced route with a 402, reaching neither the origin nor the facilitator", async () => {
    const { deps, calls, seen } = setUp();
    const response = await handleRequest(new Request(RESOURCE_URL), deps);
    expect(response.status).toBe(402);
    expect(response.headers.get("PAYMENT-REQUIRED")).not.toBeNull();
    expect(seen).toHaveLength(0);
    expect(calls.verify).toHaveLength(0);
  });

  it("should forward a free route without asking the facilitator", async () => {
    const { deps, calls, seen } = setUp();
    const response = await handleRequest(new Request("https://example.com/free"), deps);
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(calls.verify).toHaveLength(0);
  });

  it("should forward a paid request once, settle it once and answer the content with its receipt", async () => {
    const { deps, calls, seen } = setUp();
    const response = await handleRequest(paying(), deps);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("the article");
    expect(response.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    expect(seen).toHaveLength(1);
    expect(calls.verify).toHaveLength(1);
    expect(calls.settle).toHaveLength(1);
  });

  it("should answer the route's 402 with the facilitator's reason when the payment is refused, never reaching the origin", async () => {
    const { deps, calls, seen } = setUp({
      verify: { type: "answer", body: { isValid: false, invalidReason: "insufficient_funds" } },
    });
    const response = await handleRequest(paying(), deps);
    expect(response.status).toBe(402);
    expect(required(response).error).toBe("insufficient_funds");
    expect(seen).toHaveLength(0);
    expect(calls.settle).toHaveLength(0);
  });

  it("should charge nothing when the origin fails a paid request", async () => {
    const { deps, calls } = setUp();
    deps.origin = {
      ...deps.origin,
      fetch: (async () => new Response("down", { status: 503 })) as typeof fetch,
    };
    const response = await handleRequest(paying(), deps);
    expect(response.status).toBe(503);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(calls.settle).toHaveLength(0);
  });
});
