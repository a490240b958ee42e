import type { FunnelBatch, FunnelSink } from "./counter";
import type { FunnelEvent } from "./outcome";

/**
 * The funnel in D1 (the `LEDGER` database): one row per minute, rule, crawler, event and reason,
 * upserted by each batch. Each upsert only applies when the batch's id is not yet recorded in
 * `funnel_batches`, and the id is recorded in the same transaction (a D1 batch is one), so a
 * batch sent again after a failure or a lost answer counts once. Old batch ids and counts are
 * pruned as batches are written. Amounts are summed as SQLite integers (64 bits: about 9.2
 * trillion USDC in atomic units); the receipts ledger keeps exact amounts. Storage schema, with an
 * example row: docs/storage.md#funnel-and-funnel_batches.
 */

/** How long per-minute counts are kept. */
export const FUNNEL_RETENTION_DAYS = 400;
/** How long a batch id is remembered (far longer than any retry). */
const BATCH_ID_DAYS = 2;
/** Rows per D1 batch (D1 limits statements per batch); larger batches go in parts. */
const ROWS_PER_WRITE = 90;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS funnel (
    minute INTEGER NOT NULL,
    rule TEXT NOT NULL,
    crawler TEXT NOT NULL,
    crawler_key TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    network TEXT NOT NULL,
    asset TEXT NOT NULL,
    count INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (minute, rule, crawler, crawler_key, event, reason, network, asset))`,
  "CREATE TABLE IF NOT EXISTS funnel_batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
];

const UPSERT = `INSERT INTO funnel (minute, rule, crawler, crawler_key, event, reason, network,
    asset, count, amount)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM funnel_batches WHERE id = ?)
  ON CONFLICT (minute, rule, crawler, crawler_key, event, reason, network, asset)
  DO UPDATE SET count = count + excluded.count, amount = amount + excluded.amount`;

/** Counts of one rule and crawler over a time range, by event (and reason, and money). */
export interface FunnelCountRow {
  rule: string;
  crawler: string;
  crawler_key: string;
  event: FunnelEvent;
  reason: string;
  network: string;
  asset: string;
  count: number;
  /** Atomic units, as a decimal string. */
  amount: string;
}

/** Counts of one event in one time step. */
export interface FunnelStepRow {
  /** Start of the step, ms since the epoch. */
  time: number;
  event: FunnelEvent;
  count: number;
}

const ensured = new WeakSet<D1Database>();

/** The funnel table of a D1 database: the counter's sink and the admin API's source. */
export class D1Funnel implements FunnelSink {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  /** Writes a batch once, whatever how often it is sent; rejects when D1 fails. */
  async write(batch: FunnelBatch): Promise<void> {
    const now = Date.now();
    for (let start = 0; start < batch.rows.length; start += ROWS_PER_WRITE) {
      // A batch too large for one D1 batch goes in parts, each under its own derived id.
      const id = start === 0 ? batch.id : `${batch.id}/${start}`;
      const rows = batch.rows.slice(start, start + ROWS_PER_WRITE);
      const upserts = rows.map((r) =>
        this.db
          .prepare(UPSERT)
          .bind(
            r.minute,
            r.rule,
            r.crawler,
            r.crawlerKey,
            r.event,
            r.reason,
            r.network,
            r.asset,
            r.count,
            Number(r.amount),
            id,
          ),
      );
      await this.batch([
        ...upserts,
        this.db
          .prepare("INSERT OR IGNORE INTO funnel_batches (id, at) VALUES (?, ?)")
          .bind(id, now),
        this.db
          .prepare("DELETE FROM funnel_batches WHERE at < ?")
          .bind(now - BATCH_ID_DAYS * 86_400_000),
        this.db
          .prepare("DELETE FROM funnel WHERE minute < ?")
          .bind(Math.floor(now / 60_000) - FUNNEL_RETENTION_DAYS * 1440),
      ]);
    }
  }

  /** Counts from `from` (inclusive) to `to` (exclusive), ms, grouped by rule, crawler and event. */
  async counts(from: number, to: number): Promise<FunnelCountRow[]> {
    const sql = `SELECT rule, crawler, crawler_key, event, reason, network, asset,
        SUM(count) AS count, CAST(SUM(amount) AS TEXT) AS amount
      FROM funnel WHERE minute >= ? AND minute < ?
      GROUP BY rule, crawler, crawler_key, event, reason, network, asset LIMIT 5000`;
    const [result] = await this.batch([this.db.prepare(sql).bind(...minutes(from, to))]);
    return (result?.results ?? []) as unknown as FunnelCountRow[];
  }

  /** Counts per event in steps of `stepMs` (a whole number of minutes). */
  async steps(from: number, to: number, stepMs: number): Promise<FunnelStepRow[]> {
    const step = Math.max(1, Math.round(stepMs / 60_000));
    const sql = `SELECT (minute / ?) * ? * 60000 AS time, event, SUM(count) AS count
      FROM funnel WHERE minute >= ? AND minute < ? GROUP BY time, event ORDER BY time LIMIT 20000`;
    const [result] = await this.batch([
      this.db.prepare(sql).bind(step, step, ...minutes(from, to)),
    ]);
    return (result?.results ?? []) as unknown as FunnelStepRow[];
  }

  /** Runs statements in one transaction, creating the tables first in a fresh isolate. */
  private async batch(statements: D1PreparedStatement[]): Promise<D1Result[]> {
    if (ensured.has(this.db)) return this.db.batch(statements);
    const schema = SCHEMA.map((sql) => this.db.prepare(sql));
    const results = await this.db.batch([...schema, ...statements]);
    ensured.add(this.db);
    return results.slice(schema.length);
  }
}

/** The minutes a ms range covers: every minute that overlaps it. */
function minutes(from: number, to: number): [number, number] {
  return [Math.floor(from / 60_000), Math.ceil(to / 60_000)];
}
