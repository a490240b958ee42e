import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV1, payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { balances, capturePayment, rawGet, recordingFetch, useStack } from "./stack.ts";

/**
 * The paid path on the real stack: workerd (`wrangler dev`) with local KV, the official x402
 * facilitator over HTTP, Circle's USDC on anvil, paid by the official clients. Every test checks
 * the chain: the payer loses exactly the price and the payee gains it, or nothing moves.
 */

const API_PRICE = 1000n; // "$0.001" in dev/prices.json
const ARTICLE_PRICE = 10000n; // "$0.01"

const stack = useStack();

async function rpc(method: string, params: unknown[]): Promise<Record<string, unknown> | null> {
  const response = await fetch(stack.get().rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await response.json()) as { result: Record<string, unknown> | null }).result;
}

describe("paying with the official clients", () => {
  it("should move exactly the price once when @x402/fetch (V2) buys an API call", async () => {
    const before = await balances(stack.get());
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/weather?city=Lisbon`,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { paid: boolean; payer: string; query: string };
    expect(body).toMatchObject({ paid: true, payer: PAYER.address, query: "?city=Lisbon" });
    const receipt = receiptOf(response);
    expect(receipt).toMatchObject({ success: true, network: "eip155:84532" });
    const onChain = await rpc("eth_getTransactionReceipt", [receipt?.["transaction"]]);
    expect(onChain?.["status"]).toBe("0x1");
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
  });

  it("should move exactly the price when x402-fetch 1.x (V1) buys an article", async () => {
    const before = await balances(stack.get());
    const pay = payingFetchV1(PAYER.privateKey, stack.get().rpcUrl);
    const response = await pay(`${stack.get().workerUrl}/articles/hello-x402`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Hello, x402");
    expect(receiptOf(response)).toMatchObject({ success: true, network: "base-sepolia" });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(ARTICLE_PRICE);
    expect(after.payTo - before.payTo).toBe(ARTICLE_PRICE);
  });

  it("should let free routes through without any payment", async () => {
    const before = await balances(stack.get());
    const home = await fetch(`${stack.get().workerUrl}/`);
    expect(home.status).toBe(200);
    expect((await fetch(`${stack.get().workerUrl}/api/free/status`)).status).toBe(200);
    expect((await fetch(`${stack.get().workerUrl}/robots.txt`)).status).toBe(200);
    expect(await balances(stack.get())).toEqual(before);
  });
});

describe("never charging for nothing", () => {
  it("should charge nothing when the origin answers 500", async () => {
    const before = await balances(stack.get());
    const response = await payingFetchV2(PAYER.privateKey)(`${stack.get().workerUrl}/api/fail`);
    expect(response.status).toBe(500);
    expect(receiptOf(response)).toBeUndefined();
    expect(await balances(stack.get())).toEqual(before);
  });

  it("should refuse a replayed payment and move nothing", async () => {
    const recorder = recordingFetch();
    const first = await payingFetchV2(
      PAYER.privateKey,
      recorder.fetch,
    )(`${stack.get().workerUrl}/api/replay`);
    expect(first.status).toBe(200);
    const signature = recorder.sent.map((h) => h.get("PAYMENT-SIGNATURE")).find(Boolean);
    expect(signature).toBeTruthy();
    const hits = stack.get().originHits("/api/replay");
    const before = await balances(stack.get());

    const replay = await fetch(`${stack.get().workerUrl}/api/replay`, {
      headers: { "PAYMENT-SIGNATURE": signature! },
    });
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: string }).error).toBe("payment_already_settled");
    expect(replay.headers.get("PAYMENT-RESPONSE")).toBe(first.headers.get("PAYMENT-RESPONSE"));
    expect(await balances(stack.get())).toEqual(before);
    expect(stack.get().originHits("/api/replay")).toBe(hits);
  });

  it.each([
    ["amount", "1"],
    ["payTo", PAYER.address],
    ["asset", "0x0000000000000000000000000000000000000001"],
  ])("should refuse a payment whose accepted.%s was tampered with", async (field, value) => {
    // Capture a genuinely signed payment without letting it reach the paywall.
    const header = await capturePayment(`${stack.get().workerUrl}/api/tamper`, {
      key: PAYER.privateKey,
    });
    const signed = JSON.parse(atob(header!)) as {
      accepted: Record<string, unknown>;
    };
    signed.accepted[field] = value;
    const before = await balances(stack.get());
    const response = await fetch(`${stack.get().workerUrl}/api/tamper`, {
      headers: { "PAYMENT-SIGNATURE": btoa(JSON.stringify(signed)) },
    });
    expect(response.status).toBe(402);
    const required = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
      error: string;
    };
    expect(required.error).toContain(`accepted.${field}`);
    expect(stack.get().originHits("/api/tamper")).toBe(0);
    expect(await balances(stack.get())).toEqual(before);
  });

  it.each([
    "/%61%70%69/spelled",
    "/API/spelled",
    "/api/free/../spelled",
    "/api/free/%2e%2e/spelled",
    "/api/./spelled",
    "//api//spelled",
  ])("should not serve %s (a spelling of /api/spelled) for free", async (rawPath) => {
    const response = await rawGet(stack.get().workerUrl, rawPath);
    expect(response.status).toBe(402);
    expect(stack.get().originHits("/api/spelled")).toBe(0);
  });
});

describe("never settling twice", () => {
  it("should move the price once when one signed payment arrives five times at once", async () => {
    const url = `${stack.get().workerUrl}/api/concurrent`;
    const header = (await capturePayment(url, { key: PAYER.privateKey }))!;
    const before = await balances(stack.get());
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => fetch(url, { headers: { "PAYMENT-SIGNATURE": header } })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409)).toBe(true);
    expect(stack.get().originHits("/api/concurrent")).toBe(1);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
  });

  it("should refuse a payment signed for one resource on another", async () => {
    const header = (await capturePayment(`${stack.get().workerUrl}/api/one`, {
      key: PAYER.privateKey,
    }))!;
    const before = await balances(stack.get());
    const response = await fetch(`${stack.get().workerUrl}/api/two`, {
      headers: { "PAYMENT-SIGNATURE": header },
    });
    expect(response.status).toBe(402);
    expect(stack.get().originHits("/api/two")).toBe(0);
    expect(await balances(stack.get())).toEqual(before);
  });
});
