import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { transfersTo } from "../../dev/audit.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { balances, recordingFetch, useStack } from "./stack.ts";

/**
 * Metered rules (x402 `upto`) on the real stack: Circle's USDC, Uniswap's Permit2 and the upto
 * proxy on anvil, the official facilitator with its upto scheme, the official `@x402/fetch`
 * client with `UptoEvmScheme`. The demo origin reports tokens used; the chain must move exactly
 * tokens × $0.0001 (never more than the $0.05 signed for), once.
 */

const stack = useStack();

/** One token at $0.0001 is 100 atomic units of USDC. */
const UNIT = 100n;

async function transfersFromPayer(): Promise<bigint[]> {
  const all = await transfersTo(stack.get().rpcUrl, stack.get().payTo);
  return all
    .filter((t) => t.from.toLowerCase() === PAYER.address.toLowerCase())
    .map((t) => t.value);
}

async function receiptsOfPayer(): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(
    `${stack.get().workerUrl}/__x402/admin/receipts?payer=${PAYER.address}`,
    { headers: { Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}` } },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { receipts: Array<Record<string, unknown>> }).receipts;
}

describe("metered rules (upto) with the official client", () => {
  it("should offer upto with the facilitator's settling address", async () => {
    const response = await fetch(`${stack.get().workerUrl}/api/metered/ask`);
    expect(response.status).toBe(402);
    const required = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
      accepts: Array<Record<string, unknown>>;
    };
    expect(required.accepts).toHaveLength(1);
    expect(required.accepts[0]).toMatchObject({
      scheme: "upto",
      amount: "50000",
      extra: { assetTransferMethod: "permit2" },
    });
    expect((required.accepts[0]!["extra"] as Record<string, string>)["facilitatorAddress"]).toMatch(
      /^0x[0-9a-fA-F]{40}$/,
    );
  });

  it("should charge exactly the reported usage, once, and record it", async () => {
    const before = await balances(stack.get());
    const transfers = (await transfersFromPayer()).length;
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/metered/ask?tokens=123`,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ tokens: 123 });
    const receipt = receiptOf(response);
    expect(receipt).toMatchObject({ success: true, amount: String(123n * UNIT) });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(123n * UNIT);
    expect(after.payTo - before.payTo).toBe(123n * UNIT);
    expect((await transfersFromPayer()).slice(transfers)).toEqual([123n * UNIT]);
    const recorded = (await receiptsOfPayer()).find(
      (r) => r["transaction"] === String(receipt?.["transaction"]).toLowerCase(),
    );
    expect(recorded).toMatchObject({ amount: "12300", path: "/api/metered/ask" });
  });

  it("should charge no more than the maximum signed for", async () => {
    const before = await balances(stack.get());
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/metered/big?tokens=999999`,
    );
    expect(response.status).toBe(200);
    expect(receiptOf(response)).toMatchObject({ amount: "50000" });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(50000n);
  });

  it("should move nothing for zero usage", async () => {
    const before = await balances(stack.get());
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/metered/nothing?tokens=0`,
    );
    expect(response.status).toBe(200);
    expect(receiptOf(response)).toMatchObject({ success: true, amount: "0" });
    expect((await balances(stack.get())).payer).toBe(before.payer);
  });

  it("should never settle a replayed permit twice", async () => {
    const recorder = recordingFetch(true);
    const url = `${stack.get().workerUrl}/api/metered/replay?tokens=7`;
    await payingFetchV2(PAYER.privateKey, recorder.fetch)(url);
    const header = recorder.sent.map((h) => h.get("PAYMENT-SIGNATURE")).find(Boolean);
    expect(header).toBeTruthy();
    const before = await balances(stack.get());
    const first = await fetch(url, { headers: { "PAYMENT-SIGNATURE": header! } });
    expect(first.status).toBe(200);
    await first.text();
    const second = await fetch(url, { headers: { "PAYMENT-SIGNATURE": header! } });
    expect(second.status).toBe(409);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(7n * UNIT);
  });

  it("should stream an SSE answer and settle its reported usage after the last event", async () => {
    const before = await balances(stack.get());
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/stream/chat?tokens=42`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const text = await response.text();
    expect(text).toContain('data: {"text":"Paid"}');
    const event = /event: x402-payment-response\ndata: (.*)\n/.exec(text);
    expect(event).not.toBeNull();
    const receipt = JSON.parse(event![1]!) as Record<string, unknown>;
    expect(receipt).toMatchObject({ success: true, amount: String(42n * UNIT) });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(42n * UNIT);
    expect(after.payTo - before.payTo).toBe(42n * UNIT);
  });
});
