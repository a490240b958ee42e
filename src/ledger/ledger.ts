import { RECEIPT_PENDING_PREFIX } from "../kv/keys";
import { D1Ledger } from "./d1-ledger";
import type { PaidRow, PaidStep, ReceiptQuery, RevenueSummary, StoredReceipt } from "./d1-ledger";
import { PendingPayments } from "./pending";
import { parseReceipt, paymentKey } from "./receipt";
import type { Receipt } from "./receipt";

/**
 * The receipts ledger as the paywall and the admin API use it. A payment settled under its
 * payer's lock hands its receipt to the lock with the outcome (src/idempotency/outbox.ts): the
 * payer's object writes it to D1, or keeps it in its outbox and retries, so the Worker makes no
 * D1 call for it. Other receipts (no `PAYMENTS` binding, a crawl-credit top-up, a lock that could
 * not take it) take the direct path: one D1 write, made just after the paid answer goes out (in
 * `waitUntil`). The ledger's reads in the same isolate first wait for receipt writes still in
 * flight, either path. If a direct write fails or takes longer than `timeoutMs`, the receipt is
 * parked in KV (a second, independent store) and moved into D1 by the next admin read; the
 * unique constraints make that move exactly-once even if the slow D1 write did land. Only if
 * both stores fail is the receipt written to the log in full, as `ledger: receipt lost` with its
 * JSON, so nothing is silently dropped.
 */

/** What recording a settlement did. */
export type RecordOutcome =
  | { type: "recorded" }
  | { type: "duplicate" }
  | { type: "parked"; reason: string }
  | { type: "lost"; reason: string };

/** How long the paid path waits for D1 before parking the receipt in KV. */
export const LEDGER_WRITE_TIMEOUT_MS = 2000;
/** How many parked receipts one admin read moves into D1. */
const DRAIN_BATCH = 100;

/** Receipt writes of this isolate still in flight (made after their paid answers went out). */
const inFlight = new Set<Promise<unknown>>();

/** Resolves once every receipt write this isolate has started has finished. */
export async function receiptsWritten(): Promise<void> {
  await Promise.allSettled([...inFlight]);
}

/** The ledger: receipts in D1, with KV as the fallback for writes D1 could not take. */
export class ReceiptsLedger {
  private readonly d1: D1Ledger;
  private readonly kv: KVNamespace;
  private readonly timeoutMs: number;
  /** The operator's index of payments whose settlement outcome is unknown (pending.ts). */
  readonly pending: PendingPayments;

  constructor(db: D1Database, kv: KVNamespace, timeoutMs = LEDGER_WRITE_TIMEOUT_MS) {
    this.d1 = new D1Ledger(db);
    this.pending = new PendingPayments(db);
    this.kv = kv;
    this.timeoutMs = timeoutMs;
  }

  /** Records one settlement; never throws, never loses a receipt without logging it whole. */
  async record(receipt: Receipt): Promise<RecordOutcome> {
    const written = await withTimeout(this.d1.record(receipt), this.timeoutMs);
    if (written.type !== "failed") return written;
    try {
      const key = `${RECEIPT_PENDING_PREFIX}${paymentKey(receipt)}`;
      await this.kv.put(key, JSON.stringify(receipt));
      return { type: "parked", reason: written.reason };
    } catch (error) {
      const reason = `${written.reason}; parking it in KV failed too: ${String(error)}`;
      console.error("ledger: receipt lost", reason, JSON.stringify(receipt));
      return { type: "lost", reason };
    }
  }

  /** Moves parked receipts into D1; returns how many are still parked after this pass. */
  async drain(): Promise<number> {
    await receiptsWritten();
    const listed = await this.kv.list({ prefix: RECEIPT_PENDING_PREFIX, limit: DRAIN_BATCH });
    let left = 0;
    for (const { name } of listed.keys) {
      const receipt = parseReceipt(await this.kv.get(name));
      if (!receipt) {
        left += 1;
        continue;
      }
      const written = await this.d1.record(receipt);
      if (written.type === "failed") left += 1;
      else await this.kv.delete(name);
    }
    return listed.list_complete ? left : left + DRAIN_BATCH;
  }

  /** Receipts, newest first. */
  async list(query: ReceiptQuery): Promise<StoredReceipt[]> {
    await receiptsWritten();
    return this.d1.list(query);
  }

  /** Revenue totals and groupings over a time range. */
  async summary(from: number, to: number): Promise<RevenueSummary> {
    await receiptsWritten();
    return this.d1.summary(from, to);
  }

  /** Settled payments per rule and crawler over a time range (the funnel's "paid"). */
  async paidBy(from: number, to: number): Promise<PaidRow[]> {
    await receiptsWritten();
    return this.d1.paidBy(from, to);
  }

  /** Settled payments per time step of `stepMs` over a time range. */
  async paidSteps(from: number, to: number, stepMs: number): Promise<PaidStep[]> {
    await receiptsWritten();
    return this.d1.paidSteps(from, to, stepMs);
  }

  /** Payers whose payments opened sessions since `since`, most recent first. */
  async sessionPayers(since: number, limit: number): Promise<string[]> {
    await receiptsWritten();
    return this.d1.sessionPayers(since, limit);
  }
}

/**
 * A settled payment's receipt as the record step holds it. `handedOver`, when the receipt went
 * to the payer's lock with the payment's outcome (src/idempotency/store.ts), resolves to whether
 * the lock took it: then the payer's object writes it to D1 (at once, or from its outbox when D1
 * fails) and nothing is written here; otherwise (the lock could not be reached, or did not
 * settle the payment with this call) it is written here, as on the direct path.
 */
export interface ReceiptToRecord {
  receipt: Receipt;
  handedOver?: Promise<boolean> | undefined;
}

/**
 * Records `receipt` unless the payer's lock took it (see `ReceiptToRecord`). Never rejects; the
 * ledger's reads in this isolate wait for it, the lock's D1 write included.
 */
export async function recordReceipt(
  ledger: ReceiptsLedger | undefined,
  { receipt, handedOver }: ReceiptToRecord,
): Promise<void> {
  const writing = (async () => {
    if (handedOver && (await handedOver)) return;
    if (!ledger) return;
    const outcome = await ledger.record(receipt);
    if (outcome.type === "parked") console.error("ledger: receipt parked in KV", outcome.reason);
  })();
  inFlight.add(writing);
  try {
    await writing;
  } finally {
    inFlight.delete(writing);
  }
}

/**
 * Writes `receipts` to the D1 ledger in one batch, exactly once each (the payer objects' outbox
 * uses it: src/idempotency/outbox.ts); `failed` when D1 fails or takes over `timeoutMs` (the
 * write may still land: the unique constraints make a retry harmless). Never throws.
 */
export function writeReceipts(
  db: D1Database,
  receipts: readonly Receipt[],
  timeoutMs = LEDGER_WRITE_TIMEOUT_MS,
): Promise<{ type: "written"; added: number } | { type: "failed"; reason: string }> {
  return withTimeout(new D1Ledger(db).recordAll(receipts), timeoutMs);
}

async function withTimeout<T extends { type: string }>(
  work: Promise<T>,
  ms: number,
): Promise<T | { type: "failed"; reason: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<{ type: "failed"; reason: string }>((resolve) => {
    timer = setTimeout(() => resolve({ type: "failed", reason: `D1 took over ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
