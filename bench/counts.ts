/**
 * Counting what each request costs in storage and remote calls: KV reads and Durable Object calls
 * as counted by a counting target (bench/serve.ts wraps its bindings), facilitator calls as seen
 * by the timing pass-through in front of the facilitator, origin requests as seen by the origin.
 */

/** Where a counting target reports `{ kvReads, doCalls }` since it started. */
export const COUNTS_PATH = "/__bench/counts";

/** Calls made so far (or per request, after `perRequest`). */
export interface CallCounts {
  kvReads: number;
  doCalls: number;
  facilitator: number;
  origin: number;
}

/** Where the counts come from. `targetUrl` is undefined for a target without counting. */
export interface CountSources {
  targetUrl: string | undefined;
  facilitator: { count(): number };
  origin: { count(): number };
}

/** The counts right now. */
export async function snapshot(sources: CountSources): Promise<CallCounts> {
  let bindings = { kvReads: Number.NaN, doCalls: Number.NaN };
  if (sources.targetUrl !== undefined) {
    const response = await fetch(new URL(COUNTS_PATH, sources.targetUrl));
    bindings = (await response.json()) as typeof bindings;
  }
  return {
    ...bindings,
    facilitator: sources.facilitator.count(),
    origin: sources.origin.count(),
  };
}

/** (after − before) / requests, per kind of call. */
export function perRequest(before: CallCounts, after: CallCounts, requests: number): CallCounts {
  const per = (key: keyof CallCounts): number => (after[key] - before[key]) / requests;
  return {
    kvReads: per("kvReads"),
    doCalls: per("doCalls"),
    facilitator: per("facilitator"),
    origin: per("origin"),
  };
}
