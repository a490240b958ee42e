import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { balanceOf } from "../../dev/usdc.ts";
import { useStack } from "./stack.ts";

/**
 * x402 V2 breadth on the real stack: a marketplace rule pays the seller named in the path (the
 * chain says who received the money), and a seller with no payee is refused before any payment.
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
