import { DurableObject } from "cloudflare:workers";

/**
 * Prepaid crawl credit: one SQLite-backed Durable Object per verified crawler key (named by the
 * key's RFC 7638 thumbprint), so only the key that bought credit can spend it. Amounts are USDC
 * atomic units kept as decimal text and computed with BigInt: exact at any size.
 *
 * Every method runs its SQL without awaiting anything, so each is atomic: however many requests
 * arrive at once, a balance is never spent twice and never goes below zero. A top-up is recorded
 * once per settlement; a debit once per signature nonce (a replayed signed request spends
 * nothing); a debit is refunded at most once.
 */

/** A debit that went through, or why not. */
export type DebitResult =
  | { ok: true; debit: string; balance: string }
  | { ok: false; reason: "insufficient"; balance: string }
  | { ok: false; reason: "replayed" }
  | { ok: false; reason: "wrong-key" };

/** What one debit asks for. */
export interface DebitInput {
  /** The key thumbprint the request was verified with. */
  keyid: string;
  /** USDC atomic units. */
  amount: string;
  /** The signature's nonce, remembered until `nonceExpiresAt` (ms). */
  nonce: string;
  nonceExpiresAt: number;
  /** The resource served, for the ledger. */
  resource: string;
}

/** A credited top-up, or a settlement already credited before (nothing added twice). */
export type TopUpResult =
  | { ok: true; added: string; balance: string; duplicate: boolean }
  | { ok: false; reason: "wrong-key" };

/** Debits are kept this long for refunds and inspection. */
const LEDGER_MS = 24 * 3600_000;

interface Row extends Record<string, SqlStorageValue> {
  balance: string;
  keyid: string;
}

export class CrawlerCredit extends DurableObject<object> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS account (
        id INTEGER PRIMARY KEY CHECK (id = 1), keyid TEXT NOT NULL, balance TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS topups (
        payment TEXT PRIMARY KEY, amount TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS debits (
        id TEXT PRIMARY KEY, amount TEXT NOT NULL, resource TEXT NOT NULL,
        created_at INTEGER NOT NULL, refunded INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS debits_created ON debits(created_at);
      CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);`);
  }

  /** Credits a settled payment (`payment` = "network:transaction") once. */
  topUp(keyid: string, payment: string, amount: string): TopUpResult {
    const account = this.account();
    if (account && account.keyid !== keyid) return { ok: false, reason: "wrong-key" };
    const seen = this.sql.exec("SELECT amount FROM topups WHERE payment = ?", payment).toArray();
    if (seen.length > 0) {
      return { ok: true, added: "0", balance: account?.balance ?? "0", duplicate: true };
    }
    const balance = (BigInt(account?.balance ?? "0") + BigInt(amount)).toString();
    this.sql.exec(
      "INSERT INTO topups (payment, amount, created_at) VALUES (?, ?, ?)",
      payment,
      amount,
      Date.now(),
    );
    this.setBalance(keyid, balance);
    return { ok: true, added: amount, balance, duplicate: false };
  }

  /** Spends `amount` for one signed request, unless the nonce was used or credit is short. */
  debit(input: DebitInput): DebitResult {
    const now = Date.now();
    const account = this.account();
    if (account && account.keyid !== input.keyid) return { ok: false, reason: "wrong-key" };
    this.sql.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    const used = this.sql.exec("SELECT 1 FROM nonces WHERE nonce = ?", input.nonce).toArray();
    if (used.length > 0) return { ok: false, reason: "replayed" };
    const balance = BigInt(account?.balance ?? "0");
    const amount = BigInt(input.amount);
    if (!account || balance < amount) {
      return { ok: false, reason: "insufficient", balance: balance.toString() };
    }
    const left = (balance - amount).toString();
    const id = crypto.randomUUID();
    this.sql.exec(
      "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)",
      input.nonce,
      input.nonceExpiresAt,
    );
    this.sql.exec(
      "INSERT INTO debits (id, amount, resource, created_at) VALUES (?, ?, ?, ?)",
      id,
      input.amount,
      input.resource,
      now,
    );
    this.sql.exec("DELETE FROM debits WHERE created_at < ?", now - LEDGER_MS);
    this.setBalance(input.keyid, left);
    return { ok: true, debit: id, balance: left };
  }

  /** Gives a debit back (the origin failed the request); a second refund changes nothing. */
  refund(debit: string): { refunded: boolean; balance: string } {
    const account = this.account();
    const rows = this.sql
      .exec<{ amount: string }>("SELECT amount FROM debits WHERE id = ? AND refunded = 0", debit)
      .toArray();
    const row = rows[0];
    if (!account || !row) return { refunded: false, balance: account?.balance ?? "0" };
    const balance = (BigInt(account.balance) + BigInt(row.amount)).toString();
    this.sql.exec("UPDATE debits SET refunded = 1 WHERE id = ?", debit);
    this.setBalance(account.keyid, balance);
    return { refunded: true, balance };
  }

  /** The balance in atomic units ("0" for a key that never bought credit). */
  balance(): string {
    return this.account()?.balance ?? "0";
  }

  private account(): Row | undefined {
    return this.sql.exec<Row>("SELECT keyid, balance FROM account WHERE id = 1").toArray()[0];
  }

  private setBalance(keyid: string, balance: string): void {
    this.sql.exec(
      `INSERT INTO account (id, keyid, balance) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET balance = excluded.balance`,
      keyid,
      balance,
    );
  }
}
