import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { createOutbox, isQueued, nextRetry, queueReceipt, sendBatch } from "./outbox";
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
 * One Durable Object per payer (SQLite-backed) records every payment of that payer the paywall is
 * working on or has finished, keyed by the EIP-3009 authorization (asset and nonce). It is the lock
 * that makes a payment settle at most once however many copies arrive at once, and the memory that
 * answers a retry with the first outcome (x402 V2 spec §10.1: nothing off chain stops a payload
 * from being verified twice before it settles; this does).
 *
 * Each method runs its SQL without awaiting, so it is atomic under concurrent requests.
 *
 * Why one file of about 550 lines: it is the payment's state machine (drawn below) and the one
 * class whose SQL moves a row between its states; splitting the moves apart would hide which
 * move the machine forbids. The replays' table lives apart (replays.ts), and so does the outbox
 * (outbox.ts): the ledger receipts of settled payments, which this object writes to D1.
 *
 * A payment's life in the lock (the `state` column; "released" deletes the row):
 *
 *   (none) ──claim──▶ settling ──finish settled──▶ settled
 *                        │  ├──finish released (a fresh claim: nothing was charged)──▶ (none)
 *                        │  └──finish pending (settle answer lost, 5xx, garbage)──▶ pending
 *   settling, older than STALE_CLAIM_MS ──claim──▶ settling, taken over as abandoned
 *   pending ──claim (a copy of the payment)──▶ settling, with `pending_since` kept
 *   A claim of another request (resource or method) than the row's changes nothing (conflict).
 *   settling/pending with `pending_since` (the outcome was once unknown) move on only by proof:
 *     ──finish settled, receipt with a transaction (a chain proof or a new settlement)──▶ settled
 *     ──finish refused (cancelled or diverted on chain)──▶ refused (copies get a 402, reason kept)
 *     ──finish released + proof "expired" (past validBefore, never used on chain)──▶ (none)
 *   Abandoned (`abandoned_at` set, kept for good): a claim left `settling` too long. Its request
 *   may still be at a slow origin, or it served the content and its "settled" record (written
 *   after the answer) was lost: unlike a pending payment, whose content was withheld, it is
 *   never served again; proven paid it is settled (copies get the receipt), proven unpaid
 *   refused or released, and otherwise it stays pending.
 *   pending, or settling older than STALE_CLAIM_MS (then marked abandoned) ──resolve (the
 *     operator's chain check)──▶ pending with its transaction noted, refused, or (none) when
 *     expired unused.
 *
 * Who moves it: `claim` by any request bringing the payment; `finish` by the request holding
 * the claim; `resolve` by the operator's check (admin API). The SQL of each move names the
 * states it may start from, so a move the diagram does not show changes nothing: a pending
 * payment never becomes settled without a transaction, never released without proof of expiry.
 *
 * Columns of `payments`: `key` `<asset>|<nonce>`; `payload_hash` SHA-256 of the payload;
 * `payment_id` the client's payment-identifier; `resource` what the payment buys (the claim's
 * `resource`, e.g. `GET https://example.com/a`; older rows hold the URL alone); `state` as
 * above; `receipt` the settlement response JSON (settled); `updated_at` last move (ms); `settled_at`
 * when settled (ms); `purge_at` when the row is forgotten (ms); added later (migrated in
 * place, NULL on older rows): `pending_since` when its outcome first became unknown (ms);
 * `tx` a settlement transaction the chain proved for it; `note` why it is pending or refused
 * (the last check's outcome); `checked_at` when the chain was last read for it (ms);
 * `abandoned_at` when its claim was found abandoned (ms; see above).
 *
 * A "settled" outcome may carry the payment's ledger receipt (`ledger`): it is queued in the
 * `outbox` table in the same SQL as the move, and only when this call settled the payment (or it
 * was settled already with the same receipt: a retry of the call); the object then writes it to
 * D1 itself (outbox.ts), so the Worker makes no D1 call for a paid request.
 *
 * Storage schema of `payments`, `replays` and `outbox`, with an example row and each row's
 * lifetime: docs/storage.md#payments-durable-object-payments.
 */

/** What a request asks for when it brings a payment. */
export interface Claim {
  /** `<asset>|<nonce>` of the authorization, lower case. */
  key: string;
  /** SHA-256 of the payment payload as sent: the same key with another payload is another payment. */
  payloadHash: string;
  /** The client's `payment-identifier`, if any. */
  paymentId: string | undefined;
  /**
   * What the payment buys, as the lock compares it: the method and the resource URL
   * (`GET https://example.com/a`), and for a payment bound to a party (a crawl-credit top-up:
   * the key credited) a space and that binding. A claim for another one never takes the
   * payment over.
   */
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
  /**
   * The settlement's outcome is unknown (it timed out) and the content was withheld; this
   * request holds it now and may resolve it only by proof, then serve it once.
   * `transaction`: one the chain proved already.
   */
  | {
      type: "pending";
      since: number;
      transaction: string | undefined;
      /** What a metered stream that went out before its settlement owes (atomic units). */
      charged: string | undefined;
      /**
       * Whether the content went out before the settlement (a metered stream): then no copy is
       * served it again. False: it was withheld, and the copy that settles it gets it. Undefined
       * for a payment recorded before this was kept.
       */
      served: boolean | undefined;
    }
  /**
   * Its claim was abandoned (left `settling` for `STALE_CLAIM_MS`): the content may have gone
   * out, or still be on its way, with the first request. This request holds it now and may only
   * conclude it by proof (settled with the receipt, or unpaid), never serve it. `since`: the
   * abandoned claim's last move; `paymentId` and `resource` as the payment was first claimed.
   */
  | {
      type: "abandoned";
      since: number;
      transaction: string | undefined;
      paymentId: string | null;
      resource: string;
    }
  /** The chain showed this authorization will never pay (cancelled, diverted); `reason` says how. */
  | { type: "refused"; reason: string }
  /** The payment id was used with another payment. */
  | { type: "conflict"; reason: string };

/** A finished attempt, as the request that held the claim reports it. */
export type Outcome =
  /**
   * Settled; a claim that was pending needs a receipt with a transaction (the proof). `ledger`:
   * the payment's ledger receipt (src/ledger `Receipt`) as JSON, for this object to write to D1.
   */
  | { type: "settled"; receipt: string; ledger?: string | undefined }
  /** Unknown still; `note` says why, `transaction` one the chain proved (content not served). */
  | {
      type: "pending";
      note?: string | undefined;
      transaction?: string | undefined;
      /** The amount a served metered stream owes, kept so a copy can settle it. */
      charged?: string | undefined;
      /** The content went out before the settlement (a metered stream); once true, kept. */
      served?: boolean | undefined;
    }
  /**
   * Nothing was charged (invalid, origin error, settlement refused): the payload may come again.
   * A claim that was pending is released only with `proof: "expired"` (never used on chain).
   */
  | { type: "released"; proof?: "expired" | undefined }
  /** The chain showed it will never pay (cancelled, diverted): copies are refused with `reason`. */
  | { type: "refused"; reason: string };

/**
 * What became of the ledger receipt a "settled" outcome carried: written to D1 (`recorded`),
 * kept in the outbox for a retry because D1 failed or was slow (`queued`), or not taken
 * (`declined`: none was given, this call did not settle the payment, or there is no `LEDGER`);
 * a declined receipt is the caller's to record.
 */
export type Handoff = "recorded" | "queued" | "declined";

/** The operator's chain check of a pending payment (admin API). */
export type Verdict =
  | { type: "paid"; transaction: string }
  | { type: "refused"; reason: string }
  | { type: "expired" }
  | { type: "unknown"; note: string };

/** A request that died while holding a claim leaves it `settling`; after this long it is pending. */
export const STALE_CLAIM_MS = 120_000;
/** How long a settled payment is remembered beyond its authorization's validity. */
export const KEEP_SETTLED_MS = 24 * 3600_000;
/** The most outbox batches one call or alarm writes (the rest wait for the next alarm). */
const MAX_BATCHES = 20;

interface PaymentRow extends Record<string, SqlStorageValue> {
  key: string;
  payload_hash: string;
  payment_id: string | null;
  resource: string;
  state: "settling" | "settled" | "pending" | "refused";
  receipt: string | null;
  updated_at: number;
  settled_at: number | null;
  purge_at: number;
  pending_since: number | null;
  tx: string | null;
  note: string | null;
  checked_at: number | null;
  abandoned_at: number | null;
  charged: string | null;
  served: number | null;
}

/** Columns added after the first release, with their types (added in place when missing). */
const ADDED_COLUMNS: ReadonlyArray<[string, string]> = [
  ["pending_since", "INTEGER"],
  ["tx", "TEXT"],
  ["note", "TEXT"],
  ["checked_at", "INTEGER"],
  ["abandoned_at", "INTEGER"],
  ["charged", "TEXT"],
  ["served", "INTEGER"],
];

export class PaymentLocks extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The outbox's write to D1 under way, shared by every caller that waits for it. */
  private sending: Promise<void> | undefined;
  /** The alarm as this instance last set it (null: none; undefined: not known), to skip resets. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS payments (
        key TEXT PRIMARY KEY, payload_hash TEXT NOT NULL, payment_id TEXT UNIQUE,
        resource TEXT NOT NULL, state TEXT NOT NULL, receipt TEXT,
        updated_at INTEGER NOT NULL, settled_at INTEGER, purge_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS payments_purge ON payments(purge_at);`);
    const present = new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('payments')")
        .toArray()
        .map((c) => c.name),
    );
    for (const [name, type] of ADDED_COLUMNS) {
      if (!present.has(name)) this.sql.exec(`ALTER TABLE payments ADD COLUMN ${name} ${type}`);
    }
    createReplays(this.sql);
    createOutbox(this.sql);
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
    if (row?.state === "refused") {
      return { type: "refused", reason: row.note ?? "this authorization will never pay" };
    }
    if (row?.state === "settling" && now - row.updated_at < STALE_CLAIM_MS) return { type: "busy" };
    if (row && !sameResource(row.resource, claim.resource)) {
      // A payment buys the request it was first sent with, never one elsewhere.
      return {
        type: "conflict",
        reason: "this payment was first sent for another resource or method; it buys only that",
      };
    }
    if (row && claim.digest !== undefined && otherRequest(this.sql, claim.key, claim.digest)) {
      // The payment's first request may have run at the origin: it never buys another one.
      return {
        type: "conflict",
        reason: "this payment was first sent with another request (method, resource or body)",
      };
    }
    const purgeAt = Math.max(claim.validUntil, now) + STALE_CLAIM_MS;
    // A pending row, or a claim abandoned while settling: its settlement may have gone through.
    const since = row?.pending_since ?? row?.updated_at ?? now;
    // Abandoned once, abandoned for good: its content may have gone out.
    const abandoned = row !== undefined && (row.state === "settling" || row.abandoned_at !== null);
    this.sql.exec(
      `INSERT INTO payments (key, payload_hash, payment_id, resource, state, updated_at, purge_at)
         VALUES (?, ?, ?, ?, 'settling', ?, ?)
       ON CONFLICT(key) DO UPDATE SET state = 'settling', updated_at = excluded.updated_at,
         pending_since = COALESCE(pending_since, ?), abandoned_at = COALESCE(abandoned_at, ?)`,
      claim.key,
      claim.payloadHash,
      claim.paymentId ?? null,
      claim.resource,
      now,
      purgeAt,
      since,
      abandoned ? now : null,
    );
    if (claim.digest !== undefined) recordRequest(this.sql, claim.key, claim.digest);
    this.rearm();
    if (!row) return { type: "acquired" };
    const transaction = row.tx ?? undefined;
    return abandoned
      ? { type: "abandoned", since, transaction, paymentId: row.payment_id, resource: row.resource }
      : {
          type: "pending",
          since,
          transaction,
          charged: row.charged ?? undefined,
          served: row.served === null ? undefined : row.served === 1,
        };
  }

  /**
   * Records how the attempt that held the claim ended; a move the state machine forbids is a
   * no-op. Resolves once a ledger receipt it took is in D1 or queued for a retry.
   */
  async finish(key: string, outcome: Outcome): Promise<Handoff> {
    if (!this.move(key, outcome)) return "declined";
    await this.sendOutbox();
    return isQueued(this.sql, key) ? "queued" : "recorded";
  }

  /** The move of `finish`, in one synchronous run of SQL; true when it queued a ledger receipt. */
  private move(key: string, outcome: Outcome): boolean {
    const now = Date.now();
    const keepUntil = now + KEEP_SETTLED_MS;
    switch (outcome.type) {
      case "released":
        // A fresh claim lets go; a once-pending one only on proof it expired unused.
        this.sql.exec(
          `DELETE FROM payments WHERE key = ? AND (
             (state = 'settling' AND pending_since IS NULL) OR
             (? = 1 AND state IN ('settling', 'pending')))`,
          key,
          outcome.proof === "expired" ? 1 : 0,
        );
        // The request's digest goes with its payment (a pending one keeps it: see `claim`).
        if (!this.row("SELECT * FROM payments WHERE key = ?", key)) forgetRequest(this.sql, key);
        return false;
      case "pending":
        this.sql.exec(
          `UPDATE payments SET state = 'pending', updated_at = ?, purge_at = MAX(purge_at, ?),
             pending_since = COALESCE(pending_since, ?), note = COALESCE(?, note),
             tx = COALESCE(?, tx), charged = COALESCE(?, charged),
             served = MAX(COALESCE(served, 0), ?)
           WHERE key = ? AND state = 'settling'`,
          now,
          keepUntil,
          now,
          outcome.note ?? null,
          outcome.transaction ?? null,
          outcome.charged ?? null,
          outcome.served === true ? 1 : 0,
          key,
        );
        break;
      case "refused":
        this.sql.exec(
          `UPDATE payments SET state = 'refused', note = ?, updated_at = ?,
             purge_at = MAX(purge_at, ?)
           WHERE key = ? AND state IN ('settling', 'pending') AND pending_since IS NOT NULL`,
          outcome.reason,
          now,
          keepUntil,
          key,
        );
        break;
      case "settled": {
        // Once pending, only a receipt naming its transaction (the proof) settles it.
        const moved = this.sql
          .exec(
            `UPDATE payments SET state = 'settled', receipt = ?, updated_at = ?, settled_at = ?,
               purge_at = MAX(purge_at, ?), note = NULL
             WHERE key = ? AND state IN ('settling', 'pending') AND (pending_since IS NULL OR
               COALESCE(json_extract(?, '$.transaction'), '') != '')
             RETURNING key`,
            outcome.receipt,
            now,
            now,
            keepUntil,
            key,
            outcome.receipt,
          )
          .toArray().length;
        if (outcome.ledger === undefined || !this.env.LEDGER) {
          this.rearm();
          return false;
        }
        // A retry of this call (the same receipt) finds it settled: its receipt is queued again,
        // once (one outbox row per payment; D1 keeps one row per transaction and nonce).
        const again =
          moved === 0 &&
          this.row("SELECT * FROM payments WHERE key = ?", key)?.receipt === outcome.receipt;
        const queued = (moved > 0 || again) && queueReceipt(this.sql, key, outcome.ledger, now);
        this.rearm();
        return queued;
      }
    }
    this.rearm();
    return false;
  }

  /**
   * The operator's chain check of a payment that is pending (not while a request holds it):
   * a proven transfer is noted (the payer's next copy is served at once), a cancelled or
   * diverted authorization is refused, an expired unused one released. Returns the state after
   * (`null`: no such payment any more).
   */
  resolve(key: string, verdict: Verdict): { state: PaymentRow["state"] | null } {
    const now = Date.now();
    const row = this.row("SELECT * FROM payments WHERE key = ?", key);
    if (!row) return { state: null };
    const pending =
      row.state === "pending" ||
      (row.state === "settling" && now - row.updated_at >= STALE_CLAIM_MS);
    if (!pending) return { state: row.state };
    if (verdict.type === "expired") {
      this.sql.exec("DELETE FROM payments WHERE key = ? AND state = ?", key, row.state);
      forgetRequest(this.sql, key);
      return { state: null };
    }
    const [state, note, tx] =
      verdict.type === "refused"
        ? (["refused", verdict.reason, null] as const)
        : verdict.type === "paid"
          ? (["pending", `paid on chain in ${verdict.transaction}`, verdict.transaction] as const)
          : (["pending", verdict.note, null] as const);
    // A stale claim was abandoned: its content may have gone out (see `claim`).
    this.sql.exec(
      `UPDATE payments SET state = ?, note = ?, tx = COALESCE(?, tx), checked_at = ?,
         pending_since = COALESCE(pending_since, updated_at), updated_at = ?,
         abandoned_at = COALESCE(abandoned_at, ?)
       WHERE key = ? AND state = ?`,
      state,
      note,
      tx,
      now,
      now,
      row.state === "settling" ? now : null,
      key,
      row.state,
    );
    return { state };
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
   * Forgets payments whose authorizations can no longer be used (a settled or refused one after
   * a day, a pending one a day after its last attempt), writes the outbox's receipts to D1, and
   * re-arms for whichever comes first: the next purge or the next retry of a receipt D1 did not
   * take.
   */
  override async alarm(): Promise<void> {
    // The alarm that fired is gone: the next `rearm` sets one whatever it was.
    this.alarmAt = undefined;
    const now = Date.now();
    this.sql.exec("DELETE FROM payments WHERE purge_at <= ?", now);
    purgeReplays(this.sql);
    await this.sendOutbox();
    this.rearm();
  }

  /**
   * Writes the outbox's receipts to D1, a batch at a time, until it is empty or a write fails
   * (the failed ones wait for their retry). One write at a time.
   */
  private sendOutbox(): Promise<void> {
    const db = this.env.LEDGER as D1Database | undefined;
    if (!db) return Promise.resolve();
    // A caller that comes while a write is under way waits for it: it goes on until the outbox
    // is empty, so what that caller queued is in its next batch.
    if (this.sending) return this.sending;
    const sending = (async () => {
      try {
        let sent: "empty" | "sent" | "failed" = "sent";
        for (let batch = 0; batch < MAX_BATCHES && sent === "sent"; batch += 1) {
          sent = await sendBatch(this.sql, db);
        }
      } finally {
        this.sending = undefined;
        this.rearm();
      }
    })();
    this.sending = sending;
    return sending;
  }

  /**
   * Sets the alarm to the next purge or receipt retry, whichever is first (none: no alarm).
   * Computed from the tables and set in one synchronous step, so a later call's setting always
   * wins and is never undone by an earlier one's stale read of the alarm; a time already set
   * is not written again (most claims leave it as it was).
   */
  private rearm(): void {
    const purge = this.sql
      .exec<{ at: number | null }>("SELECT MIN(purge_at) AS at FROM payments")
      .one().at;
    const retry = this.env.LEDGER ? nextRetry(this.sql) : null;
    const times = [purge, retry].filter((at): at is number => at !== null);
    const at = times.length === 0 ? null : Math.max(Math.min(...times), Date.now() + 1000);
    if (at === this.alarmAt) return;
    this.alarmAt = at;
    void (at === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(at));
  }

  private row(query: string, ...args: SqlStorageValue[]): PaymentRow | undefined {
    return this.sql.exec<PaymentRow>(query, ...args).toArray()[0];
  }
}

/**
 * Whether a claim's `resource` is the one a row was claimed with. A row written before the
 * method was part of it holds the URL alone: compared with the claim's URL.
 */
export function sameResource(row: string, claim: string): boolean {
  if (row === claim) return true;
  return !row.includes(" ") && claim.split(" ")[1] === row;
}
