import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import worker from "../../src/worker";
import type { Env } from "../../src/config";
import { admin, jsonOf } from "./admin-helpers";
import { crawl, crawlTable, freshKey, signedRequest } from "./crawler-helpers";
import type { Signed } from "./crawler-helpers";
import { PAY_TO, call, facilitator, paymentFor, putTable, unique } from "./helpers";

/**
 * The operator's funnel in workerd: a scripted run of challenges, payments and refusals by
 * reason is reported exactly by `GET /__x402/admin/funnel` (JSON and CSV); counts are written
 * after the answer (a hanging store never holds a 402 back); a batch whose write failed is kept
 * and written once; crawlers are named the same on credit top-ups and on pages, and credit is its
 * own line.
 */

interface Line {
  rule: string;
  route: string | null;
  crawler: string | null;
  crawlerKey: string | null;
  challenges: number;
  paid: number;
  refused: number;
  refusedBy: Record<string, number>;
  sessionUses: number;
  creditUses: number;
  creditSpent: Array<{ amount: string; usd: string | null }>;
  revenue: Array<{ amount: string; usd: string | null }>;
}
interface Report {
  lines: Line[];
  totals: Omit<Line, "rule" | "route" | "crawler" | "crawlerKey">;
  steps: Array<{ time: string; challenges: number; paid: number; refused: number }>;
  unflushed: number;
}

// Rules are counted by their stable name (`<host>/api/*`); each test
// starts from an empty funnel and ledger.
beforeEach(async () => {
  for (const table of ["funnel", "receipts"]) {
    await env
      .LEDGER!.prepare(`DELETE FROM ${table}`)
      .run()
      .catch(() => undefined);
  }
});

/** A table whose rules live on `host`. */
function tableOn(host: string, extra: Record<string, unknown> = {}) {
  return {
    version: `funnel-${host}`,
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [
      { path: "/filler/*", free: true },
      { host, path: "/api/*", price: "$0.001" },
      { host, path: "/pass/*", price: "$0.002", session: { ttl: "1h", uses: 5 } },
    ],
    ...extra,
  };
}

async function funnel(query = ""): Promise<Report> {
  const response = await admin(`/funnel?days=1${query}`);
  expect(response.status).toBe(200);
  return jsonOf<Report>(response);
}

/** The line of `route` ("host/path", as the table's listing names it) for people. */
const lineOf = (report: Report, route: string) =>
  report.lines.find((l) => l.route === route && l.crawler === null);

