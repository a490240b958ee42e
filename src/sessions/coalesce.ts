/**
 * Request coalescing per key: the first request for a key is sent at once; requests for the same
 * key that arrive while it is in flight wait and go together in the next call, which answers each
 * of them. A lone request waits for nothing; under load, one store call serves a whole group.
 * Used for session tokens: one `useToken` call spends one use per waiting request, so counts stay
 * exact (the store decides every use) while the calls per request fall.
 */

/** The most requests one call answers (and uses one `useToken` call spends). */
export const MAX_BATCH = 64;

/** Answers `count` waiting requests at once, one result each, in order. */
export type BatchCall<R> = (count: number) => Promise<R[]>;

interface Waiter<R> {
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Lane<R> {
  call: BatchCall<R>;
  waiting: Array<Waiter<R>>;
}

/** Lanes of coalesced calls, one per key while it has requests in flight. */
export class Coalescer<R> {
  readonly #lanes = new Map<string, Lane<R>>();
  readonly #max: number;

  /** `max`: the most requests one call answers. */
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * This request's result from a call for `key`; `call` is used when this request starts the
   * next call (every request of a key must be answerable by the same call).
   */
  run(key: string, call: BatchCall<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const lane = this.#lanes.get(key);
      if (lane) {
        lane.waiting.push({ resolve, reject });
        return;
      }
      const fresh: Lane<R> = { call, waiting: [] };
      this.#lanes.set(key, fresh);
      this.#send(key, fresh, [{ resolve, reject }]);
    });
  }

  #send(key: string, lane: Lane<R>, group: Array<Waiter<R>>): void {
    const settle = (results: R[] | undefined, error?: unknown): void => {
      group.forEach((waiter, i) => {
        const result = results?.[i];
        if (result === undefined) waiter.reject(error ?? new Error("no result for a request"));
        else waiter.resolve(result);
      });
      const next = lane.waiting.splice(0, this.#max);
      if (next.length > 0) this.#send(key, lane, next);
      else this.#lanes.delete(key);
    };
    let pending: Promise<R[]>;
    try {
      pending = lane.call(group.length);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (results) => settle(results),
      (error: unknown) => settle(undefined, error),
    );
  }
}
