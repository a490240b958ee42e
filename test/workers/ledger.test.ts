import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { ReceiptsLedger } from "../../src/ledger";
import worker from "../../src/worker";
import type { Receipt } from "../../src/ledger";
import { admin, jsonOf, receiptsOf } from "./admin-helpers";
import type { Listed } from "./admin-helpers";
import { crawl, crawlTable } from "./crawler-helpers";
import {
  PAY_TO,
  SESSION_HOST,
  USDC,
  call,
  facilitator,
  paymentFor,
  putTable,
  unique,
  ledgerDb,
} from "./helpers";

/**
 * The receipts ledger inside workerd with a real local D1 database: what a paid request records,
 * exactly once per transaction and per nonce, nothing for unpaid or failed requests, receipts
 * parked in KV when D1 fails and moved in later, and the admin calls that list, export and sum.
 */

/** A fresh payer, so each test reads only its own receipts. */
function wallet(): string {
  return privateKeyToAccount(generatePrivateKey()).address;
}

/** Pays for `url` as `from` through the fake facilitator `mode`; returns the paid response. */
async function pay(
  url: string,
  from: string,
  mode = "ok",
): Promise<{ response: Response; nonce: string }> {
  const vars = { FACILITATOR_URLS: facilitator(mode) };
  const challenge = await call(new Request(url), vars);
  expect(challenge.status).toBe(402);
  const payment = paymentFor(challenge, (p) => {
    (p["payload"] as { authorization: { from: string } }).authorization.from = from;
  });
  const headers = { "PAYMENT-SIGNATURE": payment.header };
  return { response: await call(new Request(url, { headers }), vars), nonce: payment.nonce };
}

function receipt(overrides: Partial<Receipt> = {}): Receipt {
  return {
    time: Date.now(),
    host: "shop.test",
    path: "/api/x",
    rule: "rules[9]",
    payer: wallet().toLowerCase(),
    payTo: PAY_TO.toLowerCase(),
    amount: "1000",
    asset: USDC.toLowerCase(),
    network: "eip155:84532",
    transaction: `0x${unique()}${"0".repeat(56)}`,
    nonce: `0x${unique()}${"1".repeat(56)}`,
    crawler: null,
    session: null,
    x402Version: 2,
    ...overrides,
  };
}

beforeEach(async () => {
  await putTable();
});

describe("receipts from the paid path", () => {
  it("should record a paid request once, with every field", async () => {
    const payer = wallet();
    const path = `/api/${unique()}`;
    const { response, nonce } = await pay(`https://shop.test${path}?q=1`, payer);
    expect(response.status).toBe(200);
    const receipts = await receiptsOf(payer);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      host: "shop.test",
      path,
      rule: "/api/*",
      payer: payer.toLowerCase(),
      payTo: PAY_TO.toLowerCase(),
      amount: "1000",
      asset: USDC.toLowerCase(),
      network: "eip155:84532",
      transaction: `0x${nonce.slice(2)}`,
      nonce,
      crawler: null,
      session: null,
      x402Version: 2,
    });
    // The admin API states times as ISO dates.
    const time = receipts[0]!.time as unknown as string;
    expect(time).toBe(new Date(Date.parse(time)).toISOString());
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(10_000);
  });

  it("should write the receipt after the paid answer, and an admin read right after finds it", async () => {
    const payer = wallet();
    const url = `https://shop.test/api/${unique()}`;
    const challenge = await call(new Request(url));
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = payer;
    });
    const ctx = createExecutionContext();
    const headers = { "PAYMENT-SIGNATURE": payment.header };
    const response = await worker.fetch(new Request(url, { headers }), env, ctx);
    expect(response.status).toBe(200);
    // Not waiting for the request's waitUntil: the admin read waits for the write in flight.
    expect(await receiptsOf(payer)).toHaveLength(1);
    await waitOnExecutionContext(ctx);
    expect(await receiptsOf(payer)).toHaveLength(1);
  });

  it("should name the session scope a payment opened", async () => {
    const payer = wallet();
    const { response } = await pay(`https://${SESSION_HOST}/pass/${unique()}`, payer);
    expect(response.headers.get("PAYMENT-SESSION")).toBeTruthy();
    const [only] = await receiptsOf(payer);
    expect(only?.session).toMatch(/^route:sessions\.test /);
    expect(only?.amount).toBe("10000");
  });

  it("should record nothing when the origin fails or the settlement fails", async () => {
    const payer = wallet();
    expect((await pay(`https://shop.test/status/500/${unique()}`, payer)).response.status).toBe(
      500,
    );
    const failed = await pay(`https://shop.test/api/${unique()}`, payer, "settle-fail");
    expect(failed.response.status).toBe(402);
    expect(await receiptsOf(payer)).toEqual([]);
  });

  it("should record a payment whose first settlement failed exactly once after the retry", async () => {
    const payer = wallet();
    const url = `https://shop.test/api/${unique()}`;
    const challenge = await call(new Request(url));
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = payer;
    });
    const vars = { FACILITATOR_URLS: facilitator("settle-500-once") };
    const headers = { "PAYMENT-SIGNATURE": payment.header };
    const first = await call(new Request(url, { headers }), vars);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(await receiptsOf(payer)).toEqual([]);
    const second = await call(new Request(url, { headers }), vars);
    expect(second.status).toBe(200);
    await call(new Request(url, { headers }), vars);
    const receipts = await receiptsOf(payer);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]?.nonce).toBe(payment.nonce);
  });
});