describe("funnel figures", () => {
  it("should report N challenges, M payments and K refusals by reason as the scripted run made them", async () => {
    const host = `shop-${unique()}.test`;
    await putTable(tableOn(host));
    const at = (path: string) => `https://${host}${path}`;
    let challenges = 0;
    const challenge = async (path: string) => {
      const response = await call(new Request(at(path)));
      expect(response.status).toBe(402);
      challenges += 1;
      return response;
    };
    const pay = async (
      path: string,
      mode: string | null,
      change?: (p: Record<string, unknown>) => void,
    ) => {
      const { header } = paymentFor(await challenge(path), change);
      const vars: Partial<Env> = {
        FACILITATOR_URLS: mode === null ? inject("deadUrl") : facilitator(mode),
      };
      return call(new Request(at(path), { headers: { "PAYMENT-SIGNATURE": header } }), vars);
    };

    // N unpaid requests (plus one challenge before each attempt below).
    for (let i = 0; i < 4; i++) await challenge(`/api/unpaid-${i}`);
    // M payments.
    for (let i = 0; i < 3; i++) expect((await pay(`/api/paid-${i}`, "ok")).status).toBe(200);
    // K refusals, each with its reason.
    expect((await pay("/api/r1", "invalid")).status).toBe(402);
    expect((await pay("/api/r2", "invalid")).status).toBe(402);
    expect((await pay("/api/r3", "expired")).status).toBe(402);
    const cheaper = (p: Record<string, unknown>) => {
      (p["accepted"] as Record<string, unknown>)["amount"] = "1";
    };
    expect((await pay("/api/r4", "ok", cheaper)).status).toBe(402);
    expect((await pay("/api/r5", "settle-fail")).status).toBe(402);
    expect((await pay("/api/r6", null)).status).toBe(503);
    const refused402 = 5;

    const report = await funnel();
    const line = lineOf(report, `${host}/api/*`)!;
    expect(line).toMatchObject({
      crawler: null,
      challenges: challenges + refused402,
      paid: 3,
      refused: 6,
      refusedBy: {
        invalid_signature: 2,
        expired: 1,
        wrong_amount: 1,
        settle_failed: 1,
        facilitator_down: 1,
      },
      sessionUses: 0,
    });
    expect(line.rule).toBe(`${host}/api/*`);
    expect(line.revenue).toEqual([expect.objectContaining({ amount: "3000", usd: "$0.003" })]);
    expect(report.unflushed).toBe(0);
    // The steps add up to the lines.
    const stepped = report.steps.reduce((n, s) => n + s.challenges, 0);
    expect(stepped).toBeGreaterThanOrEqual(line.challenges);

    const csv = await (await admin("/funnel?days=1&format=csv")).text();
    const [head, ...rows] = csv.trimEnd().split("\r\n");
    const columns = head!.split(",");
    const row = rows
      .map((r) => r.split(","))
      .find((cells) => cells[columns.indexOf("route")] === `${host}/api/*`)!;
    const cell = (name: string) => row[columns.indexOf(name)];
    expect(cell("challenges")).toBe(String(challenges + refused402));
    expect(cell("paid")).toBe("3");
    expect(cell("refused_invalid_signature")).toBe("2");
    expect(cell("refused_facilitator_down")).toBe("1");
  });

  it("should count session uses apart from the payment that bought the pass", async () => {
    const host = `pass-${unique()}.test`;
    await putTable(tableOn(host));
    const url = `https://${host}/pass/a`;
    const { header } = paymentFor(await call(new Request(url)));
    const paid = await call(new Request(url, { headers: { "PAYMENT-SIGNATURE": header } }), {
      FACILITATOR_URLS: facilitator("ok"),
    });
    expect(paid.status).toBe(200);
    const token = paid.headers.get("PAYMENT-SESSION")!;
    for (const path of ["/pass/b", "/pass/c"]) {
      const used = await call(
        new Request(`https://${host}${path}`, { headers: { "PAYMENT-SESSION": token } }),
      );
      expect(used.status).toBe(200);
    }
    expect(lineOf(await funnel(), `${host}/pass/*`)).toMatchObject({
      challenges: 1,
      paid: 1,
      refused: 0,
      sessionUses: 2,
    });
  });
});

describe("funnel writes", () => {
  it("should answer a 402 before the funnel's write finishes, and write it after", async () => {
    const host = `slow-${unique()}.test`;
    await putTable(tableOn(host));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const slowLedger = wrapD1(env.LEDGER!, async (statements, batch) => {
      if (isFunnelWrite(statements)) {
        writes += 1;
        await held;
      }
      return batch(statements);
    });
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`https://${host}/api/x`),
      { ...env, LEDGER: slowLedger },
      ctx,
    );
    // The 402 is in hand; the write starts after it and waits on the store.
    expect(response.status).toBe(402);
    expect(writes).toBe(0);
    await vi.waitUntil(() => writes === 1);
    release();
    await waitOnExecutionContext(ctx);
    expect(lineOf(await funnel(), `${host}/api/*`)?.challenges).toBe(1);
  });

  it("should keep a batch whose write failed and write it once with the next, even if it had landed", async () => {
    const host = `flaky-${unique()}.test`;
    await putTable(tableOn(host));
    let failures = 0;
    // The first funnel write lands and then reports a failure (its answer was lost); the second
    // fails outright. Neither may lose or double a count.
    const flaky = wrapD1(env.LEDGER!, async (statements, batch) => {
      if (!isFunnelWrite(statements) || failures >= 2) return batch(statements);
      failures += 1;
      if (failures === 1) await batch(statements);
      throw new Error("D1_ERROR: network connection lost");
    });
    const vars = { ...env, LEDGER: flaky };
    const send = async (path: string) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(new Request(`https://${host}${path}`), vars, ctx);
      await waitOnExecutionContext(ctx);
      return response.status;
    };
    expect(await send("/api/one")).toBe(402);
    expect(await send("/api/two")).toBe(402);
    expect(failures).toBe(2);
    expect(await send("/api/three")).toBe(402);
    expect(lineOf(await funnel(), `${host}/api/*`)?.challenges).toBe(3);
  });
});

