import { checksumAddress } from "./eth";
import { OwedWrites } from "./owed";
import { priceMismatch } from "./scope";
import type { HeldPrice, Want } from "./scope";
import { hashToken } from "./token";

/**
 * What one isolate remembers about sessions so that repeat access costs less than a Durable
 * Object call each time, without ever admitting a request that was not paid for:
 *
 * - **time-limited passes** (no use count): a pass the store admitted is remembered for
 *   `PASS_MEMORY_MS`; within that time this isolate admits the same token from memory, checking
 *   scope, price and expiry per request as the store would.
 * - **leased uses** (use-counted passes): when this isolate sees a token used often, it takes a
 *   few uses more than the waiting requests need from the store (at most `MAX_LEASE`, at most
 *   as many as it saw in the last `PASS_MEMORY_MS`) and spends them from memory. The store has
 *   already counted them, so no more requests are served than were paid for; uses still unspent
 *   when the lease ends (`PASS_MEMORY_MS`, or when its last use is spent) are given back to the
 *   store. Each lease is known to the store by its call's id and this isolate's `holder` id, so
 *   another isolate's request is told to retry while they are out, not to pay again.
 * - **owed writes** (src/sessions/owed.ts): grants, refunds and lease returns the store has not
 *   confirmed yet, retried and carried with the next call until it does.
 * - **token hashes** and **EIP-55 payer spellings**: pure functions of their input, remembered
 *   so that a repeat request does not hash or checksum again.
 *
 * Revoking through this isolate forgets its passes at once; elsewhere a revocation takes effect
 * when the memory runs out (at most `PASS_MEMORY_MS`).
 */

/** How long a pass or lease is served from memory: the bound on revocation elsewhere. */
export const PASS_MEMORY_MS = 2_000;
/** The most uses leased to an isolate at once. */
export const MAX_LEASE = 16;
/** Entries kept per map; the oldest go first. */
const MAX_ENTRIES = 10_000;

/** A time-limited pass the store admitted, as remembered. */
export interface RememberedPass {
  objectId: string;
  entitlement: string;
  /** EIP-55. */
  payer: string;
  expiresAt: number | null;
  held: HeldPrice & { scope: string };
  /** Until when (ms since epoch) it is served from memory. */
  until: number;
  /** Leased uses not yet spent; null for a pass without a use count. */
  left: number | null;
  /** The store's count of uses left besides the lease; null without a use count. */
  storeRemaining: number | null;
  /** The store call that took the lease: its id names the lease to the store. */
  call?: string | undefined;
  /** Set once the lease ended and its unspent uses are owed back to the store. */
  ended?: boolean | undefined;
}

/** The outcome of checking a request against a remembered pass. */
export type MemoryCheck =
  | { type: "admit"; pass: RememberedPass; remaining: number | null }
  | { type: "refuse"; reason: string }
  /** `lapsed`: a lease that ran out in time with uses unspent; end it and give them back. */
  | { type: "ask"; lapsed?: RememberedPass | undefined };

/** One isolate's memory for one `SESSIONS` namespace. */
export class SessionMemory {
  /** Random per isolate: the store tells this isolate's leases from others' by it. */
  readonly holder: string = crypto.randomUUID();
  /** Store writes this isolate owes (grants, refunds, lease returns). */
  readonly owed = new OwedWrites();
  readonly #passes = new Map<string, RememberedPass>();
  /** Leases not ended yet, revoked ones included: their uses still go back. */
  readonly #leases = new Set<RememberedPass>();
  readonly #hashes = new Map<string, string>();
  readonly #addresses = new Map<string, string>();
  readonly #seen = new Map<string, { since: number; count: number }>();
  readonly #calling = new Map<string, number>();
  /** Ids of the store calls in flight (a lease they take is not in memory yet). */
  readonly #calls = new Set<string>();

  /** Checks `want` against the pass remembered for `token`; `ask` when the store must. */
  check(token: string, want: Want, now: number): MemoryCheck {
    const pass = this.#passes.get(token);
    if (!pass) return { type: "ask" };
    if (pass.until <= now || (pass.left !== null && pass.left <= 0)) {
      this.#passes.delete(token);
      const lapsed = pass.left !== null && pass.left > 0 && !pass.ended;
      return lapsed ? { type: "ask", lapsed: pass } : { type: "ask" };
    }
    // The same checks, in the same order and words, as PayerSessions.useToken.
    if (pass.held.scope !== want.scope) {
      return {
        type: "refuse",
        reason: `the session token is for another scope (${pass.held.scope})`,
      };
    }
    const mismatch = priceMismatch(pass.held, want);
    if (mismatch) return { type: "refuse", reason: mismatch };
    if (pass.expiresAt !== null && pass.expiresAt <= now) {
      this.#passes.delete(token);
      return {
        type: "refuse",
        reason: `the session expired at ${new Date(pass.expiresAt).toISOString()}`,
      };
    }
    if (pass.left === null || pass.storeRemaining === null) {
      return { type: "admit", pass, remaining: null };
    }
    pass.left -= 1;
    return { type: "admit", pass, remaining: pass.storeRemaining + pass.left };
  }

