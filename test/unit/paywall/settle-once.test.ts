import type { SettleResponse } from "@x402/core/types";
import { describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

import { settleContext } from "../../../src/paywall/paid-request.ts";
import { settleOnce } from "../../../src/paywall/settle-once.ts";
import type { Lock } from "../../../src/paywall/settle-once.ts";
import type { Handoff } from "../../../src/idempotency/index.ts";
import type { Receipt } from "../../../src/ledger/index.ts";
import { PAYER } from "../fixtures.ts";
import {
  NO_ORIGIN,
  TRANSACTION,
  fakeContent,
  fakeFacilitator,
  fakeLock,
  paidRequest,
  receipt,
} from "./paid-step-harness.ts";

/** The settlement step alone: one facilitator call, its outcome recorded in the payment's lock. */

function setUp(
  answers: Parameters<typeof fakeFacilitator>[0] = {},
  ledger?: { handoff: Handoff | "unavailable" },
) {
  const { facilitator, calls } = fakeFacilitator(answers);
  const { lock: service, finished } = fakeLock(undefined, ledger?.handoff);
  const paid = {
    ...paidRequest(fakeContent().serve),
    receiptFor: ledger ? ledgerReceiptOf : undefined,
  };
  const lock: Lock = {
    service,
    payer: PAYER,
    claim: { key: "k", payloadHash: "h", paymentId: undefined, resource: "GET x", validUntil: 0 },
  };
  const ctx = settleContext(paid, { facilitator, origin: NO_ORIGIN }, lock);
  return { ctx, calls, finished, request: paid.prepared.request };
}

/** A ledger receipt of a settlement, as the flow builds it (record-settlement.ts). */
function ledgerReceiptOf(settled: SettleResponse, payer: string | undefined): Receipt {
  return {
    time: 1,
    host: "shop.test",
    path: "/articles/paid",
    rule: "articles",
    payer: payer ?? "",
    payTo: "0xpayee",
    amount: settled.amount ?? "10000",
    asset: "0xusdc",
    network: settled.network,
    transaction: settled.transaction,
    nonce: "0xnonce",
    crawler: null,
    session: null,
    x402Version: 2,
  };
}

describe("settleOnce", () => {
  it("should settle once and record the receipt in the lock", async () => {
    const { ctx, calls, finished, request } = setUp();
    const outcome = await settleOnce(ctx, "fresh", request, { payer: PAYER });
    expect(outcome).toEqual({
      type: "settled",
      receipt: receipt(),
      reference: `eip155:84532:${TRANSACTION}`,
    });
    expect(calls.settle).toHaveLength(1);
    expect(finished).toEqual([{ type: "settled", receipt: JSON.stringify(receipt()) }]);
  });

  it("should hand the ledger receipt to the lock with the settled outcome, which took it", async () => {
    const { ctx, finished, request } = setUp({}, { handoff: "queued" });
    const outcome = await settleOnce(ctx, "fresh", request, { payer: PAYER });
    const ledger = ledgerReceiptOf(receipt(), receipt().payer ?? PAYER);
    expect(finished).toEqual([
      { type: "settled", receipt: JSON.stringify(receipt()), ledger: JSON.stringify(ledger) },
    ]);
    if (outcome.type !== "settled") throw new Error(outcome.type);
    expect(outcome.ledger?.receipt).toEqual(ledger);
    expect(await outcome.ledger?.handedOver).toBe(true);
  });

  it("should leave the receipt to the record step when the lock cannot take it", async () => {
    for (const handoff of ["declined", "unavailable"] as const) {
      const { ctx, request } = setUp({}, { handoff });
      const outcome = await settleOnce(ctx, "fresh", request, { payer: PAYER });
      if (outcome.type !== "settled") throw new Error(outcome.type);
      expect(await outcome.ledger?.handedOver).toBe(false);
    }
  });

  it("should release a fresh payment the facilitator refused to settle (nothing moved)", async () => {
    const failed = { ...receipt(), success: false, errorReason: "insufficient_funds" };
    const { ctx, finished, request } = setUp({ settle: { type: "answer", body: failed } });
    const outcome = await settleOnce(ctx, "fresh", request, {});
    expect(outcome).toMatchObject({ type: "failed", reason: "insufficient_funds" });
    expect(finished).toEqual([{ type: "released" }]);
  });

  it("should keep the payment pending with the facilitator's status when its answer is lost", async () => {
    const { ctx, finished, request } = setUp({
      settle: { type: "unavailable", status: 502, reason: "the facilitator answered garbage" },
    });
    const outcome = await settleOnce(ctx, "fresh", request, {});
    expect(outcome).toEqual({
      type: "pending",
      reason: "the facilitator answered garbage",
      status: 502,
    });
    expect(finished).toMatchObject([{ type: "pending", note: "the facilitator answered garbage" }]);
  });

  it("should never take a refusal of a pending payment as proof: without the chain it stays pending, never released", async () => {
    const failed = { ...receipt(), success: false, errorReason: "nonce_already_used" };
    const { ctx, finished, request } = setUp({ settle: { type: "answer", body: failed } });
    const outcome = await settleOnce(ctx, "pending", request, {});
    expect(outcome.type).toBe("pending");
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ type: "pending" });
  });

  it("should name the metered amount charged in a receipt that names none", async () => {
    const bare = { ...receipt(), amount: undefined };
    const { ctx, request } = setUp({ settle: { type: "answer", body: bare } });
    const outcome = await settleOnce(ctx, "fresh", request, { charged: "42" });
    expect(outcome.type).toBe("settled");
    if (outcome.type === "settled") expect(outcome.receipt.amount).toBe("42");
  });
});
