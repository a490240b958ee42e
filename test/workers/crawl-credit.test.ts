import {
  createExecutionContext,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { CrawlerCredit } from "../../src/credit";
import worker from "../../src/worker";
import { receiptsOf } from "./admin-helpers";
import { crawlerKeys } from "./crawler-helpers";
import { BASE, crawl, crawlTable, freshKey, signedRequest } from "./crawler-helpers";
import type { Signed } from "./crawler-helpers";
import {
  PAY_TO,
  call,
  countingLedger,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

/**
 * Prepaid crawl credit in workerd: bought with one x402 payment at /__x402/crawl-credit, held per
 * key thumbprint in a Durable Object, spent by signed requests that accept the price.
 * Each test uses a fresh key (a fresh Durable Object), so tests never share a balance.
 */

beforeEach(async () => {
  await putTable(crawlTable());
});

/** Buys `usd` of credit for key `key`; returns the top-up's answer. */
async function topUp(usd: string, options: Signed = {}, mode = "ok"): Promise<Response> {
  const path = `/__x402/crawl-credit?amount=${usd}`;
  const challenge = await crawl(path, { ...options, method: "POST" });
  expect(challenge.status).toBe(402);
  const { header } = paymentFor(challenge);
  const request = await signedRequest(path, {
    ...options,
    method: "POST",
    headers: { ...options.headers, "payment-signature": header },
  });
  return call(request, { FACILITATOR_URLS: facilitator(mode) });
}

describe("buying credit", () => {
  it("should credit the signing key with the amount paid", async () => {
    const key = freshKey();
    const response = await topUp("0.05", { key });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { added: string; balance: string; keyid: string };
    expect(body.added).toBe("USD 0.05");
    expect(body.keyid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeTruthy();
  });

  it("should record a top-up's receipt once, written by the payer's object: no D1 call from the Worker", async () => {
    const key = freshKey();
    const path = `/__x402/crawl-credit?amount=0.05`;
    const challenge = await crawl(path, { key, method: "POST" });
    const { header, nonce } = paymentFor(challenge);
    const request = await signedRequest(path, {
      key,
      method: "POST",
      headers: { "payment-signature": header },
    });
    const counted = countingLedger();
    const ctx = createExecutionContext();
    const env2 = { ...env, LEDGER: counted.db, FACILITATOR_URLS: facilitator("ok") };
    const response = await worker.fetch(request, env2, ctx);
    expect(response.status).toBe(200);
    expect(counted.statements).toEqual([]);
    await waitOnExecutionContext(ctx);
    // After the answer, only the funnel's batched counts (src/funnel), never a receipt.
    expect(counted.statements.filter((s) => !/funnel/.test(s))).toEqual([]);
    const payer = (decodeHeader(response.headers.get("PAYMENT-RESPONSE")) as { payer: string })
      .payer;
    const receipts = (await receiptsOf(payer.toLowerCase())).filter((r) => r.nonce === nonce);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ rule: "crawlers.credit", amount: "50000" });
  });

  it("regression: should credit a top-up whose settlement answer was lost, once, on the next copy", async () => {
    const key = freshKey();
    const path = `/__x402/crawl-credit?amount=0.05`;
    const challenge = await crawl(path, { key, method: "POST" });
    const { header, nonce } = paymentFor(challenge);
    const send = async () =>
      call(
        await signedRequest(path, {
          key,
          method: "POST",
          headers: { "payment-signature": header },
        }),
        { FACILITATOR_URLS: facilitator("settle-lost-once") },
      );
    const lost = await send();
    expect(lost.status).toBe(503);
    expect(((await lost.json()) as { error: string }).error).toBe("payment_pending");
    const resolved = await send();
    expect(resolved.status).toBe(200);
    expect(((await resolved.json()) as { balance: string }).balance).toBe("USD 0.05");
    const again = await send();
    expect(again.status).toBe(409);
    // The chain showed the first settle went through: no second settle was asked for.
    expect((await facilitatorCalls(nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
  });

  it("should refuse an unsigned top-up with StrongAuthRequired", async () => {
    const response = await call(
      new Request(`${BASE}/__x402/crawl-credit?amount=0.05`, { method: "POST" }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("StrongAuthRequired");
  });

  it.each(["0.001", "2.00", "abc", ""])(
    "should refuse the amount %j outside the bounds",
    async (amount) => {
      const response = await crawl(`/__x402/crawl-credit?amount=${amount}`, { method: "POST" });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("bad_amount");
    },
  );

  it("should refuse a payment the signature does not cover, and settle nothing", async () => {
    const path = `/__x402/crawl-credit?amount=0.05`;
    const { header, nonce } = paymentFor(await crawl(path, { method: "POST" }));
    const signed = await signedRequest(path, { method: "POST" });
    const headers = new Headers(signed.headers);
    headers.set("payment-signature", header);
    const response = await call(new Request(signed.url, { method: "POST", headers }));
    expect(response.status).toBe(400);
    expect(response.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await facilitatorCalls(nonce)).toEqual([]);
  });

  it("should credit nothing when the settlement fails", async () => {
    const key = freshKey();
    const response = await topUp("0.05", { key }, "settle-fail");
    expect(response.status).toBe(402);
    const spend = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(spend.status).toBe(402);
  });
});

describe("spending credit", () => {
  it("should serve pages from credit with crawler-charged until it runs out, then 402", async () => {
    const key = freshKey();
    await putTable(crawlTable({ policies: { devbot: { action: "charge", price: "$0.02" } } }));
    expect((await topUp("0.05", { key })).status).toBe(200);
    const served: string[] = [];
    for (let i = 0; i < 3; i++) {
      const path = `/blog/${unique()}`;
      const response = await crawl(path, { key, headers: { "crawler-max-price": "USD 0.02" } });
      served.push(
        `${response.status} ${response.headers.get("crawler-charged")} ${response.headers.get("crawler-credit-remaining")}`,
      );
    }
    expect(served).toEqual([
      "200 USD 0.02 USD 0.03",
      "200 USD 0.02 USD 0.01",
      expect.stringMatching(/^402 /),
    ]);
  });

  it("should never overdraw under concurrent requests", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200); // 10 pages at USD 0.005
    const paths = Array.from({ length: 25 }, () => `/blog/${unique()}`);
    const responses = await Promise.all(
      paths.map((path) => crawl(path, { key, headers: { "crawler-max-price": "USD 0.005" } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(15);
    const hits = await Promise.all(paths.map((path) => originSaw(path)));
    expect(hits.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it("should not debit a page the origin fails", async () => {
    const key = freshKey();
    expect((await topUp("0.01", { key })).status).toBe(200); // 2 pages
    const failed = await crawl(`/status/500/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("crawler-charged")).toBeNull();
    const ok = [0, 1].map(() =>
      crawl(`/blog/${unique()}`, { key, headers: { "crawler-max-price": "USD 0.01" } }),
    );
    expect((await Promise.all(ok)).map((r) => r.status)).toEqual([200, 200]);
  });

  it("should refuse a replayed signed request without spending again", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const request = await signedRequest(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    const first = await call(request.clone());
    expect(first.status).toBe(200);
    const replay = await call(request);
    expect(replay.status).toBe(400);
    expect(replay.headers.get("crawler-error")).toBe("InvalidSignature");
  });

  it("should let only the key that bought credit spend it", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    // Key 1 (gptbot) charged here, with its own (empty) credit.
    await putTable(crawlTable({ policies: { gptbot: { action: "charge" } } }));
    const other = await crawl(`/blog/${unique()}`, {
      key: 1,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(other.status).toBe(402);
  });

  it("should refuse to spend credit on a signature older than maxSignatureAge, and debit nothing", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const path = `/blog/${unique()}`;
    const stale = await crawl(path, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
      sign: { created: now - 400, expires: now + 200 },
    });
    expect(stale.status).toBe(400);
    expect(stale.headers.get("crawler-error")).toBe("InvalidSignature");
    expect(await originSaw(path)).toBe(0);
    const fresh = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(fresh.headers.get("crawler-credit-remaining")).toBe("USD 0.045");
  });

  it("should not forward a crawler's signature headers to the origin on a page paid from credit", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const response = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { headers: Record<string, string> };
    expect(Object.keys(echoed.headers).filter((name) => name.startsWith("signature"))).toEqual([]);
    expect(echoed.headers["crawler-max-price"]).toBe("USD 0.01");
  });

  it("should refuse to spend credit on a signature without a nonce", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const response = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
      sign: { nonce: null },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("nonce");
  });
});

/** Tenant B's payee: not the address crawl credit is sold to. */
const TENANT_B = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** The crawl table plus two tenants by host (A paid to PAY_TO, B to TENANT_B) and other terms. */
function tenantTable(): Record<string, unknown> {
  const table = crawlTable();
  return {
    ...table,
    rules: [
      {
        path: "/shop/*",
        free: true,
        crawlerPrice: "$0.002",
        payee: { map: "tenants", from: "host" },
      },
      { path: "/mainnet/*", free: true, crawlerPrice: "$0.002", network: "eip155:8453" },
      { path: "/payee/*", free: true, crawlerPrice: "$0.002", payee: { from: "origin" } },
      ...(table["rules"] as unknown[]),
    ],
    payees: { tenants: { "a.paywall.test": PAY_TO, "b.paywall.test": TENANT_B } },
  };
}

function offered(response: Response): { network: string; payTo: string; amount: string } {
  const required = decodeHeader<{
    accepts: Array<{ network: string; payTo: string; amount: string }>;
  }>(response.headers.get("PAYMENT-REQUIRED"));
  return required.accepts[0]!;
}

describe("credit and the page's payee, network and asset", () => {
  beforeEach(async () => {
    await putTable(tenantTable());
  });

  it("should not spend credit bought for one payee on a tenant page owed to another payee", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const max = { "crawler-max-price": "USD 0.01" };
    const pathA = `/shop/${unique()}`;
    const tenantA = await crawl(pathA, { key, base: "https://a.paywall.test", headers: max });
    expect(tenantA.status).toBe(200);
    expect(tenantA.headers.get("crawler-charged")).toBe("USD 0.005");
    expect(tenantA.headers.get("crawler-credit-remaining")).toBe("USD 0.045");

    const pathB = `/shop/${unique()}`;
    const tenantB = await crawl(pathB, { key, base: "https://b.paywall.test", headers: max });
    expect(tenantB.status).toBe(402);
    expect(tenantB.headers.get("crawler-price")).toBe("USD 0.005");
    expect(tenantB.headers.get("crawler-charged")).toBeNull();
    expect(offered(tenantB).payTo).toBe(TENANT_B);
    expect(await originSaw(pathB)).toBe(0);

    // Tenant B's page cost the credit nothing.
    const again = await crawl(`/shop/${unique()}`, {
      key,
      base: "https://a.paywall.test",
      headers: max,
    });
    expect(again.headers.get("crawler-credit-remaining")).toBe("USD 0.04");
  });

  it("should not spend credit bought on one network on a page priced on another", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const path = `/mainnet/${unique()}`;
    const response = await crawl(path, { key, headers: { "crawler-max-price": "USD 0.01" } });
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(offered(response).network).toBe("eip155:8453");
    expect(await originSaw(path)).toBe(0);
  });

  it("should not spend credit on a page whose payee the origin names, and quote the origin's payee", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const response = await crawl(`/payee/${TENANT_B}/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(response.headers.get("crawler-charged")).toBeNull();
    expect(offered(response).payTo).toBe(TENANT_B);
  });

  it("should not spend credit bought for a payee after the table names another one", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    await putTable({ ...crawlTable(), defaults: { payTo: TENANT_B } });
    const path = `/blog/${unique()}`;
    const response = await crawl(path, { key, headers: { "crawler-max-price": "USD 0.01" } });
    expect(response.status).toBe(402);
    expect(offered(response).payTo).toBe(TENANT_B);
    expect(await originSaw(path)).toBe(0);
  });

  it("should move a balance kept before per-payee balances to the table's credit terms", async () => {
    const key = freshKey();
    const { thumbprint } = (await crawlerKeys())[key]!;
    const namespace = env.CRAWL_CREDIT as DurableObjectNamespace<CrawlerCredit>;
    const stub = namespace.get(namespace.idFromName(thumbprint));
    await runInDurableObject(stub, (_: CrawlerCredit, state) => {
      state.storage.sql.exec(
        "INSERT INTO account (id, keyid, balance) VALUES (1, ?, '20000')",
        thumbprint,
      );
    });
    const response = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("crawler-credit-remaining")).toBe("USD 0.015");
  });

  it("should quote a crawler without price headers the origin's payee, never an empty one", async () => {
    const response = await crawl(`/payee/${TENANT_B}/${unique()}`);
    expect(response.status).toBe(402);
    expect(response.headers.get("crawler-price")).toBe("USD 0.005");
    expect(offered(response).payTo).toBe(TENANT_B);
  });
});

describe("answers that deliver no content, paid from credit", () => {
  it("should debit nothing for a HEAD and never forward it as a paid request (regression: a HEAD was debited)", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const path = `/blog/${unique()}`;
    const head = await crawl(path, {
      key,
      method: "HEAD",
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(head.status).toBe(402);
    expect(head.headers.get("crawler-price")).toBe("USD 0.005");
    expect(await originSaw(path)).toBe(0);
    const page = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("crawler-credit-remaining")).toBe("USD 0.045");
  });

  it("should give the credit back for a redirect and pass it on without its body (regression: a 302 was debited)", async () => {
    const key = freshKey();
    expect((await topUp("0.05", { key })).status).toBe(200);
    const path = `/status/302/${unique()}`;
    const redirect = await crawl(path, { key, headers: { "crawler-max-price": "USD 0.01" } });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("crawler-charged")).toBeNull();
    expect(await redirect.text()).toBe("");
    const page = await crawl(`/blog/${unique()}`, {
      key,
      headers: { "crawler-max-price": "USD 0.01" },
    });
    expect(page.headers.get("crawler-credit-remaining")).toBe("USD 0.045");
  });
});