  /** Counts a store call for `token` starting (+1) or ending (-1). */
  calling(token: string, change: 1 | -1, call?: string): void {
    if (call !== undefined) {
      if (change > 0) this.#calls.add(call);
      else this.#calls.delete(call);
    }
    const now = (this.#calling.get(token) ?? 0) + change;
    if (now > 0) this.#calling.set(token, now);
    else this.#calling.delete(token);
  }

  /**
   * Counts a use of `token` seen by this isolate; returns how many uses to lease on a store
   * call now: as many as were seen before it in the current period, at most `MAX_LEASE`, and
   * none while another call for it is in flight (concurrent calls each spend exactly their use,
   * so no lease is overwritten while requests are refused for lack of the uses it holds).
   */
  leaseSize(token: string, now: number): number {
    let seen = this.#seen.get(token);
    if (!seen || now - seen.since >= PASS_MEMORY_MS) {
      seen = { since: now, count: 0 };
      bounded(this.#seen, token, seen);
    }
    seen.count += 1;
    if (this.#calling.has(token)) return 0;
    // A lease with uses left (it came in while this request was on its way) is spent first.
    const pass = this.#passes.get(token);
    if (pass && pass.left !== null && pass.left > 0 && !pass.ended && pass.until > now) return 0;
    return Math.min(MAX_LEASE, seen.count - 1);
  }

  /** Whether store call `call` is still in flight. */
  inFlight(call: string): boolean {
    return this.#calls.has(call);
  }

  /** Remembers a pass the store just admitted for `token` (time-limited, or a lease). */
  remember(token: string, pass: RememberedPass): void {
    bounded(this.#passes, token, pass);
    if (pass.left === null || pass.call === undefined) return;
    if (this.#leases.size >= MAX_ENTRIES) {
      const oldest = this.#leases.values().next();
      if (!oldest.done) this.#leases.delete(oldest.value);
    }
    this.#leases.add(pass);
  }

  /** Gives a use spent from a lease back to it, while the lease lasts; false when it ended. */
  giveBack(pass: RememberedPass, now: number): boolean {
    if (pass.left === null || pass.ended || pass.until <= now) return false;
    pass.left += 1;
    return true;
  }

  /**
   * Ends a lease: returns its unspent uses (to give back to the store) and forgets it; undefined
   * when it had ended already.
   */
  endLease(token: string, pass: RememberedPass): number | undefined {
    if (pass.ended) return undefined;
    const unspent = pass.left ?? 0;
    pass.ended = true;
    pass.left = 0;
    pass.until = 0; // ended: a use given back from now on goes to the store
    this.#leases.delete(pass);
    if (this.#passes.get(token) === pass) this.#passes.delete(token);
    return Math.max(0, unspent);
  }

  /** Uses leased to this isolate and not spent yet (leases not ended), for tests and operators. */
  leased(): number {
    let uses = 0;
    for (const pass of this.#leases) uses += Math.max(0, pass.left ?? 0);
    return uses;
  }

  /** Forgets one token's pass (revoked through this isolate). */
  forgetToken(token: string): void {
    // Ended, not emptied: the lease's unspent uses still go back to the store when it ends.
    const pass = this.#passes.get(token);
    if (pass) pass.until = 0;
    this.#passes.delete(token);
  }

  /** Forgets a payer's passes, all or those of one scope (revoked through this isolate). */
  forgetPayer(payer: string, scope?: string): void {
    const lower = payer.toLowerCase();
    for (const [token, pass] of this.#passes) {
      if (pass.payer.toLowerCase() !== lower) continue;
      if (scope !== undefined && pass.held.scope !== scope) continue;
      pass.until = 0;
      this.#passes.delete(token);
    }
  }

  /** The stored hash of a token (SHA-256 hex), computed once per token. */
  async hash(token: string): Promise<string> {
    const known = this.#hashes.get(token);
    if (known !== undefined) return known;
    const hash = await hashToken(token);
    bounded(this.#hashes, token, hash);
    return hash;
  }

  /** The EIP-55 spelling of an address, computed once per address. */
  checksum(address: string): string {
    const known = this.#addresses.get(address);
    if (known !== undefined) return known;
    const spelled = checksumAddress(address);
    bounded(this.#addresses, address, spelled);
    return spelled;
  }
}

function bounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
