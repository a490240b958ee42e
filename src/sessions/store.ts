import { DurableObject } from "cloudflare:workers";
import { MAX_LEASE } from "./local";
import { MAX_CARRIED } from "./owed";
import type { GrantInput, Owed } from "./owed";
import { APPLIED_KEEP_MS, SPENDS_SCHEMA, Spends } from "./spends";
import { REVOCATIONS_SCHEMA, Revocations } from "./revocations";
import { priceMismatch } from "./scope";
import type { HeldPrice, Want } from "./scope";

/**
 * One Durable Object per payer (SQLite-backed) holds everything that payer's sessions need:
 * entitlements bought by payments, the hashes of the tokens that open them, and the SIWx nonces
 * already redeemed. Each method runs its SQL without awaiting anything, so it is atomic: use
 * counts stay exact however many requests arrive at once. An alarm purges what has expired.
 *
 * Why one file of nearly 500 lines: a Durable Object's methods are its transactions, and each
 * must see every table it moves in one synchronous block; the tables that can live apart already
 * do (spends.ts, revocations.ts), and what stays here are the methods of one class.
 *
 * Every write an isolate may have to repeat (the call's answer was lost, or the store could not
 * be reached) is applied at most once, by an id: a grant by its payment, a refund by its own id,
 * the return of a call's unspent uses by the call's id. Each use-counted spend is recorded with
 * its caller (src/sessions/spends.ts), so the store can tell uses leased to another isolate,
 * which come back, from a pass that is spent.
 *
 * A revocation is remembered (src/sessions/revocations.ts) as long as a write made before it may
 * still arrive: a grant an isolate owed since the store could not be reached when the payment
 * settled is refused if the payer's passes (all, or of its scope) were revoked after it was made,
 * and a revoked token is never stored again, so an owed grant never undoes a revocation.
 *
 * Tables (all in this payer's object; the alarm purges each row at its time):
 * - `entitlements`: one per payment, `{id: "9a0b…", payer: "0x7099…", scope: "route:shop.example
 *   * * /api/*", network: "eip155:84532", asset: "0x036c…", amount: "1000", created_at, expires_at,
 *   uses_left: 4, purge_at, payment: "eip155:84532:0x33…"}`, kept until it expires (or, its uses
 *   spent, `REFUND_WINDOW_MS` more for a last refund).
 * - `tokens`: `{hash: "<SHA-256 of the token>", entitlement: "9a0b…", created_at}`, as long as
 *   their entitlement; at most `MAX_TOKENS_PER_ENTITLEMENT` each.
 * - `nonces`: redeemed SIWx nonces `{nonce, expires_at}`, until the proof expires.
 * - `spends`, `applied`: src/sessions/spends.ts, kept `APPLIED_KEEP_MS` (15 minutes).
 * - `revocations` (src/sessions/revocations.ts), kept `REVOCATION_KEEP_MS` (15 minutes, three
 *   times as long as an isolate keeps an owed write) after the revocation:
 *   `{what: "all", revoked_at: 1800000000000, purge_at: 1800000900000}` (revokeEntitlements()
 *   of every scope: grants made at or before `revoked_at` are refused),
 *   `{what: "scope:route:shop.example * * /api/*", revoked_at: …, purge_at: …}` (of one scope),
 *   `{what: "token:<SHA-256 of the token>", revoked_at: …, purge_at: …}` (revokeToken(): that
 *   token is never stored again, whether the store knew it or not).
 *
 * Storage schema, with an example row and each row's lifetime:
 * docs/storage.md#sessions-durable-object-sessions.
 */

export type { GrantInput, Owed } from "./owed";

/** Who makes a `useToken` call (src/sessions/service.ts). */
export interface Caller {
  /** Random per call: names the lease it takes, and what a lost answer gives back. */
  call: string;
  /** Random per isolate: with the token, tells the caller's own leases from other isolates'. */
  holder: string;
}

