import type { CrawlerCredit, DebitInput } from "./store";

/**
 * Prepaid crawl credit (and the crawler's used signature nonces) as the request path sees it: typed calls to the key's Durable Object,
 * each failure (the object unreachable, an exception) returned as `unavailable` so the caller
 * answers 503 and never serves a page it could not charge for.
 */

/** The outcome of spending credit on one request. */
export type DebitOutcome =
  | { type: "debited"; debit: string; balance: string }
  | { type: "insufficient"; balance: string }
  | { type: "replayed" }
  | { type: "unavailable"; reason: string };

/** The outcome of recording a signature nonce as used. */
export type NonceOutcome =
  { type: "fresh" } | { type: "replayed" } | { type: "unavailable"; reason: string };

/** The outcome of crediting a settled top-up. */
export type TopUpOutcome =
  | { type: "credited"; added: string; balance: string; duplicate: boolean }
  | { type: "unavailable"; reason: string };

/** What the paywall needs from credit storage; tests can swap in a fake. */
export interface CreditService {
  /**
   * Credits `amount` bought by `payment` ("network:transaction") to `keyid`'s balance in
   * `account` (the payment's network, asset and payee: account.ts), once.
   */
  topUp(keyid: string, account: string, payment: string, amount: string): Promise<TopUpOutcome>;
  debit(input: DebitInput): Promise<DebitOutcome>;
  /** Gives a debit back; false when the store could not be reached. */
  refund(keyid: string, debit: string): Promise<boolean>;
  /** The balance of `account` in atomic units, or undefined when the store cannot be reached. */
  balance(keyid: string, account: string): Promise<string | undefined>;
  /**
   * Records `nonce` as used by `keyid` until `expiresAt` (ms), in the key's own object:
   * `replayed` when it was used before (a copied signed request).
   */
  useNonce(keyid: string, nonce: string, expiresAt: number): Promise<NonceOutcome>;
}

/** Credit held in `CrawlerCredit` Durable Objects, one per key thumbprint. */
export function durableCredit(namespace: DurableObjectNamespace<CrawlerCredit>): CreditService {
  const stub = (keyid: string) => namespace.get(namespace.idFromName(keyid));
  const unavailable = (error: unknown) => ({
    type: "unavailable" as const,
    reason: `the credit store could not be reached: ${String(error)}`,
  });
  return {
    async topUp(keyid, account, payment, amount) {
      try {
        const result = await stub(keyid).topUp(keyid, account, payment, amount);
        if (!result.ok) return unavailable("the credit store belongs to another key");
        const { added, balance, duplicate } = result;
        return { type: "credited", added, balance, duplicate };
      } catch (error) {
        return unavailable(error);
      }
    },
    async debit(input) {
      try {
        const result = await stub(input.keyid).debit(input);
        if (result.ok) return { type: "debited", debit: result.debit, balance: result.balance };
        if (result.reason === "insufficient")
          return { type: "insufficient", balance: result.balance };
        if (result.reason === "replayed") return { type: "replayed" };
        return unavailable("the credit store belongs to another key");
      } catch (error) {
        return unavailable(error);
      }
    },
    async refund(keyid, debit) {
      try {
        await stub(keyid).refund(debit);
        return true;
      } catch (error) {
        console.error("a crawl credit refund failed", keyid, debit, error);
        return false;
      }
    },
    async balance(keyid, account) {
      try {
        return await stub(keyid).balance(account);
      } catch {
        return undefined;
      }
    },
    async useNonce(keyid, nonce, expiresAt) {
      try {
        const result = await stub(keyid).useNonce(keyid, nonce, expiresAt);
        if (result.ok) return { type: "fresh" };
        if (result.reason === "replayed") return { type: "replayed" };
        return unavailable("the credit store belongs to another key");
      } catch (error) {
        return unavailable(error);
      }
    },
  };
}
