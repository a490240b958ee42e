import type { Want } from "./scope";

/**
 * Store writes an isolate owes a payer's session store: a settled payment's pass (`grant`), a use
 * given back after the origin failed (`refund`), a lease's unspent uses or a lost call's uses
 * (`return`). Each is applied by the store at most once (by its id), so the isolate keeps it
 * until the store confirms it: retried after the answer with backoff, and carried with the next
 * store call for the same payer. What the store never confirms within `OWED_KEEP_MS` is dropped
 * (and logged): the store forgets applied ids later than that (`APPLIED_KEEP_MS`), so a write is
 * never applied twice.
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
  /**
   * When the paid request was answered (ms since epoch, never later than the store's clock): a
   * grant retried later keeps the expiry its first answer announced.
   */
  at?: number | undefined;
}

/** A write an isolate owes the store, applied at most once by its `id` (below). */
export type Owed =
  /** A settled payment's pass; `id` is its payment reference. */
  | { type: "grant"; id: string; grant: GrantInput }
  /** One use given back (the origin failed the request it was spent on); `id` is random. */
  | { type: "refund"; id: string; entitlement: string }
  /** A call's uses not served (a lease's unspent ones, or all of a lost call's); `id`: the call. */
  | { type: "return"; id: string; unspent: number };

/** How long an isolate keeps a write the store has not confirmed. */
export const OWED_KEEP_MS = 5 * 60_000;
/** The waits between attempts after the answer (about 12 s in all, inside `waitUntil`'s 30 s). */
export const RETRY_DELAYS_MS = [250, 1_000, 3_000, 8_000] as const;
/** The most owed writes carried by one store call. */
export const MAX_CARRIED = 16;
/** Owed writes kept per isolate; the oldest go first (and are logged). */
const MAX_OWED = 10_000;

interface Entry {
  objectId: string;
  work: Owed;
  since: number;
}

/** One isolate's owed store writes, by payer object. Data only: never a promise. */
export class OwedWrites {
  readonly #entries = new Map<string, Entry>();
  /** Objects some request is retrying for, until when (ms since epoch). */
  readonly #retrying = new Map<string, number>();

  /** Keeps `work` for the object `objectId` until the store confirms it. */
  add(objectId: string, work: Owed, now: number): void {
    this.#entries.delete(work.id);
    if (this.#entries.size >= MAX_OWED) {
      const oldest = this.#entries.entries().next();
      if (!oldest.done) {
        console.error("dropped an owed session write (too many owed)", oldest.value[1].work);
        this.#entries.delete(oldest.value[0]);
      }
    }
    this.#entries.set(work.id, { objectId, work, since: now });
  }

  /** Up to `MAX_CARRIED` writes owed to `objectId`, oldest first; drops those kept too long. */
  for(objectId: string, now: number): Owed[] {
    const carried: Owed[] = [];
    for (const [id, entry] of this.#entries) {
      if (now - entry.since >= OWED_KEEP_MS) {
        console.error("gave up an owed session write", entry.objectId, entry.work);
        this.#entries.delete(id);
        continue;
      }
      if (entry.objectId !== objectId) continue;
      carried.push(entry.work);
      if (carried.length >= MAX_CARRIED) break;
    }
    return carried;
  }

  /** The uses an owed return of call `id` brings back (0 when none is owed). */
  returning(id: string): number {
    const work = this.#entries.get(id)?.work;
    return work?.type === "return" ? work.unspent : 0;
  }

  /** Forgets writes the store confirmed. */
  settled(works: readonly Owed[]): void {
    for (const work of works) this.#entries.delete(work.id);
  }

  /** The number of uses this isolate owes back (refunds and returns), for the operator and tests. */
  uses(): number {
    let uses = 0;
    for (const { work } of this.#entries.values()) {
      if (work.type === "refund") uses += 1;
      else if (work.type === "return") uses += work.unspent;
    }
    return uses;
  }

  /** Owed writes, all objects. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Claims the retries for `objectId` until `until`; false when another request holds them. A
   * claim runs out by itself, so a request cancelled mid-retry never blocks the next one.
   */
  startRetrying(objectId: string, now: number, until: number): boolean {
    const held = this.#retrying.get(objectId);
    if (held !== undefined && held > now) return false;
    this.#retrying.set(objectId, until);
    return true;
  }

  /** Lets the next request retry for `objectId`. */
  stopRetrying(objectId: string): void {
    this.#retrying.delete(objectId);
  }
}
