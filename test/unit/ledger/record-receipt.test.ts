import { describe, expect, it } from "vitest";
import { recordReceipt } from "../../../src/ledger/index.ts";
import type { Receipt, ReceiptsLedger } from "../../../src/ledger/index.ts";

/** The record step's ledger write: skipped when the payer's lock took the receipt. */

const RECEIPT: Receipt = {
  time: 1,
  host: "shop.test",
  path: "/a",
  rule: "a",
  payer: "0xpayer",
  payTo: "0xpayee",
  amount: "1000",
  asset: "0xusdc",
  network: "eip155:84532",
  transaction: "0xtx",
  nonce: "0xnonce",
  crawler: null,
  session: null,
  x402Version: 2,
};

function fakeLedger() {
  const recorded: Receipt[] = [];
  const ledger = {
    record: async (receipt: Receipt) => {
      recorded.push(receipt);
      return { type: "recorded" as const };
    },
  } as unknown as ReceiptsLedger;
  return { ledger, recorded };
}

describe("recordReceipt", () => {
  it("should write nothing when the payer's lock took the receipt", async () => {
    const { ledger, recorded } = fakeLedger();
    await recordReceipt(ledger, { receipt: RECEIPT, handedOver: Promise.resolve(true) });
    expect(recorded).toEqual([]);
  });

  it("should write the receipt itself when the lock did not take it, or none was asked", async () => {
    const { ledger, recorded } = fakeLedger();
    await recordReceipt(ledger, { receipt: RECEIPT, handedOver: Promise.resolve(false) });
    await recordReceipt(ledger, { receipt: RECEIPT });
    expect(recorded).toEqual([RECEIPT, RECEIPT]);
  });
});
