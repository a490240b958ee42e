/**
 * The replay book of a payer's lock object (its own table beside `payments`): for each payment
 * sent with a `payment-identifier`, the digest of the request that claimed it (method, resource,
 * body; src/paywall/replay.ts) and how often its content was served again. A retry of a settled
 * payment is served only as that same request, one at a time, at most `MAX_REPLAYS` times, so a
 * copied header buys a copier nothing the payer's own retries would not get.
 *
 * Each function runs its SQL without awaiting: atomic inside the Durable Object.
 *
 * Table `replays`, example row:
 * `{key: "0x036c…|0xab…", digest: "9f2c…", served: 1, busy_until: 1767225600000}`;
 * a row lives as long as its payment's row (the alarm drops orphans). Storage schema:
 * docs/storage.md#payments-durable-object-payments.
 */

/** How many times a settled payment's content is served again within the replay window. */
export const MAX_REPLAYS = 3;
/** A replay whose end was never reported stops holding the payment after this long. */
export const REPLAY_HOLD_MS = 60_000;

/** How a request to serve a settled payment again was answered. */
export type ReplayStart =
  /** Serve it; report the end with `endReplay`. */
  | { type: "granted"; served: number }
  /** Another replay of this payment is being served right now. */
  | { type: "busy" }
  /** The retry is another request (method, resource or body) than the one that paid. */
  | { type: "mismatch" }
  /** The payment was served again as often as it may be. */
  | { type: "exhausted" }
  /** Nothing is known of the paid request (sent without a payment id): never served again. */
  | { type: "unknown" };

interface ReplayRow extends Record<string, SqlStorageValue> {
  digest: string;
  served: number;
  busy_until: number;
}

/** Creates the table (idempotent). */
export function createReplays(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS replays (
    key TEXT PRIMARY KEY, digest TEXT NOT NULL, served INTEGER NOT NULL,
    busy_until INTEGER NOT NULL)`);
}

/** Whether `digest` differs from the one recorded for `key` (a claim by another request). */
export function otherRequest(sql: SqlStorage, key: string, digest: string): boolean {
  const row = sql.exec<ReplayRow>("SELECT * FROM replays WHERE key = ?", key).toArray()[0];
  return row !== undefined && row.digest !== digest;
}

/** Records the request that now holds the payment's claim; nothing served again yet. */
export function recordRequest(sql: SqlStorage, key: string, digest: string): void {
  sql.exec(
    `INSERT INTO replays (key, digest, served, busy_until) VALUES (?, ?, 0, 0)
     ON CONFLICT(key) DO UPDATE SET digest = excluded.digest, served = 0, busy_until = 0`,
    key,
    digest,
  );
}

/** Starts serving a settled payment again, if `digest` is the paid request's and it may be. */
export function startReplay(
  sql: SqlStorage,
  key: string,
  digest: string,
  now: number,
): ReplayStart {
  const row = sql.exec<ReplayRow>("SELECT * FROM replays WHERE key = ?", key).toArray()[0];
  if (!row) return { type: "unknown" };
  if (row.digest !== digest) return { type: "mismatch" };
  if (row.busy_until > now) return { type: "busy" };
  if (row.served >= MAX_REPLAYS) return { type: "exhausted" };
  sql.exec(
    "UPDATE replays SET served = served + 1, busy_until = ? WHERE key = ?",
    now + REPLAY_HOLD_MS,
    key,
  );
  return { type: "granted", served: row.served + 1 };
}

/** A replay's answer went out (or failed): the next one may start. */
export function endReplay(sql: SqlStorage, key: string): void {
  sql.exec("UPDATE replays SET busy_until = 0 WHERE key = ?", key);
}

/** Forgets a payment's request once its claim was let go (nothing was charged). */
export function forgetRequest(sql: SqlStorage, key: string): void {
  sql.exec("DELETE FROM replays WHERE key = ? AND key NOT IN (SELECT key FROM payments)", key);
}

/** Drops the rows whose payment is no longer remembered. */
export function purgeReplays(sql: SqlStorage): void {
  sql.exec("DELETE FROM replays WHERE key NOT IN (SELECT key FROM payments)");
}