describe("receipts of crawlers", () => {
  it("should name the crawler that paid with x402", async () => {
    await putTable(crawlTable());
    const path = `/blog/${unique()}`;
    const payer = wallet();
    const challenge = await crawl(path);
    const { header } = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = payer;
    });
    const paid = await crawl(path, {
      headers: { "payment-signature": header, "crawler-exact-price": "USD 0.005" },
    });
    expect(paid.status).toBe(200);
    const [only] = await receiptsOf(payer);
    expect(only).toMatchObject({ path, amount: "5000" });
    expect(only?.crawler).toBe("devbot");
  });
});

describe("exactly once", () => {
  it("should keep one receipt per transaction and one per payer nonce", async () => {
    const ledger = new ReceiptsLedger(ledgerDb(), env.PRICES);
    const first = receipt();
    expect(await ledger.record(first)).toEqual({ type: "recorded" });
    expect(await ledger.record(first)).toEqual({ type: "duplicate" });
    expect(await ledger.record({ ...first, nonce: "0xother" })).toEqual({ type: "duplicate" });
    expect(await ledger.record({ ...first, transaction: "0xother" })).toEqual({
      type: "duplicate",
    });
    // Without a transaction hash the nonce still identifies the payment.
    const bare = receipt({ transaction: null });
    expect(await ledger.record(bare)).toEqual({ type: "recorded" });
    expect(await ledger.record({ ...bare, time: bare.time + 5 })).toEqual({ type: "duplicate" });
    const concurrent = receipt();
    const results = await Promise.all(Array.from({ length: 20 }, () => ledger.record(concurrent)));
    expect(results.filter((r) => r.type === "recorded")).toHaveLength(1);
    expect(await receiptsOf(first.payer)).toHaveLength(1);
  });

  it("should park a receipt in KV when D1 fails or hangs, and move it in exactly once", async () => {
    const broken = {
      prepare: () => ({ bind: () => ({}) }),
      batch: () => Promise.reject(new Error("D1 is overloaded")),
    } as unknown as D1Database;
    const hanging = {
      prepare: () => ({ bind: () => ({}) }),
      batch: () => new Promise(() => {}),
    } as unknown as D1Database;
    const parked = receipt();
    const slow = receipt({ payer: parked.payer });
    expect((await new ReceiptsLedger(broken, env.PRICES).record(parked)).type).toBe("parked");
    const started = Date.now();
    expect((await new ReceiptsLedger(hanging, env.PRICES, 200).record(slow)).type).toBe("parked");
    expect(Date.now() - started).toBeLessThan(1000);
    // The slow write may still land in D1: moving the parked copy in must not duplicate it.
    await new ReceiptsLedger(ledgerDb(), env.PRICES).record(slow);

    const listed = await jsonOf<Listed>(await admin(`/receipts?payer=${parked.payer}`));
    expect(listed.parked).toBe(0);
    expect(listed.receipts.map((r) => r.transaction).sort()).toEqual(
      [parked.transaction, slow.transaction].sort(),
    );
    expect((await env.PRICES.list({ prefix: "receipt-pending:" })).keys).toEqual([]);
  });
});

