import { DurableObject } from "cloudflare:workers";

/**
 * Prepaid crawl credit: one SQLite-backed Durable Object per verified crawler key (named by the
 * key's RFC 7638 thumbprint), so only the key that bought credit can spend it. Amounts are USDC
 * atomic units kept as decimal text and computed with BigInt: exact at any size.
 *
 * A key holds one balance per account (`network|asset|payTo`, account.ts): credit bought with a
 * payment to one payee is spent only on pages owed to that payee, in that asset, on that network.
 *
 * Every method runs its SQL without awaiting anything, so each is atomic: however many requests
 * arrive at once, a balance is never spent twice and never goes below zero. A top-up is recorded
 * once per settlement, whichever of its names (authorization, transaction) it comes by; a debit
 * once per signature nonce (a replayed signed request spends nothing); a debit is refunded at
 * most once. The same nonce list makes a signature single-use for the other privileges that
 * cost the seller money (a crawler price below the public one).
 *
 * Every method also takes the debits an isolate still owes back to this key (`refunds`: the
 * store could not take them when the origin failed those pages, src/credit/owed.ts) and gives
 * them back first, each at most once. A refund may name a debit the store has not seen (its call
 * failed, or is still on its way): it is recorded as given back, so that debit is never made.
 *
 * Storage schema, with an example row and each row's lifetime:
 * docs/storage.md#crawl-credit-durable-object-crawl_credit.
 */

/** A debit that went through, or why not. */
export type DebitResult =
  | { ok: true; debit: string; balance: string }
  | { ok: false; reason: "insufficient"; balance: string }
  | { ok: false; reason: "replayed" }
  | { ok: false; reason: "given-back" }
  | { ok: false; reason: "wrong-key" };

/** What one debit asks for. */
export interface DebitInput {
  /** The key thumbprint the request was verified with. */
  keyid: string;
  /** The balance to spend (account.ts): the page's network, asset and payee. */
  account: string;
  /** USDC atomic units. */
  amount: string;
  /** The signature's nonce, remembered until `nonceExpiresAt` (ms). */
  nonce: string;
  nonceExpiresAt: number;
  /** The resource served, for the ledger. */
  resource: string;
  /**
   * The debit's id, chosen by the caller so a debit whose answer was lost can be given back by
   * it (and is never made once given back); a new one when absent.
   */
  id?: string | undefined;
}

/** A credited top-up, or a settlement already credited before (nothing added twice). */
export type TopUpResult =
  | { ok: true; added: string; balance: string; duplicate: boolean }
  | { ok: false; reason: "wrong-key" };

/** A signature nonce recorded as used now, or why not. */
export type NonceResult = { ok: true } | { ok: false; reason: "replayed" | "wrong-key" };

/** Debits are kept this long for refunds and inspection. */
const LEDGER_MS = 24 * 3600_000;
/** The most owed refunds one call applies. */
const MAX_REFUNDS_PER_CALL = 32;

interface Row extends Record<string, SqlStorageValue> {
  balance: string;
  keyid: string;
}

