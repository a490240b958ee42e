import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CrawlerCredit } from "../../src/credit";
import { crawlTable, freshKey, signedRequest } from "./crawler-helpers";
import { call, facilitator, paymentFor, putTable, unique } from "./helpers";

/**
 * A page paid from crawl credit is charged by the same rules as a paid request: only an answer
 * that delivers the content, a short body read whole first (one that breaks is not charged), a
 * client gone before the charge not charged. The balance always equals what was bought less the
 * price of the pages delivered.
 */

/** devbot's price on the crawl rules, in atomic units (USD 0.005). */
const PRICE = 5000n;

beforeEach(async () => {
  const table = crawlTable();
  const rules = table["rules"] as unknown[];
  // A crawl rule whose origin sends part of a short body, then breaks it.
  table["rules"] = [{ path: "/json-break/*", free: true, crawlerPrice: "$0.002" }, ...rules];
  await putTable(table);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Buys `usd` of credit for key `key`; returns the key's thumbprint. */
async function topUp(usd: string, key: number): Promise<string> {
  const path = `/__x402/crawl-credit?amount=${usd}`;
  const challenge = await call(await signedRequest(path, { key, method: "POST" }));
  const { header } = paymentFor(challenge);
  const request = await signedRequest(path, {
    key,
    method: "POST",
    headers: { "payment-signature": header },
  });
  const bought = await call(request, { FACILITATOR_URLS: facilitator("ok") });
  expect(bought.status).toBe(200);
  return ((await bought.json()) as { keyid: string }).keyid;
}

/** The key's credit store. */
function storeOf(keyid: string): DurableObjectStub<CrawlerCredit> {
  return env.CRAWL_CREDIT!.get(env.CRAWL_CREDIT!.idFromName(keyid));
}

/** The key's balance (all accounts) and how many debits stand (not given back). */
async function creditOf(keyid: string): Promise<{ balance: bigint; debits: number }> {
  return runInDurableObject(storeOf(keyid), (_object, state) => {
    const sql = state.storage.sql;
    const balances = sql.exec<{ balance: string }>("SELECT balance FROM balances").toArray();
    const debits = sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM debits WHERE refunded = 0")
      .one().n;
    return { balance: balances.reduce((sum, row) => sum + BigInt(row.balance), 0n), debits };
  });
}

/** A signed request for `path` that accepts devbot's price, from key `key`. */
function pageRequest(path: string, key: number, signal?: AbortSignal): Promise<Request> {
  return signedRequest(path, { key, headers: { "crawler-max-price": "USD 0.005" } }).then(
    (signed) => new Request(signed, signal ? { signal } : {}),
  );
}

/**
 * Makes the origin's answers to paths holding `marker` arrive after their client went away:
 * the origin answers, then `controllers` of that path aborts, then the paywall gets the answer.
 */
function abortAfterOriginAnswers(controllers: Map<string, AbortController>): void {
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const answer = await real(input, init);
    const controller = controllers.get(url.pathname);
    controller?.abort(new Error("the client went away"));
    return answer;
  });
}

/** Whether a page was delivered and charged: 200, charged, and its whole body read. */
async function delivered(response: Response): Promise<boolean> {
  const body = await response.text().catch(() => undefined);
  if (response.status !== 200 || body === undefined) return false;
  return response.headers.get("crawler-charged") === "USD 0.005";
}

