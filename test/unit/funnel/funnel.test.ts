import { describe, expect, it, vi } from "vitest";
import {
  FunnelCounter,
  OTHER_CRAWLERS,
  funnelCsv,
  funnelReport,
  outcomeOf,
  refusalCode,
  tagOutcome,
} from "../../../src/funnel";
import type { FunnelBatch, FunnelSink } from "../../../src/funnel";

/** An error answer as the paywall's `errorResponse` tags it (src/paywall/responses.ts). */
function errorResponse(code: string, message: string, status = 503): Response {
  const response = new Response(JSON.stringify({ error: code, message }), { status });
  return tagOutcome(response, { type: "error", code });
}

/**
 * The funnel's pure parts: what an answer counts for, how counts gather into batches written
 * after the answers, and how a failed write is kept and sent again as the same batch.
 */

const KEY = { rule: "/api/*", crawler: "", crawlerKey: "" };
const paying = () => new Request("https://a.test/x", { headers: { "PAYMENT-SIGNATURE": "e30=" } });
const unpaid = () => new Request("https://a.test/x");

function required(error?: string): Response {
  const header = btoa(JSON.stringify({ x402Version: 2, error, accepts: [] }));
  return new Response("{}", { status: 402, headers: { "PAYMENT-REQUIRED": header } });
}

/** A sink that records the batches it was sent and fails while `failing` is set. */
function recordingSink() {
  const sent: FunnelBatch[] = [];
  const sink: FunnelSink & { sent: FunnelBatch[]; failing: boolean } = {
    sent,
    failing: false,
    async write(batch) {
      sent.push(structuredClone(batch));
      if (sink.failing) throw new Error("D1 is down");
    },
  };
  return sink;
}

describe("what an answer counts for", () => {
  it("should count an unpaid 402 as a challenge only", () => {
    expect(outcomeOf(unpaid(), required())).toEqual({ challenge: true });
  });

  it("should count a refused payment's 402 as a challenge and a refusal with its reason", () => {
    const expired = required("invalid_exact_evm_payload_authorization_valid_before");
    expect(outcomeOf(paying(), expired)).toEqual({ challenge: true, refused: "expired" });
    const failedSettle = required("invalid_exact_evm_insufficient_balance");
    failedSettle.headers.set("PAYMENT-RESPONSE", "e30=");
    expect(outcomeOf(paying(), failedSettle)?.refused).toBe("settle_failed");
  });

  it("should count the paywall's own error answers by their code", () => {
    const down = errorResponse("facilitator_unavailable", "down");
    expect(outcomeOf(paying(), down)).toEqual({ challenge: false, refused: "facilitator_down" });
    const pending = errorResponse("payment_pending", "later");
    expect(outcomeOf(paying(), pending)?.refused).toBe("pending");
  });

  it("should leave paid and free answers to the ledger", () => {
    expect(outcomeOf(paying(), new Response("paid"))).toBeUndefined();
    expect(outcomeOf(unpaid(), new Response("free"))).toBeUndefined();
  });

  it("should count session uses and credit spent from their tags", () => {
    const use = tagOutcome(new Response("ok"), { type: "session" });
    expect(outcomeOf(unpaid(), use)).toEqual({ challenge: false, session: true });
    const spent = { network: "eip155:84532", asset: "0xabc", amount: "10000" };
    const page = tagOutcome(new Response("ok"), { type: "credit", spent });
    expect(outcomeOf(unpaid(), page)).toEqual({ challenge: false, credit: spent });
  });

  it("should group common refusal reasons into codes", () => {
    expect(refusalCode("invalid_exact_evm_signature")).toBe("invalid_signature");
    expect(refusalCode("invalid_exact_evm_payload_authorization_value_mismatch")).toBe(
      "wrong_amount",
    );
    expect(refusalCode("accepted.amount does not match what this resource offers")).toBe(
      "wrong_amount",
    );
    expect(refusalCode("accepted.payTo does not match what this resource offers")).toBe(
      "wrong_terms",
    );
    expect(refusalCode("invalid_exact_evm_nonce_already_used")).toBe("nonce_used");
    expect(refusalCode("crawl credit is USD 0.00; buy more")).toBe("credit_short");
    expect(refusalCode("something new")).toBe("other");
  });
});

