/**
 * The operator's index of pending payments, in the ledger's D1 database: one row per payment
 * whose settlement outcome is unknown (its answer was lost, the facilitator answered 5xx or
 * garbage, or its claim was abandoned). The payments themselves live in per-payer Durable
 * Objects (src/idempotency); this table is how an operator finds them. A row is written after
 * the answer (`waitUntil`) when a payment becomes pending and deleted when it resolves; a failed
 * write is logged, never in the way of the paid path.
 *
 * Columns: `payer`, `key` (`<asset>|<nonce>`, the lock's key) identify the payment; `network`,
 * `asset`, `pay_to`, `amount` (atomic units), `nonce`, `valid_before` (seconds) are what a chain
 * check needs; `resource` the URL paid for; `since` when it became pending (ms); `checked_at`
 * when the chain was last read for it (ms); `outcome` what that read or the last attempt said;
 * `tx` a transaction the chain proved for it (paid, content not yet served). Storage schema, with
 * an example row: docs/storage.md#pending_payments.
 */

/** One pending payment, as the operator sees it. */
export interface PendingPayment {
  payer: string;
  key: string;
  network: string;
  asset: string;
  payTo: string;
  amount: string;
  nonce: string | null;
  validBefore: number | null;
  resource: string;
  since: number;
  checkedAt: number | null;
  outcome: string | null;
  tx: string | null;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS pending_payments (
  payer TEXT NOT NULL, key TEXT NOT NULL, network TEXT NOT NULL, asset TEXT NOT NULL,
  pay_to TEXT NOT NULL, amount TEXT NOT NULL, nonce TEXT, valid_before INTEGER,
  resource TEXT NOT NULL, since INTEGER NOT NULL, checked_at INTEGER, outcome TEXT, tx TEXT,
  PRIMARY KEY (payer, key))`;

interface Row {
  payer: string;
  key: string;
  network: string;
  asset: string;
  pay_to: string;
  amount: string;
  nonce: string | null;
  valid_before: number | null;
  resource: string;
  since: number;
  checked_at: number | null;
  outcome: string | null;
  tx: string | null;
}

const ensured = new WeakSet<D1Database>();

/** Pending payments in D1; every method logs and swallows a D1 failure except `list`/`get`. */
export class PendingPayments {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  /** Records that `entry` is pending (first time: `since`; again: the outcome is updated). */
  async note(entry: PendingPayment): Promise<void> {
    try {
      await this.run(
        `INSERT INTO pending_payments (payer, key, network, asset, pay_to, amount, nonce,
           valid_before, resource, since, checked_at, outcome, tx)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (payer, key) DO UPDATE SET since = MIN(since, excluded.since),
           outcome = excluded.outcome, checked_at = COALESCE(excluded.checked_at, checked_at),
           tx = COALESCE(excluded.tx, tx)`,
        entry.payer,
        entry.key,
        entry.network,
        entry.asset,
        entry.payTo,
        entry.amount,
        entry.nonce,
        entry.validBefore,
        entry.resource,
        entry.since,
        entry.checkedAt,
        entry.outcome,
        entry.tx,
      );
    } catch (error) {
      console.error("pending payments: could not record", entry.payer, entry.key, error);
    }
  }

  /** Records a chain check's outcome. */
  async checked(payer: string, key: string, outcome: string, tx: string | null): Promise<void> {
    await this.run(
      `UPDATE pending_payments SET checked_at = ?, outcome = ?, tx = COALESCE(?, tx)
       WHERE payer = ? AND key = ?`,
      Date.now(),
      outcome,
      tx,
      payer,
      key,
    );
  }

  /** Forgets a payment that resolved (settled, refused or released). */
  async clear(payer: string, key: string): Promise<void> {
    try {
      await this.run("DELETE FROM pending_payments WHERE payer = ? AND key = ?", payer, key);
    } catch (error) {
      console.error("pending payments: could not clear", payer, key, error);
    }
  }

  /** Pending payments, oldest first. */
  async list(limit: number): Promise<PendingPayment[]> {
    const result = await this.run(
      "SELECT * FROM pending_payments ORDER BY since ASC LIMIT ?",
      limit,
    );
    return ((result.results ?? []) as unknown as Row[]).map(fromRow);
  }

  /** One pending payment, or undefined. */
  async get(payer: string, key: string): Promise<PendingPayment | undefined> {
    const result = await this.run(
      "SELECT * FROM pending_payments WHERE payer = ? AND key = ?",
      payer,
      key,
    );
    const row = (result.results ?? [])[0] as unknown as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  private async run(sql: string, ...values: Array<string | number | null>): Promise<D1Result> {
    const statement = this.db.prepare(sql).bind(...values);
    if (ensured.has(this.db)) return statement.run();
    const results = await this.db.batch([this.db.prepare(SCHEMA), statement]);
    ensured.add(this.db);
    return results[1]!;
  }
}

function fromRow(row: Row): PendingPayment {
  return {
    payer: row.payer,
    key: row.key,
    network: row.network,
    asset: row.asset,
    payTo: row.pay_to,
    amount: row.amount,
    nonce: row.nonce,
    validBefore: row.valid_before,
    resource: row.resource,
    since: row.since,
    checkedAt: row.checked_at,
    outcome: row.outcome,
    tx: row.tx,
  };
}
