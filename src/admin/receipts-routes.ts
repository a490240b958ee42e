import { Hono } from "hono/tiny";
import type { Env } from "../config";
import { receiptsCsv } from "../ledger";
import { EVM_ADDRESS, SOLANA_ADDRESS } from "../pricing";
import { adminError, ledgerOr503 } from "./context";
import type { AdminContext, DepsOf } from "./context";
import { iso, withIsoDates } from "./dates";
import { usdOf } from "./money";

/**
 * Admin calls on the receipts ledger: list or export receipts (JSON or CSV) and sum revenue. Each
 * call first moves receipts parked in KV (written while D1 was failing) into the ledger, so what
 * the operator sees is complete.
 */

const DAY_MS = 86_400_000;
const MAX_LIMIT = 10_000;

/** The receipts routes, mounted under `/__x402/admin`. */
export function receiptRoutes(depsOf: DepsOf): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();

  routes.get("/receipts", async (c) => {
    const ledger = ledgerOr503(c, depsOf);
    if (ledger instanceof Response) return ledger;
    const query = receiptQuery(c);
    if (typeof query === "string") return adminError(c, 400, "bad_request", query);
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
    const ledger = ledgerOr503(c, depsOf);
    if (ledger instanceof Response) return ledger;
    const range = timeRange(c);
    if (typeof range === "string") return adminError(c, 400, "bad_request", range);
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

function receiptQuery(c: AdminContext) {
  const range = timeRange(c, false);
  if (typeof range === "string") return range;
  const payer = c.req.query("payer");
  if (payer !== undefined && !EVM_ADDRESS.test(payer) && !SOLANA_ADDRESS.test(payer)) {
    return "payer must be a 0x address (EVM) or a Base58 public key (Solana)";
  }
  const limit = whole(c.req.query("limit"), 100);
  if (limit === undefined || limit < 1 || limit > MAX_LIMIT) {
    return `limit is a whole number from 1 to ${MAX_LIMIT}`;
  }
  const before = whole(c.req.query("before"), 0);
  if (before === undefined) return "before is a receipt id (the `next` of the previous page)";
  // Receipts keep EVM addresses in lower case and Base58 ones as written (src/schemes).
  const folded = payer !== undefined && EVM_ADDRESS.test(payer) ? payer.toLowerCase() : payer;
  return { ...range, payer: folded, limit, before: before || undefined };
}

/**
 * `from` and `to` as ISO dates ("2026-11-21", "2026-11-21T10:00:00Z") or ms since the epoch;
 * by default (`days`, default 30) the last days up to now.
 */
export function timeRange(c: AdminContext, withDefault = true) {
  const now = Date.now();
  const days = whole(c.req.query("days"), 30);
  if (days === undefined || days < 1 || days > 3660) return "days is a whole number from 1 to 3660";
  const from = instant(c.req.query("from"));
  const to = instant(c.req.query("to"));
  if (from === null) return "from is an ISO date or ms since the epoch";
  if (to === null) return "to is an ISO date or ms since the epoch";
  const end = to ?? now + 1;
  const start = from ?? (withDefault || c.req.query("days") ? end - days * DAY_MS : 0);
  if (start >= end) return "from must be before to";
  return { from: start, to: end };
}

function instant(text: string | undefined): number | undefined | null {
  if (text === undefined || text === "") return undefined;
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : time;
}

function whole(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined || text === "") return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}
