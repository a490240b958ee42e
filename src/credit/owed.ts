/**
 * Crawl credit refunds an isolate owes a key's credit store: a debit to give back (the origin
 * failed the page, or answered without its content) that the store could not take when asked.
 * The crawler paid for nothing, so the refund is kept here until the store confirms it: retried
 * after the answer with backoff, and carried with the key's next credit call (a debit, a top-up,
 * a balance or a nonce), which applies it before anything else. The store gives a debit back at
 * most once (`CrawlerCredit.refund`: a debit marked refunded changes nothing again), so a refund
 * sent twice, or whose answer was lost, is harmless.
 *
 * What the store never confirms within `OWED_REFUND_KEEP_MS` is dropped and logged; the store
 * keeps debits a day (`LEDGER_MS`), far longer, so a refund carried late still finds its debit.
 */

/** How long an isolate keeps a refund the store has not confirmed. */
export const OWED_REFUND_KEEP_MS = 60 * 60_000;
/**
 * The waits between attempts after the answer: about 2 s in all. A store that failed is usually
 * back within seconds; after that the key's next credit call carries the refund.
 */
export const REFUND_RETRY_DELAYS_MS = [200, 600, 1_500] as const;
/** The most refunds carried by one store call. */
export const MAX_CARRIED_REFUNDS = 16;
/** Refunds kept per isolate; the oldest go first (and are logged). */
const MAX_OWED = 10_000;

interface Entry {
  keyid: string;
  debit: string;
  since: number;
}

/** One isolate's owed credit refunds, by debit id. Data only: never a promise. */
export class OwedRefunds {
  readonly #entries = new Map<string, Entry>();
  /** Keys some request is retrying for, until when (ms since epoch). */
  readonly #retrying = new Map<string, number>();

  /** Keeps the refund of `debit` to `keyid`'s store until the store confirms it. */
  add(keyid: string, debit: string, now: number): void {
    if (this.#entries.has(debit)) return;
    if (this.#entries.size >= MAX_OWED) {
      const oldest = this.#entries.values().next();
      if (!oldest.done) {
        console.error("dropped an owed crawl credit refund (too many owed)", oldest.value);
        this.#entries.delete(oldest.value.debit);
      }
    }
    this.#entries.set(debit, { keyid, debit, since: now });
  }

  /** Up to `MAX_CARRIED_REFUNDS` debits owed back to `keyid`, oldest first; drops stale ones. */
  for(keyid: string, now: number): string[] {
    const carried: string[] = [];
    for (const [debit, entry] of this.#entries) {
      if (now - entry.since >= OWED_REFUND_KEEP_MS) {
        console.error("gave up an owed crawl credit refund", entry);
        this.#entries.delete(debit);
        continue;
      }
      if (entry.keyid !== keyid) continue;
      carried.push(debit);
      if (carried.length >= MAX_CARRIED_REFUNDS) break;
    }
    return carried;
  }

  /** Forgets refunds the store confirmed. */
  settled(debits: readonly string[]): void {
    for (const debit of debits) this.#entries.delete(debit);
  }

  /** Whether the refund of `debit` is still owed. */
  owes(debit: string): boolean {
    return this.#entries.has(debit);
  }

  /** Owed refunds, all keys. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Claims the retries for `keyid` until `until`; false when another request holds them. A
   * claim runs out by itself, so a request cancelled mid-retry never blocks the next one.
   */
  startRetrying(keyid: string, now: number, until: number): boolean {
    const held = this.#retrying.get(keyid);
    if (held !== undefined && held > now) return false;
    this.#retrying.set(keyid, until);
    return true;
  }

  /** Lets the next request retry for `keyid`. */
  stopRetrying(keyid: string): void {
    this.#retrying.delete(keyid);
  }
}