/** A request let in (or not) by a session. */
export type Access =
  | {
      ok: true;
      entitlement: string;
      payer: string;
      /** Ms since epoch, or null without a time limit. */
      expiresAt: number | null;
      /** Uses left after this one (after all `granted` ones), or null without a use limit. */
      remaining: number | null;
      /** Uses spent by this call: 1, or up to the `count` asked of `useToken`. */
      granted?: number;
      /** The entitlement's scope and price (from `useToken`), to check later uses against. */
      held?: HeldPrice & { scope: string };
    }
  /**
   * `retry`: refused for now only (uses leased to another isolate may come back). `ownLeases`:
   * the calls whose leases of this pass the caller itself holds (spent, or not in its memory yet).
   */
  | { ok: false; reason: string; retry?: true; ownLeases?: string[] };

/** An entitlement as the admin API lists it. */
export interface EntitlementView extends HeldPrice {
  id: string;
  payer: string;
  scope: string;
  createdAt: number;
  expiresAt: number | null;
  remaining: number | null;
  payment: string;
  tokens: number;
}

/** Kept after uses run out, so an origin error on the last use can still be refunded. */
const REFUND_WINDOW_MS = 10 * 60_000;
/** The most uses one call spends or gives back: a request's and a lease's. */
const MAX_USES_PER_CALL = 1 + MAX_LEASE;
/** Tokens kept per entitlement (each SIWx sign-in issues one); the oldest go first. */
const MAX_TOKENS_PER_ENTITLEMENT = 20;
/** The most owed writes one call applies. */
const MAX_OWED_PER_CALL = 2 * MAX_CARRIED;
/** Why a request found a pass's last uses leased elsewhere: retry, do not pay again. */
const LEASED_ELSEWHERE =
  "this pass's last uses are held by another server for a moment; retry shortly (nothing was charged)";

interface EntitlementRow extends Record<string, SqlStorageValue> {
  id: string;
  payer: string;
  scope: string;
  network: string;
  asset: string;
  amount: string;
  created_at: number;
  expires_at: number | null;
  uses_left: number | null;
  payment: string;
}

