import { DurableObject } from "cloudflare:workers";
import { MAX_LEASE } from "./local";
import { priceMismatch } from "./scope";
import type { HeldPrice, Want } from "./scope";

/**
 * One Durable Object per payer (SQLite-backed) holds everything that payer's sessions need:
 * entitlements bought by payments, the hashes of the tokens that open them, and the SIWx nonces
 * already redeemed. Each method runs its SQL without awaiting anything, so it is atomic: use
 * counts stay exact however many requests arrive at once. An alarm purges what has expired.
 */

/** Entitlements bought by one payment: scope, price paid, limits. */
export interface GrantInput {
  payer: string;
  tokenHash: string;
  want: Want;
  ttlSeconds: number | undefined;
  uses: number | undefined;
  /** Settlement transaction (or another unique reference): one payment grants once. */
  payment: string;
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
  | { ok: false; reason: string };

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
      CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);`);
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Records a settled payment's entitlement, spends the paid request's use, stores its token. */
  grant(input: GrantInput): Access {
    const now = Date.now();
    const existing = this.sql
      .exec<EntitlementRow>("SELECT * FROM entitlements WHERE payment = ?", input.payment)
      .toArray()[0];
    if (existing) return { ok: false, reason: "this payment already granted a session" };
    const id = crypto.randomUUID();
    const expiresAt = input.ttlSeconds === undefined ? null : now + input.ttlSeconds * 1000;
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
    this.addToken(input.tokenHash, id, now);
    this.schedule(purgeAt);
    return { ok: true, entitlement: id, payer: input.payer, expiresAt, remaining: usesLeft };
  }

  /**
   * Spends uses of the entitlement a token opens, if it opens this request: one for the request,
   * and up to `count - 1` more leased to the isolate that asks (src/sessions/local.ts), as far as
   * the uses left go. `granted` says how many were spent.
   */
  useToken(tokenHash: string, want: Want, count = 1): Access {
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
    const access = this.spend(row, Date.now(), batch);
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
    this.sql.exec("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", nonce, nonceExpiresAt);
    this.schedule(nonceExpiresAt);
    const candidates = this.sql
      .exec<EntitlementRow>(
        `SELECT * FROM entitlements WHERE scope = ?
           AND (expires_at IS NULL OR expires_at > ?) AND (uses_left IS NULL OR uses_left > 0)
         ORDER BY expires_at IS NULL, expires_at, created_at`,
        want.scope,
        now,
      )
      .toArray();
    const row = candidates.find((candidate) => priceMismatch(candidate, want) === undefined);
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
   * not spent (`count`, at most one lease).
   */
  refund(entitlement: string, count = 1): void {
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

  /** Revokes one token; true when it existed. */
  revokeToken(tokenHash: string): boolean {
    const found = this.count("SELECT COUNT(*) AS n FROM tokens WHERE hash = ?", tokenHash);
    this.sql.exec("DELETE FROM tokens WHERE hash = ?", tokenHash);
    return found > 0;
  }

  /** Revokes the payer's entitlements (all, or those of one scope) and their tokens. */
  revokeEntitlements(scope?: string): number {
    const where = scope === undefined ? "" : " WHERE scope = ?";
    const args = scope === undefined ? [] : [scope];
    this.sql.exec(
      `DELETE FROM tokens WHERE entitlement IN (SELECT id FROM entitlements${where})`,
      ...args,
    );
    const found = this.count(`SELECT COUNT(*) AS n FROM entitlements${where}`, ...args);
    this.sql.exec(`DELETE FROM entitlements${where}`, ...args);
    return found;
  }

  /** Purges expired entitlements, their tokens and expired nonces; re-arms for the next. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec(
      `DELETE FROM tokens WHERE entitlement IN (SELECT id FROM entitlements WHERE purge_at <= ?)`,
      now,
    );
    this.sql.exec("DELETE FROM entitlements WHERE purge_at <= ?", now);
    this.sql.exec("DELETE FROM nonces WHERE expires_at <= ?", now);
    const next = this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (SELECT MIN(purge_at) AS at FROM entitlements
           UNION ALL SELECT MIN(expires_at) FROM nonces)`,
      )
      .one().at;
    this.alarmAt = null;
    if (next !== null) {
      this.alarmAt = Math.max(next, now + 1000);
      await this.ctx.storage.setAlarm(this.alarmAt);
    }
  }

  private spend(row: EntitlementRow, now: number, count = 1): Access {
    if (row.expires_at !== null && row.expires_at <= now) {
      return {
        ok: false,
        reason: `the session expired at ${new Date(row.expires_at).toISOString()}`,
      };
    }
    let remaining: number | null = null;
    let granted = 1;
    if (row.uses_left !== null) {
      if (row.uses_left <= 0) return { ok: false, reason: "the session has no uses left" };
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

  private count(query: string, ...args: SqlStorageValue[]): number {
    return this.sql.exec<{ n: number }>(query, ...args).one().n;
  }

  private addToken(hash: string, entitlement: string, now: number): void {
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
