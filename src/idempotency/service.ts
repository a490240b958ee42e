import type { ReplayStart } from "./replays";
import type { Claim, ClaimResult, Handoff, Outcome, PaymentLocks, Verdict } from "./store";

/**
 * The paywall's view of the payment locks: each payer's Durable Object behind an interface
 * that never throws. A lock that cannot be reached is `unavailable`: the caller refuses the
 * payment (503) rather than risk working on it twice.
 */

/** Payment lock operations the paid path uses: two calls per paid request. */
export interface PaymentLockService {
  claim(payer: string, claim: Claim): Promise<ClaimResult | { type: "unavailable" }>;
  /**
   * Reports the outcome, and what became of the ledger receipt a "settled" one carries
   * (store.ts `Handoff`); a failure is logged and answered `unavailable` (the claim then goes
   * stale and pending, and the receipt is the caller's to record).
   */
  finish(payer: string, key: string, outcome: Outcome): Promise<Handoff | "unavailable">;
  /**
   * The operator's chain check of a pending payment (store.ts `resolve`): the state after,
   * `null` when the payment is no longer known, `unavailable` when the lock cannot be reached.
   */
  resolve?(
    payer: string,
    key: string,
    verdict: Verdict,
  ): Promise<{ state: string | null } | { type: "unavailable" }>;
  /**
   * Asks to serve a settled payment again to the request with `digest` (one at a time, a
   * bounded number of times); `unavailable` when the lock cannot be reached (then it is not).
   */
  startReplay(
    payer: string,
    key: string,
    digest: string,
  ): Promise<ReplayStart | { type: "unavailable" }>;
  /** Ends a granted replay; a failure is logged (the replay then holds until it times out). */
  endReplay(payer: string, key: string): Promise<void>;
}

/** Payment locks in the `PAYMENTS` Durable Object namespace, one object per payer. */
export function durablePaymentLocks(
  namespace: DurableObjectNamespace<PaymentLocks>,
): PaymentLockService {
  const stub = (payer: string) => namespace.get(namespace.idFromName(`payer:${payer}`));
  return {
    claim: async (payer, claim) => {
      try {
        return await stub(payer).claim(claim);
      } catch (error) {
        console.error("payment lock call failed", error);
        return { type: "unavailable" };
      }
    },
    finish: async (payer, key, outcome) => {
      try {
        return await stub(payer).finish(key, outcome);
      } catch (error) {
        console.error("could not record a payment's outcome", key, outcome.type, error);
        return "unavailable";
      }
    },
    resolve: async (payer, key, verdict) => {
      try {
        return await stub(payer).resolve(key, verdict);
      } catch (error) {
        console.error("payment lock call failed", error);
        return { type: "unavailable" };
      }
    },
    startReplay: async (payer, key, digest) => {
      try {
        return await stub(payer).startReplay(key, digest);
      } catch (error) {
        console.error("payment lock call failed", error);
        return { type: "unavailable" };
      }
    },
    endReplay: async (payer, key) => {
      try {
        await stub(payer).endReplay(key);
      } catch (error) {
        console.error("could not end a payment's replay", key, error);
      }
    },
  };
}