export class PayerSessions extends DurableObject<object> {
  private readonly sql: SqlStorage;
  private readonly spends: Spends;
  private readonly revocations: Revocations;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS entitlements (
        id TEXT PRIMARY KEY, payer TEXT NOT NULL, scope TEXT NOT NULL,
        network TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL,
        created_at INTEGER NOT NULL, expires_at INTEGER, uses_left INTEGER,
        purge_at INTEGER, payment TEXT NOT NULL UNIQUE);
      CREATE INDEX IF NOT EXISTS entitlements_scope ON entitlements(scope);
      CREATE INDEX IF NOT EXISTS entitlements_purge ON entitlements(purge_at);
      CREATE TABLE IF NOT EXISTS tokens (
        hash TEXT PRIMARY KEY, entitlement TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS tokens_entitlement ON tokens(entitlement);
      CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);${SPENDS_SCHEMA}${REVOCATIONS_SCHEMA}`);
    this.spends = new Spends(this.sql, (at) => this.schedule(at));
    this.revocations = new Revocations(this.sql, (at) => this.schedule(at));
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Records a settled payment's entitlement, spends the paid request's use, stores its token.
   * Idempotent: the same payment with the same token answers the pass as it stands, spending
   * nothing more; with another token it is refused.
   */
  grant(input: GrantInput): Access {
    return this.record(input, Date.now());
  }

  /**
   * Applies writes an isolate owes (each at most once, by its id); an isolate retries them
   * until this returns.
   */
  catchUp(owed: Owed[]): void {
    this.apply(owed, Date.now());
  }

  private record(input: GrantInput, now: number): Access {
    const existing = this.sql
      .exec<EntitlementRow>("SELECT * FROM entitlements WHERE payment = ?", input.payment)
      .toArray()[0];
    if (existing) {
      const same = this.count(
        "SELECT COUNT(*) AS n FROM tokens WHERE hash = ? AND entitlement = ?",
        input.tokenHash,
        existing.id,
      );
      if (same === 0) return { ok: false, reason: "this payment already granted a session" };
      return {
        ok: true,
        entitlement: existing.id,
        payer: existing.payer,
        expiresAt: existing.expires_at,
        remaining: existing.uses_left,
      };
    }
    if (this.spends.applied(`revoked:${input.payment}`)) {
      return { ok: false, reason: "the session this payment bought was revoked" };
    }
    const at = typeof input.at === "number" && Number.isFinite(input.at) ? input.at : now;
    const start = Math.min(at, now);
    if (this.revocations.grantRevoked(input.want.scope, start)) {
      // Made before the operator revoked the payer's passes (an owed grant arriving late).
      return { ok: false, reason: "the session this payment bought was revoked" };
    }
    const expiresAt = input.ttlSeconds === undefined ? null : start + input.ttlSeconds * 1000;
    if (expiresAt !== null && expiresAt <= now) {
      return {
        ok: false,
        reason: "the session this payment bought expired before it was recorded",
      };
    }
    const id = crypto.randomUUID();
    const usesLeft = input.uses === undefined ? null : input.uses - 1;
    const purgeAt = usesLeft === 0 ? min(expiresAt, now + REFUND_WINDOW_MS) : expiresAt;
    const { want } = input;
    this.sql.exec(
      `INSERT INTO entitlements (id, payer, scope, network, asset, amount, created_at,
        expires_at, uses_left, purge_at, payment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      input.payer.toLowerCase(),
      want.scope,
      want.network,
      want.asset,
      want.amount,
      now,
      expiresAt,
      usesLeft,
      purgeAt,
      input.payment,
    );
    this.schedule(purgeAt);
    if (!this.addToken(input.tokenHash, id, now)) {
      // The pass stands (a sign-in opens it); the token the operator revoked does not.
      return { ok: false, reason: "the session token was revoked" };
    }
    return { ok: true, entitlement: id, payer: input.payer, expiresAt, remaining: usesLeft };
  }

  /**
   * Spends uses of the entitlement a token opens, if it opens this request: one for the request,
   * and up to `count - 1` more leased to the isolate that asks (src/sessions/local.ts), as far as
   * the uses left go. `granted` says how many were spent. The writes the caller owes are applied
   * first. A pass whose last uses are leased to another caller answers `retry`; one whose last
   * uses the caller itself leased (or nobody) is spent.
   */
  useToken(tokenHash: string, want: Want, count = 1, caller?: Caller, owed: Owed[] = []): Access {
    const now = Date.now();
    this.apply(owed, now);
    if (caller && this.spends.seen(caller.call)) {
      // Given up by its caller (its answer was taken for lost): never spent late.
      return { ok: false, reason: "this call was withdrawn; retry", retry: true };
    }
    const row = this.sql
      .exec<EntitlementRow>(
        `SELECT e.* FROM tokens t JOIN entitlements e ON e.id = t.entitlement WHERE t.hash = ?`,
        tokenHash,
      )
      .toArray()[0];
    if (!row) {
      return { ok: false, reason: "the session token is not valid (unknown, expired or revoked)" };
    }
    if (row.scope !== want.scope) {
      return { ok: false, reason: `the session token is for another scope (${row.scope})` };
    }
    const mismatch = priceMismatch(row, want);
    if (mismatch) return { ok: false, reason: mismatch };
    const batch = Number.isSafeInteger(count) ? Math.min(Math.max(count, 1), MAX_USES_PER_CALL) : 1;
    const access = this.spend(row, now, batch, caller && { ...caller, token: tokenHash });
    if (!access.ok) return access;
    const held = { scope: row.scope, network: row.network, asset: row.asset, amount: row.amount };
    return { ...access, held };
  }

  /**
   * Redeems a checked SIWx proof: the nonce is used up whatever follows; then the payer's live
   * entitlement for this request (the one ending soonest) is spent and a fresh token stored.
   */
  signIn(nonce: string, nonceExpiresAt: number, want: Want, tokenHash: string): Access {
    const now = Date.now();
    if (this.count("SELECT COUNT(*) AS n FROM nonces WHERE nonce = ?", nonce) > 0) {
      return { ok: false, reason: "this sign-in was already used; sign the fresh challenge" };
    }
    const live = this.sql
      .exec<EntitlementRow>(
        `SELECT * FROM entitlements WHERE scope = ? AND (expires_at IS NULL OR expires_at > ?)
         ORDER BY expires_at IS NULL, expires_at, created_at`,
        want.scope,
        now,
      )
      .toArray()
      .filter((candidate) => priceMismatch(candidate, want) === undefined);
    const row = live.find((candidate) => candidate.uses_left === null || candidate.uses_left > 0);
    if (!row && live.some((candidate) => this.spends.leasedElsewhere(candidate.id, now))) {
      // The proof stays good: the same sign-in may be sent again once the uses are back.
      return { ok: false, reason: LEASED_ELSEWHERE, retry: true };
    }
    this.sql.exec("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", nonce, nonceExpiresAt);
    this.schedule(nonceExpiresAt);
    if (!row) {
      return {
        ok: false,
        reason: "this address holds no live session for this resource; pay once to get one",
      };
    }
    const access = this.spend(row, now);
    if (access.ok) this.addToken(tokenHash, row.id, now);
    return access;
  }

  /**
   * Gives back uses spent on requests the origin failed to answer, or leased to an isolate and
   * not spent (`count`, at most one call's).
   */
  private giveBack(entitlement: string, count = 1): void {
    const uses = Number.isSafeInteger(count) ? Math.min(Math.max(count, 1), MAX_USES_PER_CALL) : 1;
    this.sql.exec(
      `UPDATE entitlements SET uses_left = uses_left + ?, purge_at = expires_at
         WHERE id = ? AND uses_left IS NOT NULL`,
      uses,
      entitlement,
    );
  }

  /** This payer's entitlements, newest first. */
  list(): EntitlementView[] {
    return this.sql
      .exec<EntitlementRow & { tokens: number }>(
        `SELECT e.*, (SELECT COUNT(*) FROM tokens t WHERE t.entitlement = e.id) AS tokens
           FROM entitlements e ORDER BY created_at DESC`,
      )
      .toArray()
      .map((row) => ({
        id: row.id,
        payer: row.payer,
        scope: row.scope,
        network: row.network,
        asset: row.asset,
        amount: row.amount,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        remaining: row.uses_left,
        payment: row.payment,
        tokens: row.tokens,
      }));
  }

  /**
   * Revokes one token; true when it existed. Remembered either way, so a grant carrying it
   * that is still owed (src/sessions/owed.ts) does not store it again.
   */
  revokeToken(tokenHash: string): boolean {
    const found = this.count("SELECT COUNT(*) AS n FROM tokens WHERE hash = ?", tokenHash);
    this.sql.exec("DELETE FROM tokens WHERE hash = ?", tokenHash);
    this.revocations.token(tokenHash, Date.now());
    return found > 0;
  }

  /**
   * Revokes the payer's entitlements (all, or those of one scope) and their tokens, and those
   * whose grant is still owed by an isolate: a grant made before now is refused when it lands.
   */
  revokeEntitlements(scope?: string): number {
    const where = scope === undefined ? "" : " WHERE scope = ?";
    const args = scope === undefined ? [] : [scope];
    const now = Date.now();
    this.revocations.passes(scope, now);
    // A grant of these payments retried later must not bring them back.
    const keepUntil = now + APPLIED_KEEP_MS;
    this.sql.exec(
      `INSERT OR IGNORE INTO applied (id, purge_at)
         SELECT 'revoked:' || payment, ? FROM entitlements${where}`,
      keepUntil,
      ...args,
    );
    this.schedule(keepUntil);
    this.sql.exec(
      `DELETE FROM tokens WHERE entitlement IN (SELECT id FROM entitlements${where})`,
      ...args,
    );
    const found = this.count(`SELECT COUNT(*) AS n FROM entitlements${where}`, ...args);
    this.sql.exec(`DELETE FROM entitlements${where}`, ...args);
    return found;
  }

  /**
   * Purges expired entitlements, their tokens, expired nonces, spend records and revocations
   * past their time; re-arms for the next.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec(
      `DELETE FROM tokens WHERE entitlement IN (SELECT id FROM entitlements WHERE purge_at <= ?)`,
      now,
    );
    this.sql.exec("DELETE FROM entitlements WHERE purge_at <= ?", now);
    this.sql.exec("DELETE FROM nonces WHERE expires_at <= ?", now);
    const ownNext = this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (SELECT MIN(purge_at) AS at FROM entitlements
           UNION ALL SELECT MIN(expires_at) FROM nonces)`,
      )
      .one().at;
    const times = [ownNext, this.spends.purge(now), this.revocations.purge(now)];
    const due = times.filter((at): at is number => at !== null);
    const next = due.length > 0 ? Math.min(...due) : null;
    this.alarmAt = null;
    if (next !== null) {
      this.alarmAt = Math.max(next, now + 1000);
      await this.ctx.storage.setAlarm(this.alarmAt);
    }
  }

  private spend(
    row: EntitlementRow,
    now: number,
    count = 1,
    caller?: Caller & { token: string },
  ): Access {
    if (row.expires_at !== null && row.expires_at <= now) {
      return {
        ok: false,
        reason: `the session expired at ${new Date(row.expires_at).toISOString()}`,
      };
    }
    let remaining: number | null = null;
    let granted = 1;
    if (row.uses_left !== null) {
      if (row.uses_left <= 0) {
        if (this.spends.leasedElsewhere(row.id, now, caller)) {
          return { ok: false, reason: LEASED_ELSEWHERE, retry: true };
        }
        const own = caller ? this.spends.ownLeases(row.id, now, caller) : [];
        const spent = { ok: false as const, reason: "the session has no uses left" };
        return own.length > 0 ? { ...spent, ownLeases: own } : spent;
      }
      granted = Math.min(count, row.uses_left);
      remaining = row.uses_left - granted;
      const purgeAt =
        remaining === 0 ? min(row.expires_at, now + REFUND_WINDOW_MS) : row.expires_at;
      this.sql.exec(
        "UPDATE entitlements SET uses_left = ?, purge_at = ? WHERE id = ?",
        remaining,
        purgeAt,
        row.id,
      );
      this.schedule(purgeAt);
      if (caller) this.spends.record(row.id, caller, granted, now);
    }
    return {
      ok: true,
      entitlement: row.id,
      payer: row.payer,
      expiresAt: row.expires_at,
      remaining,
      granted,
    };
  }

  /** Applies owed writes, each at most once. */
  private apply(owed: Owed[], now: number): void {
    if (!Array.isArray(owed)) return;
    for (const work of owed.slice(0, MAX_OWED_PER_CALL)) {
      if (typeof work !== "object" || work === null || typeof work.id !== "string") continue;
      if (work.type === "grant") this.record(work.grant, now);
      else if (work.type === "refund") {
        if (this.spends.applyOnce(work.id, now)) this.giveBack(work.entitlement, 1);
      } else if (work.type === "return") {
        const back = this.spends.end(work.id, work.unspent, now);
        if (back && back.uses > 0) this.giveBack(back.entitlement, back.uses);
      }
    }
  }

  private count(query: string, ...args: SqlStorageValue[]): number {
    return this.sql.exec<{ n: number }>(query, ...args).one().n;
  }

  /** Stores a token for `entitlement`; false (nothing stored) when it was revoked. */
  private addToken(hash: string, entitlement: string, now: number): boolean {
    if (this.revocations.tokenRevoked(hash)) return false;
    this.sql.exec(
      "INSERT INTO tokens (hash, entitlement, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      hash,
      entitlement,
      now,
    );
    this.sql.exec(
      `DELETE FROM tokens WHERE entitlement = ? AND hash NOT IN
         (SELECT hash FROM tokens WHERE entitlement = ? ORDER BY created_at DESC LIMIT ?)`,
      entitlement,
      entitlement,
      MAX_TOKENS_PER_ENTITLEMENT,
    );
    return true;
  }

  /** Arms the alarm for `at` unless an earlier one is already set. */
  private schedule(at: number | null): void {
    if (at === null || (this.alarmAt !== null && this.alarmAt <= at)) return;
    this.alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }
}

function min(a: number | null, b: number): number {
  return a === null ? b : Math.min(a, b);
}
