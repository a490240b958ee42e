import { PASS_MEMORY_MS } from "./local";
import { OWED_KEEP_MS } from "./owed";

/**
 * The session store's record of who spent what, so that nothing an isolate repeats is applied
 * twice and uses leased to one isolate are told apart from a spent pass. Two tables in the payer's
 * Durable Object (src/sessions/store.ts), both purged by its alarm:
 *
 * - `spends`: one row per store call that spent uses of a use-counted pass, by the call's random
 *   id: `{id: "6f1c…", entitlement: "9a0b…", holder: "<isolate id>", token: "<token hash>",
 *   granted: 4, lease_until: 1800000007000, ended: 0, purge_at: 1800000900000}`. `granted - 1`
 *   uses are leased to the calling isolate until `lease_until` (its time in the isolate and the
 *   give-back); `ended` once its unspent uses came back. A row with `granted: 0, ended: 1` bars a
 *   call its isolate gave up on from spending if it arrives late.
 * - `applied`: ids of refunds applied (`{id: "c2d4…", purge_at: …}`) and of revoked payments
 *   (`revoked:<payment>`), so a retried refund or grant changes nothing.
 *
 * Rows are kept `APPLIED_KEEP_MS`, longer than an isolate repeats a write (`OWED_KEEP_MS`).
 * Storage schema: docs/storage.md#sessions-durable-object-sessions.
 */

/**
 * How long a lease counts as out (its uses may come back): its time in the isolate and its
 * give-back. Unreturned after that (the isolate died), it counts as returned: its unspent uses are
 * lost, at most `MAX_LEASE`, but nobody is told to wait for them.
 */
export const LEASE_RETURN_MS = PASS_MEMORY_MS + 5_000;
/** How long spend and applied rows are kept. */
export const APPLIED_KEEP_MS = 3 * OWED_KEEP_MS;

/** The tables, created with the store's others. */
export const SPENDS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS spends (
    id TEXT PRIMARY KEY, entitlement TEXT NOT NULL, holder TEXT NOT NULL, token TEXT NOT NULL,
    granted INTEGER NOT NULL, lease_until INTEGER NOT NULL, ended INTEGER NOT NULL,
    purge_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS spends_leases ON spends(entitlement, ended, lease_until);
  CREATE INDEX IF NOT EXISTS spends_purge ON spends(purge_at);
  CREATE TABLE IF NOT EXISTS applied (id TEXT PRIMARY KEY, purge_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS applied_purge ON applied(purge_at);`;

/** The caller of a spend: its call id, its isolate and the token it presented. */
export interface Spender {
  call: string;
  holder: string;
  token: string;
}

interface SpendRow extends Record<string, SqlStorageValue> {
  entitlement: string;
  granted: number;
  ended: number;
}

/** The spend and applied tables of one store; `keep(at)` arms its alarm for a purge. */
export class Spends {
  constructor(
    private readonly sql: SqlStorage,
    private readonly keep: (at: number) => void,
  ) {}

  /** Whether call `id` was seen (spent, or given up by its isolate). */
  seen(id: string): boolean {
    return this.count("SELECT COUNT(*) AS n FROM spends WHERE id = ?", id) > 0;
  }

  /** Records that `spender` spent `granted` uses of `entitlement` (a lease when more than one). */
  record(entitlement: string, spender: Spender, granted: number, now: number): void {
    const keepUntil = now + APPLIED_KEEP_MS;
    this.sql.exec(
      `INSERT INTO spends (id, entitlement, holder, token, granted, lease_until, ended, purge_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
      spender.call,
      entitlement,
      spender.holder,
      spender.token,
      granted,
      granted > 1 ? now + LEASE_RETURN_MS : now,
      keepUntil,
    );
    this.keep(keepUntil);
  }

  /**
   * Whether uses of `entitlement` are leased to someone other than `caller` (the same isolate
   * with the same token) and may still come back: not returned, not run out.
   */
  leasedElsewhere(
    entitlement: string,
    now: number,
    caller?: { holder: string; token: string },
  ): boolean {
    const leases = this.count(
      `SELECT COUNT(*) AS n FROM spends WHERE entitlement = ? AND ended = 0 AND granted > 1
         AND lease_until > ? AND NOT (holder = ? AND token = ?)`,
      entitlement,
      now,
      caller?.holder ?? "",
      caller?.token ?? "",
    );
    return leases > 0;
  }

  /** The calls of `caller` (same isolate, same token) whose leases of `entitlement` are out. */
  ownLeases(entitlement: string, now: number, caller: { holder: string; token: string }): string[] {
    return this.sql
      .exec<{ id: string }>(
        `SELECT id FROM spends WHERE entitlement = ? AND ended = 0 AND granted > 1
           AND lease_until > ? AND holder = ? AND token = ?`,
        entitlement,
        now,
        caller.holder,
        caller.token,
      )
      .toArray()
      .map((row) => row.id);
  }

  /** Marks write `id` applied; false when it was already. */
  applyOnce(id: string, now: number): boolean {
    if (this.applied(id)) return false;
    const keepUntil = now + APPLIED_KEEP_MS;
    this.sql.exec("INSERT INTO applied (id, purge_at) VALUES (?, ?)", id, keepUntil);
    this.keep(keepUntil);
    return true;
  }

  /** Whether write `id` was applied. */
  applied(id: string): boolean {
    return this.count("SELECT COUNT(*) AS n FROM applied WHERE id = ?", id) > 0;
  }

  /**
   * Ends call `id`: the uses to give back (`unspent`, at most what it spent) and to which
   * entitlement, once; nothing the second time. A call never seen is barred from spending later.
   */
  end(id: string, unspent: number, now: number): { entitlement: string; uses: number } | undefined {
    const spend = this.sql
      .exec<SpendRow>("SELECT entitlement, granted, ended FROM spends WHERE id = ?", id)
      .toArray()[0];
    if (!spend) {
      const keepUntil = now + APPLIED_KEEP_MS;
      this.sql.exec(
        `INSERT INTO spends (id, entitlement, holder, token, granted, lease_until, ended,
           purge_at) VALUES (?, '', '', '', 0, 0, 1, ?)`,
        id,
        keepUntil,
      );
      this.keep(keepUntil);
      return undefined;
    }
    if (spend.ended) return undefined;
    this.sql.exec("UPDATE spends SET ended = 1 WHERE id = ?", id);
    const uses = Number.isSafeInteger(unspent) ? Math.min(Math.max(unspent, 0), spend.granted) : 0;
    return { entitlement: spend.entitlement, uses };
  }

  /** Deletes rows past their time; the earliest time left, or null. */
  purge(now: number): number | null {
    this.sql.exec("DELETE FROM spends WHERE purge_at <= ?", now);
    this.sql.exec("DELETE FROM applied WHERE purge_at <= ?", now);
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (SELECT MIN(purge_at) AS at FROM spends
           UNION ALL SELECT MIN(purge_at) FROM applied)`,
      )
      .one().at;
  }

  private count(query: string, ...args: SqlStorageValue[]): number {
    return this.sql.exec<{ n: number }>(query, ...args).one().n;
  }
}