describe("admin calls on receipts", () => {
  it("should page, export CSV and sum revenue per day, route and crawler", async () => {
    const ledger = new ReceiptsLedger(ledgerDb(), env.PRICES);
    const payer = wallet().toLowerCase();
    const path = `/api/${unique()}`;
    const day = Date.parse("2026-03-02T12:00:00Z");
    await ledger.record(receipt({ payer, path, time: day, amount: "1000" }));
    await ledger.record(
      receipt({ payer, path, time: day + 1, amount: "2500", crawler: "ExampleBot" }),
    );
    await ledger.record(
      receipt({ payer, path: `${path}/b`, time: day + 86_400_000, amount: "10000" }),
    );

    const page = await jsonOf<Listed>(await admin(`/receipts?payer=${payer}&limit=2`));
    expect(page.receipts.map((r) => r.amount)).toEqual(["10000", "2500"]);
    const rest = await jsonOf<Listed>(
      await admin(`/receipts?payer=${payer}&limit=2&before=${page.next}`),
    );
    expect(rest.receipts.map((r) => r.amount)).toEqual(["1000"]);

    const csv = await admin(`/receipts?payer=${payer}&format=csv`);
    expect(csv.headers.get("Content-Type")).toContain("text/csv");
    const lines = (await csv.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "id,time,host,path,rule,payer,payTo,amount,asset,network,transaction,nonce,crawler,crawlerKey,session,x402Version",
    );
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain(",2026-03-02T12:00:00.001Z,shop.test,");
    expect(lines[2]).toContain(",ExampleBot,");

    const revenue = await jsonOf<{
      totals: Array<{ count: number; amount: string; usd: string }>;
      byDay: Array<{ key: string; amount: string }>;
      byRoute: Array<{ key: string; usd: string }>;
      byCrawler: Array<{ key: string; usd: string; count: number }>;
    }>(await admin("/revenue?from=2026-03-02&to=2026-03-04"));
    expect(revenue.totals).toEqual([
      expect.objectContaining({ count: 3, amount: "13500", usd: "$0.0135" }),
    ]);
    // Regression: totals carried `"key": ""`; a total is per network and asset, with no key.
    expect(Object.keys(revenue.totals[0]!).sort()).toEqual([
      "amount",
      "asset",
      "count",
      "network",
      "usd",
    ]);
    expect(revenue.byDay.map((b) => [b.key, b.amount])).toEqual([
      ["2026-03-02", "3500"],
      ["2026-03-03", "10000"],
    ]);
    expect(revenue.byRoute).toContainEqual(expect.objectContaining({ key: path, usd: "$0.0035" }));
    expect(revenue.byCrawler).toEqual([
      expect.objectContaining({ key: "ExampleBot", usd: "$0.0025", count: 1 }),
    ]);
  });

  it("should answer bad queries with a 400 and its reason", async () => {
    for (const query of [
      "payer=nobody",
      "limit=0",
      "limit=100001",
      "before=x",
      "from=yesterday",
      "from=2026-03-05&to=2026-03-01",
      "format=xml",
    ]) {
      const response = await admin(`/receipts?${query}`);
      expect(response.status, query).toBe(400);
      expect((await jsonOf<{ message: string }>(response)).message.length).toBeGreaterThan(5);
    }
    expect((await admin("/revenue?days=0")).status).toBe(400);
  });

  it("should serve paid requests without a ledger, and say the ledger is not configured", async () => {
    const payer = wallet();
    const url = `https://shop.test/api/${unique()}`;
    const challenge = await call(new Request(url), { LEDGER: undefined });
    const payment = paymentFor(challenge, (p) => {
      (p["payload"] as { authorization: { from: string } }).authorization.from = payer;
    });
    const headers = { "PAYMENT-SIGNATURE": payment.header };
    expect((await call(new Request(url, { headers }), { LEDGER: undefined })).status).toBe(200);
    const off = await call(
      new Request("https://admin.test/__x402/admin/receipts", {
        headers: { Authorization: "Bearer workers-test-admin-token" },
      }),
      { LEDGER: undefined },
    );
    expect(off.status).toBe(503);
    expect(await receiptsOf(payer)).toEqual([]);
  });
});
