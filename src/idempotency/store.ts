import { DurableObject } from "cloudflare:workers";
import {
  createReplays,
  endReplay,
  forgetRequest,
  otherRequest,
  purgeReplays,
  recordRequest,
  startReplay,
} from "./replays";
import type { ReplayStart } from "./replays";

/**
 * One Durable Object per payer (SQLite-backed) records every payment of that payer the paywall
 * is working on or has finished, keyed by the EIP-3009 authorization (asset and nonce). It is
 * the lock that makes a payment settle at most once however many copies arrive at once, and
 * the memory that answers a retry with the first outcome (X402.md §3: nothing off chain stops
 * a payload from being verified twice before it settles; this does).
 *
 * Each method runs its SQL without awaiting, so it is atomic under concurrent requests.
 */

/** What a request asks for when it brings a payment. */
export interface Claim {
  /** `<asset>|<nonce>` of the authorization, lower case. */
  key: string;
  /** SHA-256 of the payment payload as sent: the same key with another payload is another payment. */
  payloadHash: string;
  /** The client's `payment-identifier`, if any. */
  paymentId: string | undefined;
  /** The resource the payment is for. */
  resource: string;
  /** When the authorization stops being valid (ms since epoch): the record is kept at least that long. */
  validUntil: number;
  /**
   * With a payment id: the digest of the request (method, resource, body) that brings it; a
   * settled payment is served again only to the same request (src/idempotency/replays.ts).
   */
  digest?: string | undefined;
}

/** How a claim was answered. */
export type ClaimResult =
  /** This request owns the payment now: verify, forward, settle, then report. */
  | { type: "acquired" }
  /** Another request is working on this payment right now. */
  | { type: "busy" }
  /** The payment was settled; `receipt` is the settlement response as JSON. */
  | {
      type: "settled";
      receipt: string;
      paymentId: string | null;
      resource: string;
      settledAt: number;
    }
  /** The settlement's outcome is unknown (it timed out); this request may resolve it. */
  | { type: "pending" }
  /** The payment id was used with another payment. */
  | { type: "conflict"; reason: string };

/** A finished attempt, as the request that held the claim reports it. */
export type Outcome =
  | { type: "settled"; receipt: string }
  | { type: "pending" }
  /** Nothing was charged (invalid, origin error, settlement refused): the payload may come again. */
  | { type: "released" };

/** A request that died while holding a claim leaves it `settling`; after this long it is pending. */
export const STALE_CLAIM_MS = 120_000;
/** How long a settled payment is remembered beyond its authorization's validity. */
export const KEEP_SETTLED_MS = 24 * 3600_000;

interface PaymentRow extends Record<string, SqlStorageValue> {
  key: string;
  payload_hash: string;
  payment_id: string | null;
  resource: string;
  state: "settling" | "settled" | "pending";
  receipt: string | null;
  updated_at: number;
  settled_at: number | null;
  purge_at: number;
}