export class CrawlerCredit extends DurableObject<object> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // `account.balance` is the single balance kept before balances were per account; it moves to
    // the first account a top-up or debit names (the table's credit terms: see adopt()).
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS account (
        id INTEGER PRIMARY KEY CHECK (id = 1), keyid TEXT NOT NULL, balance TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS topups (
        payment TEXT PRIMARY KEY, amount TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS topups_name ON topups(lower(payment));
      CREATE TABLE IF NOT EXISTS debits (
        id TEXT PRIMARY KEY, amount TEXT NOT NULL, resource TEXT NOT NULL,
        created_at INTEGER NOT NULL, refunded INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS debits_created ON debits(created_at);
      CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);`);
    const columns = this.sql.exec<{ name: string }>("PRAGMA table_info(debits)").toArray();
    if (!columns.some((c) => c.name === "account")) {
      this.sql.exec("ALTER TABLE debits ADD COLUMN account TEXT NOT NULL DEFAULT ''");
    }
  }

  /**
   * Credits a settled payment to `account` once, whatever name it comes by: `names` are the
   * settlement's names (its authorization, `network:authorization:<payer|asset|nonce>`, and its
   * transaction, `network:0x…`, when known: src/paywall/top-up-names.ts), compared without
   * case (credit is sold on EVM networks only, whose hashes and addresses are hex). Any name
   * already recorded makes it a duplicate, and the names it was not recorded by are added, so a
   * copy known by either is never credited again. An older caller sends one name as a string.
   */
  topUp(
    keyid: string,
    account: string,
    names: string | readonly string[],
    amount: string,
    refunds: string[] = [],
  ): TopUpResult {
    const given = typeof names === "string" ? [names] : names;
    const all = [...new Set(given.map((name) => String(name).toLowerCase()))];
    if (all.length === 0 || all.some((name) => name === "")) {
      throw new Error("a top-up needs the names of its settlement");
    }
    this.giveBackOwed(refunds);
    if (!this.owns(keyid)) return { ok: false, reason: "wrong-key" };
    this.adopt(account);
    const unseen = all.filter((name) => !this.credited(name));
    const now = Date.now();
    if (unseen.length < all.length) {
      // Credited before under another of its names: recorded by these too, nothing added.
      for (const name of unseen) this.recordName(name, "0", now);
      return { ok: true, added: "0", balance: this.balanceOf(account), duplicate: true };
    }
    const balance = (BigInt(this.balanceOf(account)) + BigInt(amount)).toString();
    // The first name carries the amount, the others "0": the rows add up to what was credited.
    all.forEach((name, at) => this.recordName(name, at === 0 ? amount : "0", now));
    this.setBalance(account, balance);
    return { ok: true, added: amount, balance, duplicate: false };
  }

  /** Whether a top-up was credited under `name` (lower case; older rows may be spelt in any). */
  private credited(name: string): boolean {
    const rows = this.sql.exec("SELECT 1 FROM topups WHERE lower(payment) = ?", name).toArray();
    return rows.length > 0;
  }

  private recordName(name: string, amount: string, now: number): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO topups (payment, amount, created_at) VALUES (?, ?, ?)",
      name,
      amount,
      now,
    );
  }

  /** Spends `amount` of `account` for one signed request, unless the nonce was used or credit is short. */
  debit(input: DebitInput, refunds: string[] = []): DebitResult {
    this.giveBackOwed(refunds);
    const now = Date.now();
    const owner = this.account();
    if (owner && owner.keyid !== input.keyid) return { ok: false, reason: "wrong-key" };
    this.adopt(input.account);
    const id = input.id ?? crypto.randomUUID();
    if (this.known(id)) return { ok: false, reason: "given-back" };
    if (this.used(input.nonce, now)) return { ok: false, reason: "replayed" };
    const balance = BigInt(this.balanceOf(input.account));
    const amount = BigInt(input.amount);
    if (!owner || balance < amount) {
      return { ok: false, reason: "insufficient", balance: balance.toString() };
    }
    const left = (balance - amount).toString();
    this.sql.exec(
      "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)",
      input.nonce,
      input.nonceExpiresAt,
    );
    this.sql.exec(
      "INSERT INTO debits (id, amount, resource, created_at, account) VALUES (?, ?, ?, ?, ?)",
      id,
      input.amount,
      input.resource,
      now,
      input.account,
    );
    this.sql.exec("DELETE FROM debits WHERE created_at < ?", now - LEDGER_MS);
    this.setBalance(input.account, left);
    return { ok: true, debit: id, balance: left };
  }

  /**
   * Records a signature nonce as used until `expiresAt` (ms), for a privilege that must not be
   * had twice on one signature; `replayed` when it was already used (by a debit or a use).
   */
  useNonce(keyid: string, nonce: string, expiresAt: number, refunds: string[] = []): NonceResult {
    this.giveBackOwed(refunds);
    const owner = this.account();
    if (owner && owner.keyid !== keyid) return { ok: false, reason: "wrong-key" };
    if (this.used(nonce, Date.now())) return { ok: false, reason: "replayed" };
    this.sql.exec("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", nonce, expiresAt);
    return { ok: true };
  }

  /**
   * Gives a debit back (the origin failed the request), and the other owed `refunds`; a second
   * refund of a debit changes nothing.
   */
  refund(debit: string, refunds: string[] = []): { refunded: boolean; balance: string } {
    this.giveBackOwed(refunds);
    return this.giveBack(debit);
  }

  private giveBack(debit: string): { refunded: boolean; balance: string } {
    const rows = this.sql
      .exec<{
        amount: string;
        account: string;
      }>("SELECT amount, account FROM debits WHERE id = ? AND refunded = 0", debit)
      .toArray();
    const row = rows[0];
    const owner = this.account();
    if (!row) {
      // Not made (yet): recorded as given back, so a debit arriving late with this id is refused.
      this.sql.exec(
        `INSERT OR IGNORE INTO debits (id, amount, resource, created_at, account, refunded)
         VALUES (?, '0', '', ?, '', 1)`,
        debit,
        Date.now(),
      );
      return { refunded: false, balance: "0" };
    }
    if (!owner) return { refunded: false, balance: "0" };
    if (row.account === "") {
      // A debit made before balances were per account goes back where it came from.
      const legacy = (BigInt(owner.balance) + BigInt(row.amount)).toString();
      this.sql.exec("UPDATE debits SET refunded = 1 WHERE id = ?", debit);
      this.sql.exec("UPDATE account SET balance = ? WHERE id = 1", legacy);
      return { refunded: true, balance: legacy };
    }
    this.adopt(row.account);
    const balance = (BigInt(this.balanceOf(row.account)) + BigInt(row.amount)).toString();
    this.sql.exec("UPDATE debits SET refunded = 1 WHERE id = ?", debit);
    this.setBalance(row.account, balance);
    return { refunded: true, balance };
  }

  /** The balance of `account` in atomic units ("0" for one never bought). */
  balance(account: string, refunds: string[] = []): string {
    this.giveBackOwed(refunds);
    this.adopt(account);
    return this.balanceOf(account);
  }

  /** Gives back the debits an isolate owed back (each at most once). */
  private giveBackOwed(refunds: unknown): void {
    if (!Array.isArray(refunds)) return;
    for (const debit of refunds.slice(0, MAX_REFUNDS_PER_CALL)) {
      if (typeof debit === "string") this.giveBack(debit);
    }
  }

  /** Whether a debit with this id was made or given back already. */
  private known(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM debits WHERE id = ?", id).toArray().length > 0;
  }

  private account(): Row | undefined {
    return this.sql.exec<Row>("SELECT keyid, balance FROM account WHERE id = 1").toArray()[0];
  }

  /** Whether `keyid` owns this object, making it the owner if nobody does yet. */
  private owns(keyid: string): boolean {
    const owner = this.account();
    if (owner) return owner.keyid === keyid;
    this.sql.exec("INSERT INTO account (id, keyid, balance) VALUES (1, ?, '0')", keyid);
    return true;
  }

  /** Moves a balance kept before balances were per account into `account`. */
  private adopt(account: string): void {
    const owner = this.account();
    if (!owner || owner.balance === "0" || account === "") return;
    const balance = (BigInt(this.balanceOf(account)) + BigInt(owner.balance)).toString();
    this.sql.exec("UPDATE account SET balance = '0' WHERE id = 1");
    this.setBalance(account, balance);
  }

  private used(nonce: string, now: number): boolean {
    this.sql.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    return this.sql.exec("SELECT 1 FROM nonces WHERE nonce = ?", nonce).toArray().length > 0;
  }

  private balanceOf(account: string): string {
    const rows = this.sql
      .exec<{ balance: string }>("SELECT balance FROM balances WHERE account = ?", account)
      .toArray();
    return rows[0]?.balance ?? "0";
  }

  private setBalance(account: string, balance: string): void {
    this.sql.exec(
      `INSERT INTO balances (account, balance) VALUES (?, ?)
       ON CONFLICT (account) DO UPDATE SET balance = excluded.balance`,
      account,
      balance,
    );
  }
}
