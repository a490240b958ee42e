/**
 * Every key this Worker reads or writes in the `PRICES` KV namespace, in one place.
 * Each is documented with an example record and its lifetime in docs/storage.md#kv-prices.
 */

/**
 * The live price table (JSON, see src/pricing/schema.ts). Written by operators (the admin API
 * or `wrangler kv key put`); the paywall only reads it. The admin API stores its revision in the
 * key's KV metadata (`{ revision, savedAt, sha256, note }`).
 */
export const PRICE_TABLE_KEY = "price-table";

/**
 * Kept versions of the price table, one key per revision: `price-table:rev:000012` (revision
 * zero-padded to 6 digits so keys list in order), value the table JSON, metadata as above. Only
 * the last `PRICE_TABLE_KEPT_REVISIONS` are kept.
 */
export const PRICE_TABLE_REVISION_PREFIX = "price-table:rev:";

/** How many revisions of the price table the admin API keeps for rollback. */
export const PRICE_TABLE_KEPT_REVISIONS = 10;

/**
 * Receipts the ledger could not write to D1 at payment time, parked until the next admin read
 * moves them in: `receipt-pending:<network>:<transaction or nonce>`, value the receipt JSON.
 */
export const RECEIPT_PENDING_PREFIX = "receipt-pending:";

/** The revision key of `revision`, e.g. 12 → `price-table:rev:000012`. */
export function revisionKey(revision: number): string {
  return `${PRICE_TABLE_REVISION_PREFIX}${String(revision).padStart(6, "0")}`;
}
