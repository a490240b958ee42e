import type { Receipt } from "./receipt";
import { ADD_CRAWLER_KEY, INSERT, SCHEMA, dayOf } from "./schema";
import type { ReceiptRow } from "./schema";

/**
 * The receipts ledger in D1: one row per settled payment. Recording is one `INSERT OR IGNORE`
 * (the UNIQUE constraints on the transaction and on the payer's authorization nonce make a
 * second recording of the same payment a no-op), and the operator's queries are plain SQL.
 */

/** What recording did. */
export type RecordResult =
  { type: "recorded" } | { type: "duplicate" } | { type: "failed"; reason: string };

/** A kept receipt with its ledger id (ids grow in recording order). */
export interface StoredReceipt extends Receipt {
  id: number;
}

/** Which receipts to list, newest first; `before` is an id, for paging. */
export interface ReceiptQuery {
  from?: number | undefined;
  to?: number | undefined;
  payer?: string | undefined;
  limit: number;
  before?: number | undefined;
}

/** Count and sum of one group, per network and asset (amounts never mix tokens). */
export interface Bucket {
  key: string;
  network: string;
  asset: string;
  count: number;
  /** Sum of atomic units, as a decimal string. */
  amount: string;
  /** What tells groups of one key apart: a crawler's key (thumbprint), "" when it has none. */
  detail?: string;
}

/** The rule receipts of crawl credit top-ups name (src/paywall/credit-top-up.ts). */
export const CREDIT_RULE = "crawlers.credit";

/** Revenue over a time range. */
export interface RevenueSummary {
  from: number;
  to: number;
  totals: Bucket[];
  byDay: Bucket[];
  /** Per path, crawl credit top-ups left out (they are `credit`). */
  byRoute: Bucket[];
  /** Per crawler name and key (`detail`). */
  byCrawler: Bucket[];
  /** Crawl credit sold (top-ups), one bucket per network and asset. */
  credit: Bucket[];
}

/** Settled payments of one rule and crawler, per network and asset. */
export interface PaidRow {
  rule: string;
  /** "" when no crawler paid. */
  crawler: string;
  crawler_key: string;
  network: string;
  asset: string;
  count: number;
  /** Sum of atomic units, as a decimal string. */
  amount: string;
}

/** Settled payments in one time step. */
export interface PaidStep {
  time: number;
  count: number;
}

const ensured = new WeakSet<D1Database>();

/** The ledger in a D1 database. */
export class D1Ledger {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  /** Records a receipt exactly once; never throws. */
  async record(receipt: Receipt): Promise<RecordResult> {
    const written = await this.recordAll([receipt]);
    if (written.type === "failed") return written;
    return written.added > 0 ? { type: "recorded" } : { type: "duplicate" };
  }

  /**
   * Records receipts exactly once each, in one batch (one round trip, one transaction: all or
   * none); `added` counts the new rows (the rest were recorded before). Never throws.
   */
  async recordAll(
    receipts: readonly Receipt[],
  ): Promise<{ type: "written"; added: number } | { type: "failed"; reason: string }> {
    if (receipts.length === 0) return { type: "written", added: 0 };
    try {
      const inserts = receipts.map((r) => this.db.prepare(INSERT).bind(...valuesOf(r)));
      const results = await this.batch(inserts);
      const added = results.reduce((sum, result) => sum + (result.meta.changes ?? 0), 0);
      return { type: "written", added };
    } catch (error) {
      return { type: "failed", reason: `the ledger (D1) write failed: ${String(error)}` };
    }
  }