describe("a page paid from crawl credit", () => {
  it("should debit a page the origin delivers exactly once", async () => {
    const key = freshKey();
    const keyid = await topUp("0.05", key);
    const before = await creditOf(keyid);
    const page = await call(await pageRequest(`/blog/${unique()}`, key));
    expect(page.status).toBe(200);
    expect(page.headers.get("crawler-charged")).toBe("USD 0.005");
    expect(page.headers.get("crawler-credit-remaining")).toBe("USD 0.045");
    expect(await page.json()).toMatchObject({ method: "GET" });
    expect(await creditOf(keyid)).toEqual({
      balance: before.balance - PRICE,
      debits: before.debits + 1,
    });
  });

  it("should not debit a page the origin answers with a 5xx", async () => {
    const key = freshKey();
    const keyid = await topUp("0.05", key);
    const before = await creditOf(keyid);
    const page = await call(await pageRequest(`/status/503/${unique()}`, key));
    expect(page.status).toBe(503);
    expect(page.headers.get("crawler-charged")).toBeNull();
    await page.body?.cancel();
    expect(await creditOf(keyid)).toEqual(before);
  });

  it("should not debit a short page whose body breaks before it is read whole (regression: debited on the origin's headers)", async () => {
    const key = freshKey();
    const keyid = await topUp("0.05", key);
    const before = await creditOf(keyid);
    const page = await call(await pageRequest(`/json-break/${unique()}`, key));
    expect(page.status).toBe(502);
    expect(page.headers.get("crawler-charged")).toBeNull();
    expect(await page.json()).toMatchObject({ error: "origin_unreachable" });
    expect(await creditOf(keyid)).toEqual(before);
  });

  it("should not debit a page whose client went away before the answer (regression: debited for a client gone)", async () => {
    const key = freshKey();
    const keyid = await topUp("0.05", key);
    const before = await creditOf(keyid);
    const path = `/blog/${unique()}`;
    const controller = new AbortController();
    abortAfterOriginAnswers(new Map([[path, controller]]));
    const page = await call(await pageRequest(path, key, controller.signal));
    expect(page.headers.get("crawler-charged")).toBeNull();
    expect(page.status).toBeGreaterThanOrEqual(400);
    await page.body?.cancel();
    expect(await creditOf(keyid)).toEqual(before);
  });

  it("should not reach the credit store for a client gone before the debit", async () => {
    const key = freshKey();
    const keyid = await topUp("0.05", key);
    const before = await creditOf(keyid);
    const controller = new AbortController();
    controller.abort(new Error("the client went away"));
    const page = await call(await pageRequest(`/blog/${unique()}`, key, controller.signal));
    expect(page.headers.get("crawler-charged")).toBeNull();
    expect(page.status).toBeGreaterThanOrEqual(400);
    await page.body?.cancel();
    const after = await runInDurableObject(storeOf(keyid), (_object, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM debits").one(),
    );
    expect({ ...(await creditOf(keyid)), made: after.n }).toEqual({ ...before, made: 0 });
  });

  it("should leave the balance at what was bought less the price of the pages delivered, whatever the origin does (randomised)", async () => {
    const key = freshKey();
    const keyid = await topUp("0.20", key); // 40 pages at USD 0.005
    const bought = (await creditOf(keyid)).balance;
    const seed = Date.now() >>> 0;
    let state = seed;
    // mulberry32: a small seeded generator, so a failing run can be told apart by its seed.
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const faults = ["page", "page", "500", "404", "302", "break", "unreachable", "gone"] as const;
    const controllers = new Map<string, AbortController>();
    abortAfterOriginAnswers(controllers);
    const plan = Array.from({ length: 24 }, () => faults[Math.floor(random() * faults.length)]!);
    const send = async (fault: (typeof faults)[number]): Promise<boolean> => {
      const id = unique();
      const path = {
        page: `/blog/${id}`,
        "500": `/status/500/${id}`,
        "404": `/status/404/${id}`,
        "302": `/status/302/${id}`,
        break: `/json-break/${id}`,
        unreachable: `/blog/${id}`,
        gone: `/blog/${id}`,
      }[fault];
      const controller = new AbortController();
      if (fault === "gone") controllers.set(path, controller);
      const request = await pageRequest(path, key, controller.signal);
      const vars = fault === "unreachable" ? { ORIGIN_URL: "http://127.0.0.1:1" } : {};
      return delivered(await call(request, vars));
    };
    let served = 0;
    // Four at a time: concurrent debits of one balance.
    for (let at = 0; at < plan.length; at += 4) {
      const batch = await Promise.all(plan.slice(at, at + 4).map(send));
      served += batch.filter(Boolean).length;
    }
    const pages = plan.filter((fault) => fault === "page").length;
    expect({ seed, served }).toEqual({ seed, served: pages });
    const after = await creditOf(keyid);
    expect({ seed, balance: after.balance }).toEqual({
      seed,
      balance: bought - PRICE * BigInt(served),
    });
    expect(after.debits).toBe(served);
  });
});
