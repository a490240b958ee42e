import type { ReceiptsLedger } from "../ledger";
import { FunnelCounter } from "./counter";
import type { FunnelKey } from "./counter";
import { D1Funnel } from "./d1-funnel";
import { outcomeOf } from "./outcome";
import { funnelReport } from "./report";
import type { FunnelReport } from "./report";

/**
 * The funnel as the paywall and the admin API use it: the request path hands each answer on a
 * priced (or crawler-priced) rule to `record`, which counts it in the isolate and leaves the
 * write to a flush after the answer; the admin API and the dashboard read `report`, after
 * flushing this isolate's counts.
 */

/** What the request path calls: one synchronous call per answer, no I/O on the way, never throws. */
export interface FunnelRecorder {
  /**
   * Counts what `response` to `request` came to under `key`, and makes sure a flush follows
   * through `defer` (`waitUntil`).
   */
  record(
    key: FunnelKey,
    request: Request,
    response: Response,
    defer: ((work: Promise<unknown>) => void) | undefined,
  ): void;
}

/** The name a rule is counted under: its stable name (`match.rule`, src/pricing/rule-id.ts). */
export function ruleKey(match: { rule: string }): string {
  return match.rule;
}

/** The funnel of one deployment: counts in this isolate, stored in D1. */
export class Funnel implements FunnelRecorder {
  private readonly counter: FunnelCounter;
  private readonly store: D1Funnel;

  constructor(db: D1Database, flushMs: number) {
    this.store = new D1Funnel(db);
    this.counter = new FunnelCounter(this.store, { flushMs });
  }

  record(
    key: FunnelKey,
    request: Request,
    response: Response,
    defer: ((work: Promise<unknown>) => void) | undefined,
  ): void {
    try {
      const outcome = outcomeOf(request, response);
      if (!outcome) return;
      this.counter.count(key, outcome);
      this.counter.schedule(defer);
    } catch (error) {
      // Counting must never cost a request its answer.
      console.error("funnel: a count was skipped", String(error));
    }
  }

  /** Writes this isolate's counts now; resolves to the batches still waiting (0: all written). */
  flush(): Promise<number> {
    return this.counter.flush();
  }

  /**
   * The funnel from `from` (inclusive) to `to` (exclusive), in steps of `stepMs`; payments come
   * from the ledger. `routeOf` names a rule's pattern for people.
   */
  async report(
    ledger: ReceiptsLedger,
    range: { from: number; to: number; stepMs: number },
    routeOf?: (rule: string) => string | null,
  ): Promise<FunnelReport & { unflushed: number }> {
    const unflushed = await this.flush();
    const { from, to, stepMs } = range;
    const [counts, countSteps, paid, paidSteps] = await Promise.all([
      this.store.counts(from, to),
      this.store.steps(from, to, stepMs),
      ledger.paidBy(from, to),
      ledger.paidSteps(from, to, stepMs),
    ]);
    const report = funnelReport({ counts, countSteps, paid, paidSteps, from, to, stepMs }, routeOf);
    return { ...report, unflushed };
  }
}