  /** Receipts matching `query`, newest first. */
  async list(query: ReceiptQuery): Promise<StoredReceipt[]> {
    const where: string[] = [];
    const values: Array<string | number> = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      values.push(value);
    };
    add("time >= ?", query.from);
    add("time < ?", query.to);
    add("payer = ?", query.payer);
    add("id < ?", query.before);
    const sql = `SELECT * FROM receipts ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY id DESC LIMIT ?`;
    const [result] = await this.batch([this.db.prepare(sql).bind(...values, query.limit)]);
    return ((result?.results ?? []) as unknown as ReceiptRow[]).map(fromRow);
  }

  /** Revenue from `from` (inclusive) to `to` (exclusive): totals, per day, route and crawler. */
  async summary(from: number, to: number): Promise<RevenueSummary> {
    const grouped = (key: string, extra = "", detail = "") =>
      this.db
        .prepare(
          `SELECT ${key} AS key, network, asset, COUNT(*) AS count,
            CAST(SUM(CAST(amount AS INTEGER)) AS TEXT) AS amount${detail && `, ${detail} AS detail`}
          FROM receipts WHERE time >= ? AND time < ? ${extra}
          GROUP BY key, network, asset${detail && ", detail"} ORDER BY ${key === "day" ? "key" : "count DESC"} LIMIT 400`,
        )
        .bind(from, to);
    const credit = `rule = '${CREDIT_RULE}'`;
    const results = await this.batch([
      grouped("''"),
      grouped("day"),
      grouped("path", `AND ${credit} IS NOT TRUE`),
      grouped("crawler", "AND crawler IS NOT NULL", "COALESCE(crawler_key, '')"),
      grouped("''", `AND ${credit}`),
    ]);
    const rows = (i: number) => (results[i]?.results ?? []) as unknown as Bucket[];
    return {
      from,
      to,
      totals: rows(0),
      byDay: rows(1),
      byRoute: rows(2),
      byCrawler: rows(3),
      credit: rows(4),
    };
  }

  /** Payers whose payments opened sessions, most recent first (where live passes can be). */
  async sessionPayers(since: number, limit: number): Promise<string[]> {
    const sql = `SELECT payer, MAX(time) AS last FROM receipts
      WHERE session IS NOT NULL AND time >= ? GROUP BY payer ORDER BY last DESC LIMIT ?`;
    const [result] = await this.batch([this.db.prepare(sql).bind(since, limit)]);
    return ((result?.results ?? []) as Array<{ payer: string }>).map((row) => row.payer);
  }

  /**
   * Settled payments per rule and crawler from `from` (inclusive) to `to` (exclusive), per
   * network and asset: the funnel's "paid" and revenue (src/funnel).
   */
  async paidBy(from: number, to: number): Promise<PaidRow[]> {
    const sql = `SELECT rule, COALESCE(crawler, '') AS crawler, COALESCE(crawler_key, '') AS crawler_key,
        network, asset, COUNT(*) AS count, CAST(SUM(CAST(amount AS INTEGER)) AS TEXT) AS amount
      FROM receipts WHERE time >= ? AND time < ?
      GROUP BY rule, crawler, crawler_key, network, asset LIMIT 5000`;
    const [result] = await this.batch([this.db.prepare(sql).bind(from, to)]);
    return (result?.results ?? []) as unknown as PaidRow[];
  }

  /** Settled payments per time step of `stepMs`, from `from` to `to`. */
  async paidSteps(from: number, to: number, stepMs: number): Promise<PaidStep[]> {
    const sql = `SELECT (time / ?) * ? AS time, COUNT(*) AS count FROM receipts
      WHERE time >= ? AND time < ? GROUP BY 1 ORDER BY 1 LIMIT 20000`;
    const [result] = await this.batch([this.db.prepare(sql).bind(stepMs, stepMs, from, to)]);
    return (result?.results ?? []) as unknown as PaidStep[];
  }

  /** Runs statements in one round trip, creating the schema first in a fresh isolate. */
  private async batch(statements: D1PreparedStatement[]): Promise<D1Result[]> {
    if (ensured.has(this.db)) return this.db.batch(statements);
    const schema = SCHEMA.map((sql) => this.db.prepare(sql));
    let results: D1Result[];
    try {
      results = await this.db.batch([...schema, ...statements]);
    } catch (error) {
      if (!/crawler_key/.test(String(error))) throw error;
      // A table from before the column: add it (once per database) and try again.
      await this.db
        .prepare(ADD_CRAWLER_KEY)
        .run()
        .catch(() => undefined);
      results = await this.db.batch([...schema, ...statements]);
    }
    ensured.add(this.db);
    return results.slice(schema.length);
  }
}

function valuesOf(r: Receipt): Array<string | number | null> {
  return [
    r.time,
    dayOf(r.time),
    r.host,
    r.path,
    r.rule,
    r.payer,
    r.payTo,
    r.amount,
    r.asset,
    r.network,
    r.transaction,
    r.nonce,
    r.crawler,
    r.crawlerKey ?? null,
    r.session,
    r.x402Version,
  ];
}

function fromRow(row: ReceiptRow): StoredReceipt {
  return {
    id: row.id,
    time: row.time,
    host: row.host,
    path: row.path,
    rule: row.rule,
    payer: row.payer,
    payTo: row.pay_to,
    amount: row.amount,
    asset: row.asset,
    network: row.network,
    transaction: row.tx,
    nonce: row.nonce,
    crawler: row.crawler,
    crawlerKey: row.crawler_key ?? null,
    session: row.session,
    x402Version: row.x402_version,
  };
}
