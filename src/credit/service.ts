import { OwedRefunds, REFUND_RETRY_DELAYS_MS } from "./owed";
import type { CrawlerCredit, DebitInput, DebitResult, NonceResult, TopUpResult } from "./store";

/**
 * Prepaid crawl credit (and the crawler's used signature nonces) as the request path sees it: typed calls to the key's Durable Object,
 * each failure (the object unreachable, an exception) returned as `unavailable` so the caller
 * answers 503 and never serves a page it could not charge for.
 *
 * A refund the store cannot take is never lost with the request: it is owed (src/credit/owed.ts),
 * retried after the answer, and carried with every later call for the same key until the store
 * has it.
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
   * Credits `amount` bought by one settled payment to `keyid`'s balance in `account` (the
   * payment's network, asset and payee: account.ts), once, whichever of its `names` it comes by
   * (its authorization and, when known, its transaction: src/paywall/top-up-names.ts).
   */
  topUp(
    keyid: string,
    account: string,
    names: readonly string[],
    amount: string,
  ): Promise<TopUpOutcome>;
  /**
   * Spends credit for one signed request. When the store's answer is lost (it may have made the
   * debit), the debit is given back by its id like a refund: retried after the answer with
   * `defer` and carried with the key's next call; a debit given back is never made.
   */
  debit(
    input: DebitInput,
    defer?: ((work: Promise<unknown>) => void) | undefined,
  ): Promise<DebitOutcome>;
  /**
   * Gives a debit back: true once the store confirmed it. false: the store could not be reached
   * and the refund is owed, retried after the answer with `defer` (the request's `waitUntil`) and
   * carried with the key's next credit call until the store has it, once.
   */
  refund(
    keyid: string,
    debit: string,
    defer?: ((work: Promise<unknown>) => void) | undefined,
  ): Promise<boolean>;
  /** The balance of `account` in atomic units, or undefined when the store cannot be reached. */
  balance(keyid: string, account: string): Promise<string | undefined>;
  /**
   * Records `nonce` as used by `keyid` until `expiresAt` (ms), in the key's own object:
   * `replayed` when it was used before (a copied signed request).
   */
  useNonce(keyid: string, nonce: string, expiresAt: number): Promise<NonceOutcome>;
}

/**
 * Per isolate: the refunds owed to any key's store. Keyed by nothing but the key: one credit
 * namespace per Worker, and a key always names the same object in it.
 */
const isolateOwed = new OwedRefunds();

/** Options for tests: the clock, and this isolate's owed refunds (another one is another isolate). */
export interface CreditServiceOptions {
  now?: () => number;
  owed?: OwedRefunds;
}

/** How long one request keeps retrying owed refunds, at most. */
const RETRY_WINDOW_MS = REFUND_RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 5_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Credit held in `CrawlerCredit` Durable Objects, one per key thumbprint. */
export function durableCredit(
  namespace: DurableObjectNamespace<CrawlerCredit>,
  options: CreditServiceOptions = {},
): CreditService {
  const now = options.now ?? Date.now;
  const owed = options.owed ?? isolateOwed;
  const stub = (keyid: string) => namespace.get(namespace.idFromName(keyid));
  const unavailable = (error: unknown) => ({
    type: "unavailable" as const,
    reason: `the credit store could not be reached: ${String(error)}`,
  });
  /**
   * Runs `call` with the refunds owed to `keyid`, which the store applies first; they are
   * settled once the call returns.
   */
  const carrying = async <T>(keyid: string, call: (refunds: string[]) => Promise<T>) => {
    const refunds = owed.for(keyid, now());
    const result = await call(refunds);
    owed.settled(refunds);
    return result;
  };
  /** Sends the refunds owed to `keyid`; true when none is left owed. */
  const catchUp = async (keyid: string): Promise<boolean> => {
    for (let round = 0; round < 4; round++) {
      const [first, ...rest] = owed.for(keyid, now());
      if (first === undefined) return true;
      try {
        await stub(keyid).refund(first, rest);
      } catch (error) {
        console.error("crawl credit refunds are owed; retrying", keyid, error);
        return false;
      }
      owed.settled([first, ...rest]);
    }
    return owed.for(keyid, now()).length === 0;
  };
  /** Retries the owed refunds with backoff after the answer (one request per key at a time). */
  const retry = async (keyid: string): Promise<void> => {
    const at = now();
    if (!owed.startRetrying(keyid, at, at + RETRY_WINDOW_MS)) return;
    try {
      for (const delay of REFUND_RETRY_DELAYS_MS) {
        await sleep(delay);
        if (await catchUp(keyid)) return;
      }
      console.error("crawl credit refunds still owed; the key's next credit call carries them");
    } finally {
      owed.stopRetrying(keyid);
    }
  };
  return {
    async topUp(keyid, account, names, amount) {
      try {
        const result = await carrying<TopUpResult>(keyid, async (refunds) =>
          stub(keyid).topUp(keyid, account, [...names], amount, refunds),
        );
        if (!result.ok) return unavailable("the credit store belongs to another key");
        const { added, balance, duplicate } = result;
        return { type: "credited", added, balance, duplicate };
      } catch (error) {
        return unavailable(error);
      }
    },
    async debit(input, defer) {
      const id = crypto.randomUUID();
      try {
        const result = await carrying<DebitResult>(input.keyid, async (refunds) =>
          stub(input.keyid).debit({ ...input, id }, refunds),
        );
        if (result.ok) return { type: "debited", debit: result.debit, balance: result.balance };
        if (result.reason === "insufficient")
          return { type: "insufficient", balance: result.balance };
        if (result.reason === "replayed") return { type: "replayed" };
        const why =
          result.reason === "given-back" ? "the debit was withdrawn" : "another key's store";
        return { type: "unavailable", reason: `${unavailable(why).reason}; nothing was charged` };
      } catch (error) {
        // The store may have made the debit before its answer was lost: give it back by its id
        // (a no-op record when it was never made, which also keeps a late copy from being made).
        owed.add(input.keyid, id, now());
        if (defer) defer(retry(input.keyid));
        return {
          type: "unavailable",
          reason: `the credit store could not be reached: ${String(error)}; if this page was debited, the debit will be given back`,
        };
      }
    },
    async refund(keyid, debit, defer) {
      owed.add(keyid, debit, now());
      if (await catchUp(keyid)) return true;
      // The store could not take it: owed, never lost (src/credit/owed.ts).
      if (!owed.owes(debit)) return true;
      if (defer) defer(retry(keyid));
      return false;
    },
    async balance(keyid, account) {
      try {
        return await carrying<string>(keyid, async (refunds) =>
          stub(keyid).balance(account, refunds),
        );
      } catch {
        return undefined;
      }
    },
    async useNonce(keyid, nonce, expiresAt) {
      try {
        const result = await carrying<NonceResult>(keyid, async (refunds) =>
          stub(keyid).useNonce(keyid, nonce, expiresAt, refunds),
        );
        if (result.ok) return { type: "fresh" };
        if (result.reason === "replayed") return { type: "replayed" };
        return unavailable("the credit store belongs to another key");
      } catch (error) {
        return unavailable(error);
      }
    },
  };
}
