import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { transfersTo } from "../../dev/audit.ts";
import { balances, recordingFetch, useStack } from "./stack.ts";

/**
 * What is charged, on the real stack (anvil, Circle's USDC, the official facilitator and
 * `@x402/fetch`): only an answer that delivers the content. A redirect moves nothing; a metered
 * stream route answered with one JSON answer that reports no usage moves exactly the maximum
 * signed for, once.
 */

const stack = useStack();
const API_PRICE = 1000n; // "$0.001" for /api/* in dev/prices.json
const STREAM_MAX = 50000n; // "$0.05" for /api/stream/*

async function transfersFromPayer(): Promise<bigint[]> {
  const all = await transfersTo(stack.get().rpcUrl, stack.get().payTo);
  return all
    .filter((t) => t.from.toLowerCase() === PAYER.address.toLowerCase())
    .map((t) => t.value);
}

/** `fetch` that hands redirects back instead of following them. */
const manual: typeof fetch = (input, init) => fetch(input, { ...init, redirect: "manual" });

describe("answers that deliver no content", () => {
  it("should move nothing for a paid request the origin redirects, and the price once for the page after it (regression: redirects were charged)", async () => {
    const url = `${stack.get().workerUrl}/api/dir/docs`;
    const before = await balances(stack.get());
    const transfers = (await transfersFromPayer()).length;
    const redirect = await payingFetchV2(PAYER.privateKey, manual)(url);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("Location")).toBe("/api/dir/docs/");
    expect(receiptOf(redirect)).toBeUndefined();
    expect(stack.get().originHits("/api/dir/docs")).toBe(1);
    expect(await balances(stack.get())).toEqual(before);

    const page = await payingFetchV2(PAYER.privateKey)(`${url}/`);
    expect(page.status).toBe(200);
    expect(receiptOf(page)).toMatchObject({ success: true });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
    expect((await transfersFromPayer()).slice(transfers)).toEqual([API_PRICE]);
  });
});

describe("a metered stream route answered with JSON", () => {
  it("should move exactly the maximum, once, for JSON that reports no usage (regression: it was free)", async () => {
    const url = `${stack.get().workerUrl}/api/stream/chat?stream=false&usage=none`;
    const before = await balances(stack.get());
    const transfers = (await transfersFromPayer()).length;
    const recorder = recordingFetch();
    const response = await payingFetchV2(PAYER.privateKey, recorder.fetch)(url);
    expect(response.status).toBe(200);
    expect(receiptOf(response)).toMatchObject({ success: true, amount: String(STREAM_MAX) });
    expect(await response.json()).toMatchObject({ text: "Paid by the token, in one answer." });
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(STREAM_MAX);
    expect(after.payTo - before.payTo).toBe(STREAM_MAX);
    expect((await transfersFromPayer()).slice(transfers)).toEqual([STREAM_MAX]);

    // The same permit again: its receipt, no content, nothing more moved.
    const header = recorder.sent.map((h) => h.get("PAYMENT-SIGNATURE")).find(Boolean);
    expect(header).toBeTruthy();
    const again = await fetch(url, { headers: { "PAYMENT-SIGNATURE": header! } });
    expect(again.status).toBe(409);
    expect(await balances(stack.get())).toEqual(after);
    expect((await transfersFromPayer()).slice(transfers)).toEqual([STREAM_MAX]);
  });
});