export class PaymentLocks extends DurableObject<object> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS payments (
        key TEXT PRIMARY KEY, payload_hash TEXT NOT NULL, payment_id TEXT UNIQUE,
        resource TEXT NOT NULL, state TEXT NOT NULL, receipt TEXT,
        updated_at INTEGER NOT NULL, settled_at INTEGER, purge_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS payments_purge ON payments(purge_at);`);
    createReplays(this.sql);
  }

  /** Claims a payment for one request, or says who has it and how it ended. */
  claim(claim: Claim): ClaimResult {
    const now = Date.now();
    if (claim.paymentId !== undefined) {
      const byId = this.row("SELECT * FROM payments WHERE payment_id = ?", claim.paymentId);
      if (byId && (byId.key !== claim.key || byId.payload_hash !== claim.payloadHash)) {
        return {
          type: "conflict",
          reason: "this payment id was already used with another payment",
        };
      }
    }
    const row = this.row("SELECT * FROM payments WHERE key = ?", claim.key);
    if (row && row.payload_hash !== claim.payloadHash) {
      // Same authorization nonce, other bytes: a tampered copy; the chain would take only one.
      return { type: "conflict", reason: "another payment with this authorization nonce is known" };
    }
    if (row?.state === "settled" && row.receipt !== null) {
      return {
        type: "settled",
        receipt: row.receipt,
        paymentId: row.payment_id,
        resource: row.resource,
        settledAt: row.settled_at ?? row.updated_at,
      };
    }
    if (row?.state === "settling" && now - row.updated_at < STALE_CLAIM_MS) return { type: "busy" };
    if (row && claim.digest !== undefined && otherRequest(this.sql, claim.key, claim.digest)) {
      // The payment's first request may have run at the origin: it never buys another one.
      return {
        type: "conflict",
        reason: "this payment was first sent with another request (method, resource or body)",
      };
    }
    const purgeAt = Math.max(claim.validUntil, now) + STALE_CLAIM_MS;
    const pending = row !== undefined;
    this.sql.exec(
      `INSERT INTO payments (key, payload_hash, payment_id, resource, state, updated_at, purge_at)
         VALUES (?, ?, ?, ?, 'settling', ?, ?)
       ON CONFLICT(key) DO UPDATE SET state = 'settling', updated_at = excluded.updated_at`,
      claim.key,
      claim.payloadHash,
      claim.paymentId ?? null,
      claim.resource,
      now,
      purgeAt,
    );
    if (claim.digest !== undefined) recordRequest(this.sql, claim.key, claim.digest);
    this.schedule(purgeAt);
    return pending ? { type: "pending" } : { type: "acquired" };
  }

  /** Records how the attempt that held the claim ended. */
  finish(key: string, outcome: Outcome): void {
    const now = Date.now();
    if (outcome.type === "released") {
      this.sql.exec("DELETE FROM payments WHERE key = ? AND state != 'settled'", key);
      forgetRequest(this.sql, key);
      return;
    }
    if (outcome.type === "pending") {
      const purgeAt = now + KEEP_SETTLED_MS;
      this.sql.exec(
        `UPDATE payments SET state = 'pending', updated_at = ?, purge_at = MAX(purge_at, ?)
           WHERE key = ? AND state = 'settling'`,
        now,
        purgeAt,
        key,
      );
      this.schedule(purgeAt);
      return;
    }
    const purgeAt = now + KEEP_SETTLED_MS;
    this.sql.exec(
      `UPDATE payments SET state = 'settled', receipt = ?, updated_at = ?, settled_at = ?,
         purge_at = MAX(purge_at, ?) WHERE key = ?`,
      outcome.receipt,
      now,
      now,
      purgeAt,
      key,
    );
    this.schedule(purgeAt);
  }

  /**
   * Starts serving a settled payment's content again to a retry whose request has `digest`:
   * granted only to the paid request's digest, one at a time, a bounded number of times.
   */
  startReplay(key: string, digest: string): ReplayStart {
    return startReplay(this.sql, key, digest, Date.now());
  }

  /** Reports that a granted replay's answer went out or failed: the next one may start. */
  endReplay(key: string): void {
    endReplay(this.sql, key);
  }

  /**
   * Forgets payments whose authorizations can no longer be used (a settled one after a day, a
   * pending one a day after its last attempt), and re-arms for the next.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec("DELETE FROM payments WHERE purge_at <= ?", now);
    purgeReplays(this.sql);
    const next = this.sql
      .exec<{ at: number | null }>("SELECT MIN(purge_at) AS at FROM payments")
      .one().at;
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(next, now + 1000));
  }

  private row(query: string, ...args: SqlStorageValue[]): PaymentRow | undefined {
    return this.sql.exec<PaymentRow>(query, ...args).toArray()[0];
  }

  private schedule(at: number): void {
    void this.ctx.storage.getAlarm().then((current) => {
      if (current === null || current > at) return this.ctx.storage.setAlarm(at);
    });
  }
}
