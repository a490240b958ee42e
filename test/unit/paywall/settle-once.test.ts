import { describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

import { settleContext } from "../../../src/paywall/paid-request.ts";
import { settleOnce } from "../../../src/paywall/settle-once.ts";
import type { Lock } from "../../../src/paywall/settle-once.ts";
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

function setUp(answers: Parameters<typeof fakeFacilitator>[0] = {}) {
  const { facilitator, calls } = fakeFacilitator(answers);
  const { lock: service, finished } = fakeLock();
  const paid = paidRequest(fakeContent().serve);
  const lock: Lock = {
    service,
    payer: PAYER,
    claim: { key: "k", payloadHash: "h", paymentId: undefined, resource: "GET x", validUntil: 0 },
  };
  const ctx = settleContext(paid, { facilitator, origin: NO_ORIGIN }, lock);
  return { ctx, calls, finished, request: paid.prepared.request };
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
