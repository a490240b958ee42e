import { LEDGER_WRITE_TIMEOUT_MS, parseReceipt, writeReceipts } from "../ledger";
import type { Receipt } from "../ledger";

/**
 * The payer object's outbox: the ledger receipts of its settled payments on their way to the D1
 * ledger (src/ledger). A receipt comes with the "settled" outcome of its payment and is queued in
 * the same synchronous SQL as that move, so the Worker makes no D1 call for it; the object then
 * writes its queued receipts to D1 in one batch of `INSERT OR IGNORE` and deletes them only once
 * D1 confirmed. A failed or slow write leaves them queued, retried by the object's alarm after
 * `retryDelay` (10 s, doubling to at most 10 minutes). The ledger's unique constraints (one row
 * per transaction, one per payer's nonce) make a write that landed late, or a receipt the Worker
 * also wrote directly, count once.
 *
 * Columns of `outbox`: `key` the payment's lock key (`<asset>|<nonce>`: one row per payment, so a
 * second "settled" of it adds none); `receipt` the ledger receipt as JSON; `queued_at` (ms);
 * `attempts` D1 writes that failed; `retry_at` when the alarm writes it next (ms). Storage schema,
 * with an example row: docs/storage.md#payments-durable-object-payments.
 */

/** Receipts written to D1 in one batch. */
export const OUTBOX_BATCH = 50;
/** The first retry of a receipt D1 did not take (and the alarm's fallback for a queued one). */
export const RETRY_FIRST_MS = 10_000;
/** The longest wait between two retries. */
export const RETRY_MAX_MS = 600_000;

interface OutboxRow extends Record<string, SqlStorageValue> {
  key: string;
  receipt: string;
  attempts: number;
}

/** Creates the outbox table if it is missing. */
export function createOutbox(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      key TEXT PRIMARY KEY, receipt TEXT NOT NULL, queued_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, retry_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS outbox_retry ON outbox(retry_at);`);
}

/**
 * Queues the ledger receipt of payment `key` (its JSON); a payment already queued keeps its
 * first receipt. False when `receipt` is not a receipt (then nothing is queued).
 */
export function queueReceipt(sql: SqlStorage, key: string, receipt: string, now: number): boolean {
  if (!parseReceipt(receipt)) return false;
  sql.exec(
    `INSERT OR IGNORE INTO outbox (key, receipt, queued_at, attempts, retry_at)
     VALUES (?, ?, ?, 0, ?)`,
    key,
    receipt,
    now,
    now + RETRY_FIRST_MS,
  );
  return true;
}

/** Whether payment `key`'s receipt is still queued. */
export function isQueued(sql: SqlStorage, key: string): boolean {
  return sql.exec("SELECT 1 FROM outbox WHERE key = ?", key).toArray().length > 0;
}

/** When the next queued receipt is due, or null when none is queued. */
export function nextRetry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT MIN(retry_at) AS at FROM outbox").one().at;
}

/** How long a receipt waits after its `attempts`-th failed write. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_FIRST_MS * 2 ** Math.max(attempts - 1, 0), RETRY_MAX_MS);
}

/**
 * Writes the oldest queued receipts (up to `OUTBOX_BATCH`) to D1 in one batch: deleted once D1
 * confirmed, else kept with their next retry set. `empty`: nothing was queued.
 */
export async function sendBatch(
  sql: SqlStorage,
  db: D1Database,
  timeoutMs = LEDGER_WRITE_TIMEOUT_MS,
): Promise<"empty" | "sent" | "failed"> {
  const rows = sql
    .exec<OutboxRow>(
      "SELECT key, receipt, attempts FROM outbox ORDER BY queued_at LIMIT ?",
      OUTBOX_BATCH,
    )
    .toArray();
  if (rows.length === 0) return "empty";
  const receipts = rows.map((row) => parseReceipt(row.receipt)).filter(isReceipt);
  const written = await writeReceipts(db, receipts, timeoutMs);
  if (written.type === "written") {
    // Only the rows sent: one queued meanwhile is sent by the next batch.
    for (const row of rows) sql.exec("DELETE FROM outbox WHERE key = ?", row.key);
    return "sent";
  }
  console.error("ledger: receipts kept in the payer's outbox for a retry", written.reason);
  const now = Date.now();
  for (const row of rows) {
    sql.exec(
      "UPDATE outbox SET attempts = ?, retry_at = ? WHERE key = ?",
      row.attempts + 1,
      now + retryDelay(row.attempts + 1),
      row.key,
    );
  }
  return "failed";
}

function isReceipt(receipt: Receipt | undefined): receipt is Receipt {
  return receipt !== undefined;
}
