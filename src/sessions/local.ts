import { getAddress } from "viem";
import { priceMismatch } from "./scope";
import type { HeldPrice, Want } from "./scope";
import { hashToken } from "./token";

/**
 * What one isolate remembers about sessions so that repeat access costs less than a Durable
 * Object call each time, without ever admitting what the store would refuse for lack of payment:
 *
 * - **time-limited passes** (no use count): a pass the store admitted is remembered for
 *   `PASS_MEMORY_MS`; within that time this isolate admits the same token from memory, checking
 *   scope, price and expiry per request as the store would. Revoking it through this isolate
 *   forgets it at once; elsewhere it takes effect when the memory runs out (at most
 *   `PASS_MEMORY_MS`). Use-counted passes are never served from memory.
 * - **token hashes** and **EIP-55 payer spellings**: pure functions of their input, remembered
 *   so that a repeat request does not hash or checksum again.
 */

/** How long a time-limited pass is served from memory: the bound on revocation elsewhere. */
export const PASS_MEMORY_MS = 5_000;
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
}

/** The outcome of checking a request against a remembered pass. */
export type MemoryCheck =
  { type: "admit"; pass: RememberedPass } | { type: "refuse"; reason: string } | { type: "ask" };

/** One isolate's memory for one `SESSIONS` namespace. */
export class SessionMemory {
  readonly #passes = new Map<string, RememberedPass>();
  readonly #hashes = new Map<string, string>();
  readonly #addresses = new Map<string, string>();

  /** Checks `want` against the pass remembered for `token`; `ask` when the store must. */
  check(token: string, want: Want, now: number): MemoryCheck {
    const pass = this.#passes.get(token);
    if (!pass) return { type: "ask" };
    if (pass.until <= now) {
      this.#passes.delete(token);
      return { type: "ask" };
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
    return { type: "admit", pass };
  }

  /** Remembers a time-limited pass the store just admitted for `token`. */
  remember(token: string, pass: RememberedPass): void {
    bounded(this.#passes, token, pass);
  }

  /** Forgets one token's pass (revoked through this isolate). */
  forgetToken(token: string): void {
    this.#passes.delete(token);
  }

  /** Forgets a payer's passes, all or those of one scope (revoked through this isolate). */
  forgetPayer(payer: string, scope?: string): void {
    const lower = payer.toLowerCase();
    for (const [token, pass] of this.#passes) {
      if (pass.payer.toLowerCase() !== lower) continue;
      if (scope === undefined || pass.held.scope === scope) this.#passes.delete(token);
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
    const spelled = getAddress(address);
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
