/**
 * The ledger's D1 schema. Created on first use in each isolate (`CREATE … IF NOT EXISTS`, sent
 * in the same batch as the first statement, so it costs no extra round trip), so a deployment
 * needs no migration step. The two UNIQUE constraints are what make recording exactly-once.
 * Storage schema, with an example row: docs/storage.md#receipts.
 */

/** Statements that create the receipts table and its indexes if they are missing. */
export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    day TEXT NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    rule TEXT NOT NULL,
    payer TEXT NOT NULL,
    pay_to TEXT NOT NULL,
    amount TEXT NOT NULL,
    asset TEXT NOT NULL,
    network TEXT NOT NULL,
    tx TEXT,
    nonce TEXT,
    crawler TEXT,
    crawler_key TEXT,
    session TEXT,
    x402_version INTEGER NOT NULL,
    UNIQUE (network, tx),
    UNIQUE (network, asset, payer, nonce))`,
  "CREATE INDEX IF NOT EXISTS receipts_time ON receipts (time)",
  "CREATE INDEX IF NOT EXISTS receipts_payer ON receipts (payer, time)",
];

/** The insert: a receipt whose transaction or nonce is already recorded changes nothing. */
export const INSERT = `INSERT OR IGNORE INTO receipts (time, day, host, path, rule, payer,
  pay_to, amount, asset, network, tx, nonce, crawler, crawler_key, session, x402_version)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Brings a receipts table made before `crawler_key` existed up to date; "duplicate column" (it is
 * there already) is the expected failure once it has run.
 */
export const ADD_CRAWLER_KEY = "ALTER TABLE receipts ADD COLUMN crawler_key TEXT";

/** A receipts row as D1 returns it. */
export interface ReceiptRow {
  id: number;
  time: number;
  day: string;
  host: string;
  path: string;
  rule: string;
  payer: string;
  pay_to: string;
  amount: string;
  asset: string;
  network: string;
  tx: string | null;
  nonce: string | null;
  crawler: string | null;
  crawler_key: string | null;
  session: string | null;
  x402_version: number;
}

/** The UTC day of a time, "2026-11-21". */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}
