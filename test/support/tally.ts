/**
 * Counts the cases of a table-driven security or fault suite, so each run prints figures the
 * docs can quote (docs/security.md): `[figures] <suite>: N cases tried, M held`. A case "held" when every one of
 * its assertions passed; a failing case still counts as tried (and fails its test).
 */

/** A counter for one suite. */
export interface Tally {
  /** Runs one case, counting it as tried, and as held if it completes without a failure. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Prints the figures (call it in `afterAll`). */
  report(): void;
}

/** Starts counting the cases of `suite`. */
export function tally(suite: string): Tally {
  let tried = 0;
  let held = 0;
  return {
    async run(work) {
      tried += 1;
      const result = await work();
      held += 1;
      return result;
    },
    report() {
      console.log(`[figures] ${suite}: ${tried} cases tried, ${held} held`);
    },
  };
}