describe("counting and flushing", () => {
  it("should write many counts as one batch, after the answers, once the flush time is up", async () => {
    const sink = recordingSink();
    let wake!: () => void;
    const sleep = vi.fn(() => new Promise<void>((resolve) => (wake = resolve)));
    const counter = new FunnelCounter(sink, { flushMs: 5000, sleep, now: () => 120_000 });
    const deferred: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) {
      counter.count(KEY, { challenge: true });
      counter.schedule((work) => deferred.push(work));
    }
    expect(deferred).toHaveLength(1);
    expect(sleep).toHaveBeenCalledWith(5000);
    expect(sink.sent).toHaveLength(0);
    wake();
    await Promise.all(deferred);
    expect(sink.sent).toHaveLength(1);
    expect(sink.sent[0]!.rows).toEqual([
      expect.objectContaining({ ...KEY, minute: 2, event: "challenge", count: 100 }),
    ]);
    expect(counter.pendingRows()).toBe(0);
  });

  it("should keep a batch whose write failed and send it again under the same id, new counts apart", async () => {
    const sink = recordingSink();
    const counter = new FunnelCounter(sink, { flushMs: 0 });
    counter.count(KEY, { challenge: true, refused: "expired" });
    sink.failing = true;
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await counter.flush()).toBe(1);
    expect(counter.pendingRows()).toBe(2);
    counter.count(KEY, { challenge: true });
    sink.failing = false;
    expect(await counter.flush()).toBe(0);
    error.mockRestore();
    const [failed, retried, next] = sink.sent;
    expect(retried!.id).toBe(failed!.id);
    expect(retried!.rows).toEqual(failed!.rows);
    expect(next!.id).not.toBe(failed!.id);
    expect(next!.rows).toEqual([expect.objectContaining({ event: "challenge", count: 1 })]);
  });

  it("should count a flood of new crawler keys under one line once a batch is full", () => {
    const sink = recordingSink();
    const counter = new FunnelCounter(sink, { flushMs: 0, maxRows: 10 });
    for (let i = 0; i < 1000; i++) {
      counter.count({ rule: "r", crawler: "bot.test", crawlerKey: `k${i}` }, { challenge: true });
    }
    expect(counter.pendingRows()).toBe(11);
    void counter.flush();
  });

  it("should name the line a full batch folds crawlers into", () => {
    expect(OTHER_CRAWLERS).toBe("(other)");
  });
});

describe("the report", () => {
  it("should join counts and the ledger's payments per rule and crawler, with steps and CSV", () => {
    const report = funnelReport(
      {
        counts: [
          row("challenge", "", 7),
          row("refused", "expired", 2),
          row("session", "", 3),
          { ...row("credit", "", 1), network: "n", asset: "a", amount: "10000" },
        ],
        paid: [
          {
            rule: "/api/*",
            crawler: "",
            crawler_key: "",
            network: "n",
            asset: "a",
            count: 4,
            amount: "4000",
          },
        ],
        countSteps: [{ time: 3_600_000, event: "challenge", count: 7 }],
        paidSteps: [{ time: 3_700_000, count: 4 }],
        from: 0,
        to: 7_200_000,
        stepMs: 3_600_000,
      },
      (rule) => (rule === "/api/*" ? "/api/*" : null),
    );
    expect(report.lines).toEqual([
      expect.objectContaining({
        route: "/api/*",
        challenges: 7,
        paid: 4,
        refused: 2,
        refusedBy: { expired: 2 },
        sessionUses: 3,
        creditUses: 1,
        revenue: [{ network: "n", asset: "a", amount: "4000" }],
      }),
    ]);
    expect(report.steps).toEqual([
      expect.objectContaining({ time: 0, challenges: 0, paid: 0 }),
      expect.objectContaining({ time: 3_600_000, challenges: 7, paid: 4 }),
    ]);
    const [head, line] = funnelCsv(report).split("\r\n");
    const cells = Object.fromEntries(head!.split(",").map((c, i) => [c, line!.split(",")[i]]));
    expect(cells).toMatchObject({ route: "/api/*", challenges: "7", refused_expired: "2" });
  });
});

function row(event: "challenge" | "refused" | "session" | "credit", reason: string, count: number) {
  return {
    rule: "/api/*",
    crawler: "",
    crawler_key: "",
    event,
    reason,
    network: "",
    asset: "",
    count,
    amount: "0",
  };
}
