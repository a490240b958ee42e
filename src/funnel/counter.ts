import type { FunnelEvent, Outcome } from "./outcome";

/**
 * The funnel's counts, kept in the isolate and written in batches after the answers went out
 * (`waitUntil`), so a 402 never waits for storage: counting is a few map updates. A batch is
 * written whole or not at all, under its own id, so a batch whose write failed (or whose answer
 * was lost after it landed) is kept as it is and sent again without counting anything twice
 * (the sink skips an id it already has, d1-funnel.ts). New counts go to the next batch.
 */

/** Where a request is counted: its rule and the crawler it came from ("" for none). */
export interface FunnelKey {
  rule: string;
  crawler: string;
  crawlerKey: string;
}

/** One counted bucket: a minute, a key, an event (with its reason or money). */
export interface FunnelRow extends FunnelKey {
  /** Minutes since the epoch (UTC). */
  minute: number;
  event: FunnelEvent;
  /** The refusal code on `refused`, else "". */
  reason: string;
  /** Network and asset of `credit` amounts, else "". */
  network: string;
  asset: string;
  count: number;
  /** Atomic units (credit spent), else 0. */
  amount: bigint;
}

/** A batch of rows written at once, named so that writing it twice counts it once. */
export interface FunnelBatch {
  id: string;
  rows: FunnelRow[];
}

/** Where batches go: resolves when the batch is stored (or was before), rejects otherwise. */
export interface FunnelSink {
  write(batch: FunnelBatch): Promise<void>;
}

/** Tuning of a counter. */
export interface CounterOptions {
  /** How long counts gather before a flush is written (ms); 0: right after each answer. */
  flushMs: number;
  /** Buckets one batch holds; past it, new crawlers count as "(other)" until the next flush. */
  maxRows?: number;
  /** Failed batches kept for a retry; past it, the oldest is logged whole and dropped. */
  maxQueued?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The label counts fall under when one batch has seen too many crawlers. */
export const OTHER_CRAWLERS = "(other)";

/** The counter of one isolate. */
export class FunnelCounter {
  private current = new Map<string, FunnelRow>();
  private readonly queued: FunnelBatch[] = [];
  private scheduled = false;
  private flushing: Promise<unknown> = Promise.resolve();
  private readonly options: Required<CounterOptions>;
  private readonly sink: FunnelSink;

  constructor(sink: FunnelSink, options: CounterOptions) {
    this.sink = sink;
    this.options = {
      maxRows: 2000,
      maxQueued: 50,
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ...options,
    };
  }

  /** Counts what one request came to; synchronous, never throws. */
  count(key: FunnelKey, outcome: Outcome): void {
    const minute = Math.floor(this.options.now() / 60_000);
    if (outcome.challenge) this.add(key, minute, "challenge", "", "", "", 0n);
    if (outcome.refused) this.add(key, minute, "refused", outcome.refused, "", "", 0n);
    if (outcome.session) this.add(key, minute, "session", "", "", "", 0n);
    const credit = outcome.credit;
    if (credit) {
      this.add(key, minute, "credit", "", credit.network, credit.asset, BigInt(credit.amount));
    }
  }

  /**
   * Makes sure a flush follows, after the answer (`defer` is `waitUntil`): the first count of a
   * batch schedules one `flushMs` later, later counts ride on it. Without `defer` nothing is
   * scheduled; the counts wait for the next request that has one, or an admin read.
   */
  schedule(defer: ((work: Promise<unknown>) => void) | undefined): void {
    if (!defer || this.scheduled || (this.current.size === 0 && this.queued.length === 0)) return;
    this.scheduled = true;
    defer(
      this.options.sleep(this.options.flushMs).then(() => {
        this.scheduled = false;
        return this.flush();
      }),
    );
  }

  /**
   * Writes every waiting batch, oldest first; one that fails stays for the next flush. Flushes
   * run one at a time. Resolves to the number of batches still waiting; never rejects.
   */
  flush(): Promise<number> {
    const run = this.flushing.then(() => this.flushOnce());
    this.flushing = run;
    return run;
  }

  /** Counts not written yet: buckets in the open batch plus rows of failed batches. */
  pendingRows(): number {
    return this.current.size + this.queued.reduce((n, batch) => n + batch.rows.length, 0);
  }

  private async flushOnce(): Promise<number> {
    if (this.current.size > 0) {
      this.queued.push({ id: crypto.randomUUID(), rows: [...this.current.values()] });
      this.current = new Map();
    }
    while (this.queued.length > this.options.maxQueued) {
      const dropped = this.queued.shift();
      console.error("funnel: counts lost", JSON.stringify(dropped, bigints));
    }
    while (this.queued.length > 0) {
      const batch = this.queued[0]!;
      try {
        await this.sink.write(batch);
      } catch (error) {
        console.error("funnel: flush failed, kept for the next one", String(error));
        return this.queued.length;
      }
      this.queued.shift();
    }
    return 0;
  }

  private add(
    key: FunnelKey,
    minute: number,
    event: FunnelEvent,
    reason: string,
    network: string,
    asset: string,
    amount: bigint,
  ): void {
    let at = key;
    let id = rowId(at, minute, event, reason, network, asset);
    if (!this.current.has(id) && this.current.size >= this.options.maxRows && at.crawler !== "") {
      // A flood of new crawler keys cannot grow a batch without bound.
      at = { rule: at.rule, crawler: OTHER_CRAWLERS, crawlerKey: "" };
      id = rowId(at, minute, event, reason, network, asset);
    }
    const row = this.current.get(id);
    if (row) {
      row.count += 1;
      row.amount += amount;
      return;
    }
    this.current.set(id, { ...at, minute, event, reason, network, asset, count: 1, amount });
  }
}

/** The bucket's identity; U+0001 never occurs in a rule label, crawler name or key. */
function rowId(key: FunnelKey, ...rest: Array<string | number>): string {
  return `${key.rule}\u0001${key.crawler}\u0001${key.crawlerKey}\u0001${rest.join("\u0001")}`;
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
