import { describe, expect, it } from "vitest";
import type { SellerTransfer } from "./chain.ts";
import { RETRY_BOUND, judge } from "./invariants.ts";
import type { LedgerReceipt } from "./invariants.ts";
import type { Observable } from "./observable.ts";
import type { Observation, Payment, Sequence } from "./sequence.ts";

/**
 * The model's judge on hand-made sequences: what a runtime cannot observe and what the design
 * documents are set apart only under their own narrow rules; everything else stays a violation.
 */

const KEY = "0xaa";
const TX = "0xbb";
const blind: Observable = { disconnectBeforeAnswer: false, disconnectMidStream: false };
const seeing: Observable = { disconnectBeforeAnswer: true, disconnectMidStream: true };

function payment(paymentId?: string): Payment {
  return {
    version: 2,
    header: ["PAYMENT-SIGNATURE", "x"],
    key: KEY,
    nonce: KEY,
    value: 1000n,
    route: "pay",
    behaviour: "ok",
    method: "GET",
    path: "/pay/ok/s-1",
    body: undefined,
    paymentId,
  };
}

function seen(o: Partial<Observation>): Observation {
  return {
    step: 1,
    event: "pay",
    route: "pay",
    behaviour: "ok",
    method: "GET",
    path: "/pay/ok/s-1",
    body: undefined,
    payment: 0,
    status: 200,
    code: undefined,
    paywallShaped: false,
    delivered: false,
    faulted: false,
    receipt: undefined,
    text: "",
    ...o,
  };
}

function verdict(observations: Observation[], observable: Observable, paymentId?: string) {
  const seq = {
    payments: [payment(paymentId)],
    observations,
    troubled: new Set<string>(),
  } as Partial<Sequence> as Sequence;
  const transfers: SellerTransfer[] = [{ transaction: TX, value: 1000n, key: KEY }];
  const receipts: LedgerReceipt[] = [{ transaction: TX, nonce: KEY, amount: "1000", path: "/" }];
  return judge(seq, transfers, receipts, observable);
}

describe("a charge after the client went away before any answer", () => {
  const goneAway = seen({
    event: "go-away",
    behaviour: "slow",
    status: 0,
    wentAway: "before-answer",
  });

  it("should be not observable on a runtime that does not pass the disconnect on", () => {
    const v = verdict([goneAway], blind);
    expect(v.violations).toEqual([]);
    expect(v.unobservable.map((u) => u.invariant)).toEqual(["charged-with-content"]);
  });

  it("should be a violation on a runtime that passes the disconnect on", () => {
    const v = verdict([goneAway], seeing);
    expect(v.violations.map((u) => u.invariant)).toEqual(["charged-with-content"]);
    expect(v.unobservable).toEqual([]);
  });

  it("should stay a violation when a later answer of the payment could have been charged", () => {
    const later = seen({ event: "copy", status: 200, broken: true });
    expect(verdict([goneAway, later], blind).violations.map((u) => u.invariant)).toEqual([
      "charged-with-content",
    ]);
  });
});

describe("a chunked answer that broke after its settlement", () => {
  const broke = seen({ behaviour: "reset", path: "/pay/reset/s-1", status: 200, broken: true });

  it("should be the documented risk when the payment had no payment id", () => {
    const v = verdict([broke], blind);
    expect(v.violations).toEqual([]);
    expect(v.risks.map((r) => r.invariant)).toEqual(["charged-with-content"]);
  });

  it("should be a violation when the payment had a payment id and no retry got the content", () => {
    expect(verdict([broke], blind, "id-1").violations.map((r) => r.invariant)).toEqual([
      "charged-with-content",
    ]);
  });

  it("should be kept when the payment id's retry got the content", () => {
    const retry = { ...broke, event: "retry", broken: false, delivered: true };
    expect(verdict([broke, retry], blind, "id-1").violations).toEqual([]);
  });

  it("should be the same documented risk when the runtime answered the early break with its own 500", () => {
    const early = { ...broke, status: 500, text: "Error: Network connection lost." };
    const v = verdict([early], blind);
    expect(v.violations).toEqual([]);
    expect(v.risks.map((r) => r.invariant)).toEqual(["charged-with-content"]);
  });

  it("should be a violation when a 500 on that route is anything else", () => {
    const other = { ...broke, status: 500, text: "Error: something the paywall threw" };
    expect(verdict([other], blind).violations.map((r) => r.invariant)).toEqual(
      expect.arrayContaining(["charged-with-content", "no-paywall-5xx"]),
    );
  });

  it("should be a violation when the answer announced its length", () => {
    const sized = { ...broke, behaviour: "resetsized" as const, path: "/pay/resetsized/s-1" };
    expect(verdict([sized], blind).violations.map((r) => r.invariant)).toEqual([
      "charged-with-content",
    ]);
  });
});

it("should allow as many deliveries of a payment as the paywall's replays allow, and no more", () => {
  const delivered = (n: number) =>
    Array.from({ length: n }, () => seen({ delivered: true, event: "copy" }));
  expect(verdict(delivered(RETRY_BOUND), seeing, "id-1").violations).toEqual([]);
  expect(
    verdict(delivered(RETRY_BOUND + 1), seeing, "id-1").violations.map((v) => v.invariant),
  ).toEqual(["covered"]);
});
