import { Hono } from "hono/tiny";
import { receiptsCsv } from "../../ledger";
import { EVM_ADDRESS, SOLANA_ADDRESS } from "../../pricing";
import { usdOf } from "../money";
import type { OperatorContext, OperatorEnv } from "../deps";
import { adminError, needLedger } from "./answers";
import { iso, withIsoDates } from "./dates";
import { timeRange, whole } from "./queries";
import type { Parsed } from "./queries";

/**
 * Admin calls on the receipts ledger: list or export receipts (JSON or CSV) and sum revenue. Each
 * call first moves receipts parked in KV (written while D1 was failing) into the ledger, so what
 * the operator sees is complete.
 */

const MAX_LIMIT = 10_000;

/** The receipts routes, mounted under `/__x402/admin`. */
export function receiptRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/receipts", async (c) => {
    const needed = needLedger(c);
    if (needed.type === "respond") return needed.response;
    const ledger = needed.part;
    const parsed = receiptQuery(c);
    if (!parsed.ok) return adminError(c, 400, "bad_request", parsed.reason);
    const query = parsed.value;
    const format = c.req.query("format") ?? "json";
    if (format !== "json" && format !== "csv") {
      return adminError(c, 400, "bad_request", 'format is "json" or "csv"');
    }
    const parked = await ledger.drain();
    const receipts = await ledger.list(query);
    if (format === "csv") {
      return c.body(receiptsCsv(receipts), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="receipts.csv"',
      });
    }
    const next = receipts.length === query.limit ? receipts[receipts.length - 1]?.id : undefined;
    const listed = receipts.map((receipt) => withIsoDates(receipt, ["time"]));
    return c.json({ receipts: listed, next: next ?? null, parked });
  });

  routes.get("/revenue", async (c) => {
    const needed = needLedger(c);
    if (needed.type === "respond") return needed.response;
    const ledger = needed.part;
    const parsed = timeRange(c);
    if (!parsed.ok) return adminError(c, 400, "bad_request", parsed.reason);
    const range = parsed.value;
    const parked = await ledger.drain();
    const summary = await ledger.summary(range.from, range.to);
    const usd = (buckets: typeof summary.totals) =>
      buckets.map((b) => ({ ...b, usd: usdOf(b.network, b.asset, b.amount) }));
    // Totals are per network and asset only: they have no key of their own.
    const sums = (buckets: typeof summary.totals) =>
      usd(buckets).map(({ key: _key, ...sum }) => sum);
    return c.json({
      from: iso(summary.from),
      to: iso(summary.to),
      totals: sums(summary.totals),
      byDay: usd(summary.byDay),
      byRoute: usd(summary.byRoute),
      byCrawler: usd(summary.byCrawler),
      credit: sums(summary.credit),
      parked,
    });
  });

  return routes;
}

/** The receipts query: a time range, a payer, a page size and where the page starts. */
function receiptQuery(c: OperatorContext): Parsed<{
  from: number;
  to: number;
  payer: string | undefined;
  limit: number;
  before: number | undefined;
}> {
  const range = timeRange(c, false);
  if (!range.ok) return range;
  const payer = c.req.query("payer");
  if (payer !== undefined && !EVM_ADDRESS.test(payer) && !SOLANA_ADDRESS.test(payer)) {
    return fail("payer must be a 0x address (EVM) or a Base58 public key (Solana)");
  }
  const limit = whole(c.req.query("limit"), 100);
  if (limit === undefined || limit < 1 || limit > MAX_LIMIT) {
    return fail(`limit is a whole number from 1 to ${MAX_LIMIT}`);
  }
  const before = whole(c.req.query("before"), 0);
  if (before === undefined) return fail("before is a receipt id (the `next` of the previous page)");
  // Receipts keep EVM addresses in lower case and Base58 ones as written (src/schemes).
  const folded = payer !== undefined && EVM_ADDRESS.test(payer) ? payer.toLowerCase() : payer;
  return { ok: true, value: { ...range.value, payer: folded, limit, before: before || undefined } };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
