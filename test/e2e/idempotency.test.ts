import { createServer } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { receiptOf } from "../../dev/clients.ts";
import { listenLoopback } from "../../dev/http.ts";
import { balances, capturePayment, useStack } from "./stack.ts";

/**
 * At most one settlement per payment on the real stack: the official client's signed payment
 * sent 50 times at once, retried with a payment-identifier, and settlements whose answer is lost
 * or fails on the way (a fault proxy sits between the paywall and the real facilitator). The
 * chain is the judge: the payer loses exactly the price, once.
 */

const API_PRICE = 1000n; // "$0.001" in dev/prices.json

/** What the fault proxy does to the next settlement. */
let nextSettle: "pass" | "answer-late" | "fail-500" = "pass";
let target = "";
const proxy = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const path = req.url ?? "/";
    const fault = path.endsWith("/settle") ? nextSettle : "pass";
    if (path.endsWith("/settle")) nextSettle = "pass";
    if (fault === "fail-500") {
      res.writeHead(500).end("boom");
      return;
    }
    void fetch(`${target}${path}`, {
      method: req.method ?? "GET",
      headers: { "content-type": "application/json" },
      ...(req.method === "POST" && { body: Buffer.concat(chunks).toString("utf8") }),
    }).then(async (answer) => {
      const body = await answer.text();
      // The settlement happens on chain; only its answer to the paywall comes too late.
      if (fault === "answer-late") await new Promise((r) => setTimeout(r, 2500));
      if (!res.destroyed) res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(body);
    });
  });
});

let stopProxy = async (): Promise<void> => {};
const stack = useStack({
  vars: { FACILITATOR_TIMEOUT_MS: "1500" },
  facilitatorFor: async (url) => {
    target = url;
    const listening = await listenLoopback(proxy);
    stopProxy = listening.stop;
    return listening.url;
  },
});
afterAll(() => stopProxy());

const url = (path: string) => `${stack.get().workerUrl}${path}`;

/** A real signed payment for `path`, captured before it reaches the paywall. */
async function signedPayment(path: string, paymentId?: string): Promise<string> {
  const header = await capturePayment(url(path), { key: PAYER.privateKey, paymentId });
  expect(header).toBeTruthy();
  return header!;
}

const pay = (path: string, header: string) =>
  fetch(url(path), { headers: { "PAYMENT-SIGNATURE": header } });

describe("one payment, many copies", () => {
  it("should move the price once when 50 copies of one payment arrive at once", async () => {
    const header = await signedPayment("/api/fifty");
    const before = await balances(stack.get());
    const answers = await Promise.all(Array.from({ length: 50 }, () => pay("/api/fifty", header)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
    expect(stack.get().originHits("/api/fifty")).toBe(1);
  });

  it("should give a retry with the same payment id the same receipt and no new transfer", async () => {
    const id = `pay_${crypto.randomUUID().replace(/-/g, "")}`;
    const header = await signedPayment("/api/retried", id);
    expect(JSON.parse(atob(header)).extensions["payment-identifier"].info.id).toBe(id);
    const before = await balances(stack.get());
    const first = await pay("/api/retried", header);
    expect(first.status).toBe(200);
    const retry = await pay("/api/retried", header);
    expect(retry.status).toBe(200);
    expect(receiptOf(retry)).toEqual(receiptOf(first));
    expect(await balances(stack.get())).toEqual({
      payer: before.payer - API_PRICE,
      payTo: before.payTo + API_PRICE,
    });
  });
});

describe("settlements whose outcome is unknown", () => {
  it("should not ask for a new payment when the settle answer is lost, and charge once", async () => {
    const header = await signedPayment("/api/lost-answer");
    const before = await balances(stack.get());
    nextSettle = "answer-late";
    const first = await pay("/api/lost-answer", header);
    expect(first.status).toBe(503);
    expect(((await first.json()) as { error: string }).error).toBe("payment_pending");
    // The facilitator did settle: the money moved, once.
    await new Promise((r) => setTimeout(r, 1500));
    const moved = await balances(stack.get());
    expect(before.payer - moved.payer).toBe(API_PRICE);

    const retry = await pay("/api/lost-answer", header);
    expect(retry.status).toBe(200);
    expect(receiptOf(retry)).toMatchObject({ success: true });
    expect(await balances(stack.get())).toEqual(moved);
  });

  it("should settle a payment whose first settlement failed on the way, once", async () => {
    const header = await signedPayment("/api/failed-settle");
    const before = await balances(stack.get());
    nextSettle = "fail-500";
    const first = await pay("/api/failed-settle", header);
    expect(first.status).toBe(502);
    expect(await balances(stack.get())).toEqual(before);
    const retry = await pay("/api/failed-settle", header);
    expect(retry.status).toBe(200);
    expect(receiptOf(retry)?.["transaction"]).toMatch(/^0x[0-9a-f]{64}$/);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(API_PRICE);
    expect(after.payTo - before.payTo).toBe(API_PRICE);
  });
});
