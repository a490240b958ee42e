import { describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

import type { ClaimResult } from "../../../src/idempotency/index.ts";
import { payOnce } from "../../../src/paywall/pay-once.ts";
import { RecentKeys } from "../../../src/paywall/recent-keys.ts";
import { OFFER } from "../fixtures.ts";
import {
  NO_ORIGIN,
  TRANSACTION,
  fakeContent,
  fakeFacilitator,
  fakeLock,
  paidRequest,
  receipt,
} from "./paid-step-harness.ts";

/** The paid step alone: claim, verify, fetch the content, settle; a tagged result, never a callback. */

describe("payOnce", () => {
  it("should settle once and answer the content with its receipt", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const { lock, claims, finished } = fakeLock();
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("paid");
    if (result.type !== "paid") return;
    expect(calls.verify).toHaveLength(1);
    expect(calls.settle).toHaveLength(1);
    expect(claims).toHaveLength(1);
    expect(content.served).toHaveLength(1);
    expect(await result.response.text()).toBe("the article");
    expect(result.response.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    expect(result.settled.reference).toBe(`${OFFER.network}:${TRANSACTION}`);
    expect(finished).toEqual([{ type: "settled", receipt: JSON.stringify(receipt()) }]);
  });

  it("should refuse a HEAD with a reason, without claiming, verifying or reaching the origin", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const { lock, claims } = fakeLock();
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve, { method: "HEAD" }), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result).toEqual({
      type: "refused",
      reason: "a HEAD request is never paid for; send the payment with GET",
    });
    expect(claims).toHaveLength(0);
    expect(calls.verify).toHaveLength(0);
    expect(content.served).toHaveLength(0);
  });

  it("should refuse with the facilitator's reason and release the claim when verify says invalid, never reaching the origin", async () => {
    const { facilitator, calls } = fakeFacilitator({
      verify: { type: "answer", body: { isValid: false, invalidReason: "insufficient_funds" } },
    });
    const { lock, finished } = fakeLock();
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result).toEqual({ type: "refused", reason: "insufficient_funds" });
    expect(content.served).toHaveLength(0);
    expect(calls.settle).toHaveLength(0);
    expect(finished).toEqual([{ type: "released" }]);
  });

  it("should answer a copy of a payment being worked on with 409, without reaching the origin or settling", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const { lock } = fakeLock({ type: "busy" });
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("respond");
    if (result.type !== "respond") return;
    expect(result.response.status).toBe(409);
    expect(await result.response.json()).toMatchObject({ error: "payment_in_progress" });
    // The verify ran beside the claim (a stranger's copy): its valid answer bought nothing.
    expect(calls.verify).toHaveLength(1);
    expect(calls.settle).toHaveLength(0);
    expect(content.served).toHaveLength(0);
  });

  it("should start the verify before the claim has answered, and act on it only once the claim is acquired", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const order: string[] = [];
    let answerClaim: (claimed: ClaimResult) => void = () => undefined;
    const { lock, finished } = fakeLock();
    lock.claim = (_payer, _claim) =>
      new Promise<ClaimResult>((resolve) => {
        order.push(`claim asked (verify calls: ${calls.verify.length})`);
        answerClaim = resolve;
      });
    const content = fakeContent();
    const pending = payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    // Both are under way while the claim has not answered; nothing is fetched or settled yet.
    await vi.waitFor(() => expect(order).toEqual(["claim asked (verify calls: 1)"]));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(content.served).toHaveLength(0);
    expect(calls.settle).toHaveLength(0);
    answerClaim({ type: "acquired" });
    const result = await pending;
    expect(result.type).toBe("paid");
    expect(calls.verify).toHaveLength(1);
    expect(calls.settle).toHaveLength(1);
    expect(content.served).toHaveLength(1);
    expect(finished).toEqual([{ type: "settled", receipt: JSON.stringify(receipt()) }]);
  });

  it("should claim a copy of a payment this isolate claimed lately before verifying it", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const claimedLately = new RecentKeys(16, 60_000);
    const first = fakeLock();
    const content = fakeContent();
    const deps = { facilitator, origin: NO_ORIGIN, claimedLately };
    expect(
      (await payOnce(paidRequest(content.serve), { ...deps, payments: first.lock })).type,
    ).toBe("paid");
    expect(calls.verify).toHaveLength(1);
    const copy = fakeLock({ type: "busy" });
    const again = await payOnce(paidRequest(content.serve), { ...deps, payments: copy.lock });
    expect(again.type).toBe("respond");
    if (again.type !== "respond") return;
    expect(again.response.status).toBe(409);
    expect(calls.verify).toHaveLength(1);
    expect(content.served).toHaveLength(1);
    expect(calls.settle).toHaveLength(1);
  });

  it("should answer a copy 409 when the verify beside its claim throws, with no unhandled rejection", async () => {
    const { facilitator, calls } = fakeFacilitator();
    facilitator.verify = () => Promise.reject(new Error("the facilitator client broke"));
    const { lock } = fakeLock({ type: "busy" });
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("respond");
    if (result.type !== "respond") return;
    expect(result.response.status).toBe(409);
    expect(calls.settle).toHaveLength(0);
    expect(content.served).toHaveLength(0);
  });

  it("should pass an origin error on unsettled and release the claim", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const { lock, finished } = fakeLock();
    const content = fakeContent(() => new Response("broken", { status: 500 }));
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("respond");
    if (result.type !== "respond") return;
    expect(result.response.status).toBe(500);
    expect(calls.settle).toHaveLength(0);
    expect(finished).toEqual([{ type: "released" }]);
  });

  it("should refuse with the failed settlement's receipt and release the claim when the facilitator refuses to settle", async () => {
    const failed = { ...receipt(), success: false, errorReason: "invalid_transaction_state" };
    const { facilitator, calls } = fakeFacilitator({ settle: { type: "answer", body: failed } });
    const { lock, finished } = fakeLock();
    const result = await payOnce(paidRequest(fakeContent().serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("refused");
    if (result.type !== "refused") return;
    expect(result.reason).toBe("invalid_transaction_state");
    const header = result.headers?.["PAYMENT-RESPONSE"] ?? "";
    expect(JSON.parse(atob(header))).toMatchObject({ success: false });
    expect(calls.settle).toHaveLength(1);
    expect(finished).toEqual([{ type: "released" }]);
  });

  it("should withhold the content and keep the payment pending (503, Retry-After) when the settlement's answer is lost", async () => {
    const { facilitator, calls } = fakeFacilitator({
      settle: { type: "unavailable", status: 503, reason: "the facilitator timed out" },
    });
    const { lock, finished } = fakeLock();
    const result = await payOnce(paidRequest(fakeContent().serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result.type).toBe("respond");
    if (result.type !== "respond") return;
    expect(result.response.status).toBe(503);
    expect(result.response.headers.get("Retry-After")).toBe("5");
    expect(result.response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await result.response.json()).toMatchObject({ error: "payment_pending" });
    expect(calls.settle).toHaveLength(1);
    expect(finished).toMatchObject([{ type: "pending", note: "the facilitator timed out" }]);
  });

  it("should refuse a payment the lock refused before, without settling or reaching the origin", async () => {
    const { facilitator, calls } = fakeFacilitator();
    const { lock } = fakeLock({ type: "refused", reason: "the authorization was cancelled" });
    const content = fakeContent();
    const result = await payOnce(paidRequest(content.serve), {
      facilitator,
      origin: NO_ORIGIN,
      payments: lock,
    });
    expect(result).toEqual({ type: "refused", reason: "the authorization was cancelled" });
    // The verify ran beside the claim: the lock's refusal stands whatever it answered.
    expect(calls.verify).toHaveLength(1);
    expect(calls.settle).toHaveLength(0);
    expect(content.served).toHaveLength(0);
  });
});
