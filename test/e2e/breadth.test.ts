import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { balanceOf } from "../../dev/usdc.ts";
import { useStack } from "./stack.ts";

/**
 * x402 V2 breadth on the real stack: a marketplace rule pays the seller named in the path (the
 * chain says who received the money), a seller with no payee is refused before any payment, and
 * a price that follows the request's query is charged exactly.
 */

// anvil's dev accounts #5 and #6: they hold no USDC until a buyer pays them.
const ALICE = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const BOB = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";

const stack = useStack({
  prices: {
    version: "e2e-breadth",
    defaults: { network: "eip155:84532" },
    payees: { sellers: { alice: ALICE, bob: BOB } },
    rules: [
      {
        path: "/api/sellers/:id/*",
        price: "$0.003",
        payee: { map: "sellers", from: "param:id" },
      },
      { path: "/api/quoted/*", originPrice: { min: "$0.001", max: "$0.01" } },
      {
        path: "/api/report",
        dynamicPrice: { from: "query:pages", base: "$0.001", each: "$0.002", max: "$0.02" },
      },
    ],
  },
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;

describe("dynamic payees", () => {
  it("should pay each seller the price of their own items, on chain", async () => {
    const rpc = stack.get().rpcUrl;
    const payerBefore = await balanceOf(rpc, PAYER.address);
    const fromAlice = await payingFetchV2(PAYER.privateKey)(url("/api/sellers/alice/book"));
    expect(fromAlice.status).toBe(200);
    expect(receiptOf(fromAlice)).toMatchObject({ success: true });
    const fromBob = await payingFetchV2(PAYER.privateKey)(url("/api/sellers/bob/lamp"));
    expect(fromBob.status).toBe(200);
    expect(await balanceOf(rpc, ALICE)).toBe(3000n);
    expect(await balanceOf(rpc, BOB)).toBe(3000n);
    expect(payerBefore - (await balanceOf(rpc, PAYER.address))).toBe(6000n);
    expect(await balanceOf(rpc, stack.get().payTo)).toBe(0n);
  });

  it("should refuse an item of an unknown seller with 404 and charge nothing", async () => {
    const before = await balanceOf(stack.get().rpcUrl, PAYER.address);
    const response = await fetch(url("/api/sellers/carol/book"));
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: "unknown_payee",
      message: 'no payee is configured for id "carol"',
    });
    expect(stack.get().originHits("/api/sellers/carol/book")).toBe(0);
    expect(await balanceOf(stack.get().rpcUrl, PAYER.address)).toBe(before);
  });
});

describe("dynamic prices", () => {
  it("should charge base plus pages times each, capped at the maximum, on chain", async () => {
    const rpc = stack.get().rpcUrl;
    const payTo = stack.get().payTo;
    const before = await balanceOf(rpc, payTo);
    const three = await payingFetchV2(PAYER.privateKey)(url("/api/report?pages=3"));
    expect(three.status).toBe(200);
    const afterThree = await balanceOf(rpc, payTo);
    expect(afterThree - before).toBe(7000n);
    const many = await payingFetchV2(PAYER.privateKey)(url("/api/report?pages=500"));
    expect(many.status).toBe(200);
    expect((await balanceOf(rpc, payTo)) - afterThree).toBe(20000n);
  });

  it("should refuse a payment made at a smaller page count's price", async () => {
    const challenge = await fetch(url("/api/report?pages=1"));
    const header = challenge.headers.get("PAYMENT-REQUIRED")!;
    expect(JSON.parse(atob(header)).accepts[0].amount).toBe("3000");
    const rpc = stack.get().rpcUrl;
    const before = await balanceOf(rpc, PAYER.address);
    // Sign for one page, then ask for ten with that payment.
    let signature = "";
    const capture: typeof fetch = async (input, init) => {
      const sent = new Headers(
        init?.headers ?? (input instanceof Request ? input.headers : undefined),
      );
      signature = sent.get("PAYMENT-SIGNATURE") ?? "";
      if (signature) return new Response("captured", { status: 299 });
      return fetch(input, init);
    };
    await payingFetchV2(PAYER.privateKey, capture)(url("/api/report?pages=1"));
    const response = await fetch(url("/api/report?pages=10"), {
      headers: { "PAYMENT-SIGNATURE": signature },
    });
    expect(response.status).toBe(402);
    expect(await balanceOf(rpc, PAYER.address)).toBe(before);
    const missing = await fetch(url("/api/report"));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe("unpriceable_request");
  });
});

describe("prices quoted by the origin", () => {
  it("should challenge with the origin's quote and charge it exactly", async () => {
    const challenge = await fetch(url("/api/quoted/a?price=$0.007"));
    expect(challenge.status).toBe(402);
    expect(JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)).accepts[0].amount).toBe(
      "7000",
    );
    const rpc = stack.get().rpcUrl;
    const before = await balanceOf(rpc, stack.get().payTo);
    const paid = await payingFetchV2(PAYER.privateKey)(url("/api/quoted/a?price=$0.007"));
    expect(paid.status).toBe(200);
    expect((await balanceOf(rpc, stack.get().payTo)) - before).toBe(7000n);
  });

  it("should refuse a quote outside the rule's bounds with 502 and charge nothing", async () => {
    const before = await balanceOf(stack.get().rpcUrl, PAYER.address);
    const response = await fetch(url("/api/quoted/b?price=$5"));
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: "invalid_origin_quote",
      message: "the origin quoted $5, outside this rule's $0.001–$0.01",
    });
    const paying = await payingFetchV2(PAYER.privateKey)(url("/api/quoted/b?price=$5"));
    expect(paying.status).toBe(502);
    expect(await balanceOf(stack.get().rpcUrl, PAYER.address)).toBe(before);
  });
});