describe("crawlers in the funnel and the ledger", () => {
  it("should name a crawler by its key directory on both its credit top-ups and its pages, with the key as detail", async () => {
    // No directory is bound to a crawler: the signer is known by its directory and key only.
    await putTable(crawlTable({ directories: {}, policies: {} }));
    const key = freshKey();
    const options: Signed = { key };
    const path = "/__x402/crawl-credit?amount=0.05";
    const topUpChallenge = await crawl(path, { ...options, method: "POST" });
    expect(topUpChallenge.status).toBe(402);
    const topUp = await call(
      await signedRequest(path, {
        ...options,
        method: "POST",
        headers: { "payment-signature": paymentFor(topUpChallenge).header },
      }),
      { FACILITATOR_URLS: facilitator("ok") },
    );
    expect(topUp.status).toBe(200);
    const keyid = ((await topUp.json()) as { keyid: string }).keyid;

    const page = `/articles/${unique()}`;
    const pageChallenge = await crawl(page, options);
    expect(pageChallenge.status).toBe(402);
    const paidPage = await call(
      await signedRequest(page, {
        ...options,
        headers: { "payment-signature": paymentFor(pageChallenge).header },
      }),
      { FACILITATOR_URLS: facilitator("ok") },
    );
    expect(paidPage.status).toBe(200);
    // A page from credit.
    const fromCredit = await crawl(`/articles/${unique()}`, {
      ...options,
      headers: { "crawler-max-price": "USD 0.05" },
    });
    expect(fromCredit.status).toBe(200);

    const host = new URL(inject("crawlerDirectories")[0]!).host;
    const receipts = await jsonOf<{ receipts: Array<Record<string, unknown>> }>(
      await admin("/receipts?limit=10"),
    );
    const mine = receipts.receipts.filter((r) => r["crawlerKey"] === keyid);
    expect(mine.map((r) => [r["rule"], r["crawler"]]).sort()).toEqual([
      ["/articles/*", host],
      ["crawlers.credit", host],
    ]);
    expect(JSON.stringify(receipts)).not.toContain(`key:${keyid}`);

    const revenue = await jsonOf<{
      byRoute: Array<{ key: string }>;
      byCrawler: Array<{ key: string; detail: string; count: number }>;
      credit: Array<{ amount: string }>;
    }>(await admin("/revenue?days=1"));
    expect(revenue.byRoute.map((b) => b.key)).not.toContain("/__x402/crawl-credit");
    expect(revenue.credit.reduce((n, b) => n + BigInt(b.amount), 0n)).toBeGreaterThanOrEqual(
      50_000n,
    );
    expect(revenue.byCrawler.filter((b) => b.detail === keyid)).toEqual([
      expect.objectContaining({ key: host, count: 2 }),
    ]);

    const report = await funnel();
    const credit = report.lines.find((l) => l.rule === "crawlers.credit" && l.crawlerKey === keyid);
    expect(credit).toMatchObject({ route: "crawl credit", crawler: host, challenges: 1, paid: 1 });
    const pages = report.lines.find((l) => l.route === "/articles/*" && l.crawlerKey === keyid);
    expect(pages).toMatchObject({ crawler: host, challenges: 1, paid: 1, creditUses: 1 });
    expect(pages?.creditSpent).toEqual([expect.objectContaining({ amount: "10000" })]);
  });
});

type Batch = (statements: D1PreparedStatement[]) => Promise<D1Result[]>;

/** A D1 database whose `batch` goes through `around`; everything else is the real one's. */
function wrapD1(
  db: D1Database,
  around: (statements: D1PreparedStatement[], batch: Batch) => Promise<D1Result[]>,
): D1Database {
  const batch: Batch = (statements) => db.batch(statements);
  return new Proxy(db, {
    get(target, name) {
      if (name === "batch") return (statements: D1PreparedStatement[]) => around(statements, batch);
      const value = Reflect.get(target, name) as unknown;
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** Whether a batch is a funnel write (it records a batch id). */
function isFunnelWrite(statements: D1PreparedStatement[]): boolean {
  return statements.some((s) =>
    String((s as unknown as { statement?: unknown }).statement).includes("funnel_batches"),
  );
}
